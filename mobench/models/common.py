"""Pieces every model family shares: the `precision` hyperparameter and classifier compile.

Precision is applied per layer (`dtype=keras.DTypePolicy(...)` on every layer), never through
`keras.mixed_precision.set_global_policy`, which is process-wide state that would leak from one
trial into the next. The output softmax always computes in float32 for numerical stability.
Keras only wraps the optimizer in a `LossScaleOptimizer` when the *model's* policy is
mixed_float16 (the global one, for Sequential/Functional models), so with per-layer policies
`compile_classifier` does that wrapping itself.
"""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
OUTPUT_DTYPE = "float32"  # the final softmax layer's policy, whatever the precision
BATCH_SIZES = [32, 64, 128, 256]


def declare_precision(hp: kt.HyperParameters) -> str:
    """Declare the shared `precision` Choice (default float32) and return its value."""
    return hp.Choice("precision", list(PRECISIONS), default="float32")


def declare_training(hp: kt.HyperParameters) -> float:
    """Declare `learning_rate` (1e-4..1e-2, log) and `batch_size`; return the learning rate."""
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    hp.Choice("batch_size", BATCH_SIZES)
    return learning_rate


def dtype_policy(precision: str):
    """The Keras `DTypePolicy` for a precision name; unknown names list the valid ones."""
    import keras

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    return keras.DTypePolicy(precision)


def output_layer(num_classes: int):
    """The classifier head: softmax computed in float32 under every precision."""
    import keras

    return keras.layers.Dense(num_classes, activation="softmax", dtype=OUTPUT_DTYPE,
                              name="predictions")


def compile_classifier(model: Any, learning_rate: float, precision: str) -> Any:
    """Compile with Adam + sparse categorical cross-entropy + accuracy; loss scaling for fp16."""
    import keras

    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class SuiteHyperModel(kt.HyperModel):
    """A family's HyperModel: built for a dataset's input shape and class count; `fit` uses the
    hp `batch_size` unless the caller passes one."""

    def __init__(self, input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes

    def fit(self, hp: kt.HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("batch_size", hp.get("batch_size"))
        return model.fit(*args, **kwargs)


def fresh_model(hypermodel, hp, seed: int, strategy: Any = None):
    """A newly built model: Keras session cleared (frees the previous model; Keras 3 collects
    garbage there), every random generator seeded with `seed`, built (and compiled) under
    `strategy`'s scope when one is given, so Keras trains it replicated."""
    import contextlib

    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        return hypermodel.build(hp)
