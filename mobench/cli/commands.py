"""The measuring and listing verbs: profile, evaluate, table, hw, data, suites."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from mobench.cli.output import check_output, default_run_path, log, save_document
from mobench.errors import UsageError


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
                           val_limit=args.val_limit,
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
                           val_limit=args.val_limit,
                           data_dir=args.data_dir)
    log(f"evaluating {suite.name}:{variant or 'custom'} on {dataset.name} "
        f"({len(dataset.x_train)} train examples), {args.epochs or suite.epochs} epoch(s)")
    record = evaluate(suite, dataset, variant=variant, values=args.params, epochs=args.epochs,
                      seed=args.seed, profile_modes=modes)
    print(evaluation_summary(record))
    if save_document(path, record.to_dict()):
        return 1
    return 0 if record.status.value == "ok" else 1


def run_table(args: argparse.Namespace) -> int:
    from mobench.compare.tabular import build_table
    from mobench.data import load_dataset
    from mobench.documents import provenance
    from mobench.profiling.hardware import fingerprint
    from mobench.study.space import complete_grid, kt_space
    from mobench.suites import check_values, get_suite

    if args.suite == "import":  # `table import SUITE CSV`: mobench.compare.curves_import
        return run_import(args)
    if args.source:
        raise UsageError(f"table: unexpected argument {args.source[0]!r} (a table is `table "
                         "SUITE [options]` or `table import SUITE CSV`)")
    if args.sample is not None:  # sampled learning curves: mobench.compare.curves
        return run_curves(args)
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
                           val_limit=args.val_limit,
                           data_dir=args.data_dir)
    out = check_output(args.out or Path("results") / "tables" /
                       f"{suite.name}-{dataset.name}.csv", "--out")
    out.parent.mkdir(parents=True, exist_ok=True)
    build_table(suite, dataset, grid, out, epochs=args.epochs or suite.epochs,
                repeats=args.repeats, seed=args.seed, on_line=log,
                provenance=provenance(fingerprint(), args.seed, suite_version=suite.version))
    log(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


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


def set_threads(threads: int | None) -> dict[str, object]:
    """Restrict TensorFlow's intra- and inter-op pools (before any op runs); report them."""
    from mobench.profiling.hardware import set_threads as set_pools

    try:
        return set_pools(threads, threads)
    except UsageError as exc:
        raise UsageError(f"--threads: {str(exc).removeprefix('TensorFlow threads: ')}") from None


def run_curves(args: argparse.Namespace) -> int:
    """`mobench table SUITE --sample N ...`: build (or resume) a learning-curve table."""
    from mobench.compare.curves import build_curves, header_path
    from mobench.data import load_dataset
    from mobench.suites import get_suite

    if args.grid:
        raise UsageError("--grid and --sample exclude each other (grid or sampled table)")
    if args.repeats != 1:
        raise UsageError("--repeats is for grid tables; with --sample use --repeat-every K")
    if args.sample < 1:
        raise UsageError(f"--sample must be a positive integer, got {args.sample}")
    suite = get_suite(args.suite, args.suites_dir)
    threads = set_threads(args.threads)
    dataset = load_dataset(args.dataset or suite.dataset, limit=args.limit, seed=args.seed,
                           val_limit=args.val_limit,
                           data_dir=args.data_dir)
    out = args.out or Path("results") / "tables" / f"{suite.name}-{dataset.name}-curves.csv"
    build_curves(suite, dataset, out, n=args.sample, epochs=args.epochs or suite.epochs,
                 method=args.method, seed=args.seed, repeat_every=args.repeat_every,
                 limit=args.limit, threads=threads, max_runs=args.max_runs, shard=args.shard,
                 on_line=log)
    log(f"wrote {out} and {header_path(out)}")
    return 0


# options `table import` does not take, with their defaults
NOT_FOR_IMPORT = {"grid": [], "epochs": None, "repeats": 1, "seed": 0, "sample": None,
                  "method": "sobol", "repeat_every": 5, "threads": None, "max_runs": None,
                  "shard": (0, 1), "limit": None, "val_limit": None, "data_dir": None}


def run_import(args: argparse.Namespace) -> int:
    """`mobench table import SUITE CSV [--out PATH] [--dataset NAME]`: a curves table from
    learning curves measured elsewhere, checked against the suite's search space."""
    from mobench.compare.curves import search_space
    from mobench.compare.curves_import import import_curves
    from mobench.compare.curves_table import header_path
    from mobench.study.space import kt_space
    from mobench.suites import get_suite

    if len(args.source) != 2:
        raise UsageError("table import takes a suite and a CSV file: `table import SUITE CSV "
                         "[--out PATH] [--dataset NAME]`")
    given = [k for k, default in NOT_FOR_IMPORT.items() if getattr(args, k) != default]
    if given:
        raise UsageError(f"table import takes --out and --dataset only, not "
                         f"--{given[0].replace('_', '-')}")
    name, source = args.source[0], Path(args.source[1])
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    suite = get_suite(name, args.suites_dir)
    out = check_output(args.out or Path("results") / "tables" /
                       f"{suite.name}-{source.stem}-curves.csv", "--out")
    hypermodel = suite.hypermodel()
    import_curves(source, out, suite_name=suite.name, suite_version=suite.version,
                  space=search_space(suite, hypermodel), defaults=kt_space(hypermodel).values,
                  gan=hasattr(hypermodel, "quality_metrics"),
                  dataset=args.dataset, on_line=log)
    log(f"wrote {out} and {header_path(out)}")
    return 0
