"""Allocator peak memory (TensorFlow's own statistics) and process peak RSS.

On GPUs TensorFlow's BFC allocator counts every tensor allocation. On CPUs the default
allocator keeps no statistics, and with oneDNN on, its own pool serves small requests that
TensorFlow's statistics never see (a small MLP read exactly its input batch). mobench therefore
asks TensorFlow for its BFC allocator on the CPU too (`TF_CPU_ALLOCATOR_USE_BFC=true`, set by
`import mobench` before TensorFlow's first operation), which counts every tensor the step
allocates; a process where that was not in effect reads no CPU peak, with the reason.
"""

from __future__ import annotations

import os
import resource
import sys

CPU_BFC_ENV = "TF_CPU_ALLOCATOR_USE_BFC"
METHODS = {"GPU": "tf-bfc-allocator-peak", "CPU": "tf-bfc-cpu-allocator-peak"}


def cpu_allocator_counts_all() -> bool:
    """Whether TensorFlow was asked for its (counting) BFC allocator on the CPU."""
    return os.environ.get(CPU_BFC_ENV, "").strip().lower() in ("1", "true")


def peak_method(device: str) -> tuple[str | None, str | None]:
    """(how `device`'s peak is measured, None) or (None, why it cannot be here)."""
    if device.startswith("GPU"):
        return METHODS["GPU"], None
    if cpu_allocator_counts_all():
        return METHODS["CPU"], None
    return None, (f"{device}: the CPU allocator counts every tensor only with {CPU_BFC_ENV}=true "
                  "set before TensorFlow's first operation (import mobench first, or set it)")


def memory_device() -> str:
    """The device whose allocator mobench reads: the first GPU when there is one, else CPU:0."""
    import tensorflow as tf

    return "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"


def reset_peak(device: str) -> str | None:
    """Reset the allocator's peak counter; the reason when stats are unavailable, else None."""
    import tensorflow as tf

    method, reason = peak_method(device)
    if method is None:
        return reason
    try:
        tf.config.experimental.reset_memory_stats(device)
    except (ValueError, RuntimeError) as exc:  # e.g. "Allocator stats not available"
        return f"{device}: {exc}"
    return None


def read_peak(device: str) -> tuple[int | None, str | None]:
    """(peak bytes since the last reset, None) or (None, reason); a zero peak is no reading."""
    import tensorflow as tf

    try:
        info = tf.config.experimental.get_memory_info(device)
    except (ValueError, RuntimeError) as exc:
        return None, f"{device}: {exc}"
    if info["peak"] == 0:
        return None, f"{device}: the allocator tracked no allocation"
    return int(info["peak"]), None


class PeakWindow:
    """The peak bytes one model's training holds: its weights plus everything allocated
    while the window is open (gradients, optimizer slots, activations, workspace).

    Opened right after the model is built: the allocator's peak is reset, and what is in use
    then beyond the model's weights (tensors earlier models of this process left behind) is
    subtracted, so a reading does not grow with the configs measured before it.
    """

    def __init__(self, model, device: str | None = None) -> None:
        self.device = device or memory_device()
        self.weights = variable_bytes(model.weights)
        self.reason = reset_peak(self.device)
        self.in_use = None if self.reason else in_use_bytes(self.device)
        self.method = None if self.reason else peak_method(self.device)[0]

    def read(self) -> tuple[int | None, str | None]:
        """(peak bytes, None) or (None, reason)."""
        if self.reason is not None:
            return None, self.reason
        peak, reason = read_peak(self.device)
        if peak is None:
            return None, reason
        return peak - (self.in_use or 0) + self.weights, None


def in_use_bytes(device: str) -> int | None:
    import tensorflow as tf

    try:
        return int(tf.config.experimental.get_memory_info(device)["current"])
    except (ValueError, RuntimeError):
        return None


def variable_bytes(variables) -> int:
    import numpy as np

    return int(sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables))


def process_peak_rss_bytes() -> int:
    """High-water mark of this process's resident memory since it started."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def training_memory_estimate(model, batch_size: int) -> dict[str, int] | None:
    """Analytic bytes of one training step, to cross-check the measured peak: weights,
    gradients (one per trainable weight), optimizer slots, and every layer's output for the
    batch (kept for the backward pass) plus the input batch. None when the layers' output
    shapes are unknown."""
    import numpy as np

    weights = variable_bytes(model.weights)
    gradients = variable_bytes(model.trainable_weights)
    optimizer = getattr(model, "optimizer", None)
    slots = variable_bytes(optimizer.variables) if optimizer is not None and optimizer.built \
        else 0
    activations = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        try:
            outputs = layer.output
        except (AttributeError, ValueError):
            continue  # a layer never called symbolically (subclassed models)
        for out in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
            shape = [d for d in out.shape[1:] if d is not None]
            activations += int(np.prod(shape)) * batch_size * np.dtype(out.dtype).itemsize
    inputs = getattr(model, "inputs", None) or []
    batch = sum(int(np.prod([d for d in i.shape[1:] if d is not None])) * batch_size
                * np.dtype(i.dtype).itemsize for i in inputs)
    if not activations:
        return None
    return {"weights": weights, "gradients": gradients, "optimizer_slots": slots,
            "activations": activations, "input_batch": batch,
            "total": weights + gradients + slots + activations + batch}
