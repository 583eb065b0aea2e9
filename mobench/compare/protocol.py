"""Strategy comparison: every strategy x seed on one problem, anytime indicators, statistics.

Protocol (the same for a table replay and for live training): each (strategy, seed) runs
`budget` trials in a fresh in-memory Optuna study; every trial's objective vector, feasibility,
training cost (seconds the config took to train) and the strategy's own ask+tell overhead are
recorded. Indicators use one normalisation per problem (see `mobench.compare.indicators`):
the table's every config for a replay, the union of all runs' points for live runs (whose true
front is unknown, so IGD+ and normalised hypervolume are absent there).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mobench.compare import indicators as ind
from mobench.compare.trace import RunTrace
from mobench.objectives import Objective
from mobench.records import SCHEMA_VERSION
from mobench.study.outcome import constraint_values, tell, told_values


def run_strategy(problem, strategy: str, seed: int, budget: int,
                 objectives: tuple[Objective, ...], grid: dict | None = None,
                 cost: Callable[[Any, Any], float] | None = None,
                 budget_seconds: float | None = None,
                 on_trial: Callable[[int], None] | None = None) -> RunTrace:
    """`budget` ask/evaluate/tell rounds of one strategy on `problem` (a trial -> outcome);
    with `budget_seconds`, fewer when the next trial's cost would pass that many seconds.
    `on_trial(trials so far)` after each trial: a long run's progress."""
    import optuna

    from mobench.strategies.multifidelity import is_multi_fidelity

    if is_multi_fidelity(strategy):
        from mobench.compare.multifidelity import run_multi_fidelity

        return run_multi_fidelity(problem, strategy, seed, budget, objectives, budget_seconds,
                                  on_trial)

    from mobench.strategies import make_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions = [o.direction.value for o in objectives]
    sampler = make_sampler(strategy, seed=seed, directions=directions, grid=grid)
    study = optuna.create_study(directions=directions, sampler=sampler)
    points, feasible, costs, overhead, told = [], [], [], [], []
    constraints = tuple(getattr(problem, "constraints", ()))
    for _ in range(budget):
        t0 = time.perf_counter()
        trial = study.ask(problem.distributions)
        asked = time.perf_counter() - t0
        outcome = problem(trial)
        values, _ = told_values(outcome, objectives, told)
        for key, violation in constraint_values(outcome, constraints).items():
            trial.set_constraint(key, violation)
        t0 = time.perf_counter()
        more = tell(study, trial, values)
        spent = cost(trial, outcome) if cost else 0.0
        if budget_seconds is not None and sum(costs) + spent > budget_seconds:
            break
        overhead.append(asked + time.perf_counter() - t0)
        told.append(values)
        feasible.append(outcome.feasible)
        points.append([o.minimized(v) for o, v in zip(objectives, values, strict=True)]
                      if outcome.feasible else [float("nan")] * len(objectives))
        costs.append(spent)
        if on_trial is not None:
            on_trial(len(points))
        if not more:
            break
    return RunTrace(strategy, seed, points, feasible, costs, overhead)


def analyse(traces: Sequence[RunTrace], objectives: tuple[Objective, ...], *,
            reference_points: np.ndarray | None = None, true_front: np.ndarray | None = None,
            checkpoints: Sequence[int] = ()) -> dict[str, Any]:
    """Anytime hypervolume per run, IGD+, front size, infeasible share, overhead, statistics."""
    pooled = np.array([p for t in traces for p, ok in zip(t.points, found(t), strict=True)
                       if ok])
    basis = reference_points if reference_points is not None and len(reference_points) else pooled
    low, high = ind.bounds(basis)
    true_hv = None
    true_norm = None
    if true_front is not None and len(true_front):
        true_norm = ind.nondominated(ind.normalise(true_front, low, high))
        true_hv = ind.hypervolume(true_norm)
    budget = max(len(t.points) for t in traces)
    runs = []
    for t in traces:
        norm = ind.normalise(np.array(t.points), low, high)
        kept = found(t)
        hv = ind.anytime_hypervolume(np.nan_to_num(norm, nan=np.inf), kept)
        if true_hv:
            hv = hv / true_hv
        # a strategy that ran out of configs (grid) keeps its final front for the rest
        hv = np.pad(hv, (0, budget - len(hv)), mode="edge")
        final = norm[np.array(kept, dtype=bool)] if any(kept) else norm[:0]
        front = ind.nondominated(final)
        runs.append({
            "strategy": t.strategy, "seed": t.seed, "hypervolume": hv.tolist(),
            "cumulative_cost_s": np.cumsum(t.cost_s).tolist(),
            "igd_plus": ind.igd_plus(final, true_norm) if true_norm is not None else None,
            "front_size": len(front),
            "front": front.tolist(),  # normalised minimisation space, for attainment surfaces
            "infeasible_share": float(1 - np.mean(t.feasible)),
            "overhead_s_mean": float(np.mean(t.overhead_s)),
            **({"epochs": list(t.epochs), "rungs": dict(t.rungs),
                "stopped": sum(not k and ok for k, ok in zip(kept, t.feasible, strict=True))}
               if t.epochs else {}),
        })
    points = sorted({*(c for c in checkpoints if 0 < c <= budget), budget})
    return {"normalisation": {"low": low.tolist(), "high": high.tolist(),
                              "reference_point": ind.REFERENCE,
                              "hypervolume_normalised_by_true_front": bool(true_hv)},
            "runs": runs, "final": final_table(runs, points)}


def found(trace: RunTrace) -> list[bool]:
    """Which trials of a run found a configuration: feasible and fully trained. A trial that
    a multi-fidelity strategy stopped early cost its seconds but yields no configuration, the
    same rule `tune`'s front and the report apply (see docs/ARCHITECTURE.md)."""
    if not trace.epochs or trace.full_epochs is None:
        return list(trace.feasible)
    return [ok and epoch == trace.full_epochs
            for ok, epoch in zip(trace.feasible, trace.epochs, strict=True)]


def final_table(runs: list[dict[str, Any]], checkpoints: Sequence[int]) -> list[dict[str, Any]]:
    """Per budget and strategy: median and IQR of hypervolume, and Holm-corrected tests."""
    from scipy.stats import rankdata

    strategies = sorted({r["strategy"] for r in runs})
    rows = []
    for b in checkpoints:
        samples = {s: [r["hypervolume"][b - 1] for r in runs if r["strategy"] == s]
                   for s in strategies}
        medians = {s: float(np.median(v)) for s, v in samples.items()}
        best = sorted(strategies, key=lambda s: -medians[s])
        ranks = dict(zip(strategies, rankdata([-medians[s] for s in strategies]), strict=True))
        pairs = [(s, "random") for s in strategies if s != "random" and "random" in samples]
        if len(best) > 1 and {best[0], best[1]} not in [set(pair) for pair in pairs]:
            pairs.append((best[0], best[1]))  # the two best, unless already tested
        raw = [ind.mann_whitney(samples[a], samples[b]) for a, b in pairs]
        adjusted = ind.holm(raw) if raw else []
        tests = [{"a": a, "b": b, "p": p, "p_holm": q, "significant": q < 0.05,
                  "better": a if medians[a] > medians[b] else b}
                 for (a, b), p, q in zip(pairs, raw, adjusted, strict=True)]
        for s in strategies:
            p25, p75 = np.percentile(samples[s], [25, 75])
            rows.append({"budget": b, "strategy": s, "median": medians[s],
                         "iqr": float(p75 - p25), "rank": float(ranks[s]),
                         "tests": [t for t in tests if s in (t["a"], t["b"])]})
    return rows


def comparison_document(*, suite: str, problem: dict[str, Any], objectives, strategies,
                        seeds: int, budget: int, analysis: dict[str, Any],
                        timing_s: dict[str, float], provenance: dict[str, Any]) -> dict:
    return {"schema_version": SCHEMA_VERSION, "kind": "comparison", "suite": suite,
            "problem": problem, "budget": budget, "seeds": seeds,
            "objectives": [{"name": o.name, "direction": o.direction.value, "unit": o.unit}
                           for o in objectives],
            "strategies": list(strategies), "strategy_time_s": timing_s,
            "provenance": provenance, **analysis}


def replay_run(table_path: str, objective_specs: list[str], noise: str, strategy: str,
               seed: int, budget: int, budget_seconds: float | None = None) -> RunTrace:
    """One (strategy, seed) replay, self-contained so it can run in a worker process."""
    from mobench.compare.replay import TabularProblem
    from mobench.compare.tabular import load_table
    from mobench.objectives import parse_objectives

    header, frame = load_table(table_path)
    objectives = parse_objectives(objective_specs)
    problem = TabularProblem(header, frame, objectives, noise=noise, seed=seed)
    return run_strategy(problem, strategy, seed, budget, objectives, grid=problem.grid,
                        cost=lambda trial, _: problem.cost(trial), budget_seconds=budget_seconds)


def replay_all(table_path: str, objective_specs: list[str], noise: str,
               strategies: Sequence[str], seeds: int, budget: int, jobs: int = 1,
               on_line: Callable[[str], None] = print,
               budget_seconds: float | None = None) -> tuple[list[RunTrace], dict]:
    """Every strategy x seed on a table, in `jobs` processes; also seconds per strategy."""
    from multiprocessing import get_context

    tasks = [(table_path, list(objective_specs), noise, s, seed, budget, budget_seconds)
             for s in strategies for seed in range(seeds)]
    from mobench.console import Progress

    traces: list[RunTrace] = []
    timing: dict[str, float] = {}
    progress = Progress(len(tasks), "runs", on_line=on_line, every_s=30)
    if jobs > 1:
        # a Pool, not a ProcessPoolExecutor: leaving the block (done, an error, Ctrl-C or
        # SIGTERM raised as KeyboardInterrupt) terminates the workers instead of waiting for
        # the queued tasks
        with progress, get_context("spawn").Pool(jobs) as pool:
            for task, trace in zip(tasks, pool.imap(_timed_replay, tasks), strict=True):
                traces.append(trace[0])
                timing[task[3]] = timing.get(task[3], 0.0) + trace[1]
                progress.advance(status=f"{task[3]} seed {task[4]}")
        for name, seconds in timing.items():
            on_line(f"{name}: {seeds} seeds x {budget} trials in {seconds:.2f} s "
                    f"(summed over the {jobs} processes)")
    else:
        with progress:
            for task in tasks:
                trace, seconds = _timed_replay(task)
                traces.append(trace)
                timing[task[3]] = timing.get(task[3], 0.0) + seconds
                progress.advance(status=f"{task[3]} seed {task[4]}")
                if task[4] == seeds - 1:
                    on_line(f"{task[3]}: {seeds} seeds x {budget} trials in "
                            f"{timing[task[3]]:.2f} s")
    return traces, timing


def _timed_replay(task: tuple) -> tuple[RunTrace, float]:
    t0 = time.perf_counter()
    trace = replay_run(*task)
    return trace, time.perf_counter() - t0
