"""mobench's pytest plugin: `pytest --benchmark` runs the suites as pytest-benchmark tests.

Registered through the `pytest11` entry point, so it loads in every pytest run: importing it
is cheap (no TensorFlow, no numpy) and without `--benchmark` it only collects suite files,
whose items are then skipped. With `--benchmark`, each suite variant x execution mode is timed
by pytest-benchmark (`benchmark.pedantic`, warm-up rounds absorb the XLA compile), mobench's
profiler fills `extra_info`, runs are saved under `results/benchmarks/<hardware_id>/`, and
`--mobench-compare-fail` gates non-timing figures against the last saved run of this hardware.
The parts live in `mobench.benchmarking`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from mobench.errors import UsageError

HELP_SUITES = ("SUITE[:VARIANT],... to benchmark, e.g. mnist-mlp:small,mnist-cnn "
               "(default: the small variant of every suite)")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from mobench.benchmarking import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mobench", "mobench suite benchmarks")
    group.addoption("--benchmark", action="store_true", dest="mobench_benchmark",
                    help="run the mobench suites (suites/*.toml) as benchmarks and save the run "
                         "under results/benchmarks/<hardware-id>/")
    group.addoption("--mobench-suites", metavar="SUITE[:VARIANT],...", default=None,
                    help=HELP_SUITES)
    group.addoption("--mobench-modes", metavar="MODE,...", default="graph,xla",
                    help="execution modes: eager, graph, xla (default: graph,xla)")
    group.addoption("--mobench-dataset", metavar="NAME", default="digits",
                    help="dataset filling the staged batch: digits, synthetic, mnist, "
                         "fashion_mnist or auto (default: digits; its shape, not its content, "
                         "sets the cost)")
    group.addoption("--mobench-rounds", metavar="N", type=int, default=50,
                    help="timed steps per benchmark, for pytest-benchmark and for the "
                         "profiler alike (default: 50)")
    group.addoption("--mobench-warmup", metavar="N", type=int, default=3,
                    help="untimed steps first; the first one traces/compiles (default: 3)")
    group.addoption("--mobench-seed", metavar="N", type=int, default=0,
                    help="seed of the model weights and the data split (default: 0)")
    group.addoption("--mobench-compare-fail", metavar="FIGURE:TOL,...", default=None,
                    help="fail a benchmark whose extra_info figure is worse than in the last "
                         "saved run of this hardware by more than TOL (10%% relative, or a value "
                         "in the figure's unit), e.g. peak_memory:10%%,throughput:5%%")


def _active(config: pytest.Config) -> bool:
    return bool(config.getoption("mobench_benchmark", False))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Check the mobench options and key the storage before pytest-benchmark starts its session."""
    if not _active(config):
        if config.getoption("mobench_compare_fail") is not None:
            raise pytest.UsageError("--mobench-compare-fail needs --benchmark")
        return
    from mobench.benchmarking import runner

    try:
        config.stash[runner.STATE] = runner.start(config)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _active(session.config):
        return
    from mobench.benchmarking import runner

    state = session.config.stash.get(runner.STATE, None)
    if state is not None:
        runner.attach_storage(session.config, state)


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _active(config):
        return None
    from mobench.benchmarking import runner

    state = config.stash.get(runner.STATE, None)
    if state is None:
        return None
    where = state.folder or "the configured storage"
    return (f"mobench: hardware {state.hardware_id}, modes {','.join(state.modes)}, dataset "
            f"{state.dataset}; runs saved in {where} ({state.saved_runs} there)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".toml" or file_path.parent.name not in ("suites", "_suites"):
        return None  # cheap test first: this hook sees every file of every run
    from mobench.benchmarking.collect import SuiteFile
    from mobench.benchmarking.discovery import is_suite_file

    if is_suite_file(file_path):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mobench.benchmarking.collect" not in sys.modules:
        return  # no suite file collected: nothing of ours to parametrize
    from mobench.benchmarking.collect import SuiteFile
    from mobench.benchmarking.runner import plan_for

    collector = metafunc.definition.parent
    if isinstance(collector, SuiteFile):
        cases = collector.cases(*plan_for(metafunc.config))
        metafunc.parametrize(("variant", "mode"), cases,
                             ids=[f"{v or 'default'}-{m}" for v, m in cases])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --benchmark the suite benchmarks are skipped: the plain test run stays fast."""
    if _active(config) or "mobench.benchmarking.collect" not in sys.modules:
        return  # measured, or no suite file was collected
    from mobench.benchmarking.collect import SuiteFile

    skip = pytest.mark.skip(reason="mobench suite benchmark: run `pytest --benchmark` to measure")
    for item in items:
        if item.getparent(SuiteFile) is not None:
            item.add_marker(skip)


@pytest.hookimpl(trylast=True)
def pytest_mobench_fingerprint(config: pytest.Config) -> dict[str, Any]:
    from mobench.profiling.hardware import fingerprint

    return fingerprint()


@pytest.hookimpl(trylast=True)
def pytest_mobench_prepare(config: pytest.Config, case: Any) -> Any:
    from mobench.benchmarking.measure import prepare

    return prepare(case)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config: pytest.Config,
                                         machine_info: dict[str, Any]) -> None:
    """Add the mobench fingerprint (GPUs, driver, memory, TF build) to machine_info."""
    if not _active(config):
        return
    from mobench.benchmarking import runner
    from mobench.benchmarking.storage import machine_info_block

    state = config.stash.get(runner.STATE, None)
    if state is not None:
        machine_info["hardware_id"] = state.hardware_id
        machine_info["mobench"] = machine_info_block(state.fingerprint)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any,
                                 output_json: dict[str, Any]) -> None:
    """Mark the saved run as a mobench benchmark run (schema, hardware id, settings)."""
    if not _active(config):
        return
    from mobench.benchmarking import runner
    from mobench.benchmarking.storage import mobench_block

    state = config.stash.get(runner.STATE, None)
    if state is not None:
        output_json["mobench"] = mobench_block(
            state.hardware_id, dataset=state.dataset, modes=list(state.modes),
            rounds=state.rounds, warmup=state.warmup, seed=state.seed)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    if not _active(config):
        return
    from mobench.benchmarking import runner, summary

    state = config.stash.get(runner.STATE, None)
    if state is not None:
        summary.summary(state, terminalreporter.write_line,
                        lambda title: terminalreporter.section(title, sep="-", bold=True))
