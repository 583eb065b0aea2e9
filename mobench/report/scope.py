"""Which documents a part of the report speaks about: your runs or the reference data, and
one document per set of identical settings.

A strategy comparison is a deterministic function of its settings (suite, problem, budget,
seeds, objectives, strategies), so running the same command twice writes the same experiment
twice: only the latest is kept, and the number of identical runs is said beside it. Measurements
(profiles, benchmarks, evaluations) are never merged this way: repeating one is a new sample.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mobench.report.load import Results

# problem fields that are results computed from the settings, not settings
DERIVED_PROBLEM_FIELDS = ("fidelity", "reference_front")
COMPARISON_SETTINGS = ("kind", "suite", "suite_version", "budget", "seeds", "objectives",
                       "strategies")


def settings_key(document: dict[str, Any]) -> str | None:
    """What makes two documents the same experiment (None: never merged)."""
    if document.get("kind") != "comparison":
        return None
    problem = document.get("problem") if isinstance(document.get("problem"), dict) else {}
    settings = {k: document.get(k) for k in COMPARISON_SETTINGS}
    settings["problem"] = {k: v for k, v in problem.items() if k not in DERIVED_PROBLEM_FIELDS}
    settings["reference"] = document.get("reference")
    return json.dumps(settings, sort_keys=True, default=str)


def created_at(document: dict[str, Any]) -> str:
    prov = document.get("provenance") if isinstance(document.get("provenance"), dict) else {}
    return str(prov.get("created_at") or "")


def deduplicate(results: Results) -> Results:
    """The results with each set of identical settings down to its latest document (by
    `provenance.created_at`, then path); `Results.repeats` maps the kept document to the
    older ones dropped."""
    groups: dict[str, list[str]] = {}
    for source, document in results.documents.items():
        key = settings_key(document)
        if key is not None:
            groups.setdefault(key, []).append(source)
    repeats: dict[str, list[str]] = {}
    for sources in groups.values():
        if len(sources) > 1:
            ordered = sorted(sources, key=lambda s: (created_at(results.documents[s]), s))
            repeats[ordered[-1]] = ordered[:-1]
    dropped = {s for older in repeats.values() for s in older}
    if not dropped:
        return results
    kept = subset(results, lambda source: source not in dropped)
    kept.repeats = repeats
    return kept


def subset(results: Results, keep: Callable[[str], bool]) -> Results:
    """The documents (and their rows) whose source `keep` accepts; skipped files stay."""
    frame = results.frame[results.frame["source"].map(keep).astype(bool)] \
        if len(results.frame) else results.frame
    documents = {s: d for s, d in results.documents.items() if keep(s)}
    return Results(frame, documents, results.problems,
                   {s: why for s, why in results.reference.items() if keep(s)},
                   {s: older for s, older in results.repeats.items() if keep(s)})


def own(results: Results) -> Results:
    """Your runs: every document that is not reference data."""
    return subset(results, lambda source: source not in results.reference)


def shipped(results: Results) -> Results:
    """The reference data alone (shipped with mobench, or saved as a reference)."""
    return subset(results, lambda source: source in results.reference)


def repeats_note(results: Results, source: str) -> str:
    """'' or ' (latest of 3 identical runs)' for a kept document."""
    older = results.repeats.get(source) or []
    return f" (latest of {len(older) + 1} identical runs)" if older else ""
