"""Strategies across problems: average ranks, and the Friedman test with Wilcoxon-Holm post
hoc tests (`mobench.compare.statistics.across_problems`), said in words for the summary.

Average ranks count every problem a strategy ran on (how many is said beside each), so a
strategy run beside fewer others has smaller ranks to average. The tests need a complete
block, every strategy on every problem: reference comparisons of one strategy against random
would shrink the block to random alone, so the tests run on the largest complete block of
at least three strategies, and the text names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

from mobench.compare.statistics import ALPHA
from mobench.report.render import Table

Scores = Mapping[str, Mapping[str, float]]  # problem -> strategy -> score (higher is better)


def largest_block(scores: Scores) -> tuple[list[str], list[str]]:
    """(problems, strategies) of the largest complete block: at least two problems and
    preferably three strategies, then the most problem x strategy cells, then problems."""
    sets = {p: frozenset(s) for p, s in scores.items()}
    candidates = set(sets.values()) | {a & b for a, b in combinations(set(sets.values()), 2)}
    best: tuple = ()
    for strategies in candidates:
        members = sorted(p for p, s in sets.items() if strategies <= s)
        if len(strategies) < 2 or len(members) < 2:
            continue
        key = (len(strategies) >= 3, len(members) * len(strategies), len(members),
               sorted(strategies))
        if not best or key > best[0]:
            best = (key, members, sorted(strategies))
    return (best[1], best[2]) if best else ([], [])


def wilcoxon_floor(problems: int) -> float:
    """The smallest two-sided p an exact Wilcoxon signed-rank test can give on `problems`
    pairs: every difference of one sign."""
    return 2.0 ** (1 - problems)


def across(scores: Scores) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(average ranks over every problem, the tests on the largest complete block or None)."""
    from mobench.compare.statistics import across_problems

    ranks = across_problems(scores)["ranks"]
    problems, strategies = largest_block(scores)
    if not problems:
        return ranks, None
    block = {p: {s: scores[p][s] for s in strategies} for p in problems}
    return ranks, across_problems(block)


def tests_text(label: str, tested: dict[str, Any] | None, total: int) -> str:
    """The Friedman and Wilcoxon-Holm result of one budget range, in a sentence."""
    if tested is None:
        return f"{label}: no test across problems (" + (
            "one problem)" if total < 2 else f"no two of the {total} problems share two "
            "strategies)")
    block = tested["block"]
    n, k = len(block["problems"]), len(block["strategies"])
    where = f"{k} strategies x {n} problems" + (f" (the largest complete block of {total})"
                                                if n < total else "")
    friedman = tested["friedman"]
    text = f"{label}: " + (f"Friedman over {where}: chi2 = {friedman['statistic']:.2f}, "
                           f"p = {friedman['p']:.2g}" if friedman
                           else f"{where}, too few strategies for a Friedman test")
    control, post = tested["control"], tested["post_hoc"]
    ahead = [t for t in post if t["significant"] and t["better"] == control]
    behind = [t for t in post if t["significant"] and t["better"] == t["a"]]
    if ahead or behind:
        text += f"; Wilcoxon-Holm against the best-ranked, {control}: " + ", ".join(
            [f"{control} ahead of {t['a']} ({post_hoc_evidence(t)})" for t in ahead]
            + [f"{t['a']} ahead of {control} ({post_hoc_evidence(t)})" for t in behind])
    elif post:
        smallest = min(t["p_holm"] for t in post)
        text += (f"; Wilcoxon-Holm: no strategy differs from the best-ranked, {control} "
                 f"(smallest p_holm {smallest:.2g}")
        floor = wilcoxon_floor(n)
        text += (f"; on {n} problems no Wilcoxon test can reach p < {floor:.2g})"
                 if floor >= ALPHA else ")")
    return text


def friedman_text(label: str, tested: dict[str, Any] | None) -> str:
    """'Friedman p = 0.039 at 50 trials' (or that there is no test), for a one-line summary."""
    friedman = tested["friedman"] if tested else None
    where = f"at {label}" if label[:1].isdigit() else label
    return f"Friedman p = {friedman['p']:.2g} {where}" if friedman \
        else f"no Friedman test {where}"


def post_hoc_evidence(test: dict[str, Any]) -> str:
    """'p_holm 0.03, rank-biserial r 0.80' (the paired test's effect size, the better side's
    point of view)."""
    return f"p_holm {test['p_holm']:.2g}, rank-biserial r {abs(test['rank_biserial']):.2f}"


def rank_table(columns: dict[str, dict[str, Any]]) -> Table | None:
    """Strategies x budget ranges: 'average rank (on N problems)'; best of the range with
    the most problems first."""
    columns = {label: ranks for label, ranks in columns.items() if ranks}
    if not columns:
        return None
    names = sorted({s for ranks in columns.values() for s in ranks})
    main = max(columns.values(), key=lambda r: max(v["problems"] for v in r.values()))
    names.sort(key=lambda s: (s not in main, main.get(s, {}).get("average_rank", 0.0), s))
    rows = [[s, *(f"{r[s]['average_rank']:.2f} (on {r[s]['problems']})" if s in r else "-"
                  for r in columns.values())] for s in names]
    return Table(["strategy", *(f"average rank, {label}" for label in columns)], rows,
                 fit=True, caption="Average rank by median hypervolume within each problem "
                 "(1 = best, ties share), over the problems where the strategy ran (how many "
                 "in brackets); a problem with fewer strategies gives smaller ranks")
