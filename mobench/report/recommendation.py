"""The strategy recommendation across problems: the one place the summary answers "which
strategy should I use" from all of your comparisons together.

Today it is the average rank of each strategy (by median hypervolume at each problem's final
budget) over your comparisons that ran every strategy in it. The cross-problem statistics
(average rank over the problems where each strategy ran, Friedman with Wilcoxon-Holm post-hoc
tests, one sentence per budget range with its evidence) replace the body of `recommendation`;
its signature and place in the summary stay.
"""

from __future__ import annotations

from typing import Any

from mobench.report.load import Results
from mobench.report.render import Block, Heading, Table
from mobench.report.rows import number


def recommendation(results: Results) -> list[Block]:
    """The summary's blocks answering across your comparison documents ([] below two)."""
    frame = results.of_kind("comparison")
    if frame.empty:
        return []
    table = rank_table({source: results.documents[source]
                        for source in sorted(frame["source"].unique())})
    return [Heading("Which strategy across your comparisons"), table] if table else []


def rank_table(documents: dict[str, dict[str, Any]]) -> Table | None:
    """Average rank per strategy across problems (comparison documents) by the median
    hypervolume at each one's final budget; strategies present in every problem only."""
    from mobench.compare.indicators import average_ranks

    medians: dict[str, dict[str, float]] = {}
    for source, doc in documents.items():
        final = [f for f in doc.get("final") or [] if isinstance(f, dict)
                 and number(f.get("budget")) is not None and number(f.get("median")) is not None]
        if final:
            last = max(number(f["budget"]) for f in final)
            medians[source] = {str(f.get("strategy")): number(f["median"]) for f in final
                               if number(f["budget"]) == last}
    if len(medians) < 2:
        return None
    common = sorted(set.intersection(*(set(m) for m in medians.values())))
    if len(common) < 2:
        return None
    ranks = average_ranks({s: [m[s] for m in medians.values()] for s in common})
    rows = [[s, f"{r:.2f}"] for s, r in sorted(ranks.items(), key=lambda item: item[1])]
    return Table(["strategy", "average rank"], rows, fit=True,
                 caption=f"Average rank across {len(medians)} problems (1 = best; by median "
                 "hypervolume at each problem's final budget; strategies run on all of them)")
