"""Sampler overhead of every strategy: ask+tell time per trial with 200 finished trials.

Each strategy first runs its own study of the cheap ZDT1 problem (mixed encoding, 6 parameters)
to ``--history`` finished trials, so that its internal state (GA generations, oracle, archive)
is what a real run would have; then ``--repeats`` further ask / suggest / tell cycles are timed
one by one with ``perf_counter_ns`` (the numpy objective costs microseconds). Prints the median
and maximum per strategy against its target: < 50 ms, except gp, parego (< 2 s).

Run: python benchmarks/strategy_overhead.py [--history 200] [--repeats 10] [--strategies ...]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SLOW_TARGETS = {"gp": 2.0, "parego": 2.0}
DEFAULT_TARGET = 0.050


def measure(name: str, history: int, repeats: int) -> tuple[list[float], float]:
    """Per-trial ask+tell seconds after ``history`` trials, and the time to build that history."""
    import optuna

    from mobench.strategies import make_sampler
    from mobench.testing.problems import get_problem

    problem = get_problem("zdt1")
    grid = {v.name: [0.0] for v in problem.variables} if name == "grid" else None
    sampler = make_sampler(name, seed=0, directions=problem.directions, grid=grid)
    study = optuna.create_study(directions=problem.directions, sampler=sampler)
    start = time.perf_counter()
    study.optimize(problem.objective, n_trials=history)
    fill = time.perf_counter() - start
    times = []
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            trial = study.ask()
            values = problem.objective(trial)
            study.tell(trial, values)
            times.append((time.perf_counter_ns() - t0) / 1e9)
    finally:
        gc.enable()
    return times, fill


def main(argv: list[str] | None = None) -> int:
    import optuna

    from mobench.errors import UsageError
    from mobench.strategies import strategy_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--strategies", default=None,
                        help="comma-separated (default: every registered one except grid)")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    names = (args.strategies.split(",") if args.strategies
             else [n for n in strategy_names() if n != "grid"])

    print(f"\nask+tell per trial after {args.history} finished trials (ZDT1, mixed, 6 params), "
          f"{args.repeats} repeats\n")
    print("| strategy | median ms | max ms | target ms | verdict | history fill s |")
    print("|---|---|---|---|---|---|")
    failed = False
    for name in names:
        target = SLOW_TARGETS.get(name, DEFAULT_TARGET)
        try:
            times, fill = measure(name, args.history, args.repeats)
        except UsageError as exc:
            print(f"| {name} | - | - | {target * 1e3:.0f} | unavailable: {exc} | - |")
            continue
        median = statistics.median(times)
        ok = median < target
        failed |= not ok
        print(f"| {name} | {median * 1e3:.1f} | {max(times) * 1e3:.1f} | {target * 1e3:.0f} | "
              f"{'ok' if ok else 'OVER'} | {fill:.1f} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
