"""The README's results table from committed comparison documents, and the issue's targets.

For each document (one suite, one objective set): the median normalised hypervolume of every
strategy at the final budget (and at the checkpoints with --all-budgets), bold where the
strategy differs from `random` after Holm correction (p_holm < 0.05; the document's own
tests, Mann-Whitney U over seeds). Then the two targets: `random`'s median at the final budget
is <= 0.9 on each problem, and on at least 3 suites at least one strategy differs from random.

Run: python benchmarks/comparison_table.py results/reference/comparisons/surrogate-*.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HARD_ENOUGH = 0.9  # random's median normalised HV at the final budget must not exceed this


def significant_vs_random(row: dict) -> dict | None:
    return next((t for t in row["tests"] if "random" in (t["a"], t["b"]) and t["significant"]),
                None)


def document_rows(doc: dict, budgets: list[int]) -> tuple[list[str], list[list[str]]]:
    strategies = list(doc["strategies"])
    objectives = "+".join(o["name"] for o in doc["objectives"])
    lines = []
    for b in budgets:
        rows = {r["strategy"]: r for r in doc["final"] if r["budget"] == b}
        cells = []
        for s in strategies:
            r = rows[s]
            text = f"{r['median']:.3f}"
            cells.append(f"**{text}**" if s != "random" and significant_vs_random(r) else text)
        lines.append([doc["suite"], objectives, str(b), *cells])
    return strategies, lines


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
        rows = [r for r in doc["final"] if r["budget"] == final]
        random = next(r["median"] for r in rows if r["strategy"] == "random")
        differing = [f"{r['strategy']} (p_holm={significant_vs_random(r)['p_holm']:.2g}, "
                     f"{significant_vs_random(r)['better']} better)"
                     for r in rows if r["strategy"] != "random" and significant_vs_random(r)]
        objectives = "+".join(o["name"] for o in doc["objectives"])
        verdicts.append(f"- {doc['suite']} {objectives}: random's median HV at {final} = "
                        f"{random:.3f} ({'<=' if random <= HARD_ENOUGH else '>'} {HARD_ENOUGH}); "
                        f"differ from random: {', '.join(differing) or 'none'}")
        suite = doc["suite"]
        differs_by_suite[suite] = differs_by_suite.get(suite, False) or bool(differing)
    print("| suite | objectives | budget | " + " | ".join(header or []) + " |")
    print("|" + " --- |" * (3 + len(header or [])))
    for line in body:
        print("| " + " | ".join(line) + " |")
    print()
    print("\n".join(verdicts))
    hits = sum(differs_by_suite.values())
    print(f"- suites where at least one strategy differs from random: {hits} of "
          f"{len(differs_by_suite)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
