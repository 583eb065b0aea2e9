"""MNIST multi-layer perceptron: the first suite family (`mnist-mlp`)."""

from __future__ import annotations

import keras_tuner as kt

from mobench.models.common import (
    SuiteHyperModel,
    compile_classifier,
    declare_precision,
    declare_training,
    dtype_policy,
    output_layer,
)

MAX_LAYERS = 3


class MLP(SuiteHyperModel):
    """Flatten -> 1-3 Dense blocks (units, activation, dropout) -> softmax.

    All `units_i` are declared whatever `num_layers` is, so the search space is static and maps
    one-to-one onto Optuna distributions; only the first `num_layers` are used.
    """

    def build(self, hp: kt.HyperParameters):
        import keras

        num_layers = hp.Int("num_layers", 1, MAX_LAYERS)
        units = [hp.Int(f"units_{i}", 32, 512, step=32) for i in range(MAX_LAYERS)]
        activation = hp.Choice("activation", ["relu", "tanh", "gelu"])
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
        learning_rate = declare_training(hp)
        precision = declare_precision(hp)
        policy = dtype_policy(precision)

        layers: list[keras.layers.Layer] = [
            keras.Input(shape=self.input_shape), keras.layers.Flatten(dtype=policy)
        ]
        for width in units[:num_layers]:
            layers.append(keras.layers.Dense(width, activation=activation, dtype=policy))
            if dropout > 0:
                layers.append(keras.layers.Dropout(dropout, dtype=policy))
        layers.append(output_layer(self.num_classes))
        model = keras.Sequential(layers, name="mlp")
        return compile_classifier(model, learning_rate, precision)
