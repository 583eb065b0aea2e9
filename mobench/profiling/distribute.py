"""Data parallelism inside one trial: `tf.distribute.MirroredStrategy` over the visible GPUs
when there are more than one (`--distribute mirrored`, the default), else one device.

The strategy is chosen once per worker; `mobench.models.common.fresh_model` builds each trial's
model under its scope (after `clear_session`), and Keras then trains that model replicated.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    note = gpus_visible(len(gpus)) if mode == "mirrored" else "--distribute none"
    return None, {"requested": mode, "strategy": "none", "replicas": 1,
                  "devices": gpus[:1] or ["CPU"], "note": note}


def gpus_visible(count: int) -> str:
    """'no GPU visible', '1 GPU visible', '2 GPUs visible': why one device is used."""
    return "no GPU visible" if count == 0 else f"{count} GPU{'s' if count > 1 else ''} visible"
