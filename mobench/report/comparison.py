"""The strategy-comparison section: documents of kind "comparison" (`python -m mobench compare`).

Schema read here (mobench.compare.protocol.comparison_document, schema_version 1)::

    {"kind": "comparison", "suite", "budget", "seeds", "strategies": [names],
     "objectives": [{"name", "direction", "unit"}],
     "problem": {"table", "noise", "configs", "dataset"},
     "strategy_time_s": {strategy: seconds}, "provenance": {...},
     "normalisation": {"low", "high", "reference_point", "hypervolume_normalised_by_true_front"},
     "runs": [{"strategy", "seed", "hypervolume": [anytime, per trial], "cumulative_cost_s",
               "igd_plus", "front_size", "front": [normalised minimisation points],
               "infeasible_share", "overhead_s_mean"}],
     "final": [{"budget", "strategy", "median", "iqr", "rank",
                "tests": [{"a", "b", "p", "p_holm", "significant", "better"}]}]}

Fields other versions add are read when present: `a12` and `a12_ci` in tests (computed from
the runs where absent: `report.evidence`), a run's `hypervolume_box` (shown beside the
primary hypervolume), and `normalisation.primary` (which hypervolume is the primary one;
`report.problems.hv_scale`); `method` is ignored.
The loader's one row per run comes from `mobench.report.rows.comparison_rows`; the section
below reads the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mobench.report.formats import MISSING, fmt
from mobench.report.load import Results
from mobench.report.problems import comparison_title, hv_scale, unique_titles
from mobench.report.render import Figure, Heading, Section, Table, Text
from mobench.report.rows import FINAL, RUN_FIGURES, number, objective_spec
from mobench.report.scope import repeats_note
from mobench.report.steps import step_done

BEST = ""  # median_attainment's key for the points of all runs together


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
    """One subsection per comparison document of yours, each headed by its problem."""
    frame = results.of_kind("comparison")
    if frame.empty:
        return None
    blocks: list = []
    for source, title in titled(results):
        blocks.extend(document_blocks(source, results.documents[source],
                                      frame[frame["source"] == source], title,
                                      repeats_note(results, source)))
    return Section("Your strategy comparisons", "comparison", blocks)


def titled(results: Results) -> list[tuple[str, str]]:
    """(source, heading) of the comparison documents, headings distinct."""
    sources = sorted(results.of_kind("comparison")["source"].unique())
    titles = unique_titles([comparison_title(results.documents[s]) for s in sources], sources)
    return list(zip(sources, titles, strict=True))


def problem_phrase(problem: dict[str, Any]) -> str:
    """What the strategies ran on: real training (`compare --live`), a surrogate or a table."""
    if problem.get("live"):
        data = problem.get("dataset") if isinstance(problem.get("dataset"), dict) else {}
        epochs = f", {problem['epochs']:g} epochs" if number(problem.get("epochs")) else ""
        return (f"trained live on {data.get('name', MISSING)} ({data.get('n_train', MISSING)} "
                f"training examples{epochs})")
    on = "a surrogate of" if problem.get("kind") == "surrogate" else "replayed on"
    return (f"{on} {problem.get('table', MISSING)} ({problem.get('configs', MISSING)} configs, "
            f"noise {problem.get('noise', MISSING)})")


def document_blocks(source: str, doc: dict[str, Any], rows: pd.DataFrame, title: str,
                    repeats: str = "") -> list:
    problem = doc.get("problem") if isinstance(doc.get("problem"), dict) else {}
    norm = doc.get("normalisation") if isinstance(doc.get("normalisation"), dict) else {}
    scale, _ = hv_scale(doc)
    seconds = f", at most {problem['budget_seconds']:g} training seconds each" \
        if number(problem.get("budget_seconds")) else ""
    out: list = [
        Heading(title),
        Text(f"{rows['strategy'].nunique()} strategies x {doc.get('seeds', MISSING)} seeds x "
             f"{doc.get('budget', MISSING)} trials{seconds}, {problem_phrase(problem)}; "
             f"{scale}, reference point "
             f"{norm.get('reference_point', MISSING)}; file {source}{repeats}.")]
    from mobench.report.fidelity import fidelity_table, rung_table

    out.extend(t for t in (fidelity_table(problem), rung_table(doc)) if t is not None)
    curves: dict[str, np.ndarray] = {}
    for run in doc["runs"]:
        curves.setdefault(str(run["strategy"]), [])
    for name in curves:
        curves[name] = anytime_matrix([r["hypervolume"] for r in doc["runs"]
                                       if str(r["strategy"]) == name])
    curves = {k: v for k, v in curves.items() if v.size and np.isfinite(v).any()}
    from mobench.report import plots

    if curves:
        out.append(Figure(plots.anytime_curves(curves, "hypervolume"), "anytime hypervolume",
                          "Anytime hypervolume per strategy: median over seeds, band from the "
                          "25th to the 75th percentile."))
    timeline = cost_curves(doc["runs"])
    if timeline is not None:
        at, by_cost = timeline
        out.append(Figure(
            plots.anytime_curves(by_cost, "hypervolume", at, "cumulative training time [s]"),
            "anytime hypervolume against training time",
            "The same hypervolume against the training time the tried configs cost (measured "
            "when the table was built, or live): a strategy that favours cheap configs gets "
            "there sooner. A run that has spent its budget keeps its final value. Median "
            "over seeds, IQR band."))
    spec = objective_spec(doc)
    surfaces = median_attainment(doc, spec) if len(spec) == 2 else {}
    if surfaces:
        best = surfaces.pop(BEST)
        out.append(Figure(
            plots.attainment_surfaces(surfaces, spec, "median attainment surfaces", best),
            "median attainment surfaces",
            "Median attainment surface per strategy (moocore's empirical attainment function "
            "at 50%): the objective vectors each strategy attains, or betters, in at least "
            "half of its seeds by the end of the budget; in grey the non-dominated points of "
            "all runs together."))
    out.extend(final_tables(doc, rows))
    step_done()
    return out


def cost_curves(runs: list[dict[str, Any]], points: int = 200
                ) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """Anytime hypervolume on a common grid of cumulative training time, per strategy
    (runs x points; 0 before a run's first trial has finished training; a run that has spent
    its budget keeps its final front, as on the trials axis)."""
    series = [(str(r["strategy"]), np.asarray([number(v) for v in r["hypervolume"]], float),
               np.asarray([number(v) for v in r.get("cumulative_cost_s") or []], float))
              for r in runs]
    ends = [cost[-1] for _, _, cost in series if len(cost) and np.isfinite(cost).all()]
    if not ends or max(ends) <= 0:
        return None
    at = np.linspace(0.0, max(ends), points)
    curves: dict[str, list[np.ndarray]] = {}
    for name, hv, cost in series:
        n = min(len(hv), len(cost))
        if n == 0 or not np.isfinite(cost[:n]).all():
            continue
        done = np.searchsorted(cost[:n], at, side="right")  # trials finished by then
        curves.setdefault(name, []).append(np.where(done > 0, hv[np.maximum(done, 1) - 1], 0.0))
    return at, {name: np.vstack(c) for name, c in curves.items()}


def median_attainment(doc: dict[str, Any], spec) -> dict[str, np.ndarray]:
    """Per strategy, the 50% attainment surface of its runs' final fronts, in the objectives'
    own units (the document stores fronts normalised, in minimisation space); under the key
    BEST, the non-dominated points of all runs together."""
    import moocore

    norm = doc.get("normalisation") if isinstance(doc.get("normalisation"), dict) else {}
    try:
        low = np.asarray(norm["low"], dtype=float)
        high = np.asarray(norm["high"], dtype=float)
    except (KeyError, TypeError, ValueError):
        return {}
    if low.shape != (2,) or high.shape != (2,):
        return {}
    span = np.where(high > low, high - low, 1.0)
    sign = np.array([1.0 if d == "minimize" else -1.0 for _, d, _ in spec])
    fronts: dict[str, list[np.ndarray]] = {}
    for run in doc["runs"]:
        front = np.asarray(run.get("front") or [], dtype=float)
        if front.ndim == 2 and front.shape[1] == 2 and np.isfinite(front).all():
            fronts.setdefault(str(run["strategy"]), []).append(front)
    out = {}
    for name, sets in fronts.items():
        points = np.vstack(sets)
        ids = np.repeat(np.arange(1, len(sets) + 1), [len(f) for f in sets])
        surface = moocore.eaf(points, ids, percentiles=[50])[:, :2]
        if len(surface):
            out[name] = (low + surface * span) * sign
    if out:
        pooled = np.vstack([f for sets in fronts.values() for f in sets])
        out[BEST] = (low + pooled[moocore.is_nondominated(pooled)] * span) * sign
    return out


def final_tables(doc: dict[str, Any], rows: pd.DataFrame) -> list[Table]:
    """The final budget (statistics from the document, run figures as medians), then any
    earlier checkpoints; the hypervolume in the other scale beside the primary one."""
    from mobench.report.evidence import document_tests, samples
    from mobench.report.problems import beside_scale

    final = [f for f in doc.get("final") or [] if isinstance(f, dict)]
    budgets = sorted({f.get("budget") for f in final if number(f.get("budget")) is not None})
    tests = document_tests(doc)
    beside = beside_scale(doc)
    runs = [r for r in doc.get("runs") or [] if isinstance(r, dict)]

    def other(strategy: str, budget: Any) -> list[str]:
        if beside is None or number(budget) is None:
            return []
        values = samples(runs, strategy, number(budget), beside[1])
        return [fmt("", float(np.median(values))) if values else MISSING]

    by_strategy = rows.groupby(rows["strategy"].fillna("?"), sort=False)
    medians = by_strategy[[c for c in rows.columns if c.startswith(FINAL)]].median()
    timing = doc.get("strategy_time_s") if isinstance(doc.get("strategy_time_s"), dict) else {}
    last = [f for f in final if f.get("budget") == budgets[-1]] if budgets else [
        {"strategy": s, "median": m, "iqr": iqr(rows[rows["strategy"] == s])}
        for s, m in medians[f"{FINAL}hypervolume"].items()]
    last.sort(key=lambda f: (number(f.get("rank")) or 0.0, -(number(f.get("median")) or 0.0)))
    budget = budgets[-1] if budgets else doc.get("budget", MISSING)
    table_rows = []
    for f in last:
        s = str(f.get("strategy"))
        m = medians.loc[s] if s in medians.index else pd.Series(dtype=float)
        table_rows.append([s, fmt("", number(f.get("median"))), *other(s, budget),
                           fmt("", number(f.get("iqr"))), fmt("", number(f.get("rank"))),
                           significance(s, tests.get(number(budget), [])),
                           *(figure_text(k, m.get(f"{FINAL}{k}")) for k in RUN_FIGURES),
                           fmt("cost_s", m.get(f"{FINAL}cost_s")),
                           fmt("time_s", number(timing.get(s)))])
    hv = ["median HV", *([f"median HV ({beside[0]})"] if beside else [])]
    tables = [Table(["strategy", *hv, "HV IQR", "rank", SIGNIFICANT,
                     "IGD+ (median)", "front size", "infeasible share", "overhead/trial",
                     "training cost replayed", "strategy time (all seeds)"], table_rows,
                    caption=f"At the final budget ({budget} trials), best rank first")]
    earlier = [[str(f.get("budget")), str(f.get("strategy")), fmt("", number(f.get("median"))),
                *other(str(f.get("strategy")), f.get("budget")),
                fmt("", number(f.get("iqr"))), fmt("", number(f.get("rank"))),
                significance(str(f.get("strategy")), tests.get(number(f.get("budget")), []))]
               for f in final if budgets and f.get("budget") != budgets[-1]]
    if earlier:
        tables.append(Table(["budget", "strategy", *hv, "HV IQR", "rank", SIGNIFICANT],
                            earlier, caption="At earlier checkpoints"))
    return tables


def figure_text(name: str, value: Any) -> str:
    if name == "infeasible_share" and number(value) is not None:
        return f"{value:.0%}"
    return fmt("overhead_s" if name == "overhead_s_mean" else "", value)


def iqr(rows: pd.DataFrame) -> float | None:
    values = rows[f"{FINAL}hypervolume"].dropna()
    return float(values.quantile(0.75) - values.quantile(0.25)) if len(values) else None


SIGNIFICANT = "ahead of / behind (p_holm < 0.05, A12 > 0.5)"


def significance(strategy: str, tests: list) -> str:
    """The significant differences of `strategy`, as 'other (p_holm ..., A12 ... [CI],
    winner better)', A12 from the winner's point of view (`evidence.Test`)."""
    found = [f"{t.other(strategy)} ({t.text(t.winner())}, {t.winner()} better)"
             for t in tests if strategy in (t.a, t.b) and t.winner() is not None]
    return ", ".join(found) or "-"
