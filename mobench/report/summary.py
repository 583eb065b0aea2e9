"""The summary at the top of the report: the answers before the evidence, from your runs.

- what it read: your runs, and the reference data it leaves to the folded section;
- per objective set, which strategy to use at a budget, across problems (the
  recommendation, mobench.report.recommendation; it says where it uses reference data);
- per tuning problem (suite, objectives, dataset, epochs, hardware): the configurations to
  pick, objective values first, the config on a line of its own below;
- per strategy comparison of yours: who is significantly ahead of whom at the final budget
  (p_holm < 0.05 and A12 > 0.5, with both and A12's interval), the highest median beside;
- the fastest hardware per workload of yours, and how your machine compares with the reference
  benchmark when that comparison is valid (said to be reference data).

Reference data is used only where a line says so. A part with nothing to show is left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mobench.report.formats import MISSING, fmt, present
from mobench.report.load import Results
from mobench.report.pareto import tuning_groups, with_front
from mobench.report.problems import (
    comparison_title,
    hv_scale,
    objective_name,
    tuning_title,
    unique_titles,
)
from mobench.report.render import Heading, Section, Table, Text
from mobench.report.rows import OBJ, PARAM, number
from mobench.report.scope import own, repeats_note

MAX_TRADE_OFFS = 5
BEST_WORD = {"val_accuracy": "most accurate", "train_time": "fastest to train",
             "peak_memory": "least memory", "step_time": "fastest step"}
KIND_WORDS = {"tuning": "tuning run", "comparison": "strategy comparison", "profile": "profile",
              "evaluation": "evaluation", "benchmark": "benchmark run"}


def summary(results: Results) -> Section | None:
    from mobench.report.hardware import hardware_summary
    from mobench.report.recommendation import recommendation

    mine = own(results)
    blocks = [*recommendation(results), *fronts_summary(mine), *comparison_summary(mine),
              *hardware_summary(results)]
    intro = reading(results, mine)
    if not blocks and intro is None:
        return None
    return Section("Summary", "summary", [*([intro] if intro else []), *blocks])


def reading(results: Results, mine: Results) -> Text | None:
    """What the summary answers from: your documents by kind, and the reference set aside."""
    kinds = pd.Series([str(d.get("kind", "benchmark")) for d in mine.documents.values()])
    counts = [f"{n} {KIND_WORDS.get(k, k)}{'s' if n > 1 else ''}"
              for k, n in kinds.value_counts().sort_index().items() if k in KIND_WORDS]
    shipped = len(results.reference)
    if not counts and not shipped:
        return None
    text = ("From your runs: " + ", ".join(counts) + "." if counts
            else "No runs of your own were found (tuning, comparisons, profiles).")
    if shipped:
        text += (f" {shipped} reference documents shipped with mobench (or saved as a "
                 "reference) are in the folded \"Reference results\" section at the end; this "
                 "summary uses them only where it says \"reference data\".")
    return Text(text)


def trade_offs(front: pd.DataFrame, spec) -> list[tuple[str, Any]]:
    """Up to MAX_TRADE_OFFS front members, each with why it is shown: the best for each
    objective, the balanced one (nearest the ideal point after min-max scaling), then others
    spread along the first objective."""
    cols = [f"{OBJ}{n}" for n, _, _ in spec]
    values = front[cols].to_numpy(float)
    sign = np.array([1.0 if d == "minimize" else -1.0 for _, d, _ in spec])
    m = values * sign
    lo, hi = m.min(axis=0), m.max(axis=0)
    scaled = (m - lo) / np.where(hi > lo, hi - lo, 1.0)
    chosen: dict[Any, str] = {}
    for k, (name, _, _) in enumerate(spec):
        i = front.index[int(np.argmin(m[:, k]))]
        chosen.setdefault(i, BEST_WORD.get(name, f"best {objective_name(name)}"))
    if len(front) > len(chosen):
        knee = front.index[int(np.argmin(np.linalg.norm(scaled, axis=1)))]
        chosen.setdefault(knee, "balanced")
    order = front.index[np.argsort(m[:, 0], kind="stable")]
    for i in order[np.linspace(0, len(order) - 1, min(len(order), MAX_TRADE_OFFS)).round()
                   .astype(int)]:
        if len(chosen) >= MAX_TRADE_OFFS:
            break
        chosen.setdefault(i, "")
    ranked = [i for i in order if i in chosen]
    return [(chosen[i], i) for i in ranked]


def config_text(row: pd.Series, params: list[str]) -> str:
    values = [f"{c.removeprefix(PARAM)}={_param(row[c])}" for c in params if present(row[c])]
    return ", ".join(values) or f"trial {fmt('', row['trial'])}"


def _param(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def objective_header(name: str, direction: str) -> str:
    return f"{objective_name(name)} {'↓' if direction == 'minimize' else '↑'}"


def fronts_summary(results: Results) -> list:
    """Per tuning problem: the configurations to pick, values first, config below."""
    frame = results.of_kind("tuning")
    if frame.empty:
        return []
    out: list = []
    for (suite, spec, hw, dataset, epochs), trials in tuning_groups(frame):
        trials = with_front(trials, spec)
        front = trials[trials["front"]]
        if front.empty:
            continue
        params = sorted(c for c in front.columns if c.startswith(PARAM)
                        and front[c].notna().any())
        rows, notes = [], []
        for why, i in trade_offs(front, spec):
            r = front.loc[i]
            rows.append([*(fmt(f"{OBJ}{n}", r[f"{OBJ}{n}"]) for n, _, _ in spec),
                         why or MISSING, f"{fmt('', r['strategy'])}, trial {fmt('', r['trial'])}"])
            notes.append(config_text(r, params))
        shown = f"{len(rows)} of the {len(front)}" if len(rows) < len(front) else \
            f"all {len(rows)}"
        stopped = int(trials["stopped_at_epoch"].notna().sum()) \
            if "stopped_at_epoch" in trials else 0
        out += [Heading("Configurations for " + tuning_title(suite, spec, dataset, epochs, hw)),
                Table([*(objective_header(n, d) for n, d, _ in spec), "pick it for",
                       "found by"], rows, notes=notes, fit=True,
                      caption=f"Configurations to pick: {shown} Pareto-optimal of "
                      f"{len(trials)} trials in {trials['source'].nunique()} tuning run(s)"
                      + (f"; {stopped} stopped early are not candidates" if stopped else ""))]
    return out


COMPARISON_HEADERS = ("significant differences at the final budget (p_holm < 0.05, "
                      "A12 > 0.5)", "highest median HV")


def comparison_summary(results: Results) -> list:
    """Per strategy comparison: a heading naming its problem, then who is significantly
    ahead of whom (never a winner by median alone) and the highest median beside it."""
    frame = results.of_kind("comparison")
    sources = sorted(frame["source"].unique()) if not frame.empty else []
    found = [(s, best_strategy(results.documents[s])) for s in sources]
    found = [(s, row) for s, row in found if row is not None]
    if not found:
        return []
    titles = unique_titles([comparison_title(results.documents[s]) for s, _ in found],
                           [s for s, _ in found])
    out: list = []
    for (source, row), title in zip(found, titles, strict=True):
        out += [Heading(f"Strategies compared on {title}"),
                Table(list(COMPARISON_HEADERS), [row], fit=True,
                      caption=f"Median {hv_scale(results.documents[source])[0]}, higher is "
                      "better; A12 = P(a run of the first scores higher) with its 95% "
                      "interval" + repeats_note(results, source))]
    return out


def best_strategy(doc: dict[str, Any]) -> list[str] | None:
    """[the significant differences at the final budget with their evidence, the highest
    median hypervolume there (and in the other scale beside it)], or None without a final
    table."""
    from mobench.report.evidence import document_tests, samples
    from mobench.report.problems import beside_scale

    final = [f for f in doc.get("final") or [] if isinstance(f, dict)
             and number(f.get("budget")) is not None and number(f.get("median")) is not None]
    if not final:
        return None
    budget = max(number(f["budget"]) for f in final)
    last = [f for f in final if number(f["budget"]) == budget]
    best_median = max(number(f["median"]) for f in last)
    best = sorted(str(f.get("strategy")) for f in last if number(f["median"]) == best_median)
    tests = document_tests(doc).get(budget, [])
    claims = [f"{t.winner()} ahead of {t.other(t.winner())} ({t.text(t.winner())})"
              for t in tests if t.winner() is not None]
    ps = [t.p_holm for t in tests if t.p_holm is not None]
    if claims:
        verdict = "; ".join(claims)
    elif tests:
        verdict = "none" + (f" (smallest p_holm {min(ps):.2g})" if ps else "")
    else:
        verdict = "not tested"
    _, share = hv_scale(doc)
    value = f"{best_median:.3g}" + ("" if share or best_median <= 1 else " (not a share)")
    beside = beside_scale(doc)
    if beside is not None:
        runs = [r for r in doc.get("runs") or [] if isinstance(r, dict)]
        other = [np.median(v) for v in (samples(runs, s, budget, beside[1]) for s in best) if v]
        if other:
            low, high = min(other), max(other)
            value += f" ({beside[0]} {low:.3g}" + (f" to {high:.3g})" if high > low else ")")
    names = ", ".join(best) + (" (tied)" if len(best) > 1 else "")
    return [verdict, f"{names}: {value} after {budget:.0f} trials"]
