"""Search quality of every strategy: median normalised hypervolume after a fixed budget.

For each strategy, problem (ZDT1, ZDT2, DTLZ2 in mixed encodings, see
``mobench/strategies/problems.py``) and seed, run ``--budget`` evaluations and compute
HV(non-dominated trials) / HV(true front) against the fixed reference point 1.1 per objective.
Prints a Markdown table of medians over seeds (with the interquartile range), then whether each
of nsga2, motpe, pesa2, parego beats random on at least two of the three problems: its median is
higher (a one-sided Mann-Whitney U p-value is printed alongside, for the spread).

Run: python benchmarks/strategy_quality.py [--seeds 10] [--budget 100] [--jobs 2]
     [--strategies random,nsga2,...] [--problems zdt1,zdt2,dtlz2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
import warnings
from collections.abc import Iterable, Iterator

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHALLENGERS = ("nsga2", "motpe", "pesa2", "parego")
Result = tuple[str, str, int, float, float]  # strategy, problem, seed, normalised HV, seconds


def run_one(job: tuple[str, str, int, int]) -> Result:
    """One study: (strategy, problem, seed, budget) -> (..., normalised HV, seconds)."""
    import optuna

    from mobench.strategies import make_sampler
    from mobench.testing.problems import get_problem

    name, problem_name, seed, budget = job
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore")
    problem = get_problem(problem_name)
    start = time.perf_counter()
    sampler = make_sampler(name, seed=seed, directions=problem.directions)
    study = optuna.create_study(directions=problem.directions, sampler=sampler)
    study.optimize(problem.objective, n_trials=budget)
    hv = problem.normalised_hypervolume([t.values for t in study.best_trials])
    return name, problem_name, seed, hv, time.perf_counter() - start


def progress(results: Iterable[Result], total: int) -> Iterator[Result]:
    """Pass results through, reporting every tenth of the way on stderr."""
    for i, result in enumerate(results, 1):
        if i % max(1, total // 10) == 0 or i == total:
            print(f"  {i}/{total} runs done", file=sys.stderr, flush=True)
        yield result


def available(names: list[str]) -> list[str]:
    """The strategies of ``names`` that can be built here; prints why the others cannot."""
    from mobench.errors import UsageError
    from mobench.strategies import make_sampler

    ok = []
    for name in names:
        try:
            make_sampler(name, seed=0, directions=["minimize", "minimize"])
        except UsageError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        ok.append(name)
    return ok


def main(argv: list[str] | None = None) -> int:
    from mobench.strategies import strategy_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--strategies", default=None,
                        help="comma-separated (default: every registered one except grid)")
    parser.add_argument("--problems", default="zdt1,zdt2,dtlz2")
    args = parser.parse_args(argv)

    names = (args.strategies.split(",") if args.strategies
             else [n for n in strategy_names() if n != "grid"])
    names = available(names)
    problems = args.problems.split(",")
    jobs = [(n, p, s, args.budget) for n in names for p in problems for s in range(args.seeds)]
    # Longest first (model-based strategies) so the pool's tail is short.
    slow = {"parego": 0, "gp": 0, "kt-bayes": 1, "motpe": 2}
    jobs.sort(key=lambda j: slow.get(j[0], 9))
    if args.jobs > 1:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            results = list(progress(pool.imap_unordered(run_one, jobs), len(jobs)))
    else:
        results = list(progress(map(run_one, jobs), len(jobs)))

    hv: dict[tuple[str, str], list[float]] = {}
    secs: dict[str, list[float]] = {}
    for name, problem, _seed, value, seconds in results:
        hv.setdefault((name, problem), []).append(value)
        secs.setdefault(name, []).append(seconds)

    print(f"\nMedian normalised hypervolume after {args.budget} evaluations, {args.seeds} seeds "
          "(interquartile range in brackets; reference point 1.1 per objective)\n")
    print("| strategy | " + " | ".join(problems) + " | s / run |")
    print("|---" * (len(problems) + 2) + "|")
    for name in names:
        cells = []
        for p in problems:
            q = statistics.quantiles(hv[name, p], n=4) if len(hv[name, p]) > 1 else [0, 0, 0]
            cells.append(f"{statistics.median(hv[name, p]):.3f} [{q[0]:.3f}-{q[2]:.3f}]")
        print(f"| {name} | " + " | ".join(cells) + f" | {statistics.mean(secs[name]):.1f} |")

    if "random" in names:
        from scipy.stats import mannwhitneyu

        print("\nBeats random (higher median) on at least two of the problems:\n")
        for name in (n for n in CHALLENGERS if n in names):
            wins, notes = 0, []
            for p in problems:
                better = statistics.median(hv[name, p]) > statistics.median(hv["random", p])
                wins += better
                pvalue = mannwhitneyu(hv[name, p], hv["random", p], alternative="greater").pvalue
                notes.append(f"{p}: {'win' if better else 'no'} (p={pvalue:.3g})")
            verdict = "yes" if wins >= 2 else "NO"
            print(f"- {name}: {verdict} ({wins}/{len(problems)}) - " + ", ".join(notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
