"""MO-ASHA and MO-Hyperband replayed on a problem with learning curves (a surrogate).

One simulated worker: a configuration from the proposing sampler trains epoch by epoch; at
each rung of its bracket `mobench.strategies.multifidelity.Rungs` says whether it continues.
A stopped configuration costs only the training seconds of the epochs it used, and the run
records the vector it was stopped with (what a strategy actually observed), not its final one.
With `budget_seconds`, the run ends when the next observation would pass that many training
seconds; the configuration in flight then keeps its last observed vector, if it has one.
"""

from __future__ import annotations

import dataclasses
import time

from mobench.compare.protocol import RunTrace
from mobench.objectives import Objective
from mobench.study.outcome import constraint_values, tell, told_values


def run_multi_fidelity(problem, strategy: str, seed: int, budget: int,
                       objectives: tuple[Objective, ...],
                       budget_seconds: float | None = None) -> RunTrace:
    """Up to `budget` configurations (and at most `budget_seconds` of training) of one
    multi-fidelity strategy on `problem` (`observe(params, epoch)`, `epochs`, `first_epoch`)."""
    import optuna

    from mobench.strategies import make_sampler
    from mobench.strategies.multifidelity import Rungs, parse_multi_fidelity

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = parse_multi_fidelity(strategy)
    spec = dataclasses.replace(spec, min_epochs=max(spec.min_epochs, problem.first_epoch))
    rungs = Rungs(spec, problem.epochs, seed)
    directions = [o.direction.value for o in objectives]
    study = optuna.create_study(directions=directions,
                                sampler=make_sampler(spec.proposer, seed=seed,
                                                     directions=directions))
    trace = RunTrace(strategy, seed, [], [], [], [], epochs=[])
    told: list[list[float]] = []
    spent = 0.0
    for _ in range(budget):
        if budget_seconds is not None and spent >= budget_seconds:
            break
        t0 = time.perf_counter()
        trial = study.ask(problem.distributions)
        overhead = time.perf_counter() - t0
        params = dict(trial.params)
        bracket = rungs.new_bracket()
        last = None  # (epoch, outcome, seconds) of the last observation
        out_of_budget = False
        for epoch in [*rungs.levels[bracket], problem.epochs]:
            outcome, seconds = problem.observe(params, epoch)
            if budget_seconds is not None and spent + seconds > budget_seconds:
                out_of_budget = True
                break
            last = (epoch, outcome, seconds)
            if not outcome.feasible or epoch == problem.epochs:
                break
            t0 = time.perf_counter()
            vector = [o.minimized(outcome.values[o.name]) for o in objectives]
            keep = rungs.decide(bracket, epoch, vector)
            overhead += time.perf_counter() - t0
            if not keep:
                break
        if last is None:  # the budget ran out before this config's first observation
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        epoch, outcome, seconds = last
        spent += seconds
        t0 = time.perf_counter()
        values, _ = told_values(outcome, objectives, told)
        trial.set_user_attr("epochs", epoch)
        if epoch < problem.epochs and outcome.feasible:
            trial.set_user_attr("stopped_values", values)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            for key, violation in constraint_values(outcome, ()).items():
                trial.set_constraint(key, violation)
            tell(study, trial, values)
            told.append(values)
        trace.overhead_s.append(overhead + time.perf_counter() - t0)
        trace.points.append([o.minimized(v) for o, v in zip(objectives, values, strict=True)]
                            if outcome.feasible else [float("nan")] * len(objectives))
        trace.feasible.append(outcome.feasible)
        trace.cost_s.append(seconds)
        trace.epochs.append(epoch)
        if out_of_budget:
            break
    trace.rungs.update(rungs.counts())
    return trace
