"""Integration: profile the MLP on a few hundred digits in eager, graph and XLA modes."""

import json

import pytest

from mobench.cli import main
from mobench.data import load_dataset
from mobench.profiling import profiler
from mobench.profiling.profiler import ProfileSettings
from mobench.profiling.run import profile_suite
from mobench.records import ProfileRecord, Status
from mobench.suites import get_suite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", limit=300, announce=lambda _: None)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBENCH_CACHE_DIR", str(tmp_path / "cache"))


def test_profile_all_modes_fields_present_positive_and_consistent(digits, tmp_cache):
    record = profile_suite(get_suite("mnist-mlp"), digits, variant="small", batch_size=64,
                           settings=ProfileSettings(steps=5, warmup=2, nvml=False))
    assert [m.mode for m in record.modes] == ["eager", "graph", "xla"]
    assert record.params == 784 * 64 + 64 + 64 * 10 + 10
    assert record.flops["train_per_sample"] == 3 * record.flops["forward_per_sample"] > 0
    # TF's graph profiler also counts the softmax (a few FLOPs per class): agree within 0.1%
    assert record.flops["tf_profiler_forward_per_sample"] == pytest.approx(
        record.flops["forward_per_sample"], rel=1e-3)
    peak = record.matmul_peak["flops_per_s_best"]
    assert peak > 0
    for m in record.modes:
        assert m.status is Status.OK, m.reason
        t = m.step_time
        assert t.n == 5 and 0 < t.min_s <= t.median_s <= t.max_s and t.iqr_s >= 0
        assert m.throughput == pytest.approx(64 / t.median_s)
        assert m.compile_time_s >= 0
        # oneDNN's CPU allocator does not track requests under 256 KiB: a tiny model may read
        # nothing, and then the field is absent with the reason, never a made-up zero
        assert (m.peak_memory_bytes or 0) > 0 or "256 KiB" in m.peak_memory_reason
        assert m.achieved_flops_per_s == pytest.approx(
            record.flops["train_per_sample"] * 64 / t.median_s)
        assert m.peak_fraction == pytest.approx(m.achieved_flops_per_s / peak)
        inf = m.inference
        assert 0 < inf.latency_p50_s <= inf.latency_p99_s
        assert inf.batch_size == 64
        assert inf.throughput == pytest.approx(64 / inf.batch_time.median_s)
        assert m.nvml is None
    objectives = record.objectives()
    assert set(objectives) >= {"step_time", "throughput", "xla_throughput", "xla_speedup",
                               "compile_time", "params", "flops", "latency"}
    assert "energy" not in objectives  # no GPU here: absent, never invented
    assert record.provenance["hardware_id"] and record.provenance["seed"] == 0
    assert ProfileRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record


@pytest.mark.parametrize("cached, remeasured", [(1e3, True), (1e15, False)])
def test_a_cached_peak_below_the_achieved_flops_is_measured_again(
        digits, tmp_path, monkeypatch, cached, remeasured):
    """A cached matmul peak that a training step outruns was measured on a loaded machine:
    it is measured again once and the fractions use the new one; a plausible one is kept."""
    from mobench.profiling import flops
    from mobench.profiling.hardware import fingerprint

    monkeypatch.setenv("MOBENCH_CACHE_DIR", str(tmp_path))
    path = tmp_path / "matmul_peak" / f"{fingerprint()['hardware_id']}.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"schema_version": flops.SCHEMA_VERSION, "n": 8,
                                "flops_per_s_best": cached, "flops_per_s_median": cached}))
    calls = []

    def measure(**kwargs):
        calls.append(kwargs)
        return {"n": 8, "flops_per_s_best": 2e15, "flops_per_s_median": 1e15}

    monkeypatch.setattr(flops, "measure_matmul_peak", measure)
    record = profile_suite(get_suite("mnist-mlp"), digits, variant="small", batch_size=64,
                           modes=("graph", "xla"),
                           settings=ProfileSettings(steps=3, warmup=1, nvml=False))
    peak = 2e15 if remeasured else cached
    assert len(calls) == int(remeasured)
    assert record.matmul_peak["flops_per_s_best"] == peak
    assert json.loads(path.read_text())["flops_per_s_best"] == peak
    for m in record.modes:
        assert m.achieved_flops_per_s > 0
        assert m.peak_fraction == pytest.approx(m.achieved_flops_per_s / peak)


def test_peak_memory_covers_the_weights_when_the_allocator_sees_them(digits, tmp_cache):
    record = profile_suite(get_suite("mnist-mlp"), digits, variant="medium", batch_size=64,
                           modes=("graph",), matmul_peak=False,
                           settings=ProfileSettings(steps=3, warmup=1, nvml=False))
    (graph,) = record.modes
    weights = 784 * 256 * 4  # the first kernel alone is above oneDNN's 256 KiB pool limit
    assert graph.peak_memory_bytes > 3 * weights  # weights + two Adam slots + gradients
    assert record.objectives()["peak_memory"] == graph.peak_memory_bytes


def test_a_mode_that_runs_out_of_memory_is_recorded_and_the_others_still_run(
        digits, tmp_cache, monkeypatch):
    import tensorflow as tf

    real = profiler.set_execution_mode

    def failing(model, mode):
        if mode == "xla":
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        real(model, mode)

    monkeypatch.setattr(profiler, "set_execution_mode", failing)
    record = profile_suite(get_suite("mnist-mlp"), digits, variant="small", batch_size=64,
                           modes=("graph", "xla"), matmul_peak=False,
                           settings=ProfileSettings(steps=3, warmup=1, nvml=False))
    graph, xla = record.modes
    assert graph.status is Status.OK
    assert xla.status is Status.OUT_OF_MEMORY and "OOM when allocating" in xla.reason
    assert "xla_throughput" not in record.objectives()


def test_profile_cli_prints_table_and_writes_json(tmp_path, tmp_cache, capsys):
    out = tmp_path / "p.json"
    code = main(["profile", "mnist-mlp", "--variant", "small", "--dataset", "digits",
                 "--limit", "200", "--modes", "graph,xla", "--steps", "3", "--warmup", "1",
                 "--batch-size", "32", "--no-peak", "--json", str(out),
                 "--trace", str(tmp_path / "trace")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "graph" in printed and "xla" in printed and "XLA speedup" in printed
    doc = json.loads(out.read_text())
    assert doc["kind"] == "profile" and doc["batch_size"] == 32
    assert doc["objectives"]["xla_speedup"] > 0
    assert doc["dataset"]["name"] == "digits" and doc["dataset"]["n_train"] == 200
    trace = doc["modes"][0]["trace"]
    assert trace["ops"] and trace["ops"][0]["self_time_s"] > 0


def test_batch_larger_than_dataset_is_a_clear_usage_error(capsys):
    code = main(["profile", "mnist-mlp", "--dataset", "digits", "--limit", "10",
                 "--modes", "graph", "--no-peak"])
    assert code == 2
    assert "fewer than the batch size 128" in capsys.readouterr().err


def test_the_small_mlp_reads_more_than_its_input_batch_and_near_its_estimate(digits, tmp_cache):
    """The CPU reading once equalled the input batch (oneDNN's unseen pool): it must count the
    weights, gradients, Adam slots and activations too, close to the analytic estimate."""
    record = profile_suite(get_suite("mnist-mlp"), digits, variant="small", batch_size=128,
                           modes=("graph",), matmul_peak=False,
                           settings=ProfileSettings(steps=3, warmup=1, nvml=False))
    (graph,) = record.modes
    estimate = graph.peak_memory_estimate
    assert estimate["input_batch"] == 128 * 28 * 28 * 4
    assert estimate["weights"] == estimate["gradients"] == record.params * 4
    assert estimate["optimizer_slots"] >= 2 * record.params * 4  # Adam's m and v
    assert graph.peak_memory_bytes > estimate["input_batch"] + estimate["weights"]
    assert 0.5 <= graph.peak_memory_bytes / estimate["total"] <= 3
    assert graph.peak_memory_method == "tf-bfc-cpu-allocator-peak"


def test_without_the_counting_allocator_the_cpu_peak_is_absent_with_the_reason(monkeypatch):
    from mobench.profiling.memory import peak_method, reset_peak

    monkeypatch.setenv("TF_CPU_ALLOCATOR_USE_BFC", "false")
    assert peak_method("GPU:0") == ("tf-bfc-allocator-peak", None)
    method, reason = peak_method("CPU:0")
    assert method is None and "TF_CPU_ALLOCATOR_USE_BFC=true" in reason
    assert reset_peak("CPU:0") == reason
