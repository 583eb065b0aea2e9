"""Statistics for comparing strategies over seeds and problems (scipy underneath).

Two samples (one strategy's hypervolumes over seeds against another's):
- **Effect size:** Vargha-Delaney A12 = P(A > B) + P(A = B) / 2, the probability that a run
  of A scores higher than a run of B. It decides which side is better (0.5: neither).
- **Its 95% interval:** Newcombe's (2006) method 5, a score interval with the Hanley-McNeil
  variance in which m - 1 and n - 1 are replaced by (m + n) / 2 - 1. Chosen over a Wald
  interval and a percentile bootstrap because both collapse to [1, 1] when the samples
  separate completely (common between strategies); the score interval stays inside [0, 1],
  keeps a width that shrinks with the seeds, and needs no random draw.
- **p-value:** two-sided Mann-Whitney U, by the method its samples allow: `exact` when no
  value ties and both samples have at most `EXACT_MAX` values; `permutation` (scipy's
  `PermutationMethod`, `PERMUTATIONS` resamples with a fixed seed, every permutation when
  there are fewer) whenever values tie; `asymptotic` only for larger untied samples; p = 1
  when both samples are one and the same constant (`constant`).
- **Holm** over every claim made together (the caller decides the family).

Across problems: average ranks, a Friedman test over the strategies and problems that form a
complete block, and Wilcoxon signed-rank post hoc tests against the best-ranked strategy,
Holm-corrected (`across_problems`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

EXACT_MAX = 100  # per sample: scipy's exact null distribution costs ~0.03 s at 100 vs 100
PERMUTATIONS = 9999
PERMUTATION_SEED = 20240607  # fixed: a document's p-values are reproducible
CONFIDENCE = 0.95
ALPHA = 0.05


def a12(a: Sequence[float], b: Sequence[float]) -> float:
    """Vargha-Delaney A12: the probability that a value of `a` exceeds one of `b` (ties
    count half). 1: `a` always higher; 0.5: neither; A12(b, a) = 1 - A12(a, b)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    greater = np.sum(a[:, None] > b[None, :])
    equal = np.sum(a[:, None] == b[None, :])
    return float((greater + 0.5 * equal) / (len(a) * len(b)))


def a12_interval(a: Sequence[float], b: Sequence[float],
                 confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Newcombe's method-5 score interval of A12 (see the module docstring): the thetas whose
    distance to the estimate is at most z standard errors, the variance taken at theta."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    m, n = len(a), len(b)
    estimate = a12(a, b)
    z = float(norm.ppf(0.5 + confidence / 2))
    pairs = (m + n) / 2 - 1

    def excess(theta: float) -> float:
        variance = theta * (1 - theta) / (m * n) * (
            1 + pairs * ((1 - theta) / (2 - theta) + theta / (1 + theta)))
        return (estimate - theta) ** 2 - z * z * variance

    # the variance vanishes at 0 and 1: bracket the roots just inside an estimate there
    inside = 1e-12
    low = 0.0 if estimate <= 0.0 else brentq(excess, 0.0, min(estimate, 1.0 - inside))
    high = 1.0 if estimate >= 1.0 else brentq(excess, max(estimate, inside), 1.0)
    return float(low), float(high)


def mann_whitney_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, str]:
    """Two-sided Mann-Whitney U p-value and the method that gave it (module docstring)."""
    from scipy.stats import PermutationMethod, mannwhitneyu

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    pooled = np.concatenate([a, b])
    if np.all(pooled == pooled[0]):
        return 1.0, "constant"
    if len(np.unique(pooled)) < len(pooled):
        method: Any = PermutationMethod(n_resamples=PERMUTATIONS,
                                        rng=np.random.default_rng(PERMUTATION_SEED))
        name = "permutation"
    elif max(len(a), len(b)) <= EXACT_MAX:
        method = name = "exact"
    else:
        method = name = "asymptotic"
    p = mannwhitneyu(a, b, alternative="two-sided", method=method).pvalue
    return min(1.0, float(p)), name


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value (`mann_whitney_test` without the method)."""
    return mann_whitney_test(a, b)[0]


def compare_samples(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """One pairwise comparison, A's side first: p, method, A12 with its interval, and the
    better side by A12 (None at 0.5). Holm and significance are the family's business."""
    p, method = mann_whitney_test(a, b)
    effect = a12(a, b)
    return {"p": p, "method": method, "a12": effect, "a12_ci": list(a12_interval(a, b)),
            "better": "a" if effect > 0.5 else "b" if effect < 0.5 else None}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1).

    scipy offers Benjamini-Hochberg but not Holm, which controls the family-wise error rate
    that pairwise claims of "better" need; it is six lines.
    """
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def average_ranks(scores: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Mean rank per strategy over problems (1 = best = highest score; ties share ranks)."""
    from scipy.stats import rankdata

    names = list(scores)
    matrix = np.array([scores[n] for n in names], dtype=float)  # strategies x problems
    ranks = np.vstack([rankdata(-matrix[:, j]) for j in range(matrix.shape[1])]).T
    return {n: float(r.mean()) for n, r in zip(names, ranks, strict=True)}


def wilcoxon_test(differences: Sequence[float]) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p of paired differences (zeros dropped, Wilcoxon's
    rule): exact without ties, permutation (fixed seed) with them, 1 when all are zero."""
    from scipy.stats import PermutationMethod, wilcoxon

    d = np.asarray(differences, dtype=float)
    nonzero = np.abs(d[d != 0])
    if len(nonzero) == 0:
        return 1.0, "constant"
    if len(np.unique(nonzero)) < len(nonzero) or len(nonzero) < len(d):
        method: Any = PermutationMethod(n_resamples=PERMUTATIONS,
                                        rng=np.random.default_rng(PERMUTATION_SEED))
        name = "permutation"
    else:
        method = name = "exact"
    return min(1.0, float(wilcoxon(d, method=method).pvalue)), name


def across_problems(scores: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Strategies compared across problems; `scores` is problem -> strategy -> score (higher
    is better, e.g. the median hypervolume at the final budget).

    Returns::

        {"problems": [problem names, sorted],
         "ranks": {strategy: {"average_rank": mean rank over the problems it ran on
                              (1 = best; ties share), "problems": how many}},
         "block": {"strategies": [...], "problems": [...]},  # every strategy ran everywhere
         "friedman": {"statistic", "p"} | None,  # None: fewer than 3 strategies or 2 problems
         "control": best average rank within the block | None,
         "post_hoc": [{"a": strategy, "b": control, "p", "p_holm", "significant", "method",
                       "rank_biserial": (sum of positive - negative signed ranks of a - b)
                       / their total, "better": a | b | None}]}  # Holm over these tests

    The block holds the strategies scored on every problem (and every problem); its Friedman
    test asks whether any strategy ranks differently, the post hoc tests which ones differ
    from the best-ranked.
    """
    from scipy.stats import friedmanchisquare, rankdata

    problems = sorted(scores)
    totals: dict[str, list[float]] = {}
    for problem in problems:
        names = sorted(scores[problem])
        ranks = rankdata([-float(scores[problem][s]) for s in names])
        for name, rank in zip(names, ranks, strict=True):
            totals.setdefault(name, []).append(float(rank))
    summary = {s: {"average_rank": float(np.mean(r)), "problems": len(r)}
               for s, r in sorted(totals.items())}
    block = sorted(s for s in totals if all(s in scores[p] for p in problems))
    out: dict[str, Any] = {"problems": problems, "ranks": summary,
                           "block": {"strategies": block, "problems": problems},
                           "friedman": None, "control": None, "post_hoc": []}
    if len(block) < 2 or len(problems) < 2:
        return out
    matrix = np.array([[float(scores[p][s]) for p in problems] for s in block])
    block_ranks = average_ranks(dict(zip(block, matrix.tolist(), strict=True)))
    control = min(block, key=lambda s: (block_ranks[s], s))
    out["control"] = control
    if len(block) >= 3:
        if all(len(np.unique(column)) == 1 for column in matrix.T):
            out["friedman"] = {"statistic": 0.0, "p": 1.0}  # all tie everywhere (scipy: 0 / 0)
        else:
            result = friedmanchisquare(*matrix)
            out["friedman"] = {"statistic": float(result.statistic), "p": float(result.pvalue)}
    tests = []
    for name, row in zip(block, matrix, strict=True):
        if name == control:
            continue
        d = row - matrix[block.index(control)]
        p, method = wilcoxon_test(d)
        nonzero = d[d != 0]
        signed = rankdata(np.abs(nonzero)) * np.sign(nonzero)
        biserial = float(signed.sum() / np.abs(signed).sum()) if len(signed) else 0.0
        tests.append({"a": name, "b": control, "p": p, "method": method,
                      "rank_biserial": biserial,
                      "better": name if biserial > 0 else control if biserial < 0 else None})
    for test, adjusted in zip(tests, holm([t["p"] for t in tests]), strict=True):
        test["p_holm"] = adjusted
        test["significant"] = adjusted < ALPHA
    out["post_hoc"] = tests
    return out
