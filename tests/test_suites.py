import pytest

from mobench.errors import UsageError
from mobench.suites import discover, get_suite, parse_suite

GOOD = """
name = "tiny"
version = 2
model = "mobench.models.mlp:MLP"
dataset = "digits"
[variants.small]
num_layers = 1
units_0 = 32
"""


def write(tmp_path, text, name="tiny.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_mlp_suite_is_found_with_its_variants():
    suite = get_suite("mnist-mlp")
    assert suite.version >= 1
    assert {"small", "medium", "large"} <= set(suite.variants)


def test_user_suites_dir_adds_suites(tmp_path):
    write(tmp_path, GOOD)
    suites = discover([tmp_path])
    assert suites["tiny"].version == 2 and "mnist-mlp" in suites


def test_unknown_suite_lists_the_valid_ones():
    with pytest.raises(UsageError, match="unknown suite 'nope'; valid suites: .*mnist-mlp"):
        get_suite("nope")


@pytest.mark.parametrize("text, message", [
    ("name = ", "malformed TOML"),
    ('version = 1\nmodel = "m:M"', "name: required key is missing"),
    ('colour = "red"\n' + GOOD, "colour: unknown key"),
    (GOOD.replace("version = 2", 'version = "two"'), "version: expected int"),
    (GOOD.replace("version = 2", "version = 0"), "version: must be positive"),
    ("epochs = -1\n" + GOOD, "epochs: must be positive"),
    (GOOD + "[conditions]\nunits_1 = 2\n", r"conditions\.units_1: expected \{parent"),
    (GOOD + "[conditions]\nunits_1 = { num_layers = [] }\n",
     r"conditions\.units_1\.num_layers: expected a non-empty list"),
    (GOOD + "[conditions]\nunits_1 = { units_1 = [2] }\n", "cannot depend on itself"),
])
def test_malformed_suite_files_name_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=message) as info:
        parse_suite(path)
    assert str(path) in str(info.value)


def test_variant_values_are_checked_against_the_models_space(tmp_path):
    suite = parse_suite(write(tmp_path, GOOD + "[variants.huge]\nunits_0 = 2048\n"))
    hypermodel = suite.hypermodel()
    assert suite.hyperparameters(hypermodel, "small").values == {"num_layers": 1, "units_0": 32}
    with pytest.raises(UsageError, match=r"variants\.huge\.units_0: 2048 is outside 32\.\.512"):
        suite.hyperparameters(hypermodel, "huge")
    with pytest.raises(UsageError, match="defines no hyperparameter 'width'"):
        suite.hyperparameters(hypermodel, values={"width": 3})
    with pytest.raises(UsageError, match="'sigmoid' is not one of"):
        suite.hyperparameters(hypermodel, values={"activation": "sigmoid"})
    with pytest.raises(UsageError, match="unknown variant 'xl'"):
        suite.hyperparameters(hypermodel, "xl")


def test_model_path_that_does_not_import(tmp_path):
    suite = parse_suite(write(tmp_path, GOOD.replace("mobench.models.mlp:MLP", "nowhere:Model")))
    with pytest.raises(UsageError, match="model: cannot import 'nowhere:Model'"):
        suite.hypermodel()


def test_plain_build_model_function_is_accepted(tmp_path, monkeypatch):
    module = tmp_path / "user_models.py"
    module.write_text(
        "import keras\n"
        "def build_model(hp):\n"
        "    m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),\n"
        "        keras.layers.Dense(hp.Int('units', 8, 64, step=8), activation='relu'),\n"
        "        keras.layers.Dense(10, activation='softmax')])\n"
        "    m.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])\n"
        "    return m\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = 'name = "mine"\nversion = 1\nmodel = "user_models:build_model"\n'
    suite = parse_suite(write(tmp_path, text))
    hypermodel = suite.hypermodel()
    model = hypermodel.build(suite.hyperparameters(hypermodel, values={"units": 16}))
    assert model.layers[1].units == 16


def test_space_summary_counts_finite_grids_and_flags_continuous_ranges():
    import keras_tuner as kt

    from mobench.suites import space_summary

    class Finite(kt.HyperModel):
        def build(self, hp):
            hp.Int("a", 1, 3)
            hp.Int("units", 32, 512, step=32)
            hp.Choice("b", ["x", "y"])
            hp.Boolean("c")
            hp.Float("dropout", 0.0, 0.5, step=0.1)

    class Continuous(Finite):
        def build(self, hp):
            super().build(hp)
            hp.Float("lr", 1e-4, 1e-2, sampling="log")

    assert space_summary(Finite()) == {
        "hyperparameters": ["a", "units", "b", "c", "dropout"], "configs": 3 * 16 * 2 * 2 * 6}
    assert space_summary(Continuous())["configs"] is None


def test_conditions_hide_what_the_model_does_not_use():
    from mobench.display import active_params

    suite = get_suite("mnist-mlp")
    config = {"num_layers": 1, "units_0": 64, "units_1": 192, "units_2": 224, "dropout": 0.1}
    assert active_params(config, suite.conditions) == {"num_layers": 1, "units_0": 64,
                                                       "dropout": 0.1}
    assert set(active_params({**config, "num_layers": 2}, suite.conditions)) == {
        "num_layers", "units_0", "units_1", "dropout"}
    assert active_params({**config, "num_layers": 3}, suite.conditions) == {
        **config, "num_layers": 3}
    assert active_params({"units_2": 5}, suite.conditions) == {"units_2": 5}  # no parent: shown
    # a chain: c depends on b, which is inactive, so c is too
    chain = {"b": {"a": [1]}, "c": {"b": [7]}}
    assert active_params({"a": 0, "b": 7, "c": 3}, chain) == {"a": 0}


@pytest.mark.parametrize("name", ["mnist-mlp", "mnist-cnn"])
def test_shipped_conditions_name_hyperparameters_of_the_model(name):
    import keras_tuner as kt

    suite = get_suite(name)
    space = kt.HyperParameters()
    suite.hypermodel().build(space)
    assert suite.conditions
    for child, parents in suite.conditions.items():
        assert child in space.values and set(parents) <= set(space.values)
        for parent, values in parents.items():
            for value in values:  # every listed value is one the parent can take
                suite.hyperparameters(suite.hypermodel(), values={parent: value})
