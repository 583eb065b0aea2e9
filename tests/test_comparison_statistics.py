"""The statistics of a comparison: Vargha-Delaney A12 and its interval, the p-value methods,
the better side, Holm over one family, ranks across problems, and a broken strategy that must
lose (mobench.compare.statistics, protocol.final_table)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import friedmanchisquare, norm

from mobench.compare import statistics as st
from mobench.compare.protocol import analyse, final_table, run_strategy
from mobench.objectives import parse_objectives
from mobench.study.outcome import TrialOutcome

# --- A12 and its interval ---------------------------------------------------------------------


def test_a12_known_values_and_symmetry() -> None:
    assert st.a12([1, 2, 3], [0, 0, 0]) == 1.0
    assert st.a12([0, 0, 0], [1, 2, 3]) == 0.0
    assert st.a12([1, 2], [2, 3]) == pytest.approx(0.125)  # one tie of four pairs, counted half
    assert st.a12([1, 2, 3], [3, 2, 1]) == 0.5
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = rng.integers(0, 4, 7), rng.integers(0, 4, 9)  # many ties
        assert st.a12(b, a) == pytest.approx(1 - st.a12(a, b))


def newcombe_excess(theta: float, estimate: float, m: int, n: int) -> float:
    """Newcombe (2006) method 5 written out: (estimate - theta)^2 - z^2 V(theta), with the
    Hanley-McNeil variance at N* = (m + n) / 2 - 1 in place of m - 1 and n - 1."""
    q1, q2 = theta / (2 - theta), 2 * theta ** 2 / (1 + theta)
    star = (m + n) / 2 - 1
    variance = (theta * (1 - theta) + star * (q1 - theta ** 2) + star * (q2 - theta ** 2)) / (m * n)
    return (estimate - theta) ** 2 - norm.ppf(0.975) ** 2 * variance


def test_a12_interval_is_newcombes_score_interval() -> None:
    a, b = [0.2, 0.5, 0.1, 0.7, 0.4, 0.9], [0.6, 0.9, 0.8, 0.3, 1.0]
    estimate = st.a12(a, b)
    low, high = st.a12_interval(a, b)
    assert 0 < low < estimate < high < 1
    for bound in (low, high):
        assert newcombe_excess(bound, estimate, 6, 5) == pytest.approx(0.0, abs=1e-9)
    # the other side's interval is the mirror image
    assert st.a12_interval(b, a) == pytest.approx((1 - high, 1 - low))


def test_a12_interval_does_not_collapse_at_complete_separation() -> None:
    low3, high3 = st.a12_interval([1, 2, 3], [0, 0, 0])
    assert high3 == 1.0 and 0.3 < low3 < 0.9  # a Wald or bootstrap interval says [1, 1]
    assert newcombe_excess(low3, 1.0, 3, 3) == pytest.approx(0.0, abs=1e-9)
    low40, _ = st.a12_interval(np.arange(40) + 100.0, np.arange(40))
    assert low3 < low40 < 1.0  # more seeds, a tighter interval
    assert st.a12_interval([0, 0, 0], [1, 2, 3]) == pytest.approx((0.0, 1 - low3))


# --- p-values -----------------------------------------------------------------------------------


def test_the_method_follows_the_samples() -> None:
    assert st.mann_whitney_test([1, 2, 3], [4, 5, 6]) == (pytest.approx(0.1), "exact")
    assert st.mann_whitney_test([1, 1, 2], [2, 3, 3])[1] == "permutation"
    assert st.mann_whitney_test([0.4] * 3, [0.4] * 5) == (1.0, "constant")
    rng = np.random.default_rng(0)
    large = rng.random(st.EXACT_MAX + 1), rng.random(st.EXACT_MAX + 1) + 0.2
    p, method = st.mann_whitney_test(*large)
    assert method == "asymptotic" and p < 1e-3
    assert st.EXACT_MAX == 100  # the documented boundary: 100 per side exact, 101 not
    assert st.mann_whitney_test(large[0][:100], large[1][:100])[1] == "exact"
    assert st.mann_whitney_test(large[0][:100], large[1])[1] == "asymptotic"
    # a fixed seed: a tied 40 against 40 gives the same Monte Carlo p every time
    tied = np.round(rng.random(40), 1), np.round(rng.random(40) + 0.1, 1)
    assert st.mann_whitney_test(*tied) == st.mann_whitney_test(*tied)


def test_three_against_three_never_goes_below_one_tenth() -> None:
    for a, b in (([1, 1, 1], [2, 2, 2]), ([1, 2, 3], [4, 5, 6]), ([0, 0, 0], [1, 2, 3]),
                 ([1, 1, 2], [3, 3, 4]), ([0.5] * 3, [0.7] * 3)):
        assert st.mann_whitney(a, b) >= 0.1 - 1e-12
        assert st.mann_whitney(b, a) >= 0.1 - 1e-12


def test_one_constant_sample_gets_its_exact_p() -> None:
    # every one of the C(10, 5) = 252 splits enumerated; the constant side is not "no evidence"
    assert st.mann_whitney([0.0] * 5, [1, 2, 3, 4, 5]) == pytest.approx(2 / 252)
    assert st.mann_whitney([3, 4, 5, 6, 7], [0.5] * 5) == pytest.approx(2 / 252)
    assert st.mann_whitney([0.0] * 4, [0.0, 0.0, 0.0, 1.0]) == pytest.approx(1.0)


def test_the_better_side_is_decided_by_a12_not_medians() -> None:
    higher = [0.5, 0.5, 0.5, 0.9, 0.9]  # the same median, stochastically larger
    lower = [0.1, 0.1, 0.5, 0.5, 0.5]
    result = st.compare_samples(lower, higher)
    assert np.median(higher) == np.median(lower)
    assert result["better"] == "b" and result["a12"] == pytest.approx(0.18)
    assert st.compare_samples(higher, lower)["better"] == "a"
    assert st.compare_samples([1, 2, 3], [3, 2, 1])["better"] is None  # A12 = 0.5


def runs(values: dict[str, list[list[float]]]) -> list[dict]:
    """Runs as final_table reads them: strategy -> one anytime hypervolume list per seed."""
    return [{"strategy": s, "seed": i, "hypervolume": hv}
            for s, seeds in values.items() for i, hv in enumerate(seeds)]


def test_tied_medians_name_the_stochastically_larger_side() -> None:
    higher = [0.5, 0.5, 0.5, 0.9, 0.9, 0.9, 0.5]
    lower = [0.1, 0.1, 0.5, 0.5, 0.5, 0.1, 0.5]
    rows = final_table(runs({"random": [[v] for v in lower], "x": [[v] for v in higher]}), [1])
    (test,) = {id(t): t for r in rows for t in r["tests"]}.values()
    assert (test["a"], test["b"]) == ("x", "random")
    assert test["better"] == "x" and test["a12"] > 0.5  # medians would have named random
    assert test["p_holm"] < 0.05 and test["significant"]  # x is better, though medians tie
    assert set(test) >= {"p", "p_holm", "significant", "better", "a12", "a12_ci", "method"}
    assert test["a12_ci"][0] <= test["a12"] <= test["a12_ci"][1]


def test_holm_runs_over_every_budget_and_pair_together() -> None:
    seeds = 6
    good = [[0.5 + 0.01 * i, 0.6 + 0.01 * i] for i in range(seeds)]
    bad = [[0.1 + 0.01 * i, 0.2 + 0.01 * i] for i in range(seeds)]
    mid = [[0.3 + 0.01 * i, 0.4 + 0.01 * i] for i in range(seeds)]
    rows = final_table(runs({"random": bad, "x": good, "y": mid}), [1, 2])
    tests = list({id(t): t for r in rows for t in r["tests"]}.values())
    # per budget: x-random, y-random, and the two best (x, y): 3 tests x 2 budgets, one family
    assert len(tests) == 6 and {t["budget"] for t in tests} == {1, 2}
    assert [t["p_holm"] for t in tests] == pytest.approx(st.holm([t["p"] for t in tests]))
    separated = 2 / 924  # complete separation, 6 against 6, every split enumerated
    assert all(t["p"] == pytest.approx(separated) for t in tests)
    assert all(t["p_holm"] == pytest.approx(6 * separated) for t in tests)
    assert all(t["significant"] for t in tests)


# --- across problems --------------------------------------------------------------------------


def test_across_problems_ranks_friedman_and_post_hoc() -> None:
    rng = np.random.default_rng(1)
    scores = {}
    for j in range(8):
        base = rng.random()
        scores[f"p{j}"] = {"a": base + 0.3 + 0.01 * j, "b": base + 0.1 + 0.02 * (j % 3),
                           "c": base}
    scores["p0"]["d"] = 10.0  # d ran on two problems only: ranked there, out of the block
    scores["p1"]["d"] = -10.0
    out = st.across_problems(scores)
    assert out["problems"] == [f"p{j}" for j in range(8)]
    assert out["ranks"]["a"] == {"average_rank": pytest.approx((2 + 1 + 6) / 8), "problems": 8}
    assert out["ranks"]["d"] == {"average_rank": 2.5, "problems": 2}
    assert out["block"]["strategies"] == ["a", "b", "c"] and out["control"] == "a"
    matrix = [[scores[p][s] for p in out["problems"]] for s in ("a", "b", "c")]
    assert out["friedman"]["p"] == pytest.approx(friedmanchisquare(*matrix).pvalue)
    assert out["friedman"]["p"] < 0.01
    tests = {t["a"]: t for t in out["post_hoc"]}
    assert set(tests) == {"b", "c"} and all(t["b"] == "a" for t in tests.values())
    # c loses on all 8 problems: exact signed-rank p = 2 / 2^8, Holm over the two tests
    assert tests["c"]["p"] == pytest.approx(2 / 256) and tests["c"]["method"] == "exact"
    assert [t["p_holm"] for t in out["post_hoc"]] == pytest.approx(
        st.holm([t["p"] for t in out["post_hoc"]]))
    assert tests["c"]["significant"] and tests["c"]["better"] == "a"
    assert tests["c"]["rank_biserial"] == -1.0


def test_across_problems_without_a_block_to_test() -> None:
    out = st.across_problems({"p": {"a": 0.5, "b": 0.7}, "q": {"a": 0.6, "b": 0.6}})
    assert out["friedman"] is None  # two strategies: no Friedman test
    assert out["control"] == "b" and out["ranks"]["a"]["average_rank"] == 1.75
    (test,) = out["post_hoc"]
    # differences -0.2 and 0: the zero is dropped (Wilcoxon's rule), so no exact table
    assert test["method"] == "permutation" and test["p"] == 1.0 and test["better"] == "b"
    one = st.across_problems({"p": {"a": 0.5, "b": 0.7, "c": 0.1}})
    assert one["friedman"] is None and one["post_hoc"] == [] and one["control"] is None
    assert not test["significant"]


def test_across_problems_with_ties_and_a_strategy_that_wins_by_margins() -> None:
    same = st.across_problems({p: {"a": 0.5, "b": 0.5, "c": 0.5} for p in "pqr"})
    assert same["friedman"] == {"statistic": 0.0, "p": 1.0}
    assert all(t["p"] == 1.0 and t["method"] == "constant" and t["better"] is None
               and t["rank_biserial"] == 0.0 for t in same["post_hoc"])
    # a and b tie on average rank (a is the control, first by name); b wins big twice and
    # loses small twice: the signed ranks favour b
    scores = {"p1": {"a": 0.5, "b": 0.49, "c": 0.1}, "p2": {"a": 0.5, "b": 0.49, "c": 0.1},
              "p3": {"a": 0.5, "b": 0.9, "c": 0.1}, "p4": {"a": 0.5, "b": 0.9, "c": 0.1},
              "p5": {"a": 0.5, "b": 0.5, "c": 0.2}}
    out = st.across_problems(scores)
    assert out["control"] == "a"
    b = next(t for t in out["post_hoc"] if t["a"] == "b")
    # differences -0.01, -0.01, 0.4, 0.4 and a zero that Wilcoxon's rule drops: signed ranks
    # -1.5, -1.5, 3.5, 3.5
    assert b["rank_biserial"] == pytest.approx(0.4) and b["better"] == "b"


# --- a broken strategy must lose ------------------------------------------------------------


class ToyProblem:
    """A mobench.testing problem with the protocol's interface (define-by-run variables)."""

    constraints = ()
    distributions: dict = {}

    def __init__(self, name: str) -> None:
        from mobench.testing.problems import get_problem

        self.problem = get_problem(name)
        self.objectives = parse_objectives(
            [f"f{i}:min" for i in range(self.problem.n_objectives)])

    def __call__(self, trial) -> TrialOutcome:
        values = self.problem.objective(trial)
        return TrialOutcome({f"f{i}": v for i, v in enumerate(values)})


def test_a_strategy_stuck_in_the_worst_corner_loses_significantly_to_random(monkeypatch):
    from mobench import strategies

    monkeypatch.setitem(strategies.STRATEGIES, "corner", "mobench.testing.broken:"
                        "make_upper_corner")
    toy = ToyProblem("dtlz2")
    traces = [run_strategy(toy, name, seed, 20, toy.objectives)
              for name in ("corner", "random") for seed in range(6)]
    assert len({tuple(p) for t in traces[:6] for p in t.points}) == 1  # one config, always
    result = analyse(traces, toy.objectives, true_front=toy.problem.true_front(),
                     checkpoints=[10])
    hv = {s: [r["hypervolume"][-1] for r in result["runs"] if r["strategy"] == s]
          for s in ("corner", "random")}
    assert max(hv["corner"]) < min(hv["random"]) and max(hv["random"]) <= 1.0
    (row,) = [r for r in result["final"] if r["strategy"] == "corner" and r["budget"] == 20]
    (test,) = row["tests"]
    assert test["significant"] and test["better"] == "random"
    assert test["a12"] == 0.0 and test["method"] == "permutation"  # the corner's HV ties at 0
