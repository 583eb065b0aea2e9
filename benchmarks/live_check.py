"""Does a strategy ranking found on a surrogate hold in live training? (issue 20's live check)

Two steps:

    # train for real: every (strategy, seed) run in a fresh process, one JSON line each in
    # TRACES, resumable (a rerun skips the runs already there; other settings are refused)
    python benchmarks/live_check.py run mnist-mlp --strategies random,motpe,parego,pesa2 \
        --seeds 5 --budget 50 --epochs 10 --traces results/reference/live/mnist-mlp.jsonl

    # the live comparison document, and the ranking against the surrogate comparison's
    python benchmarks/live_check.py analyse --traces results/reference/live/mnist-mlp.jsonl \
        --surrogate results/reference/comparisons/surrogate-mnist-mlp-val_accuracy+train_time.json \
        --out results/reference/comparisons/live-check-mnist-mlp-val_accuracy+train_time.json

The live runs use the settings of the surrogate's table (dataset, --limit/--val-limit, epochs,
one TensorFlow thread) so that the two rankings answer the same question. The ranking of each
is by median hypervolume at the budget (the comparison's own final table); the agreement is
Kendall's tau over the strategies both ran (scipy), printed with the two orders.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def settings_of(args: argparse.Namespace) -> dict:
    return {"suite": args.suite, "objectives": args.objectives, "budget": args.budget,
            "epochs": args.epochs, "dataset": args.dataset, "limit": args.limit,
            "val_limit": args.val_limit, "threads": 1}


def read_traces(path: Path) -> tuple[dict | None, list[dict]]:
    """The settings line and the run lines of a traces file (a torn last line is ignored)."""
    if not path.exists():
        return None, []
    settings, runs = None, []
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "settings" in item:
            settings = item["settings"]
        else:
            runs.append(item)
    return settings, runs


def run(args: argparse.Namespace) -> int:
    from mobench.console import Progress

    settings = settings_of(args)
    stored, runs = read_traces(args.traces)
    if stored is not None and stored != settings:
        print(f"{args.traces} holds runs of other settings ({stored}); pick another --traces",
              file=sys.stderr)
        return 2
    args.traces.parent.mkdir(parents=True, exist_ok=True)
    if stored is None:
        with args.traces.open("a") as f:
            f.write(json.dumps({"settings": settings}) + "\n")
    done = {(r["strategy"], r["seed"]) for r in runs}
    todo = [(s, seed) for seed in range(args.seeds) for s in args.strategies
            if (s, seed) not in done]
    print(f"live check {args.suite}: {len(done)} runs done, {len(todo)} to go", file=sys.stderr)
    with Progress(len(todo), "runs", on_line=lambda m: print(m, file=sys.stderr)) as progress:
        for strategy, seed in todo:
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "one", json.dumps(settings), strategy, str(seed)],
                capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                return out.returncode
            line = out.stdout.strip().splitlines()[-1]
            with args.traces.open("a") as f:
                f.write(line + "\n")
            trace = json.loads(line)
            progress.advance(status=f"{strategy} seed {seed}: {len(trace['points'])} trials, "
                             f"{sum(trace['cost_s']):.0f} training s, "
                             f"{time.perf_counter() - t0:.0f} s wall")
    return 0


def one(settings: dict, strategy: str, seed: int) -> int:
    """One (strategy, seed) live run; its trace as one JSON line on stdout."""
    from mobench.console import quiet_tensorflow

    quiet_tensorflow()
    from mobench.cli.commands import set_threads
    from mobench.compare.protocol import run_strategy
    from mobench.data import load_dataset
    from mobench.objectives import parse_objectives
    from mobench.study.evaluator import TrialEvaluator
    from mobench.study.space import kt_space, optuna_space
    from mobench.suites import check_values, get_suite

    set_threads(settings["threads"])
    suite = get_suite(settings["suite"])
    objectives = parse_objectives(settings["objectives"])
    dataset = load_dataset(settings["dataset"], limit=settings["limit"],
                           val_limit=settings["val_limit"])
    evaluator = TrialEvaluator(suite, dataset, objectives, epochs=settings["epochs"])
    hypermodel = suite.hypermodel()
    evaluator.distributions = optuna_space(kt_space(hypermodel),
                                           check_values(suite, hypermodel, "space"))
    trace = run_strategy(evaluator, strategy, seed, settings["budget"], objectives,
                         cost=lambda _, outcome: float(outcome.values.get("train_time", 0.0)))
    print(json.dumps({**dataclasses.asdict(trace), "dataset": dataset.describe()}))
    return 0


def ranking(rows: list[dict], budget: int, strategies: list[str]) -> dict[str, float]:
    """Median hypervolume per strategy at `budget` from a comparison's final table."""
    return {r["strategy"]: r["median"] for r in rows
            if r["budget"] == budget and r["strategy"] in strategies}


def analyse_traces(args: argparse.Namespace) -> int:
    import datetime as dt

    from scipy.stats import kendalltau

    from mobench.compare.protocol import analyse, comparison_document
    from mobench.compare.trace import RunTrace
    from mobench.documents import provenance, write_json
    from mobench.objectives import parse_objectives
    from mobench.profiling.hardware import fingerprint

    settings, runs = read_traces(args.traces)
    if settings is None or not runs:
        print(f"{args.traces}: no live runs", file=sys.stderr)
        return 2
    fields = {f.name for f in dataclasses.fields(RunTrace)}
    traces = [RunTrace(**{k: v for k, v in r.items() if k in fields}) for r in runs]
    objectives = parse_objectives(settings["objectives"])
    budget = args.budget or settings["budget"]
    strategies = sorted({t.strategy for t in traces})
    analysis = analyse(traces, objectives, checkpoints=[budget])
    document = comparison_document(
        suite=settings["suite"],
        problem={"live": True, "dataset": runs[0]["dataset"], "epochs": settings["epochs"],
                 "threads": settings["threads"], "live_check_of": str(args.surrogate)},
        objectives=objectives, strategies=strategies,
        seeds=len({t.seed for t in traces}), budget=settings["budget"], analysis=analysis,
        timing_s={}, provenance=provenance(fingerprint(tensorflow=False), 0))
    document["reference"] = True
    live = ranking(analysis["final"], budget, strategies)
    surrogate_doc = json.loads(args.surrogate.read_text())
    surrogate = ranking(surrogate_doc["final"], budget, strategies)
    common = [s for s in strategies if s in live and s in surrogate]
    if len(common) < 2:
        print(f"{args.surrogate} has no final row at {budget} trials for two of "
              f"{', '.join(strategies)}: rank at one of its checkpoints (--budget)",
              file=sys.stderr)
        return 2
    tau, p = kendalltau([live[s] for s in common], [surrogate[s] for s in common])
    order = lambda scores: " > ".join(sorted(common, key=lambda s: -scores[s]))  # noqa: E731
    document["live_check"] = {"surrogate_document": str(args.surrogate), "budget": budget,
                              "live_medians": live, "surrogate_medians": surrogate,
                              "kendall_tau": float(tau), "kendall_p": float(p)}
    print(f"at {budget} trials: live      {order(live)}  "
          + ", ".join(f"{s} {live[s]:.3f}" for s in common))
    print(f"at {budget} trials: surrogate {order(surrogate)}  "
          + ", ".join(f"{s} {surrogate[s]:.3f}" for s in common))
    print(f"Kendall tau {tau:.3f} (p {p:.3f}) over {len(common)} strategies; target >= 0.6")
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    out = args.out or Path(f"live-check-{settings['suite']}-{stamp}.json")
    write_json(out, document)
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["one"]:
        return one(json.loads(argv[1]), argv[2], int(argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    r = verbs.add_parser("run", help="train the live runs (resumable)")
    r.add_argument("suite", help="the suite to train, e.g. mnist-cnn")
    r.add_argument("--strategies", type=lambda s: s.split(","), required=True,
                   help="comma-separated strategies, e.g. random,motpe,parego,pesa2")
    r.add_argument("--seeds", type=int, default=5, help="seeds per strategy (default: 5)")
    r.add_argument("--budget", type=int, default=50, help="trials per run (default: 50)")
    r.add_argument("--objectives", type=lambda s: s.split(","),
                   default=["val_accuracy", "train_time"],
                   help="comma-separated objectives (default: val_accuracy,train_time)")
    r.add_argument("--epochs", type=int, required=True,
                   help="epochs per trial: use the curves table's, to compare like with like")
    r.add_argument("--dataset", default="digits", help="dataset (default: digits)")
    r.add_argument("--limit", type=int, help="training samples, as the table's --limit")
    r.add_argument("--val-limit", type=int, help="validation samples, as the table's")
    r.add_argument("--traces", type=Path, required=True,
                   help="JSON-lines file of the runs; a rerun skips the runs it holds")
    a = verbs.add_parser("analyse", help="the live document and Kendall's tau")
    a.add_argument("--traces", type=Path, required=True, help="the file `run` wrote")
    a.add_argument("--surrogate", type=Path, required=True,
                   help="the surrogate comparison document to compare the ranking with")
    a.add_argument("--budget", type=int, help="trials at which to rank (default: the runs')")
    a.add_argument("--out", type=Path, help="where to write the live comparison document")
    args = parser.parse_args(argv)
    return run(args) if args.verb == "run" else analyse_traces(args)


if __name__ == "__main__":
    sys.exit(main())
