"""TF profiler traces of a few steps, summarised as per-op self time from the XPlane protos.

Self time of an event = its duration minus the time covered by the events nested directly
inside it on the same timeline line. On GPU, kernels on the ``/device:GPU:N`` stream lines are
device time and make the summary ("kind": "device"); without them the host plane is summarised
("kind": "host"). Host self times are summed over threads, so they can exceed wall time.

What is left out of ``ops``: the step markers recorded by ``trace_steps`` (events carrying a
``step_num`` stat; their durations are reported as ``step_times_s``) and zero-length events
(thread-pool bookkeeping). Events of the TF/XLA runtime itself (eager dispatch, executor,
thunk launch, allocator) stay in, labelled ``"category": "runtime"``; the rest are ``"op"``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mobench.errors import UsageError

TOP_OPS = 50
_DERIVED_LINES = {"XLA Modules", "XLA Ops", "Steps", "TensorFlow Ops", "TensorFlow Name Scope",
                  "Source code", "Framework Ops", "Launch Stats", "XLA TraceMe"}
_RUNTIME_PREFIXES = (
    "Eager", "TFE_", "KernelAndDeviceFunc", "FunctionRun", "ExecutorState", "ThreadpoolListener",
    "ThunkExecutor", "CpuExecutable", "MemoryAllocation", "MemoryDeallocation", "BlockUntilReady",
    "ValidateInputTypeAndPlacement", "SlinkyThreadPool", "__inference_", "__forward_",
    "__backward_", "tf.constant", "convert_to_tensor", "PjRt", "TfrtCpu", "GpuExecutable",
)


def _xplane_pb2() -> Any:
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError:
        try:
            from tsl.profiler.protobuf import xplane_pb2  # type: ignore[no-redef]
        except ImportError:
            from tensorflow.core.profiler.protobuf import xplane_pb2  # type: ignore[no-redef]
    return xplane_pb2


def _is_device_plane(name: str) -> bool:
    return name.startswith(("/device:GPU", "/device:TPU"))


def _line_self_times(plane: Any, line: Any, ops: dict, steps: list[float]) -> float:
    """Add the line's per-op self times to ``ops``; returns the line's total op self time."""
    meta, stat_names = plane.event_metadata, {k: v.name for k, v in plane.stat_metadata.items()}
    events = sorted((e for e in line.events if e.duration_ps > 0),
                    key=lambda e: (e.offset_ps, -e.duration_ps))
    nodes: list[list] = []  # [event, end_ps, child_ps]
    stack: list[list] = []
    for event in events:
        start, end = event.offset_ps, event.offset_ps + event.duration_ps
        while stack and stack[-1][1] <= start:
            stack.pop()
        if stack:  # nested (or overlapping): the covered part is not the parent's own time
            stack[-1][2] += min(end, stack[-1][1]) - start
        node = [event, end, 0]
        stack.append(node)
        nodes.append(node)
    total = 0.0
    for event, _end, child_ps in nodes:
        stats = {stat_names.get(s.metadata_id, "") for s in event.stats}
        if "step_num" in stats:
            steps.append(event.duration_ps / 1e12)
            continue
        md = meta.get(event.metadata_id)
        name = (md.display_name or md.name) if md is not None else f"#{event.metadata_id}"
        runtime = name.startswith(_RUNTIME_PREFIXES) or "tf_function_call" in stats
        self_s = max(event.duration_ps - child_ps, 0) / 1e12
        row = ops.setdefault((plane.name, name), {
            "name": name, "plane": plane.name, "self_time_s": 0.0, "count": 0,
            "category": "runtime" if runtime else "op"})
        row["self_time_s"] += self_s
        row["count"] += max(int(event.num_occurrences), 1)
        total += self_s
    return total


def summarize_xspaces(paths: Iterable[str | os.PathLike], top: int = TOP_OPS) -> dict:
    """Per-op self time over the XSpace files (``*.xplane.pb``) of one trace."""
    pb2 = _xplane_pb2()
    planes: list[str] = []
    device_ops: dict = {}
    host_ops: dict = {}
    steps: list[float] = []
    device_total = host_total = 0.0
    for path in paths:
        space = pb2.XSpace()
        space.ParseFromString(Path(path).read_bytes())
        for plane in space.planes:
            planes.append(plane.name)
            if _is_device_plane(plane.name):
                lines = [ln for ln in plane.lines if ln.name not in _DERIVED_LINES]
                streams = [ln for ln in lines if ln.name.startswith("Stream")]
                for line in streams or lines:
                    device_total += _line_self_times(plane, line, device_ops, [])
            elif plane.name.startswith("/host:CPU"):
                for line in plane.lines:
                    host_total += _line_self_times(plane, line, host_ops, steps)
    kind = "device" if device_ops else "host"
    chosen = device_ops if device_ops else host_ops
    ops = sorted(chosen.values(), key=lambda r: r["self_time_s"], reverse=True)
    return {"planes": planes, "kind": kind, "ops": ops[:top], "num_ops": len(ops),
            "total_self_time_s": device_total if device_ops else host_total,
            "op_self_time_s": sum(r["self_time_s"] for r in ops if r["category"] == "op"),
            "host_total_self_time_s": host_total, "step_times_s": steps}


def _sync() -> None:
    import tensorflow as tf

    try:
        tf.test.experimental.sync_devices()
    except Exception:  # noqa: BLE001 - not every runtime supports it; the trace still stands
        pass


def _trace_files(logdir: Path) -> dict[Path, tuple[int, int]]:
    """Every trace file under ``logdir`` with its modification time and size."""
    stamps = {}
    for f in logdir.glob("plugins/profile/*/*.xplane.pb"):
        st = f.stat()
        stamps[f] = (st.st_mtime_ns, st.st_size)
    return stamps


def trace_steps(step_fn: Callable[[], object], steps: int,
                logdir: str | os.PathLike) -> dict:
    """Trace ``steps`` calls of ``step_fn`` with the TF profiler and summarise per-op self time.

    Each call runs inside ``Trace("train", step_num=i)`` and is followed by a device sync, so
    its marker covers its device work. The trace stays under ``<logdir>/plugins/profile/`` for
    TensorBoard. Profiler or parsing trouble is reported in ``"error"`` (with ``"ops": []``),
    never raised; an exception from ``step_fn`` itself propagates after the profiler stops.
    """
    import tensorflow as tf

    if steps < 1:
        raise UsageError(f"trace_steps needs steps >= 1, got {steps}")
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"logdir": str(logdir), "steps": steps, "planes": [], "ops": [],
                              "total_self_time_s": 0.0, "kind": "host", "files": []}
    before = _trace_files(logdir)  # a rerun within the same second overwrites a file
    try:
        tf.profiler.experimental.start(str(logdir))
    except Exception as exc:  # noqa: BLE001 - e.g. another profiler session is running
        return {**result, "error": f"profiler start failed: {type(exc).__name__}: {exc}"}
    try:
        for i in range(steps):
            with tf.profiler.experimental.Trace("train", step_num=i, _r=1):
                step_fn()
                _sync()
    finally:
        try:
            tf.profiler.experimental.stop()
        except Exception as exc:  # noqa: BLE001
            result["error"] = f"profiler stop failed: {type(exc).__name__}: {exc}"
    files = sorted(f for f, stamp in _trace_files(logdir).items() if before.get(f) != stamp)
    result["files"] = [str(f) for f in files]
    if not files:
        result.setdefault("error", "the profiler wrote no *.xplane.pb file")
        return result
    try:
        result.update(summarize_xspaces(files))
    except Exception as exc:  # noqa: BLE001 - keep the trace on disk, report, go on
        result["error"] = f"xplane parsing failed: {type(exc).__name__}: {exc}"
    return result
