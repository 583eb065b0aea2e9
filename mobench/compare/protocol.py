"""Strategy comparison: every strategy x seed on one problem, anytime indicators, statistics.

Protocol (the same for a table replay and for live training): each (strategy, seed) runs
`budget` trials in a fresh in-memory Optuna study; every trial's objective vector, feasibility,
training cost (seconds the config took to train) and the strategy's own ask+tell overhead are
recorded. Only found configurations count (`found`). Hypervolume is a fraction of the
reference front's (the true front, when known, with every point any run found), normalised to
that front's ideal and nadir or to the box of all evaluations (`mobench.compare.indicators`);
the statistics are in `mobench.compare.statistics`. Each run's found points are stored, so a
document can be scored again without rerunning (`reanalyse`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mobench.compare import indicators as ind
from mobench.compare import statistics as stats
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
                                  on_trial=on_trial)

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
            checkpoints: Sequence[int] = (), normalisation: str = "front",
            margin: float = ind.MARGIN) -> dict[str, Any]:
    """Anytime hypervolume per run (in the primary scale and the other one), IGD+, front
    size, infeasible share, overhead, each run's found points, and the statistics.

    `true_front`: the problem's known front (minimisation), if any; `reference_points`: the
    points whose bounds make the `box` scale (all evaluations), else the found points and
    the true front. The reference front is the non-dominated set of the true front and every
    found point of every run (see `mobench.compare.indicators`)."""
    from mobench.errors import UsageError

    if not any(t.points for t in traces):
        raise UsageError("no run finished a trial within its budget (with --budget-seconds, "
                         "every first trial took longer): nothing to compare")
    dims = len(objectives)
    kept = [found(t) for t in traces]
    pooled = np.array([p for t, k in zip(traces, kept, strict=True)
                       for p, ok in zip(t.points, k, strict=True) if ok],
                      dtype=float).reshape(-1, dims)
    true = (np.asarray(true_front, dtype=float).reshape(-1, dims)
            if true_front is not None and len(true_front) else None)
    front = ind.reference_front(pooled, true)
    box = (np.asarray(reference_points, dtype=float).reshape(-1, dims)
           if reference_points is not None and len(reference_points)
           else np.vstack([pooled, *([true] if true is not None else [])]))
    scales = {name: ind.make_scale(name, front, box, margin) for name in ind.NORMALISATIONS}
    primary = scales[normalisation]
    other = next(s for name, s in scales.items() if name != normalisation)
    budget = max(len(t.points) for t in traces)
    runs = []
    for t, k in zip(traces, kept, strict=True):
        points = np.array(t.points, dtype=float).reshape(-1, dims)
        mask = np.array(k, dtype=bool)
        final = primary.normalise(points[mask])
        run_front = ind.nondominated(final)
        runs.append({
            "strategy": t.strategy, "seed": t.seed,
            # a strategy that ran out of configs (grid) keeps its final front for the rest
            "hypervolume": _padded(primary.anytime(points, k), budget),
            f"hypervolume_{other.name}": _padded(other.anytime(points, k), budget),
            "cumulative_cost_s": np.cumsum(t.cost_s).tolist(),
            "igd_plus": (ind.igd_plus(final, primary.front)
                         if len(final) and len(primary.front) else None),
            "front_size": len(run_front),
            "front": run_front.tolist(),  # primary scale, for attainment surfaces
            "found_points": [list(map(float, p)) if ok else None
                             for p, ok in zip(t.points, k, strict=True)],
            "infeasible_share": float(1 - np.mean(t.feasible)) if t.feasible else None,
            "overhead_s_mean": float(np.mean(t.overhead_s)) if t.overhead_s else None,
            **({"epochs": list(t.epochs), "rungs": dict(t.rungs),
                "stopped": sum(not ok and f for ok, f in zip(k, t.feasible, strict=True))}
               if t.epochs else {}),
        })
    points = sorted({*(c for c in checkpoints if 0 < c <= budget), budget})
    ideal, nadir = ind.bounds(front) if len(front) else (None, None)
    return {"normalisation": {
                "primary": primary.name, "margin": margin, "reference_point": primary.reference,
                "low": primary.low.tolist(), "high": primary.high.tolist(),
                "ideal": None if ideal is None else ideal.tolist(),
                "nadir": None if nadir is None else nadir.tolist(),
                "box": {"low": scales["box"].low.tolist(), "high": scales["box"].high.tolist()},
                "reference_front": {
                    "from": ("the true front and every found point" if true is not None
                             else "every found point (no true front)"),
                    "points": front.tolist()},
                "hypervolume": "a fraction of the reference front's, in the primary scale; "
                               f"hypervolume_{other.name}: the same in the {other.name} scale",
                "hypervolume_normalised_by_true_front": true is not None},
            "statistics": STATISTICS, "runs": runs, "final": final_table(runs, points)}


STATISTICS = {
    "test": "two-sided Mann-Whitney U over seeds: exact (small, untied), permutation (ties; "
            f"{stats.PERMUTATIONS} resamples, seed {stats.PERMUTATION_SEED}) or asymptotic "
            f"(untied, over {stats.EXACT_MAX} per side), as each test's method says",
    "effect_size": "Vargha-Delaney A12 = P(a > b) + P(a = b) / 2; decides the better side",
    "a12_ci": "95%, Newcombe (2006) method 5 score interval",
    "correction": "Holm over every test of the document (all budgets and pairs)",
    "alpha": stats.ALPHA,
}


def _padded(values: np.ndarray, length: int) -> list[float]:
    """An anytime series kept at its last value to `length` trials (0 for a run of none)."""
    if len(values) == 0:
        return [0.0] * length
    return np.pad(values, (0, length - len(values)), mode="edge").tolist()


def found(trace: RunTrace) -> list[bool]:
    """Which trials of a run found a configuration: feasible and fully trained. A trial that
    a multi-fidelity strategy stopped early cost its seconds but yields no configuration, the
    same rule `tune`'s front and the report apply (see docs/ARCHITECTURE.md)."""
    if not trace.epochs or trace.full_epochs is None:
        return list(trace.feasible)
    return [ok and epoch == trace.full_epochs
            for ok, epoch in zip(trace.feasible, trace.epochs, strict=True)]


def final_table(runs: list[dict[str, Any]], checkpoints: Sequence[int]) -> list[dict[str, Any]]:
    """Per budget and strategy: median and IQR of hypervolume, rank by median, and the tests
    (each non-random strategy against random, and the two best): A12 decides the better
    side, Holm runs over every test of every budget together (one family)."""
    from scipy.stats import rankdata

    strategies = sorted({r["strategy"] for r in runs})
    per_budget = []
    family = []
    for b in checkpoints:
        samples = {s: [r["hypervolume"][b - 1] for r in runs if r["strategy"] == s]
                   for s in strategies}
        medians = {s: float(np.median(v)) for s, v in samples.items()}
        best = sorted(strategies, key=lambda s: -medians[s])
        ranks = dict(zip(strategies, rankdata([-medians[s] for s in strategies]), strict=True))
        pairs = [(s, "random") for s in strategies if s != "random" and "random" in samples]
        if len(best) > 1 and {best[0], best[1]} not in [set(pair) for pair in pairs]:
            pairs.append((best[0], best[1]))  # the two best, unless already tested
        for a, other in pairs:
            result = stats.compare_samples(samples[a], samples[other])
            side = {"a": a, "b": other, None: None}[result.pop("better")]
            family.append({"budget": b, "a": a, "b": other, **result, "better": side})
        per_budget.append((b, samples, medians, ranks))
    for test, adjusted in zip(family, stats.holm([t["p"] for t in family]), strict=True):
        test["p_holm"] = adjusted
        test["significant"] = adjusted < stats.ALPHA
    rows = []
    for b, samples, medians, ranks in per_budget:
        for s in strategies:
            p25, p75 = np.percentile(samples[s], [25, 75])
            rows.append({"budget": b, "strategy": s, "median": medians[s],
                         "iqr": float(p75 - p25), "rank": float(ranks[s]),
                         "tests": [t for t in family
                                   if t["budget"] == b and s in (t["a"], t["b"])]})
    return rows


def document_traces(document: dict[str, Any]) -> list[RunTrace]:
    """The runs of a comparison document as traces of their found points (every other trial
    infeasible), which is all the scoring reads; a document without found points is refused."""
    from mobench.errors import UsageError

    dims = len(document["objectives"])
    traces = []
    for run in document["runs"]:
        if "found_points" not in run:
            raise UsageError("the comparison document has no found points per run (written by "
                             "an older mobench): run the comparison again")
        points = run["found_points"]
        costs = np.diff(np.concatenate([[0.0], run["cumulative_cost_s"]])).tolist()
        traces.append(RunTrace(run["strategy"], run["seed"],
                               [p if p is not None else [float("nan")] * dims for p in points],
                               [p is not None for p in points], costs,
                               [run["overhead_s_mean"]] * len(points)))
    return traces


def reanalyse(document: dict[str, Any], normalisation: str | None = None) -> dict[str, Any]:
    """The analysis of a stored comparison computed again from its found points (hypervolume,
    IGD+, fronts, tests; the infeasible share then counts every trial that found nothing), in
    its own normalisation or the other one."""
    from mobench.objectives import parse_objectives

    norm = document["normalisation"]
    objectives = parse_objectives([f"{o['name']}:{o['direction'][:3]}"
                                   for o in document["objectives"]])
    return analyse(document_traces(document), objectives,
                   reference_points=np.array([norm["box"]["low"], norm["box"]["high"]]),
                   true_front=(np.asarray(norm["reference_front"]["points"], dtype=float)
                               if norm["hypervolume_normalised_by_true_front"] else None),
                   checkpoints=sorted({f["budget"] for f in document["final"]}),
                   normalisation=normalisation or norm["primary"], margin=norm["margin"])


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
