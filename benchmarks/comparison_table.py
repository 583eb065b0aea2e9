"""The README's results table from committed comparison documents, and the issue's targets.

For each document (one suite, one objective set): the median normalised hypervolume of every
strategy at the final budget (and at the checkpoints with --all-budgets); beside each
strategy's median, its test against `random` from the document (Holm-corrected p over the
document's whole family, and Vargha-Delaney A12 = P(strategy > random) with its 95%
interval); bold where p_holm < 0.05. Then the targets: `random`'s median hypervolume at 50
trials lies between 0.05 and 0.7 (not saturated, not hopeless) on at least 6 of 8 problems,
and on at least 3 suites at least one strategy differs from random.

Run: python benchmarks/comparison_table.py results/reference/comparisons/surrogate-*.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TARGET_BUDGET = 50
DISCRIMINATING = (0.05, 0.7)  # random's median HV at TARGET_BUDGET trials must lie in here
TARGET_PROBLEMS = 6  # ... on at least this many problems (of 8)


def versus_random(row: dict) -> dict | None:
    """The row's test against random, seen from the row's strategy (A12 = P(row > random))."""
    test = next((t for t in row["tests"] if "random" in (t["a"], t["b"])
                 and row["strategy"] in (t["a"], t["b"])), None)
    if test is None or test.get("a12") is None or test["a"] == row["strategy"]:
        return test
    low, high = test["a12_ci"]
    return {**test, "a": test["b"], "b": test["a"], "a12": 1 - test["a12"],
            "a12_ci": [1 - high, 1 - low]}


def test_text(test: dict) -> str:
    """'p_holm 0.003, A12 0.81 [0.68, 0.90]' (documents before A12: the p alone)."""
    text = f"p_holm {test['p_holm']:.2g}"
    if test.get("a12") is not None:
        low, high = test["a12_ci"]
        text += f", A12 {test['a12']:.2f} [{low:.2f}, {high:.2f}]"
    return text


def cell(row: dict) -> str:
    median = f"{row['median']:.3f}"
    if row["strategy"] == "random":
        return median
    test = versus_random(row)
    if test is None:
        return median
    return f"{f'**{median}**' if test['significant'] else median} ({test_text(test)})"


def document_rows(doc: dict, budgets: list[int]) -> tuple[list[str], list[list[str]]]:
    strategies = list(doc["strategies"])
    objectives = "+".join(o["name"] for o in doc["objectives"])
    lines = []
    for b in budgets:
        rows = {r["strategy"]: r for r in doc["final"] if r["budget"] == b}
        lines.append([doc["suite"], objectives, str(b), *(cell(rows[s]) for s in strategies)])
    return strategies, lines


def random_median(doc: dict, budget: int, key: str) -> float | None:
    """random's median of the runs' `key` series after `budget` trials (None if absent)."""
    import numpy as np

    values = [r[key][budget - 1] for r in doc["runs"]
              if r["strategy"] == "random" and len(r.get(key) or []) >= budget]
    return float(np.median(values)) if values else None


def verdict(doc: dict) -> tuple[str, bool | None, bool]:
    """(the problem's line, random's median at 50 trials in range (None: no such row), whether
    some strategy differs from random at the final budget)."""
    final = doc["budget"]
    rows = [r for r in doc["final"] if r["budget"] == final]
    differing = [f"{r['strategy']} ({test_text(versus_random(r))}, "
                 f"{versus_random(r)['better']} better)"
                 for r in rows if r["strategy"] != "random" and versus_random(r)
                 and versus_random(r)["significant"]]
    at = next((r["median"] for r in doc["final"]
               if r["budget"] == TARGET_BUDGET and r["strategy"] == "random"), None)
    primary = (doc.get("normalisation") or {}).get("primary", "box")
    other = "box" if primary == "front" else "front"
    beside = random_median(doc, TARGET_BUDGET, f"hypervolume_{other}")
    low, high = DISCRIMINATING
    inside = None if at is None else low <= at <= high
    objectives = "+".join(o["name"] for o in doc["objectives"])
    where = (f"random's median HV at {TARGET_BUDGET} = {at:.3f} "
             f"({'in' if inside else 'outside'} [{low}, {high}]"
             + (f"; {other} normalisation {beside:.3f}" if beside is not None else "") + ")"
             if at is not None else f"no {TARGET_BUDGET}-trial row")
    line = (f"- {doc['suite']} {objectives} ({primary} normalisation): {where}; differ from "
            f"random at {final}: {', '.join(differing) or 'none'}")
    return line, inside, bool(differing)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("documents", nargs="+", type=Path)
    parser.add_argument("--all-budgets", action="store_true",
                        help="a row per checkpoint, not only the final budget")
    args = parser.parse_args(argv)
    try:
        docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(args.documents)]
    except (OSError, json.JSONDecodeError) as exc:
        print(f"comparison_table.py: {exc}", file=sys.stderr)
        return 2
    header: list[str] | None = None
    body = []
    verdicts = []
    in_range = []
    differs_by_suite: dict[str, bool] = {}
    for doc in docs:
        final = doc["budget"]
        budgets = sorted({r["budget"] for r in doc["final"]}) if args.all_budgets else [final]
        strategies, lines = document_rows(doc, budgets)
        if header is None:
            header = strategies
        elif strategies != header:
            print("comparison_table.py: the documents ran different strategies: "
                  f"{header} vs {strategies}", file=sys.stderr)
            return 2
        body.extend(lines)
        line, inside, differs = verdict(doc)
        verdicts.append(line)
        in_range.append(inside)
        differs_by_suite[doc["suite"]] = differs_by_suite.get(doc["suite"], False) or differs
    print("| suite | objectives | budget | " + " | ".join(header or []) + " |")
    print("|" + " --- |" * (3 + len(header or [])))
    for line in body:
        print("| " + " | ".join(line) + " |")
    print()
    print("\n".join(verdicts))
    low, high = DISCRIMINATING
    print(f"- random's median HV at {TARGET_BUDGET} trials in [{low}, {high}]: "
          f"{sum(bool(x) for x in in_range)} of {len(in_range)} problems "
          f"(target: at least {TARGET_PROBLEMS} of 8"
          + (f"; {in_range.count(None)} without a {TARGET_BUDGET}-trial row"
             if None in in_range else "") + ")")
    hits = sum(differs_by_suite.values())
    print(f"- suites where at least one strategy differs from random: {hits} of "
          f"{len(differs_by_suite)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
