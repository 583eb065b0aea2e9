"""Every model kind trains at the batch it is given: the hp's `batch_size`, else the suite's;
Keras' default 32 never sneaks in, and the batch actually used is what records say."""

from __future__ import annotations

import json
import math

import pytest

from mobench.cli import main
from mobench.data import load_dataset
from mobench.models.common import fresh_model
from mobench.profiling.training import evaluate_model
from mobench.suites import parse_suite

pytestmark = pytest.mark.slow

MODELS = '''
import keras
import keras_tuner as kt


def _model(hp):
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(hp.Int("units", 16, 64, step=16),
                                                 activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


BUILT = []  # every model build_model made, so a test can read its optimizer's step count


def build_model(hp):
    hp.Choice("batch_size", [16, 50, 128, 256])
    BUILT.append(_model(hp))
    return BUILT[-1]


def build_model_without_batch(hp):
    return _model(hp)


class OwnFit(kt.HyperModel):
    """A user HyperModel whose own fit sets the batch (keras-tuner's documented pattern)."""

    def build(self, hp):
        return _model(hp)

    def fit(self, hp, model, *args, **kwargs):
        return model.fit(*args, batch_size=20, **kwargs)
'''


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", limit=300, announce=lambda _: None)


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    """Suites of three model kinds written beside an importable module of build functions."""
    import sys

    folder = tmp_path_factory.mktemp("batch_suites")
    (folder / "batch_models.py").write_text(MODELS)
    for name, model, batch in (("fn", "build_model", 64), ("fn-nobatch",
                                                           "build_model_without_batch", 48),
                               ("ownfit", "OwnFit", 64)):
        (folder / f"{name}.toml").write_text(
            f'name = "{name}"\nversion = 1\nmodel = "batch_models:{model}"\n'
            f"batch_size = {batch}\nepochs = 1\n")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))


def step_counter():
    import keras

    class Steps(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.per_epoch: list[int] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.per_epoch.append(0)

        def on_train_batch_end(self, batch, logs=None):
            self.per_epoch[-1] += 1

    return Steps()


def train(suite, dataset, values, epochs=1):
    """(record, steps of each epoch) of one config trained through `evaluate_model`."""
    hypermodel = suite.hypermodel(tuple(dataset.x_train.shape[1:]), dataset.num_classes)
    hp = suite.hyperparameters(hypermodel, values=values)
    counter = step_counter()
    record = evaluate_model(suite, dataset, hypermodel, hp, fresh_model(hypermodel, hp, 0),
                            epochs=epochs, callbacks=[counter])
    return record, counter.per_epoch


@pytest.mark.parametrize("batch", [32, 64, 256])
def test_a_hypermodel_suite_trains_at_the_hp_batch(digits, batch):
    from mobench.suites import get_suite

    record, steps = train(get_suite("mnist-mlp"), digits, {"batch_size": batch})
    assert steps == [math.ceil(len(digits.x_train) / batch)]
    assert record.batch_size == batch


@pytest.mark.parametrize("batch", [16, 50, 128])
def test_a_build_model_suite_trains_at_the_hp_batch(digits, suites, batch):
    record, steps = train(parse_suite(suites / "fn.toml"), digits, {"batch_size": batch})
    assert steps == [math.ceil(len(digits.x_train) / batch)]  # not 300 / 32 (Keras' default)
    assert record.batch_size == batch and record.status.value == "ok"


def test_without_a_batch_hyperparameter_the_suites_batch_is_used(digits, suites):
    record, steps = train(parse_suite(suites / "fn-nobatch.toml"), digits, {})
    assert steps == [math.ceil(len(digits.x_train) / 48)]
    assert record.batch_size == 48


def test_a_hypermodel_that_sets_its_own_batch_keeps_it_and_it_is_recorded(digits, suites):
    record, steps = train(parse_suite(suites / "ownfit.toml"), digits, {})  # no TypeError
    assert record.status.value == "ok"
    assert steps == [math.ceil(len(digits.x_train) / 20)]
    assert record.batch_size == 20  # what fit used, not the suite's 64


def test_evaluate_prints_and_stores_the_batch_it_trained_at(suites, tmp_path, capsys):
    out = tmp_path / "e.json"
    assert main(["evaluate", "fn", "--suites-dir", str(suites), "--dataset", "digits",
                 "--limit", "200", "--params", "batch_size=50", "--json", str(out)]) == 0
    assert "batch 50," in capsys.readouterr().out
    assert json.loads(out.read_text())["batch_size"] == 50
    assert main(["evaluate", "ownfit", "--suites-dir", str(suites), "--dataset", "digits",
                 "--limit", "200", "--json", str(out)]) == 0
    assert "batch 20," in capsys.readouterr().out  # its own fit's batch, not the suite's 64
    assert json.loads(out.read_text())["batch_size"] == 20


def test_the_keras_tuner_front_end_trains_at_the_hp_batch(digits, suites, tmp_path):
    import batch_models  # written by the `suites` fixture
    import keras

    from mobench.tuners import RandomSearch

    seen: list[int] = []

    class Steps(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(0)

        def on_train_batch_end(self, batch, logs=None):
            seen[-1] += 1

    tuner = RandomSearch(batch_models.build_model, objective=["val_accuracy", "train_time"],
                         max_trials=2, directory=tmp_path, seed=1)
    tuner.search(digits.x_train, digits.y_train, epochs=1, verbose=0, callbacks=[Steps()],
                 validation_data=(digits.x_val, digits.y_val))
    batches = [t.params["batch_size"] for t in tuner.study.get_trials()]
    assert seen == [math.ceil(len(digits.x_train) / b) for b in batches]


def test_a_curves_table_row_trains_at_the_hp_batch(digits, suites):
    import batch_models

    from mobench.compare.curves import measure_config

    suite = parse_suite(suites / "fn.toml")
    hypermodel = suite.hypermodel(tuple(digits.x_train.shape[1:]), digits.num_classes)
    row = measure_config(suite, hypermodel, digits, {"batch_size": 50}, epochs=2, seed=0,
                         fcd_epochs=[])
    assert row["status"] == "ok", row["reason"]
    steps = int(batch_models.BUILT[-1].optimizer.iterations.numpy())
    assert steps == 2 * math.ceil(len(digits.x_train) / 50)


def test_an_epoch_takes_less_time_at_a_larger_batch(suites):
    """The batch changes the work: 90 steps of 16 against 6 of 256 on the same model (were
    the batch ignored, both would run 45 steps of 32 and take alike). The core is shared, so
    the two alternate for up to five rounds and each keeps its fastest steady epoch; all of
    digits, so that the steps, not an epoch's fixed cost, decide (on 800 examples a loaded
    core once measured the two only 1.2x apart)."""
    dataset = load_dataset("digits", announce=lambda _: None)
    suite = parse_suite(suites / "fn.toml")
    fastest = {16: math.inf, 256: math.inf}
    for _ in range(5):
        for batch in fastest:
            record, _ = train(suite, dataset, {"batch_size": batch, "units": 64}, epochs=3)
            # the first epoch traces the graph
            fastest[batch] = min(fastest[batch], *record.epoch_times_s[1:])
        if fastest[16] > 1.5 * fastest[256]:
            break
    assert fastest[16] > 1.5 * fastest[256], fastest
