"""Rerun the first seeds of every strategy of a comparison document and say which differ.

A table or surrogate comparison is deterministic under its seeds: each (strategy, seed) run
is replayed with the document's settings (problem, objectives, noise, budget, training
seconds) and its found points and training seconds are compared with the stored ones to a
tolerance. A live comparison trained for real and is refused, as is a document written
before runs stored their found points.

Run: python benchmarks/reproduce.py results/reference/comparisons/DOC.json --seeds 5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Refused(Exception):
    """A document this script cannot rerun (one line, exit 2)."""


def rerun(doc: dict[str, Any], seeds: int, on_line=print) -> list:
    """The traces of the first `seeds` seeds of every strategy, replayed as the document
    was made."""
    from mobench.objectives import parse_objectives

    problem = doc["problem"]
    objectives = parse_objectives([f"{o['name']}:{o['direction'][:3]}"
                                   for o in doc["objectives"]])
    budget_seconds = problem.get("budget_seconds")
    if problem.get("kind") == "surrogate":
        return rerun_surrogate(doc, objectives, seeds, budget_seconds, on_line)
    from mobench.compare.protocol import replay_all

    traces, _ = replay_all(problem["table"], [o.name for o in objectives], problem["noise"],
                           doc["strategies"], seeds, doc["budget"], on_line=on_line,
                           budget_seconds=budget_seconds)
    return traces


def rerun_surrogate(doc: dict[str, Any], objectives, seeds: int,
                    budget_seconds: float | None, on_line) -> list:
    from mobench.compare.curves_table import load_curves
    from mobench.compare.surrogate import table_hash
    from mobench.compare.surrogate_store import front_key, open_surrogate, run_all
    from mobench.suites import get_suite

    problem = doc["problem"]
    table = Path(problem["table"])
    digest = table_hash(*load_curves(table))
    if digest != problem["table_sha256"]:
        raise Refused(f"{table} changed since the comparison (sha256 {digest[:12]}, the "
                      f"document says {problem['table_sha256'][:12]})")
    surrogate, stored, _, changed = open_surrogate(
        table, get_suite(doc["suite"]), objectives, document_path=Path(problem["surrogate"]),
        on_line=on_line)
    front = stored.get("fronts", {}).get(front_key(objectives))
    if changed or front is None:
        raise Refused(f"{problem['surrogate']} no longer holds this surrogate and its "
                      "reference front")
    traces, _ = run_all(surrogate, objectives, problem["noise"], doc["strategies"], seeds,
                        doc["budget"], front, on_line=on_line, budget_seconds=budget_seconds)
    return traces


def difference(stored: dict[str, Any], trace) -> float:
    """The largest absolute difference between a stored run and its rerun (found points and
    cumulative training seconds); inf when they differ in length or in which trials found."""
    import numpy as np

    from mobench.compare.protocol import found

    again = [p if ok else None for p, ok in zip(trace.points, found(trace), strict=True)]
    before = stored["found_points"]
    if len(again) != len(before) or [p is None for p in again] != [p is None for p in before]:
        return float("inf")
    points = [abs(np.asarray(a, float) - np.asarray(b, float)).max()
              for a, b in zip(again, before, strict=True) if a is not None]
    seconds = abs(np.cumsum(trace.cost_s) - np.asarray(stored["cumulative_cost_s"], float))
    return float(max([0.0, *points, *seconds]))


def report(doc: dict[str, Any], traces: list, tolerance: float) -> list[str]:
    """One line per strategy: how many of the rerun seeds differ, which, by how much."""
    stored = {(r["strategy"], r["seed"]): r for r in doc["runs"]}
    lines = []
    for name in doc["strategies"]:
        runs = [t for t in traces if t.strategy == name]
        gaps = {t.seed: difference(stored[(name, t.seed)], t) for t in runs}
        differing = sorted(s for s, gap in gaps.items() if gap > tolerance)
        line = f"{name}: {len(differing)} of {len(runs)} seeds differ"
        if differing:
            line += (f" (seeds {', '.join(map(str, differing))}; largest difference "
                     f"{max(gaps[s] for s in differing):.3g})")
        else:
            line += f" (largest difference {max(gaps.values(), default=0.0):.3g})"
        lines.append(line)
    return lines


def load(path: Path, seeds: int) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise Refused(str(exc)) from None
    if not isinstance(doc, dict) or doc.get("kind") != "comparison":
        raise Refused(f"{path} is not a comparison document")
    if doc["problem"].get("live"):
        raise Refused(f"{path} is a live comparison: its runs trained for real and cannot be "
                      "replayed (rerun it with `compare --live` instead)")
    if any("found_points" not in r for r in doc["runs"]):
        raise Refused(f"{path} stores no found points per run (written by an older mobench): "
                      "run the comparison again")
    if seeds > doc["seeds"]:
        raise Refused(f"--seeds {seeds}: the document ran {doc['seeds']} seeds")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", type=Path)
    parser.add_argument("--seeds", type=int, default=5, help="first K seeds (default 5)")
    parser.add_argument("--tolerance", type=float, default=1e-9,
                        help="largest absolute difference counted as equal (default 1e-9)")
    args = parser.parse_args(argv)
    from mobench.errors import UsageError

    try:
        if args.seeds < 1:
            raise Refused(f"--seeds must be at least 1, got {args.seeds}")
        doc = load(args.document, args.seeds)
        traces = rerun(doc, args.seeds, on_line=lambda line: print(line, file=sys.stderr))
    except (Refused, UsageError) as exc:
        print(f"reproduce.py: {exc}", file=sys.stderr)
        return 2
    print(f"{args.document}: the first {args.seeds} seeds of {len(doc['strategies'])} "
          f"strategies rerun, tolerance {args.tolerance:g}")
    print("\n".join(report(doc, traces, args.tolerance)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
