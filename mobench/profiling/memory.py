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


def process_peak_rss_bytes() -> int:
    """High-water mark of this process's resident memory since it started."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB
