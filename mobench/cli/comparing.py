"""The `compare` and `surrogate` verbs: strategies replayed on a table or a surrogate, or
run live, with the final table printed and the comparison document written."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from mobench.cli.output import check_output, log, save_document
from mobench.cli.parser import MAX_BUDGET
from mobench.errors import UsageError

UNLIMITED_TRIALS = MAX_BUDGET  # --budget-seconds alone: the seconds end each run
SURROGATE_SEEDS = 40  # default seeds per strategy on a surrogate (cheap trials, tight tests)


def check_seeds(seeds: int, names: list[str]) -> None:
    """A test between strategies needs at least two seeds per side."""
    if seeds < 2 and len(names) > 1:
        raise UsageError(f"--seeds {seeds} leaves nothing to test between {len(names)} "
                         "strategies: use --seeds 2 or more (a test needs >= 2 runs per side)")


def run_length(args: argparse.Namespace) -> str:
    """How long each (strategy, seed) run is, for the console."""
    if args.budget_seconds is None:
        return f"{args.budget} trials"
    seconds = f"{args.budget_seconds:g} training seconds"
    return seconds if args.budget == UNLIMITED_TRIALS else f"{args.budget} trials or {seconds}"


def trials_run(args: argparse.Namespace, traces) -> int:
    """The document's budget: --budget, or the longest run when seconds ended the runs."""
    if args.budget_seconds is None:
        return args.budget
    return max(len(t.points) for t in traces)


def run_compare(args: argparse.Namespace) -> int:
    from mobench.compare.indicators import NORMALISATIONS
    from mobench.compare.protocol import analyse, comparison_document, replay_all
    from mobench.compare.replay import TabularProblem
    from mobench.compare.tabular import load_table
    from mobench.documents import provenance
    from mobench.objectives import parse_objectives
    from mobench.profiling.hardware import fingerprint
    from mobench.strategies import strategy_names
    from mobench.strategies.multifidelity import check_multi_fidelity, is_multi_fidelity
    from mobench.suites import get_suite

    if args.normalisation not in NORMALISATIONS:
        raise UsageError(f"--normalisation must be one of {', '.join(NORMALISATIONS)}, got "
                         f"{args.normalisation!r}")
    suite = get_suite(args.suite, args.suites_dir)
    if args.seeds is None:
        args.seeds = SURROGATE_SEEDS if args.problem == "surrogate" else 10
    if args.budget is None:  # --budget-seconds alone: seconds end each run, not trials
        args.budget = 30 if args.budget_seconds is None else UNLIMITED_TRIALS
    names = strategy_names() if args.strategies == ["all"] else args.strategies
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--strategies: {twice[0]!r} is listed twice")
    beyond = [c for c in args.checkpoints or () if c > args.budget]
    if beyond:
        raise UsageError(f"--checkpoints {beyond[0]} is beyond --budget {args.budget}: "
                         "checkpoints are trial counts within the budget")
    multi_fidelity = [n for n in names if is_multi_fidelity(n)]
    for name in names:
        if is_multi_fidelity(name):
            check_multi_fidelity(name)
        elif name not in strategy_names():
            from mobench.errors import unknown_name

            raise unknown_name("strategy", name, strategy_names())
    if multi_fidelity and args.problem != "surrogate" and not args.live:
        raise UsageError(f"strategy {multi_fidelity[0]!r} stops trials early and needs learning "
                         "curves: use --problem surrogate (a curves table's surrogate), or "
                         "--live")
    objectives = parse_objectives(args.objectives or suite.objectives)
    skip_unusable = args.strategies == ["all"]
    if args.epochs is not None and not args.live:
        raise UsageError("--epochs sets the training of --live runs; a table or surrogate has "
                         "the epochs it was built with")
    check_output(args.out, "--out", folder=True)
    if args.problem == "surrogate":
        return compare_surrogate(args, suite, usable_strategies(names, objectives,
                                                                skip_unusable), objectives)
    if args.live:
        return compare_live(args, suite, usable_strategies(names, objectives, skip_unusable),
                            objectives)
    path = args.table or Path("results") / "tables" / f"{suite.name}-digits.csv"
    header, frame = load_table(path)
    if header.get("suite") != suite.name:
        raise UsageError(f"{path} is a table of suite {header.get('suite')!r}, not "
                         f"{suite.name!r}")
    if header.get("suite_version") != suite.version:
        raise UsageError(f"{path} was measured with version {header.get('suite_version')!r} of "
                         f"suite {suite.name!r}, which is now version {suite.version}: rebuild "
                         "it with `mobench table`, or compare with the suite file it was built on")
    problem = TabularProblem(header, frame, objectives, noise=args.noise)
    names = usable_strategies(names, objectives, skip_unusable)
    check_seeds(args.seeds, names)
    if args.budget > len(frame) and args.budget_seconds is None:
        log(f"note: budget {args.budget} exceeds the table's {len(frame)} configs "
            "(grid strategy stops early)")
    log(f"comparing {', '.join(names)} on {path}: {args.seeds} seeds x {run_length(args)}")
    from mobench.study.supervisor import sigterm_as_interrupt

    with sigterm_as_interrupt():  # SIGTERM stops the worker processes as Ctrl-C does
        traces, timing = replay_all(str(path), [o.name for o in objectives], args.noise,
                                    names, args.seeds, args.budget, jobs=args.jobs, on_line=log,
                                    budget_seconds=args.budget_seconds)
    all_points = problem.all_points()
    analysis = analyse(traces, objectives, reference_points=all_points, true_front=all_points,
                       checkpoints=args.checkpoints, normalisation=args.normalisation)
    document = comparison_document(
        suite=suite.name, problem={"table": str(path), "noise": args.noise,
                                   "budget_seconds": args.budget_seconds,
                                   "configs": len(frame), "dataset": header.get("dataset")},
        objectives=objectives, strategies=names, seeds=args.seeds, budget=trials_run(args, traces),
        analysis=analysis, timing_s=timing,
        provenance=provenance(fingerprint(tensorflow=False), 0))
    print(final_table_text(analysis["final"]))
    out = args.out / f"compare-{suite.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    return save_document(out, document)


def final_table_text(rows: list[dict]) -> str:
    """The comparison's final table for the console: per budget, best rank first; then every
    test with its raw and Holm-corrected p, A12 (the first strategy's side) with its 95%
    interval, the method, and the verdict."""
    from mobench.display import table

    medians = table(["budget", "strategy", "median HV", "IQR", "rank"],
                    [[str(r["budget"]), r["strategy"], f"{r['median']:.4f}", f"{r['iqr']:.4f}",
                      f"{r['rank']:g}"]
                     for r in sorted(rows, key=lambda r: (r["budget"], r["rank"]))])
    tests = {(r["budget"], t["a"], t["b"]): t for r in rows for t in r["tests"]}
    if not tests:
        return medians
    lines = [[str(budget), f"{a} vs {b}", f"{t['p']:.3g}", f"{t['p_holm']:.3g}",
              a12_text(t), t.get("method", "-"), verdict(t)]
             for (budget, a, b), t in sorted(tests.items(),
                                             key=lambda item: (item[0][0], item[1]["p_holm"]))]
    return "\n".join([medians, "", f"tests (Holm over all {len(tests)} together, "
                      "A12 = P(first > second)):",
                      table(["budget", "pair", "p", "p_holm", "A12 [95% CI]", "method",
                             "verdict"], lines)])


def a12_text(test: dict) -> str:
    if test.get("a12") is None:
        return "-"
    low, high = test["a12_ci"]
    return f"{test['a12']:.2f} [{low:.2f}, {high:.2f}]"


def verdict(test: dict) -> str:
    if not test["significant"]:
        return "no difference"
    return f"{test['better']} better" if test.get("better") else "differ"


def usable_strategies(names: list[str], objectives, skip_unusable: bool) -> list[str]:
    """The strategies whose sampler can be built here (gp needs torch), checked before any
    run: an unusable one named explicitly is an error; under `all` it is skipped, said once."""
    from mobench.strategies import make_sampler
    from mobench.strategies.multifidelity import check_multi_fidelity, is_multi_fidelity

    directions = [o.direction.value for o in objectives]
    usable = []
    for name in names:
        try:
            if is_multi_fidelity(name):
                proposer = check_multi_fidelity(name)
                if proposer:
                    make_sampler(proposer, seed=0, directions=directions)
            elif name != "grid":  # needs the problem's grid; always available
                make_sampler(name, seed=0, directions=directions)
        except UsageError as exc:
            if not skip_unusable:
                raise
            log(f"skipping {name}: {exc}")
            continue
        usable.append(name)
    return usable


def compare_live(args: argparse.Namespace, suite, names: list[str], objectives) -> int:
    """The comparison protocol on real training runs; the reference front is the found
    points' own (no true front)."""
    from mobench.compare.multifidelity import run_live_multi_fidelity
    from mobench.compare.protocol import analyse, comparison_document, run_strategy
    from mobench.data import load_dataset
    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint
    from mobench.strategies.multifidelity import is_multi_fidelity
    from mobench.study.evaluator import TrialEvaluator
    from mobench.study.space import kt_space, optuna_space
    from mobench.suites import check_values

    check_seeds(args.seeds, names)
    check_live_rungs(names, args.epochs or suite.epochs, objectives)
    hypermodel = suite.hypermodel()
    dataset = load_dataset(args.dataset or suite.dataset, limit=args.limit,
                           val_limit=args.val_limit, data_dir=None)
    evaluator = TrialEvaluator(suite, dataset, objectives, epochs=args.epochs)
    evaluator.distributions = optuna_space(kt_space(hypermodel),
                                           check_values(suite, hypermodel, "space"))
    grid = None
    if "grid" in names:
        from mobench.study.space import complete_grid

        base = {**kt_space(hypermodel).values, **suite.variants.get("small", {})}
        grid = complete_grid(check_values(suite, hypermodel, "grid"), base)
    log(f"comparing {', '.join(names)} live on {dataset.name}: {args.seeds} seeds x "
        f"{run_length(args)} each")
    from mobench.console import Progress

    traces, timing = [], {}
    with Progress(len(names) * args.seeds, "runs", on_line=log) as progress:
        for name in names:
            t0 = time.perf_counter()
            for seed in range(args.seeds):
                if is_multi_fidelity(name):
                    trace = run_live_multi_fidelity(evaluator, name, seed, args.budget,
                                                    objectives, args.budget_seconds)
                else:
                    trace = run_strategy(
                        evaluator, name, seed, args.budget, objectives, grid=grid,
                        cost=lambda _, outcome: float(outcome.values.get("train_time", 0.0)),
                        budget_seconds=args.budget_seconds)
                traces.append(trace)
                progress.advance(status=f"{name} seed {seed}: {len(trace.points)} trainings, "
                                 f"{sum(trace.cost_s):.0f} s trained")
            timing[name] = time.perf_counter() - t0
    analysis = analyse(traces, objectives, checkpoints=args.checkpoints,
                       normalisation=args.normalisation)
    document = comparison_document(
        suite=suite.name, problem={"live": True, "dataset": dataset.describe(),
                                   "epochs": args.epochs or suite.epochs,
                                   "budget_seconds": args.budget_seconds},
        objectives=objectives, strategies=names, seeds=args.seeds, budget=trials_run(args, traces),
        analysis=analysis, timing_s=timing,
        provenance=provenance(fingerprint(), 0, suite_version=suite.version))
    print(final_table_text(analysis["final"]))
    out = args.out / f"compare-live-{suite.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    return save_document(out, document)


def check_live_rungs(names: list[str], epochs: int, objectives) -> None:
    """What `tune` refuses for a multi-fidelity strategy, `compare --live` refuses too."""
    from mobench.strategies.multifidelity import BASELINES, is_multi_fidelity
    from mobench.study.rungs import check_live_objectives

    for name in names:
        if name in BASELINES:
            raise UsageError(f"strategy {name!r} is a replay baseline (Syne Tune runs its own "
                             "trials): use it with `compare --problem surrogate`")
        if is_multi_fidelity(name):
            check_live_objectives(name, objectives)
    check_rungs(names, epochs)


def run_surrogate(args: argparse.Namespace) -> int:
    """`mobench surrogate SUITE`: fit a surrogate to a curves table, show and store its
    fidelity (grouped k-fold CV) and the reference front of the objective set."""
    from mobench.compare.surrogate_store import ensure_front, fidelity_rows, open_surrogate
    from mobench.display import table
    from mobench.objectives import parse_objectives
    from mobench.suites import get_suite

    if args.out:
        check_output(args.out, "--out")
    suite = get_suite(args.suite, args.suites_dir)
    objectives = parse_objectives(args.objectives or suite.objectives)
    path = args.table or Path("results") / "tables" / f"{suite.name}-digits-curves.csv"
    surrogate, document, out, changed = open_surrogate(
        path, suite, objectives, folds=args.folds, family=args.model, refresh_fidelity=True,
        document_path=args.out, provenance=lambda: surrogate_provenance(suite), on_line=log)
    _, added = ensure_front(surrogate, document, objectives, on_line=log)
    fid = document["fidelity"]
    print(f"{suite.name} surrogate ({fid['family']}) of {path}: {fid['configs']} ok configs, "
          f"{fid['folds']}-fold CV grouped by config")
    print(table(["objective", "rho final", "R2 final", "rho mean", "R2 mean", "repeat rho",
                 "rho best 1/4", "repeat rho best 1/4"],
                fidelity_rows(document)))
    print(f"infeasible regions: {document['infeasible']['model']}")
    return save_document(out, document) if changed or added else 0


def surrogate_provenance(suite) -> dict:
    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint

    return provenance(fingerprint(tensorflow=False), 0, suite_version=suite.version)


def check_rungs(names: list[str], epochs: int, first_epoch: int = 1) -> None:
    """Every multi-fidelity strategy has a rung below the last of `epochs` (one line)."""
    from mobench.compare.multifidelity import problem_spec
    from mobench.strategies.multifidelity import BASELINES, is_multi_fidelity

    for name in names:
        if is_multi_fidelity(name) and name not in BASELINES:
            problem_spec(name, epochs, first_epoch)


def compare_surrogate(args: argparse.Namespace, suite, names: list[str], objectives) -> int:
    """The comparison protocol on a surrogate of a curves table (the suite's real space); the
    stored reference front joins the found points in the reference front, the reference run's
    bounds make the box scale."""
    import numpy as np

    from mobench.compare.protocol import analyse, comparison_document
    from mobench.compare.surrogate_problem import SurrogateProblem
    from mobench.compare.surrogate_store import ensure_front, open_surrogate, run_all

    if args.live:
        raise UsageError("--live and --problem surrogate exclude each other")
    if "grid" in names:
        if args.strategies != ["all"]:
            raise UsageError("strategy 'grid' needs a finite grid; a surrogate's space is the "
                             "suite's continuous one")
        names = [n for n in names if n != "grid"]
        log("skipping grid: a surrogate's space is continuous, not a finite grid")
    check_seeds(args.seeds, names)
    path = args.table or Path("results") / "tables" / f"{suite.name}-digits-curves.csv"
    surrogate, document, out, changed = open_surrogate(
        path, suite, objectives, provenance=lambda: surrogate_provenance(suite), on_line=log)
    curves = SurrogateProblem(surrogate, objectives)
    check_rungs(names, curves.epochs, curves.first_epoch)
    front, added = ensure_front(surrogate, document, objectives, on_line=log)
    if (changed or added) and save_document(out, document):
        return 1
    if args.jobs > 1:
        log("note: --jobs is ignored with --problem surrogate (one fitted surrogate, this process)")
    log(f"comparing {', '.join(names)} on the surrogate of {path}: {args.seeds} seeds x "
        f"{run_length(args)}")
    traces, timing = run_all(surrogate, objectives, args.noise, names, args.seeds,
                             args.budget, front, on_line=log, budget_seconds=args.budget_seconds)
    points = np.asarray(front["points"], dtype=float)
    analysis = analyse(traces, objectives,
                       reference_points=np.vstack([points, front["low"], front["high"]]),
                       true_front=points, checkpoints=args.checkpoints,
                       normalisation=args.normalisation)
    problem = {"kind": "surrogate", "table": str(path), "noise": args.noise,
               "budget_seconds": args.budget_seconds,
               "configs": document["table"]["ok_configs"], "dataset": document.get("dataset"),
               "table_sha256": document["table"]["sha256"], "surrogate": str(out),
               "model": document["model"]["family"], "fidelity": document["fidelity"],
               "reference_front": {k: front[k] for k in ("method", "evaluations", "low", "high")}
               | {"points": len(points)}}
    result = comparison_document(
        suite=suite.name, problem=problem, objectives=objectives, strategies=names,
        seeds=args.seeds, budget=trials_run(args, traces), analysis=analysis, timing_s=timing,
        provenance=surrogate_provenance(suite))
    print(final_table_text(analysis["final"]))
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    return save_document(args.out / f"compare-surrogate-{suite.name}-{stamp}.json", result)
