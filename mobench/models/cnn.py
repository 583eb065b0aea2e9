"""MNIST convolutional network: the `mnist-cnn` suite family."""

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

MAX_BLOCKS = 3


class CNN(SuiteHyperModel):
    """1-3 conv blocks (Conv2D [-> BatchNorm] -> ReLU -> 2x2 max-pool -> dropout) -> Dense head.

    Grayscale `(H, W)` input gets a channel axis from a Reshape layer. All `filters_i` are declared
    whatever `conv_blocks` is (a static space, like the MLP's `units_i`); only the first
    `conv_blocks` are used. A block pools only while both spatial sides are at least 2.
    """

    def build(self, hp: kt.HyperParameters):
        import keras

        conv_blocks = hp.Int("conv_blocks", 1, MAX_BLOCKS)
        filters = [hp.Int(f"filters_{i}", 8, 256, step=8) for i in range(MAX_BLOCKS)]
        kernel_size = hp.Choice("kernel_size", [3, 5])
        batch_norm = hp.Boolean("batch_norm", default=False)
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
        dense_units = hp.Int("dense_units", 32, 512, step=32)
        learning_rate = declare_training(hp)
        precision = declare_precision(hp)
        policy = dtype_policy(precision)

        L = keras.layers
        shape = self.input_shape if len(self.input_shape) == 3 else (*self.input_shape, 1)
        layers: list[keras.layers.Layer] = [keras.Input(shape=self.input_shape)]
        if shape != self.input_shape:
            layers.append(L.Reshape(shape, dtype=policy))
        spatial = list(shape[:2])
        for width in filters[:conv_blocks]:
            layers.append(L.Conv2D(width, kernel_size, padding="same", use_bias=not batch_norm,
                                   activation=None if batch_norm else "relu", dtype=policy))
            if batch_norm:
                layers += [L.BatchNormalization(dtype=policy), L.Activation("relu", dtype=policy)]
            if min(spatial) >= 2:
                layers.append(L.MaxPooling2D(2, dtype=policy))
                spatial = [side // 2 for side in spatial]
            if dropout > 0:
                layers.append(L.Dropout(dropout, dtype=policy))
        layers += [L.Flatten(dtype=policy), L.Dense(dense_units, activation="relu", dtype=policy)]
        if dropout > 0:
            layers.append(L.Dropout(dropout, dtype=policy))
        layers.append(output_layer(self.num_classes))
        model = keras.Sequential(layers, name="cnn")
        return compile_classifier(model, learning_rate, precision)
