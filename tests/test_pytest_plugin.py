"""mobench's pytest plugin (`pytest --benchmark`), driven through pytester.

A conftest in each test project replaces the two plugin hooks: the fingerprint (a fake GPU
machine) and the profiler (fixed figures, read from $MOBENCH_FAKE_FIGURES, and a 1 ms sleep as
the timed step), so these runs are fast, deterministic and never import TensorFlow. One slow
test runs the real profiler end to end in a subprocess.

In-process pytester runs drop the modules they import afterwards, and numpy cannot be imported
twice in one process: everything the plugin imports is imported here first.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import mobench.benchmarking.runner  # noqa: F401
import mobench.benchmarking.summary  # noqa: F401
import mobench.data  # noqa: F401
import mobench.profiling.profiler  # noqa: F401
from mobench.benchmarking.options import (
    GATE_FIGURES,
    parse_compare_fail,
    parse_suite_selection,
    resolve_selection,
)
from mobench.errors import UsageError
from mobench.objectives import Direction
from mobench.suites import Suite

pytest_plugins = ("pytester",)

REPO = Path(__file__).resolve().parents[1]
HW = "fake-gpu-x1"
FAKE_CONFTEST = '''
import json, os, time
from mobench.benchmarking.options import Prepared

FINGERPRINT = {"hardware_id": "fake-gpu-x1", "cpu_model": "Fake CPU",
               "gpus": [{"index": 0, "name": "Fake GPU", "driver_version": "555.42",
                         "memory_total_bytes": 85899345920}],
               "tf_build": {"cuda_version": "12.5", "is_cuda_build": True}}
FIGURES = {"step_time_s": 0.001, "throughput": 128000.0, "peak_memory_bytes": 104857600,
           "compile_time_s": 0.5, "train_flops_per_sample": 305000,
           "achieved_flops_per_s": 3.9e10, "peak_fraction": 0.1, "latency_p50_s": 0.0001,
           "energy_j_per_step": 0.25, "model_params": 50890, "batch_size": 128}

def pytest_mobench_fingerprint(config):
    return FINGERPRINT

def pytest_mobench_prepare(config, case):
    figures = dict(FIGURES, **json.loads(os.environ.get("MOBENCH_FAKE_FIGURES", "{}")))
    if case.mode == "xla":
        figures["step_time_s"] = figures["step_time_s"] / 2
    calls = []
    def train_step():
        calls.append(1)
        time.sleep(0.001)
    def close():
        with open("steps.log", "a") as f:
            f.write(f"{case.label} {len(calls)}\\n")
    return Prepared(train_step=train_step, sync=lambda: None,
                    figures=figures if case.profile else {}, close=close)
'''
FAKE_SUITE = '''
name = "{name}"
version = 1
model = "mobench.models.mlp:MLP"
[variants.small]
units_0 = 32
[variants.large]
units_0 = 256
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with a tests/ folder (its testpaths), suites/fake.toml and the fake hooks."""
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    pytester.makeconftest(FAKE_CONFTEST)
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_unit.py").write_text("def test_unit():\n    pass\n")
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "fake.toml").write_text(FAKE_SUITE.format(name="fake"))
    (pytester.path / "suites" / "notes.toml").write_text('title = "not a suite"\n')
    return pytester


def saved_runs(root: Path, hw: str = HW) -> list[Path]:
    return sorted((root / "results" / "benchmarks" / hw).glob("*.json"))


def test_flag_and_options_are_registered_next_to_pytest_benchmarks(project):
    result = project.runpytest("--help")
    out = result.stdout.str()
    for option in ("--benchmark ", "--mobench-suites", "--mobench-modes", "--mobench-dataset",
                   "--mobench-compare-fail", "--benchmark-disable", "--benchmark-compare-fail"):
        assert option in out


def test_benchmark_collects_the_suites_folder_instead_of_testpaths(project):
    result = project.runpytest("--benchmark", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["suites/fake.toml::fake[[]small-graph[]]",
                                 "suites/fake.toml::fake[[]small-xla[]]", "2 tests collected*"])
    assert "test_unit" not in result.stdout.str()
    result = project.runpytest("suites", "--benchmark", "--collect-only", "-q",
                               "--mobench-suites", "fake:large,fake:small",
                               "--mobench-modes", "xla,eager")
    result.stdout.fnmatch_lines(["*fake[[]large-eager[]]", "*fake[[]large-xla[]]",
                                 "*fake[[]small-eager[]]", "*fake[[]small-xla[]]",
                                 "4 tests collected*"])


def test_the_repository_suites_are_collected(project):
    shutil.rmtree(project.path / "suites")
    shutil.copytree(REPO / "suites", project.path / "suites")
    result = project.runpytest("--benchmark", "--collect-only", "-q")
    names = [f"suites/{s}.toml::{s}[{v}-{m}]" for s in
             ("mnist-cnn", "mnist-gan", "mnist-mlp", "mnist-rnn") for v, m in
             (("small", "graph"), ("small", "xla"))]
    lines = result.stdout.lines
    assert [line for line in lines if "::" in line] == names
    result = project.runpytest("suites/", "--benchmark", "--collect-only", "-q",
                               "--mobench-suites", "mnist-mlp:small,mnist-cnn")
    result.stdout.fnmatch_lines(["*mnist-cnn[[]small-graph[]]", "*mnist-cnn[[]small-xla[]]",
                                 "*mnist-mlp[[]small-graph[]]", "*mnist-mlp[[]small-xla[]]",
                                 "4 tests collected*"])


def test_without_the_flag_suite_items_are_skipped_and_nothing_is_saved(project):
    result = project.runpytest("suites", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*run `pytest --benchmark` to measure*"])
    result = project.runpytest()  # the plain run: testpaths only, no suites
    result.assert_outcomes(passed=1)
    assert not (project.path / "results").exists()


def test_run_saves_figures_and_fingerprint_in_the_hardware_folder(project):
    result = project.runpytest("--benchmark")
    result.assert_outcomes(passed=2)
    runs = saved_runs(project.path)
    assert len(runs) == 1 and runs[0].name.startswith("0001_")
    assert not (project.path / ".benchmarks").exists()
    doc = json.loads(runs[0].read_text())
    assert doc["mobench"]["schema_version"] == 1 and doc["mobench"]["kind"] == "benchmark"
    assert doc["mobench"]["hardware_id"] == HW and doc["mobench"]["dataset"] == "digits"
    info = doc["machine_info"]
    assert info["hardware_id"] == HW
    assert info["mobench"]["gpus"][0]["name"] == "Fake GPU"
    assert info["mobench"]["gpus"][0]["driver_version"] == "555.42"
    assert info["mobench"]["tf_build"]["cuda_version"] == "12.5"
    assert info["mobench"]["mobench_version"]
    benches = {b["params"]["mode"]: b for b in doc["benchmarks"]}
    graph, xla = benches["graph"]["extra_info"], benches["xla"]["extra_info"]
    assert (graph["suite"], graph["variant"], graph["mode"]) == ("fake", "small", "graph")
    for figure in ("peak_memory_bytes", "throughput", "train_flops_per_sample",
                   "achieved_flops_per_s", "energy_j_per_step"):
        assert graph[figure] > 0
    assert "xla_speedup" not in graph and xla["xla_speedup"] == pytest.approx(2.0)
    assert graph["objectives"] == {"params": 50890, "flops": 305000, "step_time": 0.001,
                                   "throughput": 128000.0, "compile_time": 0.5,
                                   "peak_memory": 104857600, "latency": 0.0001, "energy": 0.25}
    assert xla["objectives"] == {"params": 50890, "flops": 305000,
                                 "xla_speedup": pytest.approx(2.0), "xla_throughput": 128000.0}
    # the step is a 1 ms sleep, clocked by pytest-benchmark and (interleaved) by mobench;
    # loose bounds: a loaded CI machine oversleeps, and this checks the wiring, not the clock
    assert 0.001 <= graph["mobench_clock_median_s"] < 0.01
    assert 0.5 < graph["timing_ratio"] < 2
    assert graph["profile_timing_ratio"] >= 1  # a >= 1 ms step against the fake profiler's 1 ms
    assert benches["graph"]["stats"]["rounds"] == 50
    # 3 warm-up rounds + 50 timed ones, and before each of them one for mobench's clock
    assert (project.path / "steps.log").read_text().split("\n")[0].endswith(" 106")
    result.stdout.fnmatch_lines(["*benchmark: 2 tests*", "*mobench: profiler figures*",
                                 "*fake:small graph*128 ksamples/s*100 MiB*",
                                 "*timing agreement*", "*pytest-benchmark median*",
                                 "fake:small graph*ms*ms*1 ms*"])


def test_gate_fails_a_run_whose_saved_baseline_is_better(project, monkeypatch):
    gate = "--mobench-compare-fail=peak_memory:10%,throughput:5%"
    first = project.runpytest("--benchmark", gate)  # no baseline yet: passes, becomes one
    first.assert_outcomes(passed=2)
    first.stdout.fnmatch_lines(["*regression gate (passed)*", "*nothing to compare against*"])

    monkeypatch.setenv("MOBENCH_FAKE_FIGURES", json.dumps({"peak_memory_bytes": 115343360}))
    hungrier = project.runpytest("--benchmark", gate)  # +10.0% exactly: within the gate
    hungrier.assert_outcomes(passed=2)

    monkeypatch.setenv("MOBENCH_FAKE_FIGURES",
                       json.dumps({"peak_memory_bytes": 131072000, "throughput": 120000.0}))
    worse = project.runpytest("--benchmark", gate)
    worse.assert_outcomes(failed=2)
    assert worse.ret == pytest.ExitCode.TESTS_FAILED
    worse.stdout.fnmatch_lines([
        "*fake:small graph regressed against the last saved run of fake-gpu-x1*",
        "*peak_memory: 1.31072e+08 vs baseline 1.15343e+08 (0002_*",
        "*throughput: 120000 vs baseline 128000 (0002_*",
        "*regression gate (FAILED)*",
        "*fake:small graph*peak_memory:10%*110 MiB*125 MiB*121 MiB*REGRESSED*0002_*",
        "*fake:small graph*throughput:5%*1.28e+05*1.2e+05*1.216e+05*REGRESSED*0002_*",
    ])
    assert len(saved_runs(project.path)) == 3  # the failing run is kept as history too


def test_gate_with_an_absolute_tolerance_and_a_figure_never_measured(project, monkeypatch):
    project.runpytest("--benchmark").assert_outcomes(passed=2)
    monkeypatch.setenv("MOBENCH_FAKE_FIGURES", json.dumps({"compile_time_s": 0.75}))
    result = project.runpytest("--benchmark", "--mobench-compare-fail",
                               "compile_time_s:0.2,power:5%")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*compile_time: 0.75 vs baseline 0.5*limit 0.7 *",
                                 "*power:5%*not measured*"])


@pytest.mark.parametrize(("args", "message"), [
    (["--mobench-suites", "nosuch"], "unknown suite 'nosuch'; valid suites: *fake*"),
    (["--mobench-suites", "fake:huge"], "unknown variant 'huge'; valid variants: large, small*"),
    (["--mobench-suites", "fake:"], "*'fake:' is not SUITE or SUITE:VARIANT*"),
    (["--mobench-compare-fail", "peak_memory"], "*'peak_memory' is not FIGURE:TOLERANCE*"),
    (["--mobench-compare-fail", "peak_memory:lots"], "*the tolerance must be a non-negative*"),
    (["--mobench-compare-fail", "vram:5%"], "unknown figure 'vram'; valid figures: *"),
    (["--mobench-compare-fail", "energy:1%,energy_j_per_step:2%"], "*'energy' is listed twice"),
    (["--mobench-modes", "turbo"], "unknown mode 'turbo'; valid modes: eager, graph, xla"),
    (["--mobench-dataset", "imagenet"], "unknown dataset 'imagenet'*"),
])
def test_bad_options_are_usage_errors_that_write_nothing(project, args, message):
    result = project.runpytest("--benchmark", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])
    assert "Traceback" not in result.stderr.str()
    assert not (project.path / "results").exists()


def test_compare_fail_without_the_flag_is_a_usage_error(project):
    result = project.runpytest("--mobench-compare-fail", "peak_memory:10%")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --mobench-compare-fail needs --benchmark"])


@pytest.mark.parametrize(("document", "message"), [
    ({"benchmarks": [], "machine_info": {}}, "*not a mobench benchmark run*"),
    ({"benchmarks": [], "mobench": {"schema_version": 0, "kind": "benchmark",
                                    "hardware_id": HW}},
     "*unsupported mobench schema_version 0 (this mobench reads 1)*"),
])
def test_a_foreign_or_older_saved_run_is_a_usage_error_and_stays(project, document, message):
    folder = project.path / "results" / "benchmarks" / HW
    folder.mkdir(parents=True)
    old = folder / "0001_old.json"
    old.write_text(json.dumps(document))
    before = old.read_bytes()
    result = project.runpytest("--benchmark", "--mobench-compare-fail", "peak_memory:10%")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: *0001_old.json: {message}"])
    assert old.read_bytes() == before and saved_runs(project.path) == [old]


def test_pytest_benchmark_options_keep_working(project):
    project.runpytest("--benchmark").assert_outcomes(passed=2)
    result = project.runpytest("--benchmark", "--benchmark-compare", "--benchmark-json=out.json",
                               "--benchmark-columns=min,median", "--benchmark-group-by=param:mode")
    result.assert_outcomes(passed=2)
    # compared with the run saved in this hardware's folder
    result.stdout.fnmatch_lines(["fake[[]small-graph[]] (0001_*"])
    result.stdout.fnmatch_lines(["fake[[]small-graph[]] (NOW)*"])
    out = json.loads((project.path / "out.json").read_text())
    assert {b["extra_info"]["mode"] for b in out["benchmarks"]} == {"graph", "xla"}
    assert out["machine_info"]["hardware_id"] == HW
    assert len(saved_runs(project.path)) == 2


def test_benchmark_disable_runs_each_step_once_and_saves_nothing(project):
    result = project.runpytest("--benchmark", "--benchmark-disable")
    result.assert_outcomes(passed=2)
    assert (project.path / "steps.log").read_text().split() == [
        "fake:small", "graph", "1", "fake:small", "xla", "1"]
    assert saved_runs(project.path) == []


def test_runs_of_other_hardware_are_lined_up(project):
    project.runpytest("--benchmark").assert_outcomes(passed=2)
    other = project.path / "results" / "benchmarks" / "a100-sxm4-40gbx1"
    other.mkdir()
    doc = json.loads(saved_runs(project.path)[0].read_text())
    doc["mobench"]["hardware_id"] = "a100-sxm4-40gbx1"
    for bench in doc["benchmarks"]:
        bench["stats"]["median"] /= 4
    (other / "0001_ref.json").write_text(json.dumps(doc))
    result = project.runpytest("--benchmark")
    result.stdout.fnmatch_lines(["*hardware comparison*",
                                 "benchmark*fake-gpu-x1 (now)*a100-sxm4-40gbx1*",
                                 "fake:small graph*(0.*x)*"])  # about 1/4


def test_parse_suite_selection_and_defaults():
    assert parse_suite_selection(None) is None
    assert parse_suite_selection("mnist-mlp:small, mnist-cnn,mnist-mlp:large") == {
        "mnist-mlp": ("small", "large"), "mnist-cnn": (None,)}
    suites = {"a": Suite("a", 1, "m:x", "a.toml", variants={"tiny": {}, "small": {}}),
              "b": Suite("b", 1, "m:x", "b.toml", variants={"tiny": {}})}
    assert resolve_selection(None, suites) == {"a": ("small",), "b": ("tiny",)}
    assert resolve_selection({"a": (None, "small")}, suites) == {"a": ("small",)}
    with pytest.raises(UsageError, match="unknown suite 'c'; valid suites: a, b"):
        resolve_selection({"c": (None,)}, suites)


def test_gate_directions_come_from_the_objective_catalogue():
    memory, throughput = parse_compare_fail("peak_memory:10%,throughput:5%")
    assert memory.direction is Direction.MINIMIZE and throughput.direction is Direction.MAXIMIZE
    assert memory.limit(100.0) == pytest.approx(110.0)
    assert memory.regressed(100.0, 110.5) and not memory.regressed(100.0, 109.0)
    assert throughput.limit(1000.0) == pytest.approx(950.0)
    assert throughput.regressed(1000.0, 940.0) and not throughput.regressed(1000.0, 2000.0)
    (step,) = parse_compare_fail("step_time_s:0.002")  # the extra_info key works too
    assert step.figure == "step_time" and step.key == "step_time_s"
    assert not step.relative and step.limit(0.010) == pytest.approx(0.012)
    assert {"peak_memory", "throughput", "xla_speedup", "energy", "flops"} <= set(GATE_FIGURES)
    with pytest.raises(UsageError, match="listed twice"):
        parse_compare_fail("energy:1%,energy:2%")


@pytest.mark.slow
def test_real_profiler_run_end_to_end(pytester: pytest.Pytester):
    """The real hooks: TensorFlow, mobench's profiler and pytest-benchmark on one small MLP."""
    pytester.makeini("[pytest]\n")
    (pytester.path / "suites").mkdir()
    shutil.copy(REPO / "suites" / "mnist-mlp.toml", pytester.path / "suites")
    result = pytester.runpytest_subprocess(
        "--benchmark", "--mobench-modes", "graph", "--mobench-rounds", "5",
        "--mobench-warmup", "2", "--benchmark-storage", f"file://{pytester.path / 'store'}")
    result.assert_outcomes(passed=1)
    (folder,) = (pytester.path / "store").iterdir()
    (run,) = folder.glob("0001_*.json")
    doc = json.loads(run.read_text())
    assert doc["mobench"]["hardware_id"] == folder.name == doc["machine_info"]["hardware_id"]
    assert "tf_build" in doc["machine_info"]["mobench"]
    extra = doc["benchmarks"][0]["extra_info"]
    assert extra["suite"] == "mnist-mlp" and extra["variant"] == "small"
    assert extra["step_time_s"] > 0 and extra["throughput"] > 0
    assert extra["train_flops_per_sample"] > 0 and extra["latency_p50_s"] > 0
    assert extra["model_params"] == 784 * 64 + 64 + 64 * 10 + 10
    assert extra["timing_ratio"] > 0
    result.stdout.fnmatch_lines(["*mobench: timing agreement*", "mnist-mlp:small graph*"])
