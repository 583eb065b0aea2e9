"""The CLI verbs: each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from mobench.cli.report import run_report  # noqa: F401  (the `report` verb)
from mobench.documents import write_json
from mobench.errors import UsageError


def log(message: str) -> None:
    print(f"mobench: {message}", file=sys.stderr, flush=True)


def check_output(path: Path, option: str, *, folder: bool = False) -> Path:
    """Refuse, before any work, an output that cannot be written (one line, nothing written):
    a file path naming a folder, a folder naming a file, a parent that is a file or not
    writable. Returns `path`."""
    path = Path(path)
    if not folder and path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file path, e.g. "
                         f"{path / 'result.json'}")
    if folder and path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file; give a folder")
    where = path if folder else path.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        raise UsageError(f"{option} {path} cannot be written: {where} is a file, not a folder")
    if not os.access(where, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path} cannot be written: folder {where} is not writable; "
                         "pick another path or fix its permissions")
    return path


def save_document(path: Path, document: dict) -> int:
    """Write a finished result; if that fails after all (disk full), keep it in a temporary
    file, say where, and return 1 (0 when written)."""
    try:
        write_json(path, document)
    except OSError as exc:
        try:
            fd, tmp = tempfile.mkstemp(prefix="mobench-", suffix=".json")
            os.close(fd)
            write_json(tmp, document)
            kept = f"the result is kept in {tmp}"
        except OSError as again:
            kept = f"nor could it be kept in a temporary file ({again.strerror or again})"
        print(f"mobench: error: cannot write {path} ({exc.strerror or exc}); {kept}",
              file=sys.stderr, flush=True)
        return 1
    log(f"wrote {path}")
    return 0


def chosen_config(args: argparse.Namespace):
    """(suite, variant) from --variant/--params, the config validated before any data loads."""
    from mobench.suites import get_suite

    suite = get_suite(args.suite, args.suites_dir)
    variant = args.variant
    if variant is None and args.params is None and "small" in suite.variants:
        variant = "small"
    if variant is not None and variant not in suite.variants:  # known from the TOML: no TF
        from mobench.errors import unknown_name

        raise unknown_name("variant", variant, suite.variants)
    suite.hyperparameters(suite.hypermodel(), variant, args.params)
    return suite, variant


def run_profile(args: argparse.Namespace) -> int:
    from mobench.data import load_dataset
    from mobench.display import profile_summary
    from mobench.profiling.profiler import ProfileSettings, check_modes
    from mobench.profiling.run import profile_suite

    modes = check_modes(args.modes)
    if args.json:  # outputs first: before the suite's model is even imported
        check_output(args.json, "--json")
    if args.trace:
        check_output(args.trace, "--trace", folder=True)
    suite, variant = chosen_config(args)
    path = check_output(args.json or default_run_path("profile", suite.name,
                                                      variant or "custom"), "--json")
    settings = ProfileSettings(steps=args.steps, warmup=args.warmup,
                               trace_dir=str(args.trace) if args.trace else None)
    dataset = load_dataset(args.dataset or suite.dataset, limit=args.limit, seed=args.seed,
                           data_dir=args.data_dir)
    log(f"profiling {suite.name}:{variant or 'custom'} on {dataset.name} "
        f"({len(dataset.x_train)} train examples), modes {','.join(modes)}")
    from mobench.console import Progress

    with Progress(len(modes), "modes", on_line=log) as progress:
        record = profile_suite(
            suite, dataset, variant=variant, values=args.params, modes=modes,
            settings=settings, batch_size=args.batch_size, seed=args.seed,
            matmul_peak=not args.no_peak, on_mode=lambda m: progress.advance(
                status=f"{m.mode}: {m.status.value}" + (f" ({m.reason})" if m.reason else "")))
    print(profile_summary(record))
    if save_document(path, record.to_dict()):
        return 1
    return 0 if any(m.ok for m in record.modes) else 1


def run_evaluate(args: argparse.Namespace) -> int:
    from mobench.data import load_dataset
    from mobench.display import evaluation_summary
    from mobench.profiling.profiler import check_modes
    from mobench.profiling.training import evaluate

    modes = check_modes(args.profile) if args.profile else ()
    if args.json:
        check_output(args.json, "--json")
    suite, variant = chosen_config(args)
    path = check_output(args.json or default_run_path("evaluate", suite.name,
                                                      variant or "custom"), "--json")
    dataset = load_dataset(args.dataset or suite.dataset, limit=args.limit, seed=args.seed,
                           data_dir=args.data_dir)
    log(f"evaluating {suite.name}:{variant or 'custom'} on {dataset.name} "
        f"({len(dataset.x_train)} train examples), {args.epochs or suite.epochs} epoch(s)")
    record = evaluate(suite, dataset, variant=variant, values=args.params, epochs=args.epochs,
                      seed=args.seed, profile_modes=modes)
    print(evaluation_summary(record))
    if save_document(path, record.to_dict()):
        return 1
    return 0 if record.status.value == "ok" else 1


def run_tune(args: argparse.Namespace) -> int:
    """Tune in this process, or with `--workers K` / `--trial-timeout` in supervised worker
    processes; then print the front and write the run document from the shared study."""
    import optuna

    from mobench.objectives import parse_objectives
    from mobench.study.storages import make_storage, redact
    from mobench.study.studies import open_study
    from mobench.study.supervisor import sigterm_as_interrupt
    from mobench.study.workers import tune_spec, work
    from mobench.suites import get_suite

    if args.json:  # before tune_spec, which creates results/ for the default storage
        check_output(args.json, "--json")
    spec = tune_spec(args)
    suite = get_suite(spec.suite, spec.suites_dir)
    # one run document per study, updated in place
    args.json = check_output(args.json or Path("results") / "runs" / f"tune-{spec.study}.json",
                             "--json")
    objectives = parse_objectives(spec.objectives)
    # open (or create) the study here: a storage, study or settings mismatch exits 2 before
    # any work or write
    study = open_study(make_storage(spec.storage), spec.study, objectives,
                       optuna.samplers.RandomSampler(), suite.name, spec.study_settings(suite))
    finished = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    if finished:
        log(f"resuming study {spec.study!r}: {finished} of {spec.trials} trials finished")
    supervised = spec.workers > 1 or spec.trial_timeout is not None
    start = (f"tuning {suite.name} with {spec.strategy} for "
             f"{','.join(o.name for o in objectives)} on {spec.dataset or suite.dataset}:"
             f" study {spec.study!r} in "
             f"{redact(spec.storage)}, {spec.trials} trials"
             + (f", {spec.workers} workers" if spec.workers > 1 else "")
             + (f", trial timeout {spec.trial_timeout:g} s" if spec.trial_timeout else ""))
    info: dict | None = None
    status = 0
    if supervised:
        from mobench.study.supervisor import supervise

        log(start)
        with sigterm_as_interrupt():  # SIGTERM stops the workers as Ctrl-C does
            status, info = supervise(spec, log)
    else:
        def keep(found: dict) -> None:
            nonlocal info
            info = found

        try:
            with sigterm_as_interrupt():
                work(spec, log, on_info=keep, announce=start)
        except KeyboardInterrupt:
            status = 130
    if status == 130:
        log("interrupted: the running trial is marked failed, finished trials are kept")
    if info is None:
        return status or 1
    return _tune_report(args, spec, study, suite, objectives, info, status)


def _tune_report(args, spec, study, suite, objectives, info: dict, status: int) -> int:
    """Print the Pareto front and write the run document (every worker's trials)."""
    from optuna.trial import TrialState

    from mobench.display import table
    from mobench.study.document import front_rows, tuning_document

    document = tuning_document(
        study, suite=suite, strategy=spec.strategy, objectives=objectives,
        constraints=list(spec.constraints), seed=spec.seed, epochs=info["epochs"],
        dataset=info["dataset"], provenance=info["provenance"])
    headers, rows = front_rows(document)
    print(f"Pareto front of study {spec.study!r}: {len(rows)} of {len(document['trials'])} trials")
    print(table(headers, rows))
    if save_document(args.json, document):
        return 1
    done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if status == 0 and done < spec.trials and spec.strategy != "grid":
        log(f"the study holds {done} of {spec.trials} finished trials: rerun to resume")
        return 1
    return status


def run_table(args: argparse.Namespace) -> int:
    from mobench.compare.tabular import build_table
    from mobench.data import load_dataset
    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint
    from mobench.study.space import complete_grid, kt_space
    from mobench.suites import check_values, get_suite

    if args.sample is not None:  # sampled learning curves: mobench.compare.protocol.curves
        from mobench.compare.curves import run_curves

        return run_curves(args, log)
    if args.out:
        check_output(args.out, "--out")
    suite = get_suite(args.suite, args.suites_dir)
    hypermodel = suite.hypermodel()
    grid = dict(suite.grid)
    grid.update(args.grid)
    if not grid:
        raise UsageError(f"suite {suite.name!r} declares no [grid]; give --grid key=v1,v2,...")
    check_values(dataclasses.replace(suite, grid=grid), hypermodel, "grid")
    base = {**kt_space(hypermodel).values, **suite.variants.get("small", {})}
    grid = complete_grid(grid, base)  # hyperparameters the grid omits keep the small variant's
    dataset = load_dataset(args.dataset or suite.dataset, limit=args.limit, seed=args.seed,
                           data_dir=args.data_dir)
    out = check_output(args.out or Path("results") / "tables" /
                       f"{suite.name}-{dataset.name}.csv", "--out")
    out.parent.mkdir(parents=True, exist_ok=True)
    build_table(suite, dataset, grid, out, epochs=args.epochs or suite.epochs,
                repeats=args.repeats, seed=args.seed, on_line=log,
                provenance=provenance(fingerprint(), args.seed, suite_version=suite.version))
    log(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from mobench.compare.protocol import analyse, comparison_document, replay_all
    from mobench.compare.replay import TabularProblem
    from mobench.compare.tabular import load_table
    from mobench.documents import provenance
    from mobench.objectives import parse_objectives
    from mobench.profiling.hardware import fingerprint
    from mobench.strategies import strategy_names
    from mobench.suites import get_suite

    suite = get_suite(args.suite, args.suites_dir)
    if args.seeds is None:
        args.seeds = 20 if args.problem == "surrogate" else 10
    names = strategy_names() if args.strategies == ["all"] else args.strategies
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--strategies: {twice[0]!r} is listed twice")
    beyond = [c for c in args.checkpoints or () if c > args.budget]
    if beyond:
        raise UsageError(f"--checkpoints {beyond[0]} is beyond --budget {args.budget}: "
                         "checkpoints are trial counts within the budget")
    for name in names:
        if name not in strategy_names():
            from mobench.errors import unknown_name

            raise unknown_name("strategy", name, strategy_names())
    objectives = parse_objectives(args.objectives or suite.objectives)
    skip_unusable = args.strategies == ["all"]
    check_output(args.out, "--out", folder=True)
    if args.problem == "surrogate":
        return compare_surrogate(args, suite, usable_strategies(names, objectives,
                                                                skip_unusable), objectives)
    if args.live:
        return compare_live(args, suite, usable_strategies(names, objectives, skip_unusable),
                            objectives)
    path = args.table or Path("results") / "tables" / f"{suite.name}-digits.csv"
    header, frame = load_table(path)
    if header["suite"] != suite.name:
        raise UsageError(f"{path} is a table of suite {header['suite']!r}, not {suite.name!r}")
    if header.get("suite_version") != suite.version:
        raise UsageError(f"{path} was measured with version {header.get('suite_version')!r} of "
                         f"suite {suite.name!r}, which is now version {suite.version}: rebuild "
                         "it with `mobench table`, or compare with the suite file it was built on")
    problem = TabularProblem(header, frame, objectives, noise=args.noise)
    names = usable_strategies(names, objectives, skip_unusable)
    if args.budget > len(frame):
        log(f"note: budget {args.budget} exceeds the table's {len(frame)} configs "
            "(grid strategy stops early)")
    log(f"comparing {', '.join(names)} on {path}: {args.seeds} seeds x {args.budget} trials")
    from mobench.study.supervisor import sigterm_as_interrupt

    with sigterm_as_interrupt():  # SIGTERM stops the worker processes as Ctrl-C does
        traces, timing = replay_all(str(path), [o.name for o in objectives], args.noise,
                                    names, args.seeds, args.budget, jobs=args.jobs, on_line=log)
    all_points = problem.all_points()
    analysis = analyse(traces, objectives, reference_points=all_points, true_front=all_points,
                       checkpoints=args.checkpoints)
    document = comparison_document(
        suite=suite.name, problem={"table": str(path), "noise": args.noise,
                                   "configs": len(frame), "dataset": header.get("dataset")},
        objectives=objectives, strategies=names, seeds=args.seeds, budget=args.budget,
        analysis=analysis, timing_s=timing,
        provenance=provenance(fingerprint(tensorflow=False), 0))
    print(final_table_text(analysis["final"]))
    out = args.out / f"compare-{suite.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    return save_document(out, document)


def final_table_text(rows: list[dict]) -> str:
    """The comparison's final table for the console: per budget, best rank first."""
    from mobench.display import table

    def significant(r: dict) -> str:
        return ", ".join(f"{t['b'] if t['a'] == r['strategy'] else t['a']} "
                         f"(p={t['p_holm']:.3g}, {t['better']} better)"
                         for t in r["tests"] if t["significant"]) or "-"

    return table(["budget", "strategy", "median HV", "IQR", "rank", "significant vs"],
                 [[str(r["budget"]), r["strategy"], f"{r['median']:.4f}", f"{r['iqr']:.4f}",
                   f"{r['rank']:g}", significant(r)]
                  for r in sorted(rows, key=lambda r: (r["budget"], r["rank"]))])


def usable_strategies(names: list[str], objectives, skip_unusable: bool) -> list[str]:
    """The strategies whose sampler can be built here (gp needs torch), checked before any
    run: an unusable one named explicitly is an error; under `all` it is skipped, said once."""
    from mobench.strategies import make_sampler

    directions = [o.direction.value for o in objectives]
    usable = []
    for name in names:
        try:
            if name != "grid":  # needs the problem's grid; always available
                make_sampler(name, seed=0, directions=directions)
        except UsageError as exc:
            if not skip_unusable:
                raise
            log(f"skipping {name}: {exc}")
            continue
        usable.append(name)
    return usable


def compare_live(args: argparse.Namespace, suite, names: list[str], objectives) -> int:
    """The comparison protocol on real training runs; normalised by the pooled points."""
    from mobench.compare.protocol import analyse, comparison_document, run_strategy
    from mobench.data import load_dataset
    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint
    from mobench.study.evaluator import TrialEvaluator
    from mobench.study.space import kt_space, optuna_space
    from mobench.suites import check_values

    hypermodel = suite.hypermodel()
    dataset = load_dataset(args.dataset or suite.dataset, limit=args.limit, data_dir=None)
    evaluator = TrialEvaluator(suite, dataset, objectives)
    evaluator.distributions = optuna_space(kt_space(hypermodel),
                                           check_values(suite, hypermodel, "space"))
    grid = None
    if "grid" in names:
        from mobench.study.space import complete_grid

        base = {**kt_space(hypermodel).values, **suite.variants.get("small", {})}
        grid = complete_grid(check_values(suite, hypermodel, "grid"), base)
    log(f"comparing {', '.join(names)} live on {dataset.name}: {args.seeds} seeds x "
        f"{args.budget} trainings each")
    from mobench.console import Progress

    traces, timing = [], {}
    with Progress(len(names) * args.seeds, "runs", on_line=log) as progress:
        for name in names:
            t0 = time.perf_counter()
            for seed in range(args.seeds):
                traces.append(run_strategy(
                    evaluator, name, seed, args.budget, objectives, grid=grid,
                    cost=lambda _, outcome: float(outcome.values.get("train_time", 0.0))))
                progress.advance(status=f"{name} seed {seed}: {args.budget} trainings")
            timing[name] = time.perf_counter() - t0
    analysis = analyse(traces, objectives, checkpoints=args.checkpoints)
    document = comparison_document(
        suite=suite.name, problem={"live": True, "dataset": dataset.describe()},
        objectives=objectives, strategies=names, seeds=args.seeds, budget=args.budget,
        analysis=analysis, timing_s=timing,
        provenance=provenance(fingerprint(), 0, suite_version=suite.version))
    print(final_table_text(analysis["final"]))
    out = args.out / f"compare-live-{suite.name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
    return save_document(out, document)


def run_surrogate(args: argparse.Namespace) -> int:
    """`mobench surrogate SUITE`: fit a surrogate to a curves table, show and store its
    fidelity (grouped k-fold CV) and the reference front of the objective set."""
    from mobench.compare.surrogate import ensure_front, fidelity_rows, open_surrogate
    from mobench.display import table
    from mobench.objectives import parse_objectives
    from mobench.suites import get_suite

    suite = get_suite(args.suite, args.suites_dir)
    objectives = parse_objectives(args.objectives or suite.objectives)
    path = args.table or Path("results") / "tables" / f"{suite.name}-digits-curves.csv"
    surrogate, document, out, changed = open_surrogate(
        path, suite, objectives, folds=args.folds, family=args.model, refresh_fidelity=True,
        provenance=lambda: surrogate_provenance(suite), on_line=log)
    _, added = ensure_front(surrogate, document, objectives, on_line=log)
    fid = document["fidelity"]
    print(f"{suite.name} surrogate ({fid['family']}) of {path}: {fid['configs']} ok configs, "
          f"{fid['folds']}-fold CV grouped by config")
    print(table(["objective", "rho final", "R2 final", "rho mean", "R2 mean", "repeat rho"],
                fidelity_rows(document)))
    print(f"infeasible regions: {document['infeasible']['model']}")
    return save_document(out, document) if changed or added else 0


def surrogate_provenance(suite) -> dict:
    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint

    return provenance(fingerprint(tensorflow=False), 0, suite_version=suite.version)


def compare_surrogate(args: argparse.Namespace, suite, names: list[str], objectives) -> int:
    """The comparison protocol on a surrogate of a curves table (the suite's real space);
    normalised by the stored reference run's bounds, HV relative to its front."""
    import numpy as np

    from mobench.compare.protocol import analyse, comparison_document
    from mobench.compare.surrogate import ensure_front, open_surrogate, run_all

    if args.live:
        raise UsageError("--live and --problem surrogate exclude each other")
    if "grid" in names:
        if args.strategies != ["all"]:
            raise UsageError("strategy 'grid' needs a finite grid; a surrogate's space is the "
                             "suite's continuous one")
        names = [n for n in names if n != "grid"]
        log("skipping grid: a surrogate's space is continuous, not a finite grid")
    path = args.table or Path("results") / "tables" / f"{suite.name}-digits-curves.csv"
    surrogate, document, out, changed = open_surrogate(
        path, suite, objectives, provenance=lambda: surrogate_provenance(suite), on_line=log)
    front, added = ensure_front(surrogate, document, objectives, on_line=log)
    if (changed or added) and save_document(out, document):
        return 1
    if args.jobs > 1:
        log("note: --jobs is ignored with --problem surrogate (one fitted surrogate, this process)")
    log(f"comparing {', '.join(names)} on the surrogate of {path}: {args.seeds} seeds x "
        f"{args.budget} trials")
    traces, timing = run_all(surrogate, objectives, args.noise, names, args.seeds,
                             args.budget, front, on_line=log)
    points = np.asarray(front["points"], dtype=float)
    analysis = analyse(traces, objectives,
                       reference_points=np.vstack([points, front["low"], front["high"]]),
                       true_front=points, checkpoints=args.checkpoints)
    problem = {"kind": "surrogate", "table": str(path), "noise": args.noise,
               "configs": document["table"]["ok_configs"], "dataset": document.get("dataset"),
               "table_sha256": document["table"]["sha256"], "surrogate": str(out),
               "model": document["model"]["family"], "fidelity": document["fidelity"],
               "reference_front": {k: front[k] for k in ("method", "evaluations", "low", "high")}
               | {"points": len(points)}}
    result = comparison_document(
        suite=suite.name, problem=problem, objectives=objectives, strategies=names,
        seeds=args.seeds, budget=args.budget, analysis=analysis, timing_s=timing,
        provenance=surrogate_provenance(suite))
    print(final_table_text(analysis["final"]))
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    return save_document(args.out / f"compare-surrogate-{suite.name}-{stamp}.json", result)


def default_run_path(kind: str, suite: str, variant: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / "runs" / f"{kind}-{suite}-{variant}-{stamp}.json"


def run_hw(args: argparse.Namespace) -> int:
    from mobench.profiling.hardware import fingerprint, format_fingerprint

    fp = fingerprint(tensorflow=args.tf)  # importing TensorFlow costs seconds
    print(json.dumps(fp, indent=2) if args.json else format_fingerprint(fp))
    return 0


def run_data(args: argparse.Namespace) -> int:
    from mobench.data import DATASET_NAMES, dataset_available, fetch_dataset

    if args.data_verb == "fetch":
        print(fetch_dataset(args.name, args.data_dir))
        return 0
    for name in DATASET_NAMES:
        if name != "auto":
            state = "available" if dataset_available(name, args.data_dir) else "not prepared"
            print(f"{name:14} {state}")
    return 0


def run_suites(args: argparse.Namespace) -> int:
    from mobench.display import table
    from mobench.suites import discover, space_summary

    rows = []
    for s in discover(args.suites_dir).values():  # the TOML files only: no model import
        row = {"name": s.name, "version": s.version, "model": s.model,
               "dataset": s.dataset, "epochs": s.epochs, "objectives": list(s.objectives),
               "variants": sorted(s.variants), "path": s.path}
        if args.space:  # imports every model module (and TensorFlow)
            row.update(space_summary(s.hypermodel()))
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    headers = ["suite", "version", "model", "dataset", "variants"]
    cells = [[r["name"], str(r["version"]), r["model"], r["dataset"], ",".join(r["variants"])]
             for r in rows]
    if args.space:
        headers += ["hps", "space size"]
        for r, c in zip(rows, cells, strict=True):
            c += [str(len(r["hyperparameters"])),
                  "continuous" if r["configs"] is None else f"{r['configs']:,}"]
    print(table(headers, cells))
    return 0
