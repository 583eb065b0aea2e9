"""Model families: every suite variant builds; each precision trains a step in its dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from mobench.models.common import PRECISIONS
from mobench.suites import get_suite

FAMILIES = {"mlp": "mnist-mlp", "cnn": "mnist-cnn", "rnn": "mnist-rnn"}
COMPUTE = {"float32": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
BATCH = 16


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int32)
    return x, y


def build(family: str, variant: str = "small", **values):
    import keras

    suite = get_suite(FAMILIES[family])
    hypermodel = suite.hypermodel()
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    return hypermodel.build(suite.hyperparameters(hypermodel, variant, values))


def weighted_layers(model):
    """Layers that own weights (a Bidirectional wrapper counts as one), output layer last."""
    return [layer for layer in model.layers if layer.weights]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_variant_validates_and_builds(family):
    import keras_tuner as kt

    suite = get_suite(FAMILIES[family])
    assert {"small", "medium", "large"} <= set(suite.variants)
    space = kt.HyperParameters()
    suite.hypermodel().build(space)
    precision = space._hps["precision"][0]
    assert list(precision.values) == list(PRECISIONS) and precision.default == "float32"
    params = {}
    for variant in ("small", "medium", "large"):
        assert suite.variants[variant]["precision"] == "float32"
        params[variant] = build(family, variant).count_params()
    assert params["small"] < params["medium"] < params["large"]


def test_mlp_keeps_its_hyperparameter_names():
    import keras_tuner as kt

    from mobench.models.mlp import MLP

    space = kt.HyperParameters()
    MLP().build(space)
    assert set(space.values) == {"num_layers", "units_0", "units_1", "units_2", "activation",
                                 "dropout", "learning_rate", "batch_size", "precision"}


def test_cnn_pools_only_while_the_image_is_big_enough():
    import keras_tuner as kt

    from mobench.models.cnn import CNN

    hp = kt.HyperParameters()
    hp.values.update(conv_blocks=3, filters_0=8, filters_1=8, filters_2=8)
    model = CNN(input_shape=(4, 4)).build(hp)
    pools = [layer for layer in model.layers if type(layer).__name__ == "MaxPooling2D"]
    assert len(pools) == 2 and model.output_shape == (None, 10)


def test_rnn_folds_channel_axes_into_features():
    import keras_tuner as kt

    from mobench.models.rnn import RNN

    model = RNN(input_shape=(28, 28, 1)).build(kt.HyperParameters())
    assert model.layers[0].output.shape[1:] == (28, 28)


@pytest.mark.slow
@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("family", FAMILIES)
def test_each_precision_trains_one_step_in_its_dtypes(family, precision, batch):
    import keras

    model = build(family, precision=precision)
    assert keras.mixed_precision.global_policy().name == "float32"  # per-layer, nothing leaks
    *hidden, output = weighted_layers(model)
    for layer in hidden:
        assert (layer.compute_dtype, layer.variable_dtype) == (COMPUTE[precision], "float32")
    assert output.compute_dtype == "float32"
    loss_scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert loss_scaled == (precision == "mixed_float16")
    loss, _ = model.train_on_batch(*batch)
    assert np.isfinite(loss)
    assert keras.ops.convert_to_numpy(model(batch[0][:2])).dtype == np.float32


@pytest.mark.slow
@pytest.mark.parametrize("family", ["cnn", "rnn"])
def test_trains_one_step_under_xla(family, batch):
    model = build(family)
    model.jit_compile = True
    assert model.jit_compile, "Keras refused jit_compile for this model"
    loss, _ = model.train_on_batch(*batch)
    assert np.isfinite(loss)
