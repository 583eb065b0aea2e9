"""MO-ASHA, MO-Hyperband and Syne Tune's MOASHA replayed on a problem with learning curves
(a surrogate).

One simulated worker: a configuration trains epoch by epoch; at each rung of its bracket the
scheduler says whether it continues. A stopped configuration costs only the training seconds
of the epochs it used; the run records the vector it was stopped with (what the strategy
observed) and the epoch, and finds no configuration (`compare.protocol.found`: only fully
trained ones count). With `budget_seconds`, the run ends when the next observation would pass
that many training seconds; the configuration in flight then keeps its last observed vector,
if it has one, and counts as stopped.

Schedulers share one small interface: `ask() -> (handle, params)`, `checkpoints(handle)` (the
epochs it is judged at, then the last), `judge(handle, epoch, vector) -> continue?`,
`finish(handle, epoch, outcome, vector, stopped)`, `counts()` (trials recorded per rung).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from mobench.compare.trace import RunTrace
from mobench.objectives import Objective
from mobench.study.outcome import constraint_values, tell, told_values


def problem_spec(strategy: str, epochs: int, first_epoch: int = 1):
    """The parsed strategy with its first rung at or after `first_epoch` (a GAN's first fcd
    checkpoint); a one-line UsageError when `epochs` leave no rung below the last."""
    from mobench.strategies.multifidelity import check_epochs, parse_multi_fidelity

    spec = parse_multi_fidelity(strategy)
    spec = dataclasses.replace(spec, min_epochs=max(spec.min_epochs, first_epoch))
    check_epochs(spec, epochs)
    return spec


class OptunaRungs:
    """mobench's MO-ASHA / MO-Hyperband: configs from an Optuna sampler, rungs in memory."""

    def __init__(self, problem, strategy: str, seed: int,
                 objectives: tuple[Objective, ...]) -> None:
        import optuna

        from mobench.strategies.multifidelity import Rungs
        from mobench.strategies.proposer import make_proposer

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        spec = problem_spec(strategy, problem.epochs, problem.first_epoch)
        self.problem = problem
        self.objectives = objectives
        self.rungs = Rungs(spec, problem.epochs, seed)
        directions = [o.direction.value for o in objectives]
        self.study = optuna.create_study(
            directions=directions,
            sampler=make_proposer(spec.proposer, seed=seed, directions=directions))
        self.open: dict[int, tuple[Any, int]] = {}  # handle -> (Optuna trial, bracket)
        self.told: list[list[float]] = []

    def ask(self) -> tuple[int, dict[str, Any]]:
        trial = self.study.ask(self.problem.distributions)
        self.open[trial.number] = (trial, self.rungs.new_bracket())
        return trial.number, dict(trial.params)

    def checkpoints(self, handle: int) -> list[int]:
        return [*self.rungs.levels[self.open[handle][1]], self.problem.epochs]

    def judge(self, handle: int, epoch: int, vector: list[float]) -> bool:
        return self.rungs.decide(self.open[handle][1], epoch, vector)

    def finish(self, handle: int, epoch: int | None, outcome, vector: list[float] | None,
               stopped: bool) -> None:
        """Tell the sampler: a finished trial's values, a stopped one as pruned."""
        import optuna

        trial, _ = self.open.pop(handle)
        if outcome is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        values, _ = told_values(outcome, self.objectives, self.told)
        trial.set_user_attr("epochs", epoch)
        if stopped:
            trial.set_user_attr("stopped_values", values)
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return
        for key, violation in constraint_values(outcome, ()).items():
            trial.set_constraint(key, violation)
        tell(self.study, trial, values)
        self.told.append(values)

    def counts(self) -> dict[str, int]:
        return self.rungs.counts()


def make_scheduler(problem, strategy: str, seed: int, objectives: tuple[Objective, ...]):
    from mobench.strategies.synetune import NAME, SyneTuneMOASHA

    if strategy == NAME:
        return SyneTuneMOASHA(problem.distributions, [o.name for o in objectives],
                              problem.epochs, problem.first_epoch, seed)
    return OptunaRungs(problem, strategy, seed, objectives)


def run_multi_fidelity(problem, strategy: str, seed: int, budget: int,
                       objectives: tuple[Objective, ...],
                       budget_seconds: float | None = None, scheduler=None,
                       on_trial: Callable[[int], None] | None = None) -> RunTrace:
    """Up to `budget` configurations (and at most `budget_seconds` of training) of one
    multi-fidelity strategy on `problem` (`observe(params, epoch)`, `epochs`, `first_epoch`);
    `on_trial(configurations so far)` after each. `scheduler` replaces the strategy's own
    (`mobench.testing.broken_rules` passes one with a deliberately broken promotion rule)."""
    scheduler = scheduler or make_scheduler(problem, strategy, seed, objectives)
    trace = RunTrace(strategy, seed, [], [], [], [], epochs=[], full_epochs=problem.epochs)
    spent = 0.0
    for _ in range(budget):
        if budget_seconds is not None and spent >= budget_seconds:
            break
        t0 = time.perf_counter()
        handle, params = scheduler.ask()
        overhead = time.perf_counter() - t0
        last = None  # (epoch, outcome, seconds, vector) of the last observation
        stopped = out_of_budget = False
        for epoch in scheduler.checkpoints(handle):
            outcome, seconds = problem.observe(params, epoch)
            if budget_seconds is not None and spent + seconds > budget_seconds:
                out_of_budget = True
                break
            vector = [o.minimized(outcome.values[o.name]) for o in objectives] \
                if outcome.feasible else None
            last = (epoch, outcome, seconds, vector)
            if vector is None or epoch == problem.epochs:
                break
            t0 = time.perf_counter()
            keep = scheduler.judge(handle, epoch, vector)
            overhead += time.perf_counter() - t0
            if not keep:
                stopped = True
                break
        t0 = time.perf_counter()
        if last is None:  # the budget ran out before this config's first observation
            scheduler.finish(handle, None, None, None, False)
            break
        epoch, outcome, seconds, vector = last
        stopped = stopped or (out_of_budget and epoch < problem.epochs)
        scheduler.finish(handle, epoch, outcome, vector, stopped)
        spent += seconds
        trace.overhead_s.append(overhead + time.perf_counter() - t0)
        trace.points.append(vector if vector is not None else [float("nan")] * len(objectives))
        trace.feasible.append(outcome.feasible)
        trace.cost_s.append(seconds)
        trace.epochs.append(epoch)
        if on_trial is not None:
            on_trial(len(trace.points))
        if out_of_budget:
            break
    trace.rungs.update(scheduler.counts())
    return trace


def run_live_multi_fidelity(evaluator, strategy: str, seed: int, budget: int,
                            objectives: tuple[Objective, ...],
                            budget_seconds: float | None = None) -> RunTrace:
    """mo-asha / mo-hyperband on real training (`compare --live`): what `tune` runs, in an
    in-memory study. The live tuner's rungs judge each trial after its rung epochs through a
    Keras callback; a stopped trial costs the seconds it trained and contributes the vector it
    was stopped with. As for the other strategies live, a trial whose seconds would pass
    `budget_seconds` ends the run and is not counted."""
    import optuna

    from mobench.strategies.proposer import make_proposer
    from mobench.study.document import rung_counts
    from mobench.study.rungs import STOPPED_AT_ATTR, StudyRungs

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    epochs = evaluator.epochs or evaluator.suite.epochs
    spec = problem_spec(strategy, epochs)
    directions = [o.direction.value for o in objectives]
    study = optuna.create_study(directions=directions, sampler=make_proposer(
        spec.proposer, seed=seed, directions=directions))
    trace = RunTrace(strategy, seed, [], [], [], [], epochs=[], full_epochs=epochs)
    told: list[list[float]] = []
    evaluator.rungs = StudyRungs(spec, epochs, seed, objectives)
    try:
        for _ in range(budget):
            t0 = time.perf_counter()
            trial = study.ask(evaluator.distributions)
            overhead = time.perf_counter() - t0
            outcome = evaluator(trial)
            seconds = float(outcome.values.get("train_time", 0.0))
            t0 = time.perf_counter()
            values, _ = told_values(outcome, objectives, told)
            if outcome.stopped_at is not None:
                trial.set_user_attr(STOPPED_AT_ATTR, outcome.stopped_at)
                trial.set_user_attr("stopped_values", values)
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                tell(study, trial, values)
                told.append(values)
            if budget_seconds is not None and sum(trace.cost_s) + seconds > budget_seconds:
                break
            trace.overhead_s.append(overhead + time.perf_counter() - t0)
            trace.points.append([o.minimized(v) for o, v in zip(objectives, values, strict=True)]
                                if outcome.feasible else [float("nan")] * len(objectives))
            trace.feasible.append(outcome.feasible)
            trace.cost_s.append(seconds)
            trace.epochs.append(outcome.stopped_at or epochs)
    finally:
        evaluator.rungs = None
    trace.rungs.update(rung_counts(study.get_trials(deepcopy=False)))
    return trace
