"""Deliberately broken MO-ASHA promotion rules, to check that a comparison can tell a good
rule from a bad one (a comparison that cannot is measuring the wrong thing).

`inverted` keeps the worst 1/eta of a rung (the real order, read backwards); `coin-flip`
lets a trial go on with probability 1/eta whatever it measured. Both run through the same
replay as the real rule (`compare.multifidelity.run_multi_fidelity`), on the same problem and
budget, with the same proposer; only the rule differs. Test support: no user strategy name
reaches them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from mobench.compare.multifidelity import OptunaRungs, run_multi_fidelity
from mobench.compare.trace import RunTrace
from mobench.errors import unknown_name
from mobench.objectives import Objective
from mobench.strategies.multifidelity import Rungs, promotion_order

RULES = ("real", "inverted", "coin-flip")


class InvertedRungs(Rungs):
    """Keeps the worst 1/eta of a rung: position from the end of the real order."""

    def keeps(self, points: list[list[float]], index: int) -> bool:
        backwards = promotion_order(points)[::-1]
        return int(np.flatnonzero(backwards == index)[0]) < len(points) / self.spec.eta


class CoinFlipRungs(Rungs):
    """Lets a trial go on with probability 1/eta, ignoring what it measured."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.coin = np.random.default_rng([self.seed, 1])

    def keeps(self, points: list[list[float]], index: int) -> bool:
        return bool(self.coin.random() < 1 / self.spec.eta)


BROKEN = {"inverted": InvertedRungs, "coin-flip": CoinFlipRungs}


def rule_scheduler(problem: Any, rule: str, seed: int, objectives: tuple[Objective, ...],
                   strategy: str = "mo-asha") -> OptunaRungs:
    """`strategy`'s replay scheduler with its promotion rule swapped for `rule`."""
    if rule not in RULES:
        raise unknown_name("promotion rule", rule, RULES)
    scheduler = OptunaRungs(problem, strategy, seed, objectives)
    if rule != "real":
        scheduler.rungs = BROKEN[rule](scheduler.rungs.spec, problem.epochs, seed)
    return scheduler


def run_rule(problem: Any, rule: str, seed: int, budget: int,
             objectives: tuple[Objective, ...], budget_seconds: float | None = None,
             strategy: str = "mo-asha") -> RunTrace:
    """One replay of `strategy` under `rule`, labelled `strategy/rule` unless real."""
    scheduler = rule_scheduler(problem, rule, seed, objectives, strategy)
    trace = run_multi_fidelity(problem, strategy, seed, budget, objectives, budget_seconds,
                               scheduler=scheduler)
    label = strategy if rule == "real" else f"{strategy}/{rule}"
    return dataclasses.replace(trace, strategy=label)
