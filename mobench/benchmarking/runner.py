"""The session side of `pytest --benchmark`: options -> state, storage redirect, one case run.

`start` (pytest_configure) checks every option before anything runs, so bad input is a
UsageError with nothing written; `attach_storage` (pytest_sessionstart) keys pytest-benchmark's
storage by the mobench hardware id; `run_case` is the body of every suite benchmark item.
"""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mobench.benchmarking.options import (
    DEFAULT_MODES,
    GATE_FIGURES,
    Case,
    GateCheck,
    Prepared,
    parse_compare_fail,
    parse_modes,
    parse_suite_selection,
    resolve_selection,
)
from mobench.benchmarking.storage import (
    DEFAULT_ROOT,
    Key,
    SavedRun,
    latest_rows,
    load_other_hardware,
    load_runs,
)
from mobench.errors import MobenchError, UsageError
from mobench.suites import Suite

PYTEST_BENCHMARK_DEFAULT_STORAGE = "file://./.benchmarks"
AGREEMENT = 0.10  # pytest-benchmark's and mobench's median step times should agree this well
_HARDWARE_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._"


@dataclass(frozen=True)
class GateRow:
    """One figure of one benchmark checked against the last saved run of this hardware."""

    label: str
    figure: str
    spec: str
    baseline: float | None
    current: float | None
    limit: float | None
    status: str  # ok | REGRESSED | no baseline | not measured
    source: str = ""


@dataclass
class CaseResult:
    """What one benchmark measured: its extra_info and pytest-benchmark's median."""

    key: Key
    label: str
    extra_info: dict[str, Any]
    benchmark_median_s: float
    gate: list[GateRow] = field(default_factory=list)


@dataclass
class BenchState:
    """Everything `--benchmark` decided at configure time, plus what the run measured."""

    selection: dict[str, tuple[str | None, ...]] | None
    modes: tuple[str, ...]
    dataset: str
    rounds: int
    warmup: int
    seed: int
    checks: tuple[GateCheck, ...]
    fingerprint: dict[str, Any]
    hardware_id: str
    root: Path | None  # storage root; runs go to root/<hardware_id>/
    compare: Any = None  # the user's --benchmark-compare, applied once storage is keyed
    baseline: dict[Key, tuple[dict[str, Any], SavedRun]] = field(default_factory=dict)
    saved_runs: int = 0
    others: dict[str, list[SavedRun]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)

    @property
    def folder(self) -> Path | None:
        return self.root / self.hardware_id if self.root is not None else None

    def result(self, key: Key) -> CaseResult | None:
        return next((r for r in self.results if r.key == key), None)


STATE = pytest.StashKey[BenchState]()


def plan_for(config: pytest.Config) -> tuple[dict[str, tuple[str | None, ...]] | None,
                                              tuple[str, ...]]:
    """(suite selection, modes) for collection; defaults when --benchmark is not given."""
    state = config.stash.get(STATE, None)
    if state is not None:
        return state.selection, state.modes
    try:
        return None, parse_modes(config.getoption("mobench_modes"))
    except UsageError:
        return None, DEFAULT_MODES  # without --benchmark the items are skipped anyway


def storage_root(config: pytest.Config) -> Path | None:
    """The storage root, redirecting pytest-benchmark's default to <rootdir>/results/benchmarks."""
    storage = str(config.getoption("benchmark_storage"))
    if storage == PYTEST_BENCHMARK_DEFAULT_STORAGE:
        root = config.rootpath / DEFAULT_ROOT
        config.option.benchmark_storage = f"file://{root}"
        return root
    if "://" not in storage:
        return Path(storage).resolve()
    if storage.startswith("file://"):
        return Path(storage.removeprefix("file://")).resolve()
    return None  # elasticsearch: keyed by hardware id too, but no local files to read


def start(config: pytest.Config) -> BenchState:
    """Check the options, pick the suites folder, key the storage, read the baseline."""
    from mobench.benchmarking.discovery import default_target, find_suites, suite_dirs_for
    from mobench.data import DATASET_NAMES, dataset_available
    from mobench.errors import unknown_name

    if not config.pluginmanager.hasplugin("benchmark"):
        raise UsageError("--benchmark needs the pytest-benchmark plugin "
                         "(is it disabled with -p no:benchmark?)")
    selection = parse_suite_selection(config.getoption("mobench_suites"))
    modes = parse_modes(config.getoption("mobench_modes"))
    spec = config.getoption("mobench_compare_fail")
    checks = parse_compare_fail(spec) if spec is not None else ()
    dataset = config.getoption("mobench_dataset")
    if dataset not in DATASET_NAMES:
        raise unknown_name("dataset", dataset, DATASET_NAMES)
    if not dataset_available(dataset):
        raise UsageError(f"--mobench-dataset {dataset}: not prepared locally; run 'python -m "
                         f"mobench data fetch {dataset}' or use --mobench-dataset digits")
    for name in ("mobench_rounds", "mobench_warmup"):
        if config.getoption(name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be a positive integer")

    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        target = default_target(config.rootpath)
        if target is None:
            raise UsageError("--benchmark: no suites folder found (looked for ./suites and "
                             "the suites shipped with mobench)")
        config.args = [str(target)]
    if selection is not None:
        found = find_suites(suite_dirs_for(config.args, config.invocation_params.dir))
        selection = resolve_selection(selection, found)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as the CLI: TF logs warnings and up
    fp = config.hook.pytest_mobench_fingerprint(config=config)
    hw = str(fp.get("hardware_id") or "")
    if not hw or not set(hw) <= set(_HARDWARE_ID_CHARS) or hw[0] in "-._":
        raise UsageError(f"hardware fingerprint gives no usable hardware_id: {hw!r}")
    root = storage_root(config)
    if checks and root is None:
        raise UsageError("--mobench-compare-fail reads the saved runs of file storage only")
    state = BenchState(selection, modes, dataset, config.getoption("mobench_rounds"),
                       config.getoption("mobench_warmup"), config.getoption("mobench_seed"),
                       checks, fp, hw, root)
    if root is not None:
        runs = load_runs(root / hw)  # a foreign or other-schema file stops the run here
        state.baseline, state.saved_runs = latest_rows(runs), len(runs)
        state.others, state.notes = load_other_hardware(root, hw)

    saving = config.getoption("benchmark_save") or config.getoption("benchmark_autosave")
    if not saving and not config.option.collectonly:
        from pytest_benchmark.utils import get_tag

        config.option.benchmark_autosave = get_tag()
    state.compare = config.getoption("benchmark_compare")
    config.option.benchmark_compare = []  # loaded in attach_storage, from the hardware folder
    return state


def attach_storage(config: pytest.Config, state: BenchState) -> None:
    """Key pytest-benchmark's storage by hardware id (its own id ignores the GPU, #185)."""
    session = getattr(config, "_benchmarksession", None)
    if session is None:
        return
    session.machine_id = state.hardware_id
    if hasattr(session.storage, "default_machine_id"):
        session.storage.default_machine_id = state.hardware_id
    session.compare = state.compare
    if session.compare:
        session.handle_loading()


def gate_rows(state: BenchState, key: Key, label: str, current: dict[str, Any]) -> list[GateRow]:
    """Every --mobench-compare-fail figure of one benchmark against this hardware's baseline."""
    found = state.baseline.get(key)
    base_row, run = found if found else ({}, None)
    source = run.path.name if run else ""
    rows = []
    for check in state.checks:
        base, now = base_row.get(check.key), current.get(check.key)
        if not isinstance(now, int | float):
            rows.append(GateRow(label, check.figure, check.spec, base, None, None,
                                "not measured", source))
        elif not isinstance(base, int | float):
            rows.append(GateRow(label, check.figure, check.spec, None, now, None,
                                "no baseline", source))
        else:
            status = "REGRESSED" if check.regressed(base, now) else "ok"
            rows.append(GateRow(label, check.figure, check.spec, base, now, check.limit(base),
                                status, source))
    return rows


def run_case(request: pytest.FixtureRequest, benchmark: Any, suite: Suite, variant: str | None,
             mode: str) -> None:
    """One suite benchmark of `suite`: mobench's profile, pytest-benchmark's timing, the gate."""
    config = request.config
    state = config.stash.get(STATE, None)
    if state is None:
        pytest.skip("mobench suite benchmark: run `pytest --benchmark` to measure it")
    case = Case(suite, variant, mode, state.dataset, state.rounds, state.warmup, state.seed,
                profile=not benchmark.disabled)
    try:
        prepared = config.hook.pytest_mobench_prepare(config=config, case=case)
    except MobenchError as exc:  # the case could not be prepared: a failed test, one line
        pytest.fail(str(exc), pytrace=False)
    try:
        if benchmark.disabled:  # --benchmark-disable: run the step once, measure nothing
            benchmark.pedantic(prepared.step)
            return
        _measure(state, case, benchmark, prepared)
    finally:
        if prepared.close is not None:
            prepared.close()
    regressed = [r for r in state.results[-1].gate if r.status == "REGRESSED"]
    if regressed:
        lines = [f"{r.figure}: {r.current:.6g} vs baseline {r.baseline:.6g} ({r.source}), "
                 f"limit {r.limit:.6g} ({r.spec})" for r in regressed]
        pytest.fail(f"{case.label} regressed against the last saved run of "
                    f"{state.hardware_id}:\n  " + "\n  ".join(lines), pytrace=False)


def mode_objectives(mode: str, extra: dict[str, Any]) -> dict[str, float]:
    """The catalogue objectives this mode measures, as `ProfileRecord.objectives` names them:
    step_time, throughput, ... from graph mode, xla_throughput and xla_speedup from XLA."""
    names = {"graph": ("step_time", "throughput", "compile_time", "peak_memory", "latency",
                       "energy"),
             "xla": ("xla_speedup",)}.get(mode, ())
    out = {name: extra[GATE_FIGURES[name].key] for name in ("params", "flops", *names)
           if isinstance(extra.get(GATE_FIGURES[name].key), int | float)}
    if mode == "xla" and isinstance(extra.get("throughput"), int | float):
        out["xla_throughput"] = extra["throughput"]
    return out


def _measure(state: BenchState, case: Case, benchmark: Any, prepared: Prepared) -> None:
    """Time the step with pytest-benchmark; before each round (untimed for it) mobench's own
    clock times one more step of the same model, so both medians come from one time window."""
    from mobench.profiling.timing import gc_disabled, timed_call

    extra: dict[str, Any] = {"suite": case.suite.name, "variant": case.variant,
                             "mode": case.mode, "hardware_id": state.hardware_id,
                             **prepared.figures}
    graph = state.result((case.suite.name, case.variant, "graph"))
    if case.mode == "xla" and graph and graph.extra_info.get("step_time_s") and extra.get(
            "step_time_s"):
        extra["xla_speedup"] = graph.extra_info["step_time_s"] / extra["step_time_s"]
    extra["objectives"] = mode_objectives(case.mode, extra)
    benchmark.extra_info.update(extra)
    paired: list[float] = []

    def mobench_clock() -> None:
        paired.append(timed_call(prepared.train_step, prepared.sync))

    with gc_disabled():  # as mobench's own timed loop
        benchmark.pedantic(prepared.step, setup=mobench_clock, rounds=case.rounds,
                           warmup_rounds=case.warmup, iterations=1)
    median = float(benchmark.stats.stats.median)
    paired_median = statistics.median(paired[case.warmup:])  # setup also runs before warm-ups
    benchmark.extra_info["mobench_clock_median_s"] = paired_median
    benchmark.extra_info["timing_ratio"] = median / paired_median
    if extra.get("step_time_s"):
        benchmark.extra_info["profile_timing_ratio"] = median / extra["step_time_s"]
    result = CaseResult(case.key, case.label, benchmark.extra_info, median)
    result.gate = gate_rows(state, case.key, case.label, benchmark.extra_info)
    state.results.append(result)
