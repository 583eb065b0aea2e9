"""Data parallelism inside one trial: `tf.distribute.MirroredStrategy` over the visible GPUs
when there are more than one (`--distribute mirrored`, the default), else one device.

`evaluate` calls `keras.backend.clear_session()`, which resets TensorFlow's default graph and
with it the strategy scope; `strategy_scope` re-enters the scope after each such call so that the
model is built, compiled and trained under the strategy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from mobench.errors import unknown_name

MODES = ("mirrored", "none")


def choose(mode: str, devices: Sequence[str] | None = None) -> tuple[Any, dict[str, Any]]:
    """(strategy or None, description for the record) for `mode` and the visible GPUs."""
    if mode not in MODES:
        raise unknown_name("distribute mode", mode, MODES)
    import tensorflow as tf

    gpus = list(devices) if devices is not None else [
        d.name for d in tf.config.list_logical_devices("GPU")]
    if mode == "mirrored" and len(gpus) > 1:
        strategy = tf.distribute.MirroredStrategy(gpus)
        return strategy, {"requested": mode, "strategy": "MirroredStrategy",
                          "replicas": strategy.num_replicas_in_sync, "devices": gpus}
    note = (f"{len(gpus)} GPU visible: one device" if mode == "mirrored" else "disabled")
    return None, {"requested": mode, "strategy": "none", "replicas": 1,
                  "devices": gpus[:1] or ["CPU"], "note": note}


@contextmanager
def strategy_scope(strategy) -> Iterator[None]:
    """Run the block under `strategy` (no-op for None), surviving `clear_session()` calls."""
    if strategy is None:
        yield
        return
    import keras

    original = keras.backend.clear_session
    state = {"scope": strategy.scope()}
    state["scope"].__enter__()

    def clear_session(*args: Any, **kwargs: Any) -> None:
        state["scope"].__exit__(None, None, None)
        original(*args, **kwargs)
        state["scope"] = strategy.scope()
        state["scope"].__enter__()

    keras.backend.clear_session = clear_session
    try:
        yield
    finally:
        keras.backend.clear_session = original
        state["scope"].__exit__(None, None, None)
