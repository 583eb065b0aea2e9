"""The strategy-comparison section: documents of kind "comparison" (`python -m mobench compare`).

Schema read here (mobench.compare.comparison_document, schema_version 1)::

    {"kind": "comparison", "suite", "budget", "seeds", "strategies": [names],
     "objectives": [{"name", "direction"}], "problem": {"table", "noise", "configs", "dataset"},
     "strategy_time_s": {strategy: seconds}, "provenance": {...},
     "normalisation": {"low", "high", "reference_point", "hypervolume_normalised_by_true_front"},
     "runs": [{"strategy", "seed", "hypervolume": [anytime, per trial], "cumulative_cost_s",
               "igd_plus", "front_size", "infeasible_share", "overhead_s_mean"}],
     "final": [{"budget", "strategy", "median", "iqr", "rank",
                "tests": [{"a", "b", "p", "p_holm", "significant", "better"}]}]}

Only this module knows these fields: the loader dispatches on `kind`, so a schema change is
a change here alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mobench.report.formats import MISSING, fmt
from mobench.report.load import Results
from mobench.report.render import Figure, Heading, Section, Table, Text
from mobench.report.rows import FINAL, number, text

RUN_FIGURES = ("igd_plus", "front_size", "infeasible_share", "overhead_s_mean")


def comparison_rows(document: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (strategy, seed) run: trials reached and the run's final figures."""
    problem = document.get("problem") if isinstance(document.get("problem"), dict) else {}
    dataset = problem.get("dataset")
    base = {**base, "dataset": text(dataset.get("name") if isinstance(dataset, dict)
                                    else dataset)}
    rows = []
    for run in document["runs"]:
        hv = run["hypervolume"]
        cost = run.get("cumulative_cost_s") or []
        if not isinstance(hv, list) or not isinstance(cost, list):
            raise ValueError(f"run {run.get('strategy')!r}/{run.get('seed')!r}: hypervolume "
                             "and cumulative_cost_s must be lists")
        rows.append({**base, "strategy": text(run["strategy"]), "seed": number(run.get("seed")),
                     "trial": float(len(hv)), "status": "ok",
                     f"{FINAL}hypervolume": number(hv[-1]) if hv else None,
                     f"{FINAL}cost_s": number(cost[-1]) if cost else None,
                     **{f"{FINAL}{k}": number(run.get(k)) for k in RUN_FIGURES}})
    return rows


def anytime_matrix(series: list[Any]) -> np.ndarray:
    """runs x trials, NaN where a run is shorter or has no value at that trial."""
    width = max((len(s) for s in series), default=0)
    out = np.full((len(series), width), np.nan)
    for i, values in enumerate(series):
        for j, v in enumerate(values):
            value = number(v)
            out[i, j] = np.nan if value is None else value
    return out


def comparison(results: Results) -> Section | None:
    frame = results.of_kind("comparison")
    if frame.empty:
        return None
    blocks: list = []
    for source, rows in frame.groupby("source", sort=True):
        doc = results.documents[source]
        blocks.extend(document_blocks(source, doc, rows))
    return Section("Strategy comparison", "comparison", blocks)


def document_blocks(source: str, doc: dict[str, Any], rows: pd.DataFrame) -> list:
    problem = doc.get("problem") if isinstance(doc.get("problem"), dict) else {}
    norm = doc.get("normalisation") if isinstance(doc.get("normalisation"), dict) else {}
    names = ", ".join(f"{o.get('name')} ({str(o.get('direction'))[:3]})"
                      for o in doc.get("objectives") or [])
    scale = "as a fraction of the true front's" if norm.get(
        "hypervolume_normalised_by_true_front") else "in normalised objective space"
    out: list = [
        Heading(f"{doc.get('suite')}: {names or 'objectives not recorded'}"),
        Text(f"{rows['strategy'].nunique()} strategies x {doc.get('seeds', MISSING)} seeds x "
             f"{doc.get('budget', MISSING)} trials, replayed on {problem.get('table', MISSING)}"
             f" ({problem.get('configs', MISSING)} configs, noise "
             f"{problem.get('noise', MISSING)}); hypervolume {scale}, reference point "
             f"{norm.get('reference_point', MISSING)}; file {source}.")]
    curves: dict[str, np.ndarray] = {}
    for run in doc["runs"]:
        curves.setdefault(str(run["strategy"]), [])
    for name in curves:
        curves[name] = anytime_matrix([r["hypervolume"] for r in doc["runs"]
                                       if str(r["strategy"]) == name])
    curves = {k: v for k, v in curves.items() if v.size and np.isfinite(v).any()}
    if curves:
        from mobench.report import plots

        out.append(Figure(plots.anytime_curves(curves, "hypervolume"), "anytime hypervolume",
                          "Anytime hypervolume per strategy: median over seeds, band from the "
                          "25th to the 75th percentile."))
    out.extend(final_tables(doc, rows))
    return out


def final_tables(doc: dict[str, Any], rows: pd.DataFrame) -> list[Table]:
    """The final budget (statistics from the document, run figures as medians), then any
    earlier checkpoints."""
    final = [f for f in doc.get("final") or [] if isinstance(f, dict)]
    budgets = sorted({f.get("budget") for f in final if number(f.get("budget")) is not None})
    by_strategy = rows.groupby(rows["strategy"].fillna("?"), sort=False)
    medians = by_strategy[[c for c in rows.columns if c.startswith(FINAL)]].median()
    timing = doc.get("strategy_time_s") if isinstance(doc.get("strategy_time_s"), dict) else {}
    last = [f for f in final if f.get("budget") == budgets[-1]] if budgets else [
        {"strategy": s, "median": m, "iqr": iqr(rows[rows["strategy"] == s])}
        for s, m in medians[f"{FINAL}hypervolume"].items()]
    last.sort(key=lambda f: (number(f.get("rank")) or 0.0, -(number(f.get("median")) or 0.0)))
    table_rows = []
    for f in last:
        s = str(f.get("strategy"))
        m = medians.loc[s] if s in medians.index else pd.Series(dtype=float)
        table_rows.append([s, fmt("", number(f.get("median"))), fmt("", number(f.get("iqr"))),
                           fmt("", number(f.get("rank"))), significance(s, f.get("tests")),
                           *(figure_text(k, m.get(f"{FINAL}{k}")) for k in RUN_FIGURES),
                           fmt("cost_s", m.get(f"{FINAL}cost_s")),
                           fmt("time_s", number(timing.get(s)))])
    budget = budgets[-1] if budgets else doc.get("budget", MISSING)
    tables = [Table(["strategy", "median HV", "HV IQR", "rank", "significant (Holm) vs",
                     "IGD+ (median)", "front size", "infeasible share", "overhead/trial",
                     "training cost replayed", "strategy time (all seeds)"], table_rows,
                    caption=f"At the final budget ({budget} trials), best rank first")]
    earlier = [[str(f.get("budget")), str(f.get("strategy")), fmt("", number(f.get("median"))),
                fmt("", number(f.get("iqr"))), fmt("", number(f.get("rank"))),
                significance(str(f.get("strategy")), f.get("tests"))]
               for f in final if budgets and f.get("budget") != budgets[-1]]
    if earlier:
        tables.append(Table(["budget", "strategy", "median HV", "HV IQR", "rank",
                             "significant (Holm) vs"], earlier,
                            caption="At earlier checkpoints"))
    return tables


def figure_text(name: str, value: Any) -> str:
    if name == "infeasible_share" and number(value) is not None:
        return f"{value:.0%}"
    return fmt("overhead_s" if name == "overhead_s_mean" else "", value)


def iqr(rows: pd.DataFrame) -> float | None:
    values = rows[f"{FINAL}hypervolume"].dropna()
    return float(values.quantile(0.75) - values.quantile(0.25)) if len(values) else None


def significance(strategy: str, tests: Any) -> str:
    """Significant pairwise differences, as 'other (p=..., winner better)'."""
    found = []
    for t in tests if isinstance(tests, list) else []:
        if isinstance(t, dict) and t.get("significant"):
            other = t.get("b") if t.get("a") == strategy else t.get("a")
            found.append(f"{other} (p={fmt('', number(t.get('p_holm')))}, "
                         f"{t.get('better')} better)")
    return ", ".join(found) or "-"
