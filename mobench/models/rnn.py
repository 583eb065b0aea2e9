"""MNIST recurrent network (rows as timesteps): the `mnist-rnn` suite family."""

from __future__ import annotations

import math

import keras_tuner as kt

from mobench.models.common import (
    SuiteHyperModel,
    compile_classifier,
    declare_precision,
    declare_training,
    dtype_policy,
    output_layer,
)

CELLS = ("lstm", "gru", "simple_rnn")
MAX_LAYERS = 2


class RNN(SuiteHyperModel):
    """1-2 recurrent layers (LSTM, GRU or SimpleRNN; optionally bidirectional) -> softmax.

    A `(28, 28)` image is read as 28 timesteps of 28 features (extra trailing axes are folded
    into the features). Only Keras 3 layers, so XLA can compile the whole step; there is no
    cuDNN path on CPU anyway. Dropout is a Dropout layer after each recurrent layer.
    """

    def build(self, hp: kt.HyperParameters):
        import keras

        cell = hp.Choice("cell", list(CELLS))
        units = hp.Int("units", 16, 256, step=16)
        rnn_layers = hp.Int("rnn_layers", 1, MAX_LAYERS)
        bidirectional = hp.Boolean("bidirectional", default=False)
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
        learning_rate = declare_training(hp)
        precision = declare_precision(hp)
        policy = dtype_policy(precision)

        L = keras.layers
        recurrent = {"lstm": L.LSTM, "gru": L.GRU, "simple_rnn": L.SimpleRNN}[cell]
        sequence = (self.input_shape[0], math.prod(self.input_shape[1:]))
        layers: list[keras.layers.Layer] = [keras.Input(shape=self.input_shape)]
        if sequence != self.input_shape:
            layers.append(L.Reshape(sequence, dtype=policy))
        for i in range(rnn_layers):
            layer = recurrent(units, return_sequences=i < rnn_layers - 1, dtype=policy)
            layers.append(L.Bidirectional(layer, dtype=policy) if bidirectional else layer)
            if dropout > 0:
                layers.append(L.Dropout(dropout, dtype=policy))
        layers.append(output_layer(self.num_classes))
        model = keras.Sequential(layers, name="rnn")
        return compile_classifier(model, learning_rate, precision)
