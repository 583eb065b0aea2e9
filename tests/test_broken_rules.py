"""A comparison that can tell promotion rules apart: on a surrogate fitted to a committed
learning-curves table, MO-ASHA's real rule beats its inverted rule and a coin flip at equal
training seconds, counting only fully trained configurations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mobench.errors import UsageError
from mobench.objectives import parse_objectives
from mobench.testing.broken_rules import RULES, rule_scheduler, run_rule

TABLE = Path(__file__).resolve().parents[1] / "results" / "tables" / "mnist-cnn-digits-curves.csv"
OBJECTIVES = parse_objectives(["val_accuracy", "train_time"])
SEEDS = 10
SECONDS = 150.0  # about 20 fully trained CNN configs' training


@pytest.fixture(scope="module")
def surrogate():
    """mnist-cnn's surrogate, fitted here from the committed table (about 5 s on one core):
    the smallest committed table whose surrogate separates the rules with 10 seeds. Built
    without the surrogate document so that a rebuilt table costs no fidelity measurement."""
    from mobench.compare.curves_table import load_curves
    from mobench.compare.surrogate import Data, Surrogate

    header, frame = load_curves(TABLE)
    return Surrogate(Data(header, frame))


def final_hypervolumes(traces) -> dict[str, list[float]]:
    from mobench.compare.protocol import analyse

    runs = analyse(traces, OBJECTIVES)["runs"]  # one normalisation for every run
    out: dict[str, list[float]] = {}
    for run in runs:
        out.setdefault(run["strategy"], []).append(run["hypervolume"][-1])
    return out


def test_the_real_promotion_rule_beats_an_inverted_rule_and_a_coin_flip(surrogate):
    from scipy.stats import mannwhitneyu

    from mobench.compare.protocol import found
    from mobench.compare.surrogate_problem import SurrogateProblem

    traces = [run_rule(SurrogateProblem(surrogate, OBJECTIVES, seed=seed), rule, seed, 10_000,
                       OBJECTIVES, budget_seconds=SECONDS)
              for rule in RULES for seed in range(SEEDS)]
    for trace in traces:  # equal seconds: each run spent most of them, none more
        assert 0.8 * SECONDS < sum(trace.cost_s) <= SECONDS
        assert trace.epochs.count(trace.full_epochs) == sum(found(trace))
    hv = final_hypervolumes(traces)
    assert set(hv) == {"mo-asha", "mo-asha/inverted", "mo-asha/coin-flip"}
    for broken in ("mo-asha/inverted", "mo-asha/coin-flip"):
        p = mannwhitneyu(hv["mo-asha"], hv[broken], alternative="greater").pvalue
        print(f"mo-asha > {broken}: p = {p:.2g}")
        assert p < 0.05 / 2, (broken, p, np.median(hv["mo-asha"]), np.median(hv[broken]))


def test_broken_rules_change_only_which_trials_go_on(surrogate):
    """Same proposer, same problem, same seconds: the inverted rule keeps exactly the trials
    the real one stops at a rung of three (the third comes first under the inverted order),
    and the coin flip lets about 1/eta of the judged trials go on."""
    from mobench.compare.surrogate_problem import SurrogateProblem

    problem = SurrogateProblem(surrogate, OBJECTIVES)
    real = rule_scheduler(problem, "real", 0, OBJECTIVES)
    inverted = rule_scheduler(problem, "inverted", 0, OBJECTIVES)
    rung = [[-0.9, 10.0], [-0.5, 20.0], [-0.4, 30.0]]  # a chain: first best, last worst
    assert [real.rungs.decide(0, 1, v) for v in rung] == [True, False, False]
    assert [inverted.rungs.decide(0, 1, v) for v in rung] == [True, True, True]
    assert not inverted.rungs.decide(0, 1, [-0.95, 5.0])  # best of four: stopped
    coin = rule_scheduler(problem, "coin-flip", 0, OBJECTIVES)
    kept = [coin.rungs.decide(0, 1, [-0.9, 10.0]) for _ in range(3000)]
    assert abs(np.mean(kept) - 1 / 3) < 0.03
    assert real.ask()[1] == inverted.ask()[1] == coin.ask()[1]  # the same proposals
    with pytest.raises(UsageError, match="unknown promotion rule 'upside-down'"):
        rule_scheduler(problem, "upside-down", 0, OBJECTIVES)
