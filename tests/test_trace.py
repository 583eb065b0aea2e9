"""trace_steps on a real compiled step, and the self-time arithmetic on hand-made XPlanes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mobench.errors import UsageError
from mobench.profiling import trace as T

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def matmul_step():
    a = tf.random.normal([128, 128])

    @tf.function(jit_compile=True)
    def step():
        return tf.reduce_sum(tf.matmul(a, a))

    step()  # compile outside the trace
    return step


def test_trace_steps_on_compiled_matmul(tmp_path, matmul_step):
    r = T.trace_steps(matmul_step, 3, tmp_path / "tb")
    assert "error" not in r
    assert r["logdir"] == str(tmp_path / "tb") and r["steps"] == 3 and r["kind"] == "host"
    assert list((tmp_path / "tb").glob("plugins/profile/*/*.xplane.pb"))
    assert r["files"] and "/host:CPU" in r["planes"]
    ops = r["ops"]
    assert ops and all(o["self_time_s"] > 0 and o["count"] >= 1 for o in ops)
    assert [o["self_time_s"] for o in ops] == sorted((o["self_time_s"] for o in ops),
                                                     reverse=True)
    assert any(o["category"] == "op" for o in ops)  # the XLA kernel itself
    assert "train" not in {o["name"] for o in ops}  # step markers are reported apart
    assert len(r["step_times_s"]) == 3 and all(t > 0 for t in r["step_times_s"])
    assert r["total_self_time_s"] == pytest.approx(sum(o["self_time_s"] for o in ops))


def test_trace_steps_twice_in_one_logdir(tmp_path, matmul_step):
    first = T.trace_steps(matmul_step, 1, tmp_path)
    for name in first["files"]:  # as if written this instant: no time window can tell
        os.utime(name)
    (run,) = {Path(name).parent for name in first["files"]}  # an earlier run of its own
    run.rename(run.with_name("2000_01_01_00_00_00"))
    second = T.trace_steps(matmul_step, 2, tmp_path)
    assert first["ops"] and second["ops"] and len(second["step_times_s"]) == 2
    assert sum(o["count"] for o in second["ops"] if o["name"] == "step") == 2


def test_trace_steps_reports_parse_failure_and_keeps_the_trace(tmp_path, matmul_step,
                                                                 monkeypatch):
    def broken(paths):
        raise ValueError("bad proto")

    monkeypatch.setattr(T, "summarize_xspaces", broken)
    r = T.trace_steps(matmul_step, 1, tmp_path)
    assert r["ops"] == [] and "bad proto" in r["error"]
    assert r["files"] and all(tmp_path.joinpath(f).is_file() for f in r["files"])


def test_trace_steps_reports_profiler_start_failure(tmp_path, monkeypatch):
    def refuse(logdir):
        raise RuntimeError("another profiler is running")

    monkeypatch.setattr(tf.profiler.experimental, "start", refuse)
    r = T.trace_steps(lambda: None, 2, tmp_path)
    assert r["ops"] == [] and "another profiler" in r["error"]


def test_trace_steps_rejects_zero_steps(tmp_path):
    with pytest.raises(UsageError):
        T.trace_steps(lambda: None, 0, tmp_path)


def _plane(space, name, lines):
    """Add a plane; lines: {line name: [(event name, offset_ps, duration_ps, stats)]}."""
    plane = space.planes.add(name=name)
    ids: dict[str, int] = {}
    plane.stat_metadata[1].id, plane.stat_metadata[1].name = 1, "step_num"
    for line_id, (line_name, events) in enumerate(lines.items()):
        line = plane.lines.add(id=line_id, name=line_name)
        for ev_name, offset, duration, stats in events:
            mid = ids.setdefault(ev_name, len(ids) + 1)
            plane.event_metadata[mid].id, plane.event_metadata[mid].name = mid, ev_name
            event = line.events.add(metadata_id=mid, offset_ps=offset, duration_ps=duration)
            for _ in stats:
                event.stats.add(metadata_id=1, int64_value=0)


def test_self_time_subtracts_directly_nested_events(tmp_path):
    space = T._xplane_pb2().XSpace()
    _plane(space, "/host:CPU", {"python": [
        ("train", 0, 1000, ["step_num"]),   # step marker: reported apart
        ("outer", 0, 100, []),              # 100 - 30 (mid) - 10 (leaf2) = 60
        ("mid", 10, 30, []),                # 30 - 10 (leaf) = 20
        ("leaf", 20, 10, []),
        ("leaf2", 50, 10, []),
        ("leaf2", 200, 5, []),              # second occurrence, top level
        ("Record", 300, 0, []),             # zero-length bookkeeping: dropped
    ]})
    path = tmp_path / "host.xplane.pb"
    path.write_bytes(space.SerializeToString())
    r = T.summarize_xspaces([path])
    got = {o["name"]: (round(o["self_time_s"] * 1e12), o["count"]) for o in r["ops"]}
    assert got == {"outer": (60, 1), "mid": (20, 1), "leaf": (10, 1), "leaf2": (15, 2)}
    assert r["step_times_s"] == [1000 / 1e12] and r["kind"] == "host"
    assert r["total_self_time_s"] * 1e12 == pytest.approx(105)


def test_gpu_stream_kernels_make_a_device_summary(tmp_path):
    space = T._xplane_pb2().XSpace()
    _plane(space, "/host:CPU", {"python": [("EagerExecute", 0, 500, [])]})
    _plane(space, "/device:GPU:0", {
        "Stream #7(Compute)": [("gemm_kernel", 0, 40, []), ("gemm_kernel", 100, 40, []),
                               ("relu_kernel", 200, 5, [])],
        "XLA Ops": [("dot.1", 0, 40, [])],  # derived line: not double counted
    })
    path = tmp_path / "gpu.xplane.pb"
    path.write_bytes(space.SerializeToString())
    r = T.summarize_xspaces([path])
    assert r["kind"] == "device" and r["planes"] == ["/host:CPU", "/device:GPU:0"]
    assert [(o["name"], o["plane"], o["count"]) for o in r["ops"]] == [
        ("gemm_kernel", "/device:GPU:0", 2), ("relu_kernel", "/device:GPU:0", 1)]
    assert r["total_self_time_s"] * 1e12 == pytest.approx(85)
    assert r["host_total_self_time_s"] * 1e12 == pytest.approx(500)
