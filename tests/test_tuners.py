"""The keras-tuner tutorial, unchanged except for the import line, returns a real front."""

import keras_tuner
import pytest
import tensorflow as tf

from mobench.data import load_dataset
from mobench.errors import UsageError
from mobench.study.space import discover_grid
from mobench.tuners import GridSearch, RandomSearch, as_objectives

pytestmark = pytest.mark.slow


def build_model(hp):  # the keras-tuner tutorial's build function, verbatim
    model = tf.keras.Sequential()
    model.add(tf.keras.layers.Flatten(input_shape=(28, 28)))
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(tf.keras.layers.Dense(units=hp.Int("units_" + str(i), 32, 512, step=32),
                                        activation="relu"))
    model.add(tf.keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=tf.keras.optimizers.Adam(hp.Choice("learning_rate",
                                                               [1e-2, 1e-3, 1e-4])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def dominates(a, b, objectives):
    pa = [o.minimized(a[o.name]) for o in objectives]
    pb = [o.minimized(b[o.name]) for o in objectives]
    return all(x <= y for x, y in zip(pa, pb, strict=True)) and pa != pb


def test_tutorial_runs_unchanged_and_returns_a_mutually_non_dominated_front(tmp_path, capsys):
    data = load_dataset("digits", limit=300, announce=lambda _: None)
    x_train, y_train = data.x_train, data.y_train
    tuner = RandomSearch(build_model, objective=["val_accuracy", "train_time"], max_trials=4,
                         executions_per_trial=1, directory=str(tmp_path / "my_dir"),
                         project_name="helloworld")
    tuner.search(x_train, y_train, epochs=1, validation_split=0.2)
    front = tuner.get_pareto_front()
    assert front
    objectives = as_objectives(["val_accuracy", "train_time"])
    for a in front:
        assert a["objectives"]["train_time"] > 0
        assert not any(dominates(b["objectives"], a["objectives"], objectives) for b in front)
    tuner.results_summary()
    assert "Pareto front" in capsys.readouterr().out
    best_hp = tuner.get_best_hyperparameters(2)
    assert best_hp[0].values == front[0]["hyperparameters"]  # best = first of the front
    (model,) = tuner.get_best_models(1)
    assert model.predict(x_train[:2], verbose=0).shape == (2, 10)
    df = tuner.trials_dataframe()
    assert len(df) == 4 and "params_num_layers" in df.columns
    # conditional hyperparameters: units_i only exist where num_layers asks for them
    for _, row in df.iterrows():
        for i in range(3):
            assert (i < row["params_num_layers"]) == (row.notna()[f"params_units_{i}"])
    # keras_tuner.Objective works as an objective too, and the project resumes
    again = RandomSearch(build_model, max_trials=5, directory=str(tmp_path / "my_dir"),
                         project_name="helloworld",
                         objective=[keras_tuner.Objective("val_accuracy", "max"), "train_time"])
    again.search(x_train, y_train, epochs=1, validation_split=0.2)
    assert len(again.trials_dataframe()) == 5


def test_grid_discovers_conditional_hyperparameters():
    grid = discover_grid(GridProbe())
    assert grid == {"num_layers": [1, 2, 3], "units_0": [32, 64, 96], "units_1": [32, 64, 96],
                    "units_2": [32, 64, 96], "learning_rate": [0.01, 0.001]}


class GridProbe(keras_tuner.HyperModel):
    def build(self, hp):
        for i in range(hp.Int("num_layers", 1, 3)):
            hp.Int(f"units_{i}", 32, 96, step=32)
        hp.Choice("learning_rate", [1e-2, 1e-3])


def test_grid_search_refuses_continuous_ranges(tmp_path):
    def continuous(hp):
        hp.Float("lr", 1e-4, 1e-2, sampling="log")

    with pytest.raises(UsageError, match="'lr' is continuous"):
        GridSearch(continuous, objective="val_accuracy", directory=str(tmp_path))


@pytest.mark.parametrize("objective, message", [
    ("speed", "unknown objective 'speed'"),
    ([], "at least one"),
    (3, "give a name or a keras_tuner.Objective"),
])
def test_bad_objectives(objective, message):
    with pytest.raises(UsageError, match=message):
        as_objectives(objective)


def test_keras_tuner_getting_started_runs_with_only_the_import_changed(tmp_path, capsys):
    """keras-tuner's "Getting started" guide, its calls verbatim; one objective."""
    import keras
    from keras import layers

    from mobench import tuners as keras_tuner  # was: import keras_tuner

    data = load_dataset("digits", limit=300, announce=lambda _: None)
    x_train, y_train = data.x_train[:240], keras.utils.to_categorical(data.y_train[:240], 10)
    x_val, y_val = data.x_train[240:], keras.utils.to_categorical(data.y_train[240:], 10)

    def build_model(hp):
        model = keras.Sequential()
        model.add(layers.Flatten())
        model.add(layers.Dense(units=hp.Int("units", min_value=32, max_value=512, step=32),
                               activation="relu"))
        model.add(layers.Dense(10, activation="softmax"))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp.Choice(
            "learning_rate", values=[1e-2, 1e-3, 1e-4])),
            loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    tuner = keras_tuner.RandomSearch(
        hypermodel=build_model, objective="val_accuracy", max_trials=2,
        executions_per_trial=1, overwrite=True, directory=str(tmp_path / "my_dir"),
        project_name="helloworld")
    tuner.search_space_summary()
    assert "Default search space size: 2" in capsys.readouterr().out
    tuner.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val))
    models = tuner.get_best_models(num_models=1)
    assert models[0].predict(x_val[:2], verbose=0).shape == (2, 10)
    tuner.results_summary()
    out = capsys.readouterr().out
    assert "best trials by val_accuracy" in out and "[2/2]" in out
    best_hps = tuner.get_best_hyperparameters(5)
    accuracies = [t["objectives"]["val_accuracy"] for t in tuner._entries(tuner.ranked_trials())]
    assert len(best_hps) == 2 and accuracies == sorted(accuracies, reverse=True)
    assert set(best_hps[0].values) == {"units", "learning_rate"}
    assert len(tuner.get_pareto_front()) >= 1
    # keras_tuner.Objective, alone: same study; verbose=0 prints nothing
    again = keras_tuner.RandomSearch(build_model, keras_tuner_objective(), max_trials=3,
                                     directory=str(tmp_path / "my_dir"),
                                     project_name="helloworld", tuner_id="t0",
                                     max_retries_per_trial=0, logger=None)
    again.search(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0)
    assert capsys.readouterr().out == "" and len(again.trials_dataframe()) == 3


def keras_tuner_objective():
    return keras_tuner.Objective("val_accuracy", direction="max")


def test_unknown_keyword_arguments_are_type_errors_as_in_keras_tuner(tmp_path):
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_trial'"):
        RandomSearch(build_model, objective="val_accuracy", max_trial=4,
                     directory=str(tmp_path))
    assert as_objectives([keras_tuner.Objective("val_loss", "min"), "train_time"])[0].name \
        == "val_loss"
