"""Syne Tune's MOASHA as a baseline (`st-moasha`): the anchor mobench's `mo-asha` is judged
against, driven through Syne Tune's own scheduler, not a re-implementation.

Optional: `pip install syne-tune` (or `pip install mobench[st]`). Syne Tune samples
configurations from its own domains (converted here from the suite's Optuna distributions)
with numpy's global generator, which is seeded per run; it ranks a rung by non-dominated
sorting with an epsilon-net on the raw objective values (no normalisation) and stops a trial
outside the top 1/eta. Values are passed in minimisation space (`do_minimize=True`).

Workaround of two upstream defects (Syne Tune 0.16; the same code on its GitHub main): its
bracket (`asha.Bracket.on_result`) reads the rung's multi-objective priorities as RANKS (the
newcomer's is the last row's), but `NonDominatedPriority` returns an ORDER (row indices, best
first), so the newcomer is judged by the index of whichever row came last in the order: a
newcomer that dominates every vector at its rung can be stopped. Inside a front,
`nondominated_sort` likewise indexes with `compute_epsilon_net`'s ranks as if they were its
order. `RankPriority` composes the same upstream pieces as their docstrings describe (fronts
by `pareto_efficient`, each front in its epsilon-net order from the first objective's best)
and hands the bracket ranks, so the baseline runs as Syne Tune meant it.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from typing import Any

from mobench.errors import UsageError

NAME = "st-moasha"


def check_available() -> None:
    if importlib.util.find_spec("syne_tune") is None:
        raise UsageError(f"strategy {NAME!r} needs Syne Tune: pip install syne-tune")


def rank_priority():
    """Syne Tune's non-dominated epsilon-net priority as ranks (0 = best), the form its
    bracket reads (see the module docstring)."""
    import numpy as np
    from syne_tune.optimizer.schedulers.multiobjective.multiobjective_priority import (
        MOPriority,
    )
    from syne_tune.optimizer.schedulers.multiobjective.non_dominated_priority import (
        compute_epsilon_net,
        pareto_efficient,
    )

    class RankPriority(MOPriority):
        def priority_unsafe(self, objectives: np.ndarray) -> np.ndarray:
            remaining, order = np.arange(len(objectives)), []
            while remaining.size:
                front = remaining[pareto_efficient(objectives[remaining])]
                net_ranks = compute_epsilon_net(objectives[front], dim=0)
                order.extend(front[np.argsort(net_ranks)])
                remaining = np.setdiff1d(remaining, front)
            ranks = np.empty(len(objectives), dtype=int)
            ranks[np.asarray(order, dtype=int)] = np.arange(len(objectives))
            return ranks

    return RankPriority()


def syne_domain(distribution) -> Any:
    """The Syne Tune domain sampling what an Optuna distribution does."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from syne_tune.config_space import (
        choice,
        finrange,
        lograndint,
        loguniform,
        randint,
        uniform,
    )

    if isinstance(distribution, CategoricalDistribution):
        return choice(list(distribution.choices))
    low, high = distribution.low, distribution.high
    if isinstance(distribution, FloatDistribution):
        if distribution.log:
            return loguniform(low, high)
        if distribution.step:
            return finrange(low, high, int(round((high - low) / distribution.step)) + 1)
        return uniform(low, high)
    if distribution.log:
        return lograndint(low, high)
    if distribution.step > 1:
        return finrange(low, high, (high - low) // distribution.step + 1, cast_int=True)
    return randint(low, high)


class SyneTuneMOASHA:
    """Syne Tune's MOASHA scheduler behind the interface `compare.multifidelity` drives:
    `ask()` a config, `judge()` it at rung epochs, `finish()` it, `counts()` per rung."""

    def __init__(self, distributions: dict[str, Any], objectives: list[str], max_epochs: int,
                 min_epochs: int, seed: int, eta: int = 3) -> None:
        check_available()
        import numpy as np
        from syne_tune.optimizer.schedulers.multiobjective.moasha import MOASHA

        np.random.seed(seed)  # Syne Tune samples configs and brackets from numpy's global rng
        self.names = list(objectives)
        self.max_epochs = max_epochs
        self.scheduler = MOASHA(
            {k: syne_domain(d) for k, d in distributions.items()}, metrics=self.names,
            do_minimize=True, time_attr="epoch", max_t=max_epochs, grace_period=min_epochs,
            reduction_factor=eta, random_seed=seed, multiobjective_priority=rank_priority())
        self.trials: dict[int, Any] = {}

    def ask(self) -> tuple[int, dict[str, Any]]:
        from syne_tune.backend.trial_status import Trial

        config = dict(self.scheduler.suggest().config)
        trial = Trial(trial_id=len(self.trials), config=config,
                      creation_time=dt.datetime.now())
        self.scheduler.on_trial_add(trial)
        self.trials[trial.trial_id] = trial
        return trial.trial_id, config

    def checkpoints(self, handle: int) -> list[int]:
        """Epochs to report at: its bracket's rungs below the last epoch, then the last."""
        bracket = self.scheduler.trial_info[handle]
        levels = sorted(int(m) for m, _ in bracket.rungs if m < self.max_epochs)
        return [*levels, self.max_epochs]

    def judge(self, handle: int, epoch: int, vector: list[float]) -> bool:
        from syne_tune.optimizer.scheduler import SchedulerDecision

        result = {"epoch": epoch, **dict(zip(self.names, vector, strict=True))}
        decision = self.scheduler.on_trial_result(self.trials[handle], result)
        return decision == SchedulerDecision.CONTINUE

    def finish(self, handle: int, epoch: int | None, outcome, vector: list[float] | None,
               stopped: bool) -> None:
        if stopped or vector is None:
            self.scheduler.on_trial_remove(self.trials[handle])
        else:
            result = {"epoch": epoch, **dict(zip(self.names, vector, strict=True))}
            self.scheduler.on_trial_complete(self.trials[handle], result)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for bracket in self.scheduler.brackets:
            for milestone, recorded in bracket.rungs:
                if milestone < self.max_epochs:
                    key = str(int(milestone))
                    out[key] = out.get(key, 0) + len(recorded)
        return dict(sorted(out.items(), key=lambda kv: int(kv[0])))
