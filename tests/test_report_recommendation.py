"""The strategy recommendation: a strategy is named for a budget range only when a test says
it is ahead of random (p_holm < 0.05 and A12 > 0.5), with its evidence; never by median,
never on a raw p; reference data said; early stopping judged at equal training seconds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from test_report import FIXTURES, report
from test_report_layout import section, write

from mobench.report.evidence import Pairwise, hypervolume_at_seconds
from mobench.report.load import collect
from mobench.report.recommendation import recommendation
from mobench.report.render import block_markdown
from mobench.report.scope import deduplicate

COMPARISON = json.loads((FIXTURES / "comparisons" / "compare-mnist-mlp.json").read_text())


def pair(a: str, b: str, p_holm: float, a12: float, ci=(0.6, 0.9), p: float | None = None):
    return {"a": a, "b": b, "p": p_holm / 4 if p is None else p, "p_holm": p_holm,
            "significant": p_holm < 0.05, "better": a if a12 > 0.5 else b, "a12": a12,
            "a12_ci": list(ci), "method": "exact"}


def comparison(suite: str, checkpoints: dict[int, tuple[dict, list[dict]]],
               kind: str = "surrogate") -> dict:
    """A comparison document of the fixture's runs whose final table says `checkpoints`:
    budget -> (strategy -> median, tests)."""
    doc = copy.deepcopy(COMPARISON)
    doc["suite"] = suite
    doc["problem"] = {**doc["problem"], "kind": kind}
    doc["budget"] = max(checkpoints)
    doc["final"] = [{"budget": b, "strategy": s, "median": m, "iqr": 0.1, "rank": 1.0,
                     "tests": [t for t in tests if s in (t["a"], t["b"])]}
                    for b, (medians, tests) in checkpoints.items() for s, m in medians.items()]
    return doc


MEDIANS = {"nsga2": 0.9, "motpe": 0.7, "random": 0.5}  # nsga2 has the best median


def advice(*paths: Path) -> str:
    """The recommendation's blocks as Markdown, from the documents under `paths`."""
    results = deduplicate(collect(paths))
    return "\n\n".join(block_markdown(b) for b in recommendation(results))


def test_the_significant_winner_is_named_not_the_best_median(tmp_path):
    tests = [pair("nsga2", "random", 0.3, 0.7), pair("motpe", "random", 0.01, 0.8),
             pair("motpe", "nsga2", 0.5, 0.4)]
    for suite in ("s1", "s2"):
        write(tmp_path / f"{suite}.json", comparison(suite, {50: (MEDIANS, tests)}))
    text = advice(tmp_path)
    assert "### Which strategy for accuracy ↑, training time ↓" in text
    assert ("50 trials: motpe, ahead of random on 2 of the 2 problems both ran on (your s1 "
            r"surrogate: p_holm 0.01, A12 0.80 \[0.60, 0.90\]; your s2 surrogate: p_holm "
            r"0.01, A12 0.80 \[0.60, 0.90\])." in text)
    assert "nsga2, ahead" not in text and "reference data" not in text
    # the ranks follow the medians: nsga2 ranks first, and still is not named
    assert "| nsga2 | 1.00 (on 2) |" in text and "| motpe | 2.00 (on 2) |" in text


@pytest.mark.parametrize("p, p_holm, a12, expected", [
    (0.001, 0.2, 0.8, "no strategy is ahead of random on these 2 problems (p_holm ≥ 0.05; "
                      "smallest p_holm 0.2)"),  # a raw p below 0.05 is not a claim
    (0.01, 0.05, 0.8, "no strategy is ahead of random on these 2 problems (p_holm ≥ 0.05; "
                      "smallest p_holm 0.05)"),
    (0.001, 0.01, 0.5, "no strategy is ahead of random on these 2 problems (no test with "
                       "p_holm < 0.05 and A12 > 0.5)"),
    (0.001, 0.01, 0.2, "no strategy is ahead of random on these 2 problems; "
                       "random is ahead of motpe on 2 (your s1 surrogate: p_holm 0.01, A12 "
                       r"0.80 \[0.60, 0.90\]; your s2"),  # A12 from random's side
    (0.001, 0.049, 0.51, "motpe, ahead of random on 2 of the 2 problems both ran on (your s1 "
                         r"surrogate: p_holm 0.049, A12 0.51 \[0.10, 0.40\]"),
])
def test_a_winner_needs_p_holm_below_005_and_a12_above_half(tmp_path, p, p_holm, a12,
                                                           expected):
    tests = [pair("motpe", "random", p_holm, a12, (0.1, 0.4), p=p)]
    for suite in ("s1", "s2"):
        write(tmp_path / f"{suite}.json", comparison(suite, {50: ({"motpe": 0.9,
                                                                   "random": 0.5}, tests)}))
    text = advice(tmp_path)
    assert f"50 trials: {expected}".replace("<", "&lt;").replace(">", "&gt;") in text, text
    if "no strategy" in expected:
        assert "motpe, ahead" not in text


def test_test_winner_and_effect_from_either_side():
    assert Pairwise("x", "random", 0.0499, 0.51, (0.4, 0.6)).winner() == "x"
    assert Pairwise("x", "random", 0.05, 0.9, None).winner() is None
    assert Pairwise("x", "random", 0.01, 0.5, None).winner() is None
    assert Pairwise("x", "random", 0.01, None, None).winner() is None
    assert Pairwise("x", "random", None, 0.9, None).winner() is None
    t = Pairwise("x", "random", 0.01, 0.3, (0.1, 0.45))
    a12, ci = t.effect("random")
    assert t.winner() == "random" and a12 == pytest.approx(0.7) and ci == pytest.approx((0.55, 0.9))
    assert t.text("random") == "p_holm 0.01, A12 0.70 [0.55, 0.90]"


def test_budget_ranges_and_reference_data_are_said(tmp_path):
    quiet = [pair("motpe", "random", 0.6, 0.6)]
    ahead = [pair("motpe", "random", 0.01, 0.8)]
    medians = {"motpe": 0.9, "random": 0.5}
    # yours: motpe ahead at 50 trials only; the shipped ones: at 20 trials only (not at 10)
    write(tmp_path / "mine" / "s1.json",
          comparison("s1", {10: (medians, quiet), 20: (medians, quiet), 50: (medians, ahead)}))
    for suite in ("r1", "r2"):
        write(tmp_path / "reference" / f"{suite}.json", comparison(
            suite, {10: (medians, quiet), 20: (medians, ahead), 50: (medians, quiet)}))
    text = advice(tmp_path)
    assert ("Up to 20 trials: motpe, ahead of random on 2 of the 3 problems both ran on (r1 "
            r"surrogate: p_holm 0.01, A12 0.80 \[0.60, 0.90\]; r2 surrogate: p_holm 0.01, A12 "
            r"0.80 \[0.60, 0.90\]) (reference data: 2 of these 3 comparisons shipped with "
            "mobench, 1 yours).") in text
    assert ("50 trials: motpe, ahead of random on 1 of the 3 problems both ran on (your s1 "
            "surrogate: ") in text
    # yours alone (as with --no-reference): no reference data in any sentence
    alone = advice(tmp_path / "mine")
    assert "Up to 20 trials: no strategy is ahead of random on this problem (p_holm ≥ 0.05; " \
        "smallest p_holm 0.6)." in alone and "reference data" not in alone
    # two comparisons of yours answer alone, the reference ones present or not
    write(tmp_path / "mine" / "s2.json",
          comparison("s2", {20: (medians, quiet), 50: (medians, quiet)}))
    both = advice(tmp_path)
    assert "Up to 20 trials: no strategy is ahead of random on these 2 problems" in both
    assert "reference data" not in both.split("### Which strategy")[1]


def targets(strategies: dict[str, list[tuple[list[float], list[float]]]]) -> dict:
    """An early-stopping targets document (benchmarks/multifidelity_targets.py): random's
    median training seconds C = 10 and each strategy's runs (cumulative seconds, HV)."""
    runs = [{"strategy": s, "seed": k, "cumulative_cost_s": cost, "hypervolume": hv}
            for s, series in strategies.items() for k, (cost, hv) in enumerate(series)]
    return {"schema_version": 1, "kind": "multifidelity-targets", "suite": "s1",
            "objectives": ["val_accuracy", "train_time"], "seeds": 5,
            "random": {"budget": 5, "median_hv": 0.5, "median_training_seconds": 10.0},
            "strategies": {}, "runs": runs}


def test_early_stopping_is_judged_at_equal_training_seconds(tmp_path):
    seconds = [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]
    doc = targets({
        "random": [(seconds[:5], [0.1, 0.2, 0.3, 0.4, 0.50 + k / 100]) for k in range(5)],
        # ahead at C = 10 s
        "mo-asha": [(seconds, [0.2, 0.3, 0.5, 0.6, 0.60 + k / 100, 0.7, 0.7])
                    for k in range(5)],
        # behind at C, far ahead after it: judged at C, it is behind
        "st-moasha": [(seconds, [0.1, 0.1, 0.2, 0.2, 0.30 + k / 100, 0.99, 0.99])
                      for k in range(5)],
    })
    write(tmp_path / "reference" / "multifidelity-s1.json", doc)
    text = advice(tmp_path)
    # 5 against 5, separated: exact p = 2/252, Holm over the two tests: 0.016
    assert ("With early stopping at equal training seconds: mo-asha, ahead of full-fidelity "
            r"random on the one problem both ran on (s1 surrogate: p_holm 0.016, A12 1.00 \["
            ) in text
    assert r"random is ahead of st-moasha on 1 (s1 surrogate: p_holm 0.016, A12 1.00 \[" in text
    assert "(reference data: a comparison shipped with mobench)" in text
    # not a set of yours: folded under a line that carries the answer
    assert text.startswith("**Which strategy for accuracy ↑, training time ↓ (reference "
                           "data): with early stopping at equal training seconds: mo-asha**")


def test_hypervolume_at_seconds():
    run = {"cumulative_cost_s": [1.0, 2.0, 3.0], "hypervolume": [0.1, 0.2, 0.3, 0.3]}
    assert [hypervolume_at_seconds(run, s) for s in (0.5, 1.0, 2.5, 3.0, 99.0)] == \
        [0.0, 0.1, 0.2, 0.3, 0.3]


def test_across_problems_runs_on_the_largest_complete_block():
    from mobench.report.ranks import across, largest_block, tests_text

    scores = {f"p{k}": {"a": 0.9, "b": 0.5 + k / 10, "c": 0.3, "random": 0.1}
              for k in range(3)}
    scores |= {f"q{k}": {"kt": 0.9, "random": 0.1} for k in range(2)}
    assert largest_block(scores) == (["p0", "p1", "p2"], ["a", "b", "c", "random"])
    ranks, tested = across(scores)
    assert ranks["random"] == {"average_rank": pytest.approx((4 * 3 + 2 * 2) / 5),
                               "problems": 5}
    assert tested["block"]["problems"] == ["p0", "p1", "p2"]
    text = tests_text("50 trials", tested, 5)
    assert text.startswith("50 trials: Friedman over 4 strategies x 3 problems (the largest "
                           "complete block of 5): chi2 = 9.00, p = 0.029")
    assert "no strategy differs from the best-ranked, a" in text
    assert "on 3 problems no Wilcoxon test can reach p < 0.25)" in text


def test_the_recommendation_leads_the_summary_in_markdown(tmp_path):
    tests = [pair("motpe", "random", 0.01, 0.8)]
    for suite in ("s1", "s2"):
        write(tmp_path / f"{suite}.json", comparison(suite, {50: ({"motpe": 0.9,
                                                                   "random": 0.5}, tests)}))
    assert report([str(tmp_path), "--out", str(tmp_path / "out"), "--format", "md"]) == 0
    summary = section((tmp_path / "out" / "report.md").read_text(), "Summary")
    assert summary.index("### Which strategy for") < summary.index("### Strategies compared on")
    assert "50 trials: motpe, ahead of random on 2 of the 2 problems" in summary
    # each comparison of yours: the claim with its evidence
    assert r"| motpe ahead of random (p_holm 0.01, A12 0.80 \[0.60, 0.90\]) | motpe: 0.9 " \
        "after 50 trials |" in summary


def test_without_random_no_strategy_is_said_to_be_ahead_of_it(tmp_path):
    tests = [pair("motpe", "nsga2", 0.01, 0.9)]  # significant, but not against random
    medians = {"motpe": 0.9, "nsga2": 0.5}
    for suite in ("s1", "s2"):
        write(tmp_path / f"{suite}.json", comparison(suite, {50: (medians, tests)}))
    text = advice(tmp_path)
    assert "50 trials: no strategy was tested against random on these 2 problems." in text
    assert "motpe, ahead" not in text
