"""The argument parser of every verb and its argument types.

Heavy imports (TensorFlow, keras-tuner) happen inside the verbs, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mobench import __version__

DEFAULT_RESULTS = Path("results")


def checked_number(kind: type, ok: Callable[[float], bool], expected: str
                   ) -> Callable[[str], Any]:
    """An argparse `type` that parses `kind` and accepts values for which `ok` holds."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
        return value
    return parse


positive_int = checked_number(int, lambda v: v >= 1, "a positive integer")
non_negative_int = checked_number(int, lambda v: v >= 0, "an integer >= 0")
positive_float = checked_number(float, lambda v: 0 < v < float("inf"), "a positive number")


def bounded(parse, limit: float, what: str = ""):
    """`parse`, and at most `limit` (huge values are typos, not plans); `what` says why."""
    def check(text: str):
        value = parse(text)
        if value > limit:
            most = f"{int(limit):,}" if float(limit).is_integer() else f"{limit:g}"
            raise argparse.ArgumentTypeError(
                f"{text} is too large (at most {most}{f', {what}' if what else ''})")
        return value

    check.__name__ = parse.__name__  # argparse names the type in its messages
    return check


# Upper bounds of counts and durations (README, "Common options"): a value past them is a
# typo, and would run for ever or fill the memory before any progress showed.
MAX_EPOCHS = 100_000
MAX_EXAMPLES = 1_000_000_000  # --limit, --val-limit: more than any dataset holds
MAX_SECONDS = 365 * 86400  # --budget-seconds: a year of training
MAX_SEEDS = 1_000
MAX_BUDGET = 100_000  # trials of one comparison run
MAX_REPEATS = 100
MAX_STEPS = 1_000_000
MAX_BATCH = 1 << 20
epochs_count = bounded(positive_int, MAX_EPOCHS)
examples_count = bounded(positive_int, MAX_EXAMPLES)
seconds_budget = bounded(positive_float, MAX_SECONDS, "a year")
seeds_count = bounded(positive_int, MAX_SEEDS)
trials_budget = bounded(positive_int, MAX_BUDGET)
threads_count = bounded(positive_int, os.cpu_count() or 1, "the cores of this machine")


def checkpoint_list(text: str) -> list[int]:
    """B1,B2,...: distinct trial counts, each within MAX_BUDGET."""
    values = [trials_budget(item) for item in csv_list(text)]
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise argparse.ArgumentTypeError(f"{twice[0]} is given twice")
    return values


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser, its errors in one line (the usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def seed_value(text: str) -> int:
    """A random seed: 0 .. 2**32 - 1 (what NumPy's legacy generators accept)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed must be 0..{2**32 - 1}, got {value}")
    return value


def csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_params(text: str) -> dict[str, object]:
    """`key=value,...` with values read as JSON scalars when they parse (3, 0.1, true, "x");
    a key given twice and a number that is not finite (NaN, Infinity) are refused."""
    out: dict[str, object] = {}
    for item in csv_list(text):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=value, got {item!r}")
        if key in out:
            raise argparse.ArgumentTypeError(f"{key!r} is given twice")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if isinstance(value, float) and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{key}={raw}: not a finite number")
        out[key] = value
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """K/N with 0 <= K < N: this process builds runs K, K+N, K+2N, ... of the plan."""
    k, sep, n = text.partition("/")
    if not (sep and k.strip().isdigit() and n.strip().isdigit() and 0 <= int(k) < int(n)):
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N with 0 <= K < N (e.g. 0/2)")
    return int(k), int(n)


def parse_grid(text: str) -> tuple[str, list[object]]:
    """`key=v1,v2,...` with values read as JSON scalars where they parse."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip() or not raw.strip():
        raise argparse.ArgumentTypeError(f"expected key=v1,v2,..., got {text!r}")
    return key.strip(), list(parse_params(",".join(f"v{i}={v}" for i, v in
                                                  enumerate(csv_list(raw)))).values())


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m mobench",
        description="Resource-aware benchmarks and multi-objective tuning for TensorFlow/Keras.",
    )
    parser.add_argument("--version", action="version", version=f"mobench {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="also show TensorFlow's native log lines and warnings")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("profile", help="measure a suite model in eager, graph and XLA modes",
                         description="Measure the training step (eager/graph/XLA) and inference"
                         " of one suite configuration; print a table and write a JSON record.")
    add_config_args(p)
    p.add_argument("--modes", type=csv_list, default=["eager", "graph", "xla"],
                   help="execution modes, comma separated (default: eager,graph,xla)")
    p.add_argument("--steps", type=bounded(positive_int, MAX_STEPS), default=20,
                   help="timed steps (default 20)")
    p.add_argument("--warmup", type=bounded(positive_int, MAX_STEPS), default=3,
                   help="discarded calls before timing, the first compiles (default 3)")
    p.add_argument("--batch-size", type=bounded(positive_int, MAX_BATCH),
                   help="override the variant's batch size")
    p.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="where to write the record (default results/runs/profile-*.json)")
    p.add_argument("--trace", type=Path, metavar="DIR",
                   help="also record a TF profiler trace per mode and sum per-op self time")
    p.add_argument("--no-peak", action="store_true",
                   help="skip the dense-matmul peak (no achieved-FLOP/s fraction)")

    e = verbs.add_parser("evaluate", help="train one configuration once and print its objectives",
                         description="Train a suite variant (or explicit hp values) for the"
                         " suite's epochs and record quality, training cost and peak memory.")
    add_config_args(e)
    e.add_argument("--epochs", type=epochs_count, help="override the suite's epochs")
    e.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    e.add_argument("--profile", type=csv_list, default=[], metavar="MODES",
                   help="also profile these modes (e.g. graph,xla) for xla_throughput, latency")
    e.add_argument("--json", type=Path, metavar="PATH",
                   help="where to write the record (default results/runs/evaluate-*.json)")

    t = verbs.add_parser("tune", help="multi-objective hyperparameter search (Pareto front)",
                         description="Search a suite's hyperparameters for several objectives"
                         " with a strategy; resumable (same --storage and --study).")
    add_suite_args(t)
    t.add_argument("--strategy", default="nsga2",
                   help="random, grid, nsga2, nsga3, motpe, gp, pesa2, parego, kt-random, "
                        "kt-bayes (default nsga2); mo-asha or mo-hyperband[:SAMPLER][:eta=E]"
                        "[:min=M] stop trials that rank outside the top 1/E of a rung (epochs "
                        "M, M*E, M*E^2, ...; default E 3, M 1)")
    t.add_argument("--objectives", type=csv_list, metavar="A,B,...",
                   help="objective names, or my_metric:max (default: the suite's)")
    t.add_argument("--trials", type=bounded(positive_int, 1_000_000), default=None,
                   help="finished trials the study should hold (default 20; with "
                   "--budget-seconds, no limit)")
    t.add_argument("--budget-seconds", type=seconds_budget, default=None, metavar="S",
                   help="stop starting trials once the finished ones trained for S seconds "
                   "(any strategy; a stopped trial counts the epochs it used)")
    t.add_argument("--epochs", type=epochs_count,
                   help="override the suite's epochs")
    t.add_argument("--seed", type=seed_value, default=0, help="random seed (default 0)")
    t.add_argument("--storage", help="Optuna storage URL (default sqlite:///results/"
                   "studies.sqlite3)")
    t.add_argument("--study", help="study name (default derived from suite, strategy, seed,"
                   " objectives)")
    t.add_argument("--constraint", action="append", default=[], metavar="EXPR",
                   help="resource limit such as peak_memory<=2GiB or params<=1e6 (repeatable)")
    t.add_argument("--json", type=Path, metavar="PATH",
                   help="where to write the run document (default results/runs/tune-*.json)")
    dist = t.add_argument_group(
        "distributed tuning and faults",
        "Any number of tune processes with the same --storage and --study share the study, on"
        " one host or many (storage URLs: sqlite:///PATH, postgresql+psycopg://USER:PASSWORD@"
        "HOST:PORT/DB, journal:///PATH.log).")
    dist.add_argument("--workers", type=bounded(positive_int, 256), default=1, metavar="K",
                      help="worker processes to start on this host (default 1: this process)")
    dist.add_argument("--trial-timeout", type=bounded(positive_float, 7 * 86400),
                      metavar="SECONDS", help="a trial running longer is stopped and recorded "
                      "infeasible (timeout); trials then run in a supervised worker process")
    dist.add_argument("--heartbeat-interval", type=bounded(positive_int, 3600), default=10,
                      metavar="SECONDS", help="how often a running trial signals it is alive "
                      "(default 10)")
    dist.add_argument("--grace-period", type=bounded(positive_int, 86400), metavar="SECONDS",
                      help="silence after which a trial's worker counts as dead and the trial is"
                      " retried (default 3 x heartbeat interval)")
    dist.add_argument("--max-retry", type=bounded(non_negative_int, 100), default=2, metavar="N",
                      help="re-runs of a trial whose worker died (default 2)")
    dist.add_argument("--storage-retry", type=bounded(positive_float, 86400), default=60.0,
                      metavar="SECONDS", help="keep retrying an unreachable storage this long, "
                      "with back-off, before giving up (default 60)")
    dist.add_argument("--distribute", choices=["mirrored", "none"], default="mirrored",
                      help="mirrored: tf.distribute.MirroredStrategy inside each trial when more "
                      "than one GPU is visible (default); none: one device")

    tb = verbs.add_parser("table", help="measure every config of a finite grid (tabular benchmark)",
                          usage="%(prog)s SUITE [options]\n       %(prog)s import SUITE CSV "
                          "[--out PATH] [--dataset NAME]",
                          description="Evaluate every config of the suite's [grid] (or --grid)"
                          " once per repeat, or --sample N configs of its search space with "
                          "per-epoch curves; resumable; writes CSV + a JSON header. `table "
                          "import SUITE CSV` writes a curves table from per-epoch curves "
                          "measured elsewhere (README: 'Importing your own learning curves').")
    add_suite_args(tb)
    tb.add_argument("source", nargs="*", help=argparse.SUPPRESS)  # `import SUITE CSV`
    tb.add_argument("--grid", type=parse_grid, action="append", default=[],
                    metavar="KEY=V1,V2,...", help="override or add one grid axis (repeatable)")
    tb.add_argument("--epochs", type=epochs_count, help="override the suite's epochs")
    tb.add_argument("--repeats", type=bounded(positive_int, MAX_REPEATS), default=1,
                    help="evaluations per config with seeds seed..seed+R-1 (default 1)")
    tb.add_argument("--seed", type=seed_value, default=0, help="first seed (default 0)")
    tb.add_argument("--out", type=Path, metavar="PATH",
                    help="CSV path (default results/tables/SUITE-DATASET.csv; with --sample "
                    "SUITE-DATASET-curves.csv; import: SUITE-CSVNAME-curves.csv)")
    lc = tb.add_argument_group("sampled learning curves (instead of the grid)")
    lc.add_argument("--sample", type=bounded(positive_int, 1_000_000), metavar="N",
                    help="draw N configs from the full search space; per-epoch curves (a "
                    "larger N grows the table there, keeping its rows)")
    lc.add_argument("--method", choices=["sobol", "random"], default="sobol",
                    help="how configs are drawn (default sobol, scrambled with --seed)")
    lc.add_argument("--repeat-every", type=non_negative_int, default=5, metavar="K",
                    help="every K-th config also runs with seed+1 (default 5; 0: none)")
    lc.add_argument("--threads", type=threads_count, metavar="T",
                    help="TensorFlow intra- and inter-op threads (default: TF's own)")
    lc.add_argument("--max-runs", type=positive_int, metavar="R",
                    help="measure at most R runs, then stop (re-run to continue): a fresh "
                    "process per chunk returns the memory TensorFlow keeps across models")
    lc.add_argument("--shard", type=parse_shard, default=(0, 1), metavar="K/N",
                    help="build only runs K, K+N, K+2N, ... of the plan (0 <= K < N), so N "
                    "processes on N cores build one table into N files; concatenate their "
                    "rows under one header when all are done (benchmarks/build_tables.sh)")

    c = verbs.add_parser("compare", help="compare strategies on a table (seeds, statistics)",
                         description="Run every strategy x seed on a stored table, compute"
                         " anytime hypervolume, IGD+, front size, infeasible share, overhead,"
                         " and Mann-Whitney U tests with Vargha-Delaney A12 and Holm correction.")
    c.add_argument("suite", help="suite name")
    c.add_argument("--suites-dir", action="append", default=[], metavar="DIR",
                   help="extra folder of suite TOML files (repeatable)")
    c.add_argument("--strategies", type=csv_list, default=["all"],
                   help="comma-separated strategy names, or all (default: every sampler); "
                   "mo-asha and mo-hyperband[:SAMPLER][:eta=E][:min=M] stop trials early "
                   "(--problem surrogate, or --live), st-moasha is Syne Tune's MOASHA")
    c.add_argument("--budget", type=trials_budget, default=None,
                   help="trials per run (default 30; no trial limit with --budget-seconds)")
    c.add_argument("--budget-seconds", type=seconds_budget, default=None, metavar="S",
                   help="also end each run before its training seconds pass S (equal compute;"
                   " a multi-fidelity trial stopped early costs only the epochs it used)")
    c.add_argument("--seeds", type=seeds_count, default=None,
                   help="seeds per strategy, at least 2 when comparing strategies (default 10;"
                   " 40 with --problem surrogate)")
    source = c.add_mutually_exclusive_group()
    source.add_argument("--table", type=Path, metavar="PATH",
                        help="table CSV (default results/tables/SUITE-digits.csv)")
    source.add_argument("--live", action="store_true",
                        help="train for real instead of replaying a table (small budgets!)")
    c.add_argument("--dataset", default=None, help="dataset of --live runs (default: suite's)")
    c.add_argument("--limit", type=examples_count, help="cap training examples of --live runs")
    c.add_argument("--val-limit", type=examples_count,
                   help="cap validation examples of --live runs (default: a quarter of --limit)")
    c.add_argument("--epochs", type=epochs_count,
                   help="epochs of --live runs (default: the suite's); mo-asha needs a rung "
                   "below the last")
    c.add_argument("--objectives", type=csv_list, metavar="A,B",
                   help="objectives (default: the suite's)")
    c.add_argument("--noise", default="median", choices=["median", "sample"],
                   help="replay each config's median, or a sampled measured repeat")
    c.add_argument("--normalisation", default="front", metavar="front|box",
                   help="primary hypervolume scale: front (default; the reference front's ideal"
                   " to nadir) or box (bounds over all evaluations); the other is kept beside")
    c.add_argument("--checkpoints", type=checkpoint_list,
                   default=[], metavar="B1,B2", help="extra budgets for the final table")
    c.add_argument("--jobs", type=bounded(positive_int, 256), default=1,
                   help="worker processes (default 1)")
    c.add_argument("--out", type=Path, default=Path("results") / "comparisons",
                   help="folder for the comparison document (default results/comparisons)")
    c.add_argument("--problem", choices=["table", "surrogate"], default="table",
                   help="table: replay a grid table (default); surrogate: a surrogate fitted "
                   "to a curves table (--table, default results/tables/SUITE-digits-curves.csv)"
                   " over the suite's real search space")

    sg = verbs.add_parser("surrogate", help="fit a surrogate to a curves table; show fidelity",
                          description="Fit one regressor per objective (epoch as an input) to a"
                          " sampled learning-curve table, measure its fidelity by k-fold CV "
                          "grouped by config (Spearman rho, R^2; final epoch and mean over "
                          "epochs) and write results/surrogates/TABLE.json (TABLE: the "
                          "table's file name without -curves).")
    sg.add_argument("suite", help="suite name")
    sg.add_argument("--suites-dir", action="append", default=[], metavar="DIR",
                    help="extra folder of suite TOML files (repeatable)")
    sg.add_argument("--table", type=Path, metavar="PATH",
                    help="curves table CSV (default results/tables/SUITE-digits-curves.csv)")
    sg.add_argument("--folds", type=bounded(positive_int, 100), default=5, metavar="K",
                    help="cross-validation folds, grouped by config (default 5)")
    sg.add_argument("--model", choices=["extra-trees", "random-forest", "hist-gb", "auto"],
                    help="regressor family (default: the stored document's, else "
                    "extra-trees); auto: the one whose cross-validated rho within the best "
                    "quarter of configs is highest over the objectives")
    sg.add_argument("--objectives", type=csv_list, metavar="A,B,...",
                    help="objective set whose reference front to store (default: the suite's)")
    sg.add_argument("--out", type=Path, metavar="PATH",
                    help="the surrogate document (default results/surrogates/TABLE.json, TABLE "
                    "the table's name without -curves: where compare --problem surrogate "
                    "looks)")

    tr = verbs.add_parser("transfer", help="carry a curves table of another machine to this one",
                          description="Measure K configs of a curves table measured elsewhere "
                          "on this machine (spanning its training seconds), fit a calibration "
                          "of its costs to this machine's, predict every config's costs here, "
                          "re-measure the predicted front, and write a curves table for this "
                          "machine with each row's origin (measured or predicted); resumable.")
    tr.add_argument("suite", help="suite name")
    tr.add_argument("--suites-dir", action="append", default=[], metavar="DIR",
                    help="extra folder of suite TOML files (repeatable)")
    tr.add_argument("--table", type=Path, metavar="PATH",
                    help="the reference curves table (default results/tables/SUITE-digits-"
                    "curves.csv)")
    tr.add_argument("--calibrate", type=checked_number(int, lambda v: True, "an integer"),
                    default=10, metavar="K", help="configs measured here to fit the "
                    "calibration, 2 up to the table's configs (default 10)")
    tr.add_argument("--objectives", type=csv_list, metavar="A,B,...",
                    help="the front to re-measure and compare (default: the suite's)")
    tr.add_argument("--configs", type=bounded(positive_int, 1_000_000), metavar="N",
                    help="use the reference's first N configs only (default: all)")
    tr.add_argument("--rounds", type=bounded(positive_int, 100), default=3, metavar="R",
                    help="front re-measurements at most: after each, the front is recomputed "
                    "with what was measured (default 3)")
    tr.add_argument("--out", type=Path, metavar="PATH",
                    help="the table for this machine (default beside the reference: "
                    "SUITE-DATASET-<hardware id>-curves.csv)")

    h = verbs.add_parser("hw", help="print this machine's hardware fingerprint",
                         description="CPU, memory, versions, TF build and devices, NVIDIA GPUs"
                         " (through NVML), and the hardware_id that names result folders.")
    h.add_argument("--json", action="store_true", help="print JSON instead of text")
    h.add_argument("--tf", action="store_true",
                   help="also TensorFlow's build info and devices (imports TensorFlow: seconds)")

    d = verbs.add_parser("data", help="list or fetch datasets")
    data_verbs = d.add_subparsers(dest="data_verb", required=True, metavar="ACTION")
    fetch = data_verbs.add_parser("fetch", help="download and prepare a dataset (needs internet)")
    fetch.add_argument("name", help="mnist or fashion_mnist")
    fetch.add_argument("--data-dir", help="TFDS data folder (default $TFDS_DATA_DIR)")
    listing = data_verbs.add_parser("list", help="which datasets are available locally")
    listing.add_argument("--data-dir", help="TFDS data folder (default $TFDS_DATA_DIR)")

    s = verbs.add_parser("suites", help="list the suites found")
    s.add_argument("--json", action="store_true", help="print JSON instead of text")
    s.add_argument("--space", action="store_true",
                   help="also count each suite's hyperparameters and configs (imports the "
                   "models, and TensorFlow: seconds)")
    s.add_argument("--suites-dir", action="append", default=[], metavar="DIR",
                   help="extra folder of suite TOML files (repeatable)")
    from mobench.cli.report import add_report_parser

    add_report_parser(verbs)
    return parser


def add_suite_args(p: argparse.ArgumentParser) -> None:
    """SUITE, --suites-dir and the dataset options."""
    p.add_argument("suite", help="suite name (see `python -m mobench suites`)")
    p.add_argument("--suites-dir", action="append", default=[], metavar="DIR",
                   help="extra folder of suite TOML files (repeatable)")
    add_data_args(p)


def add_config_args(p: argparse.ArgumentParser) -> None:
    """add_suite_args plus --variant | --params: one configuration of the suite."""
    add_suite_args(p)
    config = p.add_mutually_exclusive_group()
    config.add_argument("--variant", help="named fixed variant of the suite (default: small)")
    config.add_argument("--params", type=parse_params, metavar="K=V,...",
                        help="explicit hyperparameter values instead of a variant")


def add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=None,
                   help="auto, mnist, fashion_mnist, digits or synthetic (default: the suite's)")
    p.add_argument("--limit", type=examples_count, help="cap the number of training examples")
    p.add_argument("--val-limit", type=examples_count,
                   help="cap the number of validation examples (default: a quarter of --limit, "
                   "or all)")
    p.add_argument("--data-dir", help="TFDS data folder (default $TFDS_DATA_DIR)")
