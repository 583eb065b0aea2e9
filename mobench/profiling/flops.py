"""FLOP counts (analytic per layer, TF graph profiler cross-check) and the matmul peak line.

Conventions: one multiply-add is 2 FLOPs; bias adds count 1 per output element; activations
(fused or standalone) and pure shape ops (Flatten, Reshape, Dropout, padding, ...) count 0, the
same choice the TF graph profiler makes, so both numbers can be compared. Counts are per sample.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

from mobench.documents import write_json
from mobench.errors import UsageError

SCHEMA_VERSION = 1
CPU_MATMUL_N = 2048  # ~17 GFLOP: 75-130 ms on a 2-core AVX-512 VM (measured)
GPU_MATMUL_N = 8192  # ~1.1 TFLOP, tens of ms on a datacentre GPU

_ZERO_FLOP = (  # shape / routing / stochastic / activation layers: 0 FLOPs by convention
    "InputLayer", "Flatten", "Reshape", "Permute", "RepeatVector", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout", "GaussianNoise", "AlphaDropout",
    "ActivityRegularization", "Masking", "Identity", "Activation", "ReLU", "LeakyReLU", "PReLU",
    "ELU", "Softmax", "Embedding", "Concatenate", "Cropping1D", "Cropping2D", "Cropping3D",
    "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "UpSampling1D", "UpSampling2D",
    "UpSampling3D",
)
_MERGE = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
_LOCAL_POOL = ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D",
               "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
_GLOBAL_POOL = ("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
                "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D")


def _classes(names: tuple[str, ...]) -> tuple[type, ...]:
    import keras

    return tuple(getattr(keras.layers, n) for n in names if hasattr(keras.layers, n))


def _prod(dims: Any) -> int | None:
    dims = list(dims)
    if any(d is None for d in dims):
        return None
    return math.prod(int(d) for d in dims)


def _input_shape(layer: Any) -> Any:
    """The layer's input shape (with batch dim): from its graph node, else from its build."""
    try:
        inp = layer.input
        return [tuple(t.shape) for t in inp] if isinstance(inp, list | tuple) else tuple(inp.shape)
    except Exception:  # noqa: BLE001 - never called in a graph: fall back to the build shape
        shapes = list((getattr(layer, "_build_shapes_dict", None) or {}).values())
        if len(shapes) == 1:
            return tuple(shapes[0]) if not isinstance(shapes[0], list) else shapes[0]
        return shapes or None


def _spatial(shape: Any, data_format: str) -> list:
    return list(shape[2:] if data_format == "channels_first" else shape[1:-1])


def _rnn_step_flops(cell: Any) -> int | None:
    """One timestep of an RNN cell: gate matmuls + bias + the cell's elementwise mul/adds.

    Per gate 2*(in + units)*units (input and recurrent projections; the add joining them is
    inside the multiply-add count); bias 1 per gate unit (GRU reset_after has two biases);
    elementwise: LSTM c = f*c + i*g, h = o*tanh(c) -> 4*units; GRU r*(U h), z*h + (1-z)*h~ ->
    5*units; SimpleRNN 0. Sigmoid/tanh are not counted (activations count 0 everywhere).
    """
    name = type(cell).__name__
    gates, elementwise = {"LSTMCell": (4, 4), "GRUCell": (3, 5), "SimpleRNNCell": (1, 0)}.get(
        name, (None, None))
    if gates is None or not getattr(cell, "built", False):
        return None
    units, n_in = int(cell.units), int(cell.kernel.shape[0])
    bias = 0
    if cell.use_bias:
        bias = gates * units * (2 if name == "GRUCell" and cell.reset_after else 1)
    return gates * 2 * (n_in + units) * units + bias + elementwise * units


def _flops(layer: Any, shape: Any) -> int | None:
    """Forward FLOPs per sample of a built layer for the input ``shape`` (batch dim included)."""
    import keras

    L = keras.layers
    if isinstance(layer, keras.Model):
        from_model = model_flops(layer)
        return None if from_model["uncounted_layers"] else from_model["forward_per_sample"]
    if isinstance(layer, _classes(_ZERO_FLOP)):
        return 0
    if shape is None or not getattr(layer, "built", False):
        return None
    if isinstance(layer, _classes(_MERGE)):
        n = _prod(shape[0][1:]) if isinstance(shape, list) else None
        return None if n is None else (len(shape) - 1) * n
    if isinstance(shape, list):
        return None
    if isinstance(layer, L.Dense):
        n_in, units = int(layer.kernel.shape[0]), int(layer.units)
        lead = _prod(shape[1:-1])
        return None if lead is None else lead * (2 * n_in * units + units * layer.use_bias)
    if isinstance(layer, L.BatchNormalization | L.Rescaling):
        # Inference-style: y = x * scale + offset (scale/offset folded) -> 2 FLOPs per element.
        n = _prod(shape[1:])
        return None if n is None else 2 * n
    if isinstance(layer, L.Bidirectional):
        parts = [_flops(layer.forward_layer, shape), _flops(layer.backward_layer, shape)]
        return None if None in parts else sum(parts)
    if isinstance(layer, L.TimeDistributed):
        inner = _flops(layer.layer, (shape[0], *shape[2:]))
        return None if inner is None or shape[1] is None else inner * int(shape[1])
    if isinstance(layer, L.RNN):
        step = _rnn_step_flops(layer.cell)
        return None if step is None or shape[1] is None else step * int(shape[1])
    out = tuple(layer.compute_output_shape(shape))
    fmt = getattr(layer, "data_format", "channels_last")
    if isinstance(layer, _classes(_LOCAL_POOL)):  # TF's convention: window area per output
        n = _prod(out[1:])
        return None if n is None else n * math.prod(layer.pool_size)
    if isinstance(layer, _classes(_GLOBAL_POOL)):
        return _prod(shape[1:])
    out_sp, in_sp = _prod(_spatial(out, fmt)), _prod(_spatial(shape, fmt))
    if out_sp is None or in_sp is None:
        return None
    bias = out_sp * int(out[1] if fmt == "channels_first" else out[-1]) * layer.use_bias
    if isinstance(layer, L.Conv1DTranspose | L.Conv2DTranspose | L.Conv3DTranspose):
        # Each input position scatters the whole kernel: 2*k*cin*cout per input position.
        return 2 * _prod(layer.kernel.shape) * in_sp + bias
    if isinstance(layer, L.SeparableConv1D | L.SeparableConv2D):
        depth = 2 * _prod(layer.depthwise_kernel.shape) * out_sp
        return depth + 2 * _prod(layer.pointwise_kernel.shape) * out_sp + bias
    if isinstance(layer, L.Conv1D | L.Conv2D | L.Conv3D | L.DepthwiseConv1D | L.DepthwiseConv2D):
        # kernel is (*k, cin/groups, cout) or (*k, cin, multiplier): 2*prod per output position.
        return 2 * _prod(layer.kernel.shape) * out_sp + bias
    return None


def layer_forward_flops(layer: Any) -> int | None:
    """Analytic forward FLOPs per sample of a built Keras layer; None when not countable."""
    try:
        return _flops(layer, _input_shape(layer))
    except Exception:  # noqa: BLE001 - an odd layer is "not counted", never a crash
        return None


def _walk(model: Any, prefix: str, rows: list[dict], uncounted: list[str]) -> None:
    import keras

    for layer in model.layers:
        name = prefix + layer.name
        if isinstance(layer, keras.Model):
            _walk(layer, name + "/", rows, uncounted)
            continue
        flops = layer_forward_flops(layer)
        rows.append({"name": name, "class": type(layer).__name__, "forward_flops": flops})
        if flops is None:
            uncounted.append(name)


def model_flops(model: Any) -> dict:
    """Per-sample FLOPs of a built model, recursing into nested models (GAN parts, Sequential).

    ``train_per_sample`` = 3 x forward: backward costs ~2x forward (gradients w.r.t. activations
    and w.r.t. weights), the usual convention (Kaplan et al. 2020); optimizer updates excluded.
    A model with a train step of its own says what it costs in ``train_flops_per_sample(
    forward_of)``. A layer shared between several calls is counted once.
    """
    rows: list[dict] = []
    uncounted: list[str] = []
    _walk(model, "", rows, uncounted)
    forward = sum(r["forward_flops"] for r in rows if r["forward_flops"] is not None)
    custom = getattr(model, "train_flops_per_sample", None)  # a train_step of its own (GAN)
    train = custom(lambda part: model_flops(part)["forward_per_sample"]) if callable(custom) \
        else 3 * forward
    return {"forward_per_sample": forward, "train_per_sample": train,
            "per_layer": rows, "uncounted_layers": uncounted}


def tf_profiler_flops(model: Any, batch_size: int = 1) -> int | None:
    """Forward FLOPs per sample from TF's graph profiler (cross-check); None when it fails.

    Counts MatMul as 2*m*n*k, BiasAdd/Add/Mul 1 per element, Conv2D 2*k*cin per output, and
    nothing for activations; ops inside control flow (RNN while-loop bodies) are missed.
    """
    try:
        import tensorflow as tf

        specs = [tf.TensorSpec((batch_size, *t.shape[1:]), t.dtype) for t in model.inputs]
        fn = tf.function(lambda *x: model(x[0] if len(x) == 1 else list(x), training=False))
        graph = fn.get_concrete_function(*specs).graph
        prof = tf.compat.v1.profiler
        opts = prof.ProfileOptionBuilder(prof.ProfileOptionBuilder.float_operation())
        logger, level = tf.get_logger(), tf.get_logger().level
        logger.setLevel("ERROR")  # the profiler warns about deprecated v1 helpers on every call
        try:
            result = prof.profile(graph=graph, options=opts.with_empty_output().build())
        finally:
            logger.setLevel(level)
        return int(result.total_float_ops) // batch_size
    except Exception:  # noqa: BLE001 - a cross-check, never a crash
        return None


def _default_device() -> str:
    import tensorflow as tf

    return "/GPU:0" if tf.config.list_logical_devices("GPU") else "/CPU:0"


def measure_matmul_peak(n: int | None = None, dtype: str = "float32", repeats: int = 10,
                        device: str | None = None) -> dict:
    """Dense-matmul FLOP/s: an XLA-compiled n x n @ n x n, our physical-limit line.

    ``n=None`` picks 2048 on CPU and 8192 on GPU. Compile + first run are timed separately
    (``compile_s``), two more untimed runs warm up; each timed run waits for the result (a
    scalar read back) before the clock is read.
    ``flops_per_s_best`` uses the fastest run (closest to the hardware limit), ``_median`` the
    typical one. ``device=None`` is the first GPU if any, else the CPU.
    """
    import tensorflow as tf

    if repeats < 1 or (n is not None and n < 1):
        raise UsageError(f"matmul peak needs n >= 1 and repeats >= 1, got n={n}, {repeats=}")
    device = device or _default_device()
    kind = tf.DeviceSpec.from_string(device).device_type or "CPU"
    n = n or (GPU_MATMUL_N if kind.upper() == "GPU" else CPU_MATMUL_N)
    with tf.device(device):
        a = tf.cast(tf.random.normal((n, n), seed=1), dtype)
        b = tf.cast(tf.random.normal((n, n), seed=2), dtype)

        @tf.function(jit_compile=True)
        def matmul(x: Any, y: Any) -> Any:
            c = tf.matmul(x, y)
            return c, c[0, 0]  # c is an output, so it is fully computed; the scalar syncs

        t0 = time.perf_counter_ns()
        matmul(a, b)[1].numpy()
        compile_ns = time.perf_counter_ns() - t0
        for _ in range(2):  # untimed: first runs pay page faults and thread-pool spin-up
            matmul(a, b)[1].numpy()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            matmul(a, b)[1].numpy()
            times.append(time.perf_counter_ns() - t0)
    flops = 2 * n**3
    best, median = min(times) / 1e9, statistics.median(times) / 1e9
    return {"n": n, "dtype": dtype, "repeats": repeats, "device": device, "device_type": kind,
            "flops": flops, "compile_s": compile_ns / 1e9, "time_s_best": best,
            "time_s_median": median, "flops_per_s_best": flops / best,
            "flops_per_s_median": flops / median,
            "tf32_enabled": bool(tf.config.experimental.tensor_float_32_execution_enabled())}


def default_cache_dir() -> Path:
    """``$MOBENCH_CACHE_DIR`` or ``~/.cache/mobench``."""
    return Path(os.environ.get("MOBENCH_CACHE_DIR") or Path.home() / ".cache" / "mobench")


def _read_cache(path: Path) -> dict | None:
    try:
        doc = json.loads(path.read_text())
        ok = (doc.get("schema_version") == SCHEMA_VERSION and doc["flops_per_s_median"] > 0
              and doc["flops_per_s_best"] > 0)
        return doc if ok else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def cached_matmul_peak(hardware_id: str, cache_dir: str | os.PathLike | None = None, *,
                       refresh: bool = False) -> dict:
    """The matmul peak for ``hardware_id``, measured once and cached as JSON.

    Stored at ``<cache_dir>/matmul_peak/<hardware_id>.json``; a missing, corrupt or
    old-schema file is re-measured and replaced atomically (tmp file, then os.replace).
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", hardware_id or ""):
        raise UsageError(f"hardware_id must be letters, digits, '.', '_' or '-': {hardware_id!r}")
    path = Path(cache_dir or default_cache_dir()) / "matmul_peak" / f"{hardware_id}.json"
    if not refresh and (doc := _read_cache(path)) is not None:
        return doc
    import tensorflow as tf

    doc = {"schema_version": SCHEMA_VERSION, "hardware_id": hardware_id,
           **measure_matmul_peak(),
           "measured_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
           "tf_version": tf.__version__}
    write_json(path, doc)
    return doc
