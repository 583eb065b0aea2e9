"""The strategy recommendation: per objective set, which strategy to use at a budget, from
every comparison of that objective set together.

A problem is one comparison document (its suite, objective set and problem kind: table,
surrogate or live). Budgets fall in three ranges: up to 20 trials (each document's largest
checkpoint there), more trials (its final budget), and early stopping at equal training
seconds (documents cut by `--budget-seconds`, and the early-stopping targets documents).
Per range, one sentence names the strategy ahead of `random` on the most problems, where
"ahead" is a test of the document with p_holm < 0.05 and A12 > 0.5 (`evidence.Pairwise.winner`),
each with its evidence; no test ahead, no name. Beside it, the average ranks and the Friedman
and Wilcoxon-Holm tests across problems (`report.ranks`).

Your comparisons answer a range when there are at least two of them there; otherwise the
reference comparisons shipped with mobench join them, and the sentence says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mobench.compare.statistics import ALPHA
from mobench.report.evidence import TARGETS_KIND, Pairwise, document_tests, equal_seconds
from mobench.report.load import Results
from mobench.report.problems import objectives_phrase
from mobench.report.render import Block, Details, Heading, Text
from mobench.report.rows import number

BASELINE = "random"
FEW_TRIALS = 20  # the "up to 20 trials" range
MIN_OWN = 2  # your comparisons answer a range alone from this many on
MAX_LISTED = 3  # evidence listed per strategy; beyond, the weakest of them
SCOPES = ("few", "many", "seconds")


@dataclass(frozen=True)
class Problem:
    """One comparison document at one budget range."""

    source: str
    name: str  # suite and kind: 'mnist-mlp surrogate'
    detail: str  # what tells two documents of one problem apart: '20 seeds x 50 trials'
    spec: tuple[tuple[str, str, str], ...]  # objectives (name, direction, unit)
    reference: bool
    scope: str  # one of SCOPES
    budget: float  # trials (seconds for "seconds")
    medians: dict[str, float]  # strategy -> median hypervolume at the budget
    tests: tuple[Pairwise, ...]


def recommendation(results: Results) -> list[Block]:
    """The summary's blocks: per objective set, the recommendation; sets you ran (tuned or
    compared) open, the others folded under a line with their answers."""
    found = [p for source, doc in sorted(results.documents.items())
             for p in problems(source, doc, source in results.reference)]
    if not found:
        return []
    sets: dict[tuple[str, ...], list[Problem]] = {}
    for p in found:
        sets.setdefault(tuple(sorted(n for n, _, _ in p.spec)), []).append(p)
    yours = {key for key, ps in sets.items() if any(not p.reference for p in ps)}
    yours |= tuned_sets(results)
    out: list[Block] = []
    for key in sorted(sets, key=lambda k: (k not in yours, -len(sets[k]), k)):
        phrase = objectives_phrase(sets[key][0].spec)
        short, sentences, (across, evidence) = objective_set(sets[key])
        if key in yours:
            out += [Heading(f"Which strategy for {phrase}"), *sentences,
                    *([Details(across, evidence)] if evidence else [])]
        else:
            out.append(Details(f"Which strategy for {phrase} (reference data): {short}",
                               [*sentences, *([Text(across + ":")] if evidence else []),
                                *evidence]))
    return out


def tuned_sets(results: Results) -> set[tuple[str, ...]]:
    """The objective sets of your tuning runs."""
    frame = results.of_kind("tuning")
    mine = frame[~frame["reference"].fillna(False).astype(bool)] if len(frame) else frame
    return {tuple(sorted(str(o[0]) for o in spec)) for spec in mine.get("objective_spec", [])
            if isinstance(spec, tuple)}


def objective_set(found: list[Problem]) -> tuple[str, list[Text], tuple[str, list[Block]]]:
    """(the answers in a line, one sentence per budget range, and (a line, blocks): the
    tests across problems and the rank table)."""
    from mobench.report.ranks import across, friedman_text, rank_table, tests_text

    short, sentences, tests, columns, friedman = [], [], [], {}, []
    for scope in SCOPES:
        chosen = answering([p for p in found if p.scope == scope])
        if not chosen:
            continue
        label = scope_label(scope, chosen)
        picks, text = answer(chosen, scope)
        short.append(f"{label}: {' or '.join(picks) or 'none ahead of random'}")
        sentences.append(Text(f"{label[0].upper()}{label[1:]}: {text}."))
        ranks, tested = across({p.name: p.medians for p in named(chosen)})
        columns[label] = ranks
        tests.append(Text(tests_text(label, tested, len(chosen)) + "."))
        friedman.append(friedman_text(label, tested))
    table = rank_table(columns)
    line = "Across problems: average ranks; " + "; ".join(friedman)
    return "; ".join(short), sentences, (line, [*tests, *([table] if table else [])])


def answering(found: list[Problem]) -> list[Problem]:
    """Your problems when there are MIN_OWN of them, else yours and the reference ones."""
    own = [p for p in found if not p.reference]
    return own if len(own) >= MIN_OWN else found


def scope_label(scope: str, chosen: list[Problem]) -> str:
    if scope == "few":
        return f"up to {FEW_TRIALS} trials"
    if scope == "seconds":
        return "with early stopping at equal training seconds"
    low, high = min(p.budget for p in chosen), max(p.budget for p in chosen)
    return f"{low:g} trials" if low == high else f"{low:g} to {high:g} trials"


def answer(chosen: list[Problem], scope: str) -> tuple[list[str], str]:
    """(the strategies ahead of random on the most problems, the sentence with the evidence
    or that none is)."""
    versus = "full-fidelity random" if scope == "seconds" else BASELINE
    tally = ahead_of_baseline(named(chosen))
    scored = {s: (len(w) - len(lost), len(w)) for s, (w, lost, _) in tally.items()
              if len(w) > len(lost)}
    picks: list[str] = []
    if scored:
        top = max(scored.values())
        picks = sorted(s for s, v in scored.items() if v == top)
        text = "; ".join(pick_text(s, *tally[s], versus) for s in picks)
    elif not tally:
        where = "this problem" if len(chosen) == 1 else f"these {len(chosen)} problems"
        text = f"no strategy was tested against {versus} on {where}"
    else:
        tested = len({n for _, _, names in tally.values() for n in names})
        open_tests = [t.p_holm for p in chosen for t in p.tests if BASELINE in (t.a, t.b)
                      and t.p_holm is not None and t.winner() != BASELINE]
        why = ("" if not open_tests else " (no test with p_holm < 0.05 and A12 > 0.5)"
               if min(open_tests) < ALPHA else f" (p_holm ≥ 0.05; smallest p_holm "
               f"{min(open_tests):.2g})")
        where = "this problem" if tested == 1 else f"these {tested} problems"
        text = f"no strategy is ahead of {versus} on {where}{why}"
    beaten = sorted(s for s, (_, lost, _) in tally.items() if lost)
    if beaten:
        text += f"; {BASELINE} is ahead of " + "; ".join(
            f"{s} on {len(tally[s][1])} ({evidence(BASELINE, tally[s][1])})" for s in beaten)
    return picks, text + provenance(chosen)


Tally = dict[str, tuple[list[tuple[str, Pairwise]], list[tuple[str, Pairwise]], list[str]]]


def ahead_of_baseline(chosen: list[Problem]) -> Tally:
    """Per strategy: (problems where it is ahead of random, and where random is ahead of
    it, each with the test; every problem where the two were tested)."""
    out: dict[str, tuple[list, list, list]] = {}
    for p in chosen:
        for t in p.tests:
            if BASELINE not in (t.a, t.b) or t.a == t.b:
                continue
            s = t.other(BASELINE)
            won, lost, tested = out.setdefault(s, ([], [], []))
            tested.append(p.name)
            if t.winner() == s:
                won.append((p.name, t))
            elif t.winner() == BASELINE:
                lost.append((p.name, t))
    return out


def pick_text(strategy: str, won: list[tuple[str, Pairwise]], lost: list[tuple[str, Pairwise]],
              tested: list[str], versus: str) -> str:
    """'motpe, ahead of random on 2 of the 3 problems both ran on (mnist-cnn surrogate:
    p_holm 0.003, A12 0.91 [0.67, 0.98]; ...)'."""
    behind = f", behind it on {len(lost)} ({evidence(BASELINE, lost)})" if lost else ""
    where = "the one problem" if len(tested) == 1 else \
        f"{len(won)} of the {len(tested)} problems"
    return (f"{strategy}, ahead of {versus} on {where} both ran on ({evidence(strategy, won)})"
            + behind)


def evidence(side: str, found: list[tuple[str, Pairwise]]) -> str:
    """Each problem's test from the winning `side`: 'mnist-cnn surrogate: p_holm 0.003, A12
    0.91 [0.67, 0.98]'; beyond MAX_LISTED, the weakest (largest p_holm) alone."""
    if len(found) <= MAX_LISTED:
        return "; ".join(f"{name}: {t.text(side)}" for name, t in found)
    name, t = max(found, key=lambda f: (f[1].p_holm or 0.0, -(f[1].effect(side)[0] or 0.0)))
    return f"the weakest of the {len(found)}: {name}: {t.text(side)}"


def provenance(chosen: list[Problem]) -> str:
    shipped = sum(p.reference for p in chosen)
    if not shipped:
        return ""
    if shipped == len(chosen):
        return (" (reference data: a comparison shipped with mobench)" if shipped == 1
                else f" (reference data: all {shipped} comparisons shipped with mobench)")
    return (f" (reference data: {shipped} of these {len(chosen)} comparisons shipped with "
            f"mobench, {len(chosen) - shipped} yours)")


def named(chosen: list[Problem]) -> list[Problem]:
    """The problems with distinct names: seeds and trials added where two share one, the
    file name where that is not enough."""
    from dataclasses import replace

    counts = {p.name: sum(q.name == p.name for q in chosen) for p in chosen}
    out = [replace(p, name=f"{p.name}, {p.detail}") if counts[p.name] > 1 else p
           for p in chosen]
    counts = {p.name: sum(q.name == p.name for q in out) for p in out}
    return [replace(p, name=f"{p.name} [{Path(p.source).name}]") if counts[p.name] > 1 else p
            for p in out]


def problems(source: str, doc: dict[str, Any], reference: bool) -> list[Problem]:
    """The problems one document gives: a comparison at up to 20 trials and at its final
    budget, or at equal training seconds; an early-stopping targets document at C."""
    if doc.get("kind") == TARGETS_KIND:
        return targets_problems(source, doc, reference)
    if doc.get("kind") != "comparison":
        return []
    from mobench.report.problems import comparison_spec

    problem = doc.get("problem") if isinstance(doc.get("problem"), dict) else {}
    kind = "live" if problem.get("live") else str(problem.get("kind") or "table")
    medians: dict[float, dict[str, float]] = {}
    for row in doc.get("final") or []:
        if isinstance(row, dict) and number(row.get("budget")) is not None \
                and number(row.get("median")) is not None:
            medians.setdefault(number(row["budget"]), {})[str(row.get("strategy"))] = \
                number(row["median"])
    tests = document_tests(doc)
    base = dict(source=source, name=f"{'' if reference else 'your '}{doc.get('suite')} {kind}",
                detail=f"{doc.get('seeds')} seeds x {doc.get('budget')} trials",
                spec=tuple(comparison_spec(doc)), reference=reference)
    seconds = number(problem.get("budget_seconds"))
    budgets = sorted(medians)
    scopes = [("seconds", budgets[-1])] if seconds and budgets else [
        *([("few", max(b for b in budgets if b <= FEW_TRIALS))]
          if any(b <= FEW_TRIALS for b in budgets) else []),
        *([("many", budgets[-1])] if budgets and budgets[-1] > FEW_TRIALS else [])]
    return [Problem(**base, scope=scope, budget=seconds if scope == "seconds" else budget,
                    medians=medians[budget], tests=tuple(tests.get(budget, ())))
            for scope, budget in scopes]


def targets_problems(source: str, doc: dict[str, Any], reference: bool) -> list[Problem]:
    from mobench.objectives import CATALOGUE

    measured = equal_seconds(doc)
    names = [str(o) for o in doc.get("objectives") or []]
    if measured is None or not names or any(n not in CATALOGUE for n in names):
        return []
    seconds, at, tests = measured
    spec = tuple((n, CATALOGUE[n].direction.value, CATALOGUE[n].unit) for n in names)
    return [Problem(source, f"{doc.get('suite')} surrogate",
                    f"{doc.get('seeds')} seeds x {seconds:.0f} training seconds", spec,
                    reference, "seconds", seconds,
                    {s: float(np.median(v)) for s, v in at.items()}, tuple(tests))]
