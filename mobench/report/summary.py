"""The summary at the top of the report: the answers before the evidence.

- per suite (tuning runs, grouped as in the Pareto section): the front's best trade-offs;
- per strategy comparison: the best strategy at the final budget and whether its difference
  from the others is significant (the document's Holm-corrected tests);
- per set of hardware: the fastest hardware per workload.

A part with nothing to show is left out, and the section too when every part is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mobench.report.formats import MISSING, fmt, present
from mobench.report.load import Results
from mobench.report.pareto import tuning_groups, with_front
from mobench.report.render import Heading, Section, Table
from mobench.report.rows import OBJ, PARAM, number
from mobench.report.sections import hardware_medians

MAX_TRADE_OFFS = 5
# human names of the catalogue's objectives in the summary's headers
NAMES = {"val_accuracy": "accuracy", "train_time": "training time", "peak_memory": "peak memory",
         "step_time": "step time", "val_loss": "validation loss", "compile_time": "compile time",
         "latency": "inference latency", "params": "parameters", "flops": "FLOPs/sample"}
BEST_WORD = {"val_accuracy": "most accurate", "train_time": "fastest to train",
             "peak_memory": "least memory", "step_time": "fastest step"}


def summary(results: Results) -> Section | None:
    blocks = [*fronts_summary(results), *comparison_summary(results), *hardware_summary(results)]
    if not blocks:
        return None
    return Section("Summary", "summary", blocks)


def objective_header(name: str, unit: str) -> str:
    return NAMES.get(name, name) + (f" [{unit}]" if unit and unit not in ("s", "B") else "")


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
        chosen.setdefault(i, BEST_WORD.get(name, f"best {NAMES.get(name, name)}"))
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


def fronts_summary(results: Results) -> list:
    frame = results.of_kind("tuning")
    if frame.empty:
        return []
    out: list = []
    for (suite, spec, hw, dataset), trials in tuning_groups(frame):
        trials = with_front(trials, spec)
        front = trials[trials["front"]]
        if front.empty:
            continue
        params = sorted(c for c in front.columns if c.startswith(PARAM)
                        and front[c].notna().any())
        rows = []
        for why, i in trade_offs(front, spec):
            r = front.loc[i]
            rows.append([config_text(r, params), why or MISSING,
                         *(fmt(f"{OBJ}{n}", r[f"{OBJ}{n}"]) for n, _, _ in spec),
                         fmt("", r["strategy"]), fmt("", r["trial"])])
        shown = f"{len(rows)} of {len(front)}" if len(rows) < len(front) else f"all {len(rows)}"
        out.append(Table(
            ["config", "why", *(objective_header(n, u) for n, _, u in spec), "strategy",
             "trial"], rows,
            caption=f"{suite} on {dataset}, {hw}: best trade-offs ({shown} Pareto front "
            f"members of {trials['source'].nunique()} tuning run(s), {len(trials)} trials)"))
    return [Heading("Best trade-offs per suite"), *out] if out else []


def comparison_summary(results: Results) -> list:
    frame = results.of_kind("comparison")
    rows = []
    for source in sorted(frame["source"].unique()):
        row = best_strategy(results.documents[source])
        if row is not None:
            rows.append(row)
    if not rows:
        return []
    return [Heading("Best strategy per comparison"),
            Table(["suite", "problem", "budget", "best strategy (median HV)",
                   "significant (Holm, α = 0.05)", "vs random"], rows,
                  caption="At each comparison's final budget; hypervolume higher is better")]


def best_strategy(doc: dict[str, Any]) -> list[str] | None:
    final = [f for f in doc.get("final") or [] if isinstance(f, dict)
             and number(f.get("budget")) is not None and number(f.get("median")) is not None]
    if not final:
        return None
    budget = max(number(f["budget"]) for f in final)
    last = [f for f in final if number(f["budget"]) == budget]
    best_median = max(number(f["median"]) for f in last)
    best = sorted(str(f.get("strategy")) for f in last if number(f["median"]) == best_median)
    names = ", ".join(best) + (" (tied)" if len(best) > 1 else "")
    tests = [t for f in last if str(f.get("strategy")) in best
             for t in (f.get("tests") if isinstance(f.get("tests"), list) else [])
             if isinstance(t, dict)]
    wins = sorted({str(t.get("b") if str(t.get("a")) in best else t.get("a")) for t in tests
                   if t.get("significant") and str(t.get("better")) in best})
    ps = [number(t.get("p_holm")) for t in tests if number(t.get("p_holm")) is not None]
    if wins:
        verdict = "yes: better than " + ", ".join(wins)
    elif tests:
        verdict = f"no (smallest p = {min(ps):.2g})" if ps else "no"
    else:
        verdict = "not tested"
    against = [t for t in tests if "random" in (str(t.get("a")), str(t.get("b")))]
    if best == ["random"]:
        vs_random = "random is best"
    elif "random" in best:
        vs_random = "tied with random"
    elif against:
        t = against[0]
        p = number(t.get("p_holm"))
        vs_random = (f"{'significant' if t.get('significant') else 'not significant'}"
                     + (f", p = {p:.2g}" if p is not None else ""))
    else:
        vs_random = MISSING
    problem = doc.get("problem") if isinstance(doc.get("problem"), dict) else {}
    names_of = [str(o.get("name")) for o in doc.get("objectives") or [] if isinstance(o, dict)]
    data = problem.get("dataset") if isinstance(problem.get("dataset"), dict) else {}
    source = f"live on {data.get('name', MISSING)}" if problem.get("live") else str(
        problem.get("table", MISSING))
    where = ("surrogate of " if problem.get("kind") == "surrogate" else "") + source + \
        (f" ({', '.join(names_of)})" if names_of else "")
    return [str(doc.get("suite")), where, f"{budget:.0f} trials",
            f"{names} ({best_median:.3g})", verdict, vs_random]


def hardware_summary(results: Results) -> list:
    hm = hardware_medians(results)
    if hm is None or not hm.workloads:
        return []
    return [Heading("Fastest hardware per workload"),
            Table(["workload", "fastest hardware", "speedup over slowest", "measured on"],
                  hm.fastest(), caption="Throughput, else 1 / step time; median over runs")]

