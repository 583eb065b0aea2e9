"""Allocator peak memory (TensorFlow's own statistics) and process peak RSS."""

from __future__ import annotations

import resource
import sys


def memory_device() -> str:
    """The device whose allocator mobench reads: the first GPU when there is one, else CPU:0."""
    import tensorflow as tf

    return "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"


def reset_peak(device: str) -> str | None:
    """Reset the allocator's peak counter; the reason when stats are unavailable, else None."""
    import tensorflow as tf

    try:
        tf.config.experimental.reset_memory_stats(device)
    except (ValueError, RuntimeError) as exc:  # e.g. "Allocator stats not available"
        return f"{device}: {exc}"
    return None


def read_peak(device: str) -> tuple[int | None, str | None]:
    """(peak bytes since the last reset, None) or (None, reason).

    On CPU, oneDNN's allocator serves requests under 256 KiB from a pool its statistics do not
    see, so a small model can read 0 there: that is reported as absent with the reason, since
    a zero would be a wrong number, not a measured one.
    """
    import tensorflow as tf

    try:
        info = tf.config.experimental.get_memory_info(device)
    except (ValueError, RuntimeError) as exc:
        return None, f"{device}: {exc}"
    if info["peak"] == 0 and device.startswith("CPU"):
        return None, (f"{device}: the allocator tracked no allocation (oneDNN serves requests "
                      "under 256 KiB from an untracked pool)")
    return int(info["peak"]), None


def process_peak_rss_bytes() -> int:
    """High-water mark of this process's resident memory since it started."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB
