"""Hardware and software fingerprint of this machine, and the hardware id naming result folders.

Importing this module is cheap: TensorFlow is imported inside `fingerprint()` only.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from collections import Counter
from importlib import metadata
from typing import Any

from mobench.errors import UsageError
from mobench.profiling.nvml import gpu_inventory

#: installed versions recorded in every fingerprint (read from metadata, nothing imported):
#: what a measurement or a comparison's numbers may depend on
PACKAGES = ("tensorflow", "keras", "keras-tuner", "numpy", "scipy", "scikit-learn", "optuna",
            "moocore", "pandas")
ENV_VARS = ("XLA_FLAGS", "TF_XLA_FLAGS", "TF_ENABLE_ONEDNN_OPTS", "CUDA_VISIBLE_DEVICES")
TF_BUILD_KEYS = (
    "cuda_version",
    "cudnn_version",
    "cuda_compute_capabilities",
    "is_cuda_build",
    "is_rocm_build",
)
MAX_ID_LEN = 60

# Marketing noise removed from CPU and GPU names before slugging (case-insensitive).
_NOISE = (
    r"\((r|tm|c)\)",  # Intel(R) Core(TM)
    r"@\s*[\d.]+\s*[gm]hz",  # @ 2.70GHz
    r"\b\d+-core\b",  # AMD "16-Core Processor"
    r"\s(with|w/)\s.*graphics",  # "with Radeon Graphics"
    r"\bprocessor\b",
    r"\bcpu\b",
    r"^nvidia\b",  # NVML only reports NVIDIA GPUs: the prefix carries no information
)


def slug(name: str) -> str:
    """Lowercase [a-z0-9-] slug of a CPU or GPU model name, marketing noise removed."""
    text = name.strip()
    for pattern in _NOISE:
        text = re.sub(pattern, " ", text, flags=re.IGNORECASE).strip()
    text = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return text or "unknown"


def _with_suffix(model: str, suffix: str, limit: int = MAX_ID_LEN) -> str:
    return model[: limit - len(suffix)].rstrip("-") + suffix


def run_suffix(fp: dict[str, Any]) -> str:
    """What a run set that changes its costs: `-t<N>` when TensorFlow's intra-op threads were
    set (`threads.intra_op` > 0), `-cpu<M>` when the process may run on M of the machine's
    logical cores only (`affinity`, e.g. under `taskset`); "" for a default, unpinned run."""
    threads = fp.get("threads") if isinstance(fp.get("threads"), dict) else {}
    intra = threads.get("intra_op")
    suffix = f"-t{intra}" if isinstance(intra, int) and intra > 0 else ""
    cores, allowed = fp.get("cpu_count_logical"), fp.get("affinity")
    if isinstance(allowed, list) and isinstance(cores, int) and 0 < len(allowed) < cores:
        suffix += f"-cpu{len(allowed)}"
    return suffix


def machine_id(fp: dict[str, Any], tail: str = "") -> str:
    """The machine's part of the hardware id (GPUs, or the CPU model and its logical cores),
    shortened to leave room for `tail` within MAX_ID_LEN, then `tail`."""
    gpus = fp.get("gpus") or []
    if gpus:
        counts = Counter(slug(str(g.get("name", "unknown-gpu"))) for g in gpus)
        limit = (MAX_ID_LEN - len(tail) + 1) // len(counts) - 1  # room for the '-' between
        return "-".join(_with_suffix(name, f"x{n}", limit) for name, n in counts.items()) + tail
    cores = fp.get("cpu_count_logical")
    suffix = f"-{cores}c" if cores else ""
    return _with_suffix("cpu-" + slug(str(fp.get("cpu_model") or "")), suffix + tail)


def hardware_id(fp: dict[str, Any]) -> str:
    """Stable short id for result folders, only [a-z0-9-], at most 60 characters.

    With GPUs: `<gpu-slug>x<count>` per distinct model, joined by '-' (e.g. "h100-80gb-hbm3x1",
    the "NVIDIA" prefix dropped). Without: `cpu-<cpu-slug>-<logical cores>c`
    (e.g. "cpu-intel-xeon-platinum-8481c-2c"). Then `run_suffix`: a run with one TensorFlow
    thread pinned to one of two cores is "cpu-intel-xeon-2c-t1-cpu1"; a default run has none,
    so ids from before threads and pinning were recorded stay valid.
    """
    return machine_id(fp, run_suffix(fp))


def _cpu_model() -> str:
    """CPU model name: /proc/cpuinfo on Linux, sysctl on macOS, platform.processor() else."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            cmd = ["sysctl", "-n", "machdep.cpu.brand_string"]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=5).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def _memory_total() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        return None


def _affinity() -> list[int] | None:
    """The logical cores this process may run on (Linux); None where the OS does not say."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def _threads() -> dict[str, int] | None:
    """TensorFlow's intra- and inter-op pool sizes (0: TensorFlow's default) when TensorFlow
    is already imported; None otherwise (reading them must not import it)."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    try:
        return {"intra_op": int(tf.config.threading.get_intra_op_parallelism_threads()),
                "inter_op": int(tf.config.threading.get_inter_op_parallelism_threads())}
    except (AttributeError, RuntimeError):
        return None


def set_threads(intra_op: int | None, inter_op: int | None) -> dict[str, Any]:
    """Size TensorFlow's intra- and inter-op pools (None: leave it; before any op runs, or to
    the size it already has) and report them with the BLAS thread variables."""
    import tensorflow as tf

    threading = tf.config.threading
    for wanted, get, put in ((intra_op, threading.get_intra_op_parallelism_threads,
                              threading.set_intra_op_parallelism_threads),
                             (inter_op, threading.get_inter_op_parallelism_threads,
                              threading.set_inter_op_parallelism_threads)):
        if wanted is not None and get() != wanted:
            try:
                put(wanted)
            except RuntimeError as exc:
                raise UsageError(f"TensorFlow threads: {exc}") from None
    env = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return {"intra_op": threading.get_intra_op_parallelism_threads(),
            "inter_op": threading.get_inter_op_parallelism_threads(),
            "cpu_count": os.cpu_count(), **{k: os.environ.get(k) for k in env}}


def _versions() -> dict[str, str]:
    """Installed versions, read from metadata without importing the packages."""
    found = {}
    for name in PACKAGES:
        try:
            found[name.replace("-", "_")] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def _tensorflow_info() -> dict[str, Any]:
    """TF build info and visible devices ("CPU:0", "GPU:0"); {} when TF is not installed."""
    try:
        import tensorflow as tf
    except ImportError:
        return {}
    build = tf.sysconfig.get_build_info()
    devices = tf.config.list_physical_devices()
    return {
        "tf_build": {k: build[k] for k in TF_BUILD_KEYS if k in build},
        "tf_devices": [d.name.removeprefix("/physical_device:") for d in devices],
    }


def fingerprint(tensorflow: bool = True) -> dict[str, Any]:
    """JSON-able description of this machine; absent keys mean "could not be determined".

    Keys: cpu_model, cpu_count_logical, cpu_count_physical, affinity (the cores this process
    may run on), memory_total_bytes, os, machine, python, versions {tensorflow, keras,
    keras_tuner, numpy, scipy, scikit_learn, optuna, moocore, pandas} (those installed),
    tf_build, tf_devices, threads {intra_op, inter_op} (when TensorFlow is imported), env,
    gpus, gpu_unavailable_reason (only without GPUs), machine_id, hardware_id.
    `tensorflow=False` skips the TensorFlow import (tf_build, tf_devices).
    """
    fp: dict[str, Any] = {
        "cpu_model": _cpu_model(),
        "cpu_count_logical": os.cpu_count(),
        "affinity": _affinity(),
        "cpu_count_physical": _physical_cores(),
        "memory_total_bytes": _memory_total(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": _versions(),
    }
    fp = {k: v for k, v in fp.items() if v is not None}
    if tensorflow:
        fp.update(_tensorflow_info())
    threads = _threads()
    if threads is not None:
        fp["threads"] = threads
    fp["env"] = {k: os.environ[k] for k in ENV_VARS if k in os.environ}
    gpus, reason = gpu_inventory()
    fp["gpus"] = gpus
    if not gpus:
        fp["gpu_unavailable_reason"] = reason or "NVML reports no GPU"
    fp["machine_id"] = machine_id(fp)
    fp["hardware_id"] = hardware_id(fp)
    return fp


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def _cores(cores: list[int]) -> str:
    """0-3,6 for [0, 1, 2, 3, 6]."""
    spans: list[list[int]] = []
    for c in cores:
        if spans and c == spans[-1][1] + 1:
            spans[-1][1] = c
        else:
            spans.append([c, c])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)


def _gpu_line(g: dict[str, Any]) -> str:
    bits = [str(g.get("name", "unknown GPU"))]
    if "memory_total_bytes" in g:
        bits.append(_gib(g["memory_total_bytes"]))
    labels = (
        ("compute_capability", "cc {}"),
        ("power_limit_w", "power limit {:g} W"),
        ("driver_version", "driver {}"),
        ("cuda_driver_version", "CUDA {}"),
        ("uuid", "{}"),
    )
    bits += [fmt.format(g[key]) for key, fmt in labels if key in g]
    return f"  [{g.get('index', '?')}] " + ", ".join(bits)


def format_fingerprint(fp: dict[str, Any]) -> str:
    """Readable multi-line text of a fingerprint, for `python -m mobench hw`."""
    lines = [f"hardware id: {fp.get('hardware_id') or hardware_id(fp)}"]
    cores = [
        f"{fp[k]} {label}"
        for k, label in (("cpu_count_logical", "logical"), ("cpu_count_physical", "physical"))
        if k in fp
    ]
    cpu = fp.get("cpu_model", "unknown")
    lines.append(f"CPU: {cpu}" + (f" ({', '.join(cores)} cores)" if cores else ""))
    if isinstance(fp.get("affinity"), list):
        lines.append(f"may run on cores: {_cores(fp['affinity'])}")
    if isinstance(fp.get("threads"), dict):
        lines.append("TensorFlow threads: " + ", ".join(
            f"{k} {v or 'default'}" for k, v in fp["threads"].items()))
    if "memory_total_bytes" in fp:
        lines.append(f"memory: {_gib(fp['memory_total_bytes'])}")
    for key in ("os", "machine", "python"):
        if key in fp:
            lines.append(f"{key}: {fp[key]}")
    lines += [f"{name}: {version}" for name, version in fp.get("versions", {}).items()]
    if "tf_build" in fp:
        items = fp["tf_build"].items()
        build = ", ".join(f"{k}={' '.join(v) if isinstance(v, list) else v}" for k, v in items)
        lines.append(f"TF build: {build or 'no GPU build info'}")
    if "tf_devices" in fp:
        lines.append(f"TF devices: {', '.join(fp['tf_devices']) or 'none'}")
    lines += [f"{k}: {v}" for k, v in fp.get("env", {}).items()]
    gpus = fp.get("gpus") or []
    if gpus:
        lines.append(f"GPUs: {len(gpus)}")
        lines += [_gpu_line(g) for g in gpus]
    else:
        lines.append(f"GPUs: none ({fp.get('gpu_unavailable_reason', 'no reason recorded')})")
    return "\n".join(lines)
