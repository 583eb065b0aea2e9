"""Report sections built from the unit table: provenance, profiles, evaluations.

Each builder takes `Results` and returns a `Section`, or None when it has nothing to show.
The Pareto fronts live in `pareto.py`, strategy comparisons in `comparison.py`, hardware in
`hardware.py`, the reference data in `reference.py`.
"""

from __future__ import annotations

import pandas as pd

from mobench.report import bars, plots
from mobench.report.formats import MISSING, fmt, present, short_commit
from mobench.report.load import Results
from mobench.report.render import Figure, Heading, Section, Table, Text
from mobench.report.rows import OBJ, provenance_columns

PROVENANCE_HEADERS = ["file", "kind", "suite", "variant / strategy", "hardware_id", "dataset",
                      "units", "mobench", "TensorFlow", "Keras", "git commit", "created_at"]


def document_rows(results: Results) -> dict[str, list]:
    """Per document: what it is, where and when it was measured, with which versions."""
    frame = results.frame
    firsts = frame.groupby("source", sort=False).first()
    units = frame.groupby("source", sort=False).size()
    firsts = firsts.assign(units=units).sort_values("created_at", na_position="last")
    strategies = frame.groupby("source", sort=False)["strategy"].agg(
        lambda s: ", ".join(dict.fromkeys(s.dropna().astype(str))))
    rows: dict[str, list] = {}
    for source, r in firsts.iterrows():
        who = strategies[source] or r["config"]
        rows[source] = [source, r["kind"], fmt("", r["suite"]), fmt("", who),
                        fmt("", r["hardware_id"]), fmt("", r["dataset"]), str(r["units"]),
                        fmt("", r["mobench_version"]), fmt("", r["tf_version"]),
                        fmt("", r["keras_version"]), short_commit(r["git_commit"]),
                        fmt("", r["created_at"])]
    for source in sorted(results.documents.keys() - set(firsts.index)):  # no units
        doc = results.documents[source]
        p = provenance_columns(doc)
        rows[source] = [source, str(doc.get("kind", "benchmark")), fmt("", p["suite"]), MISSING,
                        fmt("", p["hardware_id"]), fmt("", p["dataset"]), "0",
                        fmt("", p["mobench_version"]), fmt("", p["tf_version"]),
                        fmt("", p["keras_version"]), short_commit(p["git_commit"]),
                        fmt("", p["created_at"])]
    return rows


def provenance(results: Results) -> Section | None:
    """Your runs, one row per document, oldest first; the older runs of identical settings
    that were left out; the reference data is listed in its own section. Folded at the end."""
    frame = results.frame
    if not results.documents:
        return None
    rows = document_rows(results)
    mine = [row for source, row in rows.items() if source not in results.reference]
    kinds = pd.Series([str(d.get("kind", "benchmark")) for s, d in results.documents.items()
                       if s not in results.reference])
    hardware = sorted(frame[~frame["source"].isin(results.reference)]["hardware_id"]
                      .dropna().unique())
    counts = ", ".join(f"{n} {k}" for k, n in kinds.value_counts().sort_index().items())
    line = (f"{len(mine)} of your documents ({counts or 'none'}), hardware: "
            + (", ".join(hardware) if hardware else "not recorded")
            + (f"; {len(results.reference)} reference documents are listed under "
               "\"Reference results\"" if results.reference else "") + ".")
    blocks: list = [Text(line)]
    if mine:
        blocks.append(Table(PROVENANCE_HEADERS, mine, caption="Your runs, oldest first"))
    older = [[old, kept] for kept, olds in sorted(results.repeats.items()) for old in olds
             if kept not in results.reference]
    if older:
        blocks.append(Table(["left out", "repeats the settings of (kept, latest)"], older,
                            caption="Older runs of identical settings, left out of the report"))
    return Section("Provenance", "provenance", blocks, collapsed=True,
                   lead=f"{len(mine)} documents")


def problems_section(results: Results) -> Section | None:
    if not results.problems:
        return None
    rows = [[p.path, p.reason] for p in results.problems]
    return Section("Skipped files", "problems", [
        Text(f"{len(rows)} file(s) could not be read as mobench results and were skipped; "
             "the rest of the report does not include them.", warning=True),
        Table(["file", "reason"], rows)])


PROFILE_COLUMNS = [("compile_time_s", "compile"), ("throughput", "train samples"),
                   ("peak_memory_bytes", "peak mem"), ("latency_p50_s", "latency p50"),
                   ("achieved_flops_per_s", "achieved"), ("peak_fraction", "of measured peak"),
                   ("energy_j_per_step", "energy/step")]


def profiles(results: Results) -> Section | None:
    """Per suite: step time, throughput, memory, FLOP/s fraction per mode and configuration."""
    frame = results.of_kind("profile")
    if frame.empty:
        return None
    blocks: list = []
    for suite, sub in frame.groupby(frame["suite"].fillna("?"), sort=True):
        blocks.append(Heading(f"{suite}: step time, memory and throughput per mode"))
        headers = ["config", "hardware_id", "mode", "status", "step (median ± IQR)",
                   *(h for _, h in PROFILE_COLUMNS), "run"]
        rows = []
        for _, r in sub.iterrows():
            status = r["status"] + (f": {r['reason']}" if present(r["reason"]) else "")
            step = (f"{fmt('step_time_s', r['step_time_s'])} ± "
                    f"{fmt('step_time_iqr_s', r['step_time_iqr_s'])}"
                    if present(r["step_time_s"]) else MISSING)
            rows.append([r["config"], fmt("", r["hardware_id"]), r["mode"], status, step,
                         *(fmt(c, r[c]) for c, _ in PROFILE_COLUMNS), r["run"]])
        blocks.append(Table(headers, rows))
        ok = sub[sub["status"] == "ok"].assign(
            where=lambda d: d["config"] + " @ " + d["hardware_id"].fillna("?"))
        if not ok.empty:
            agg = ok.groupby(["where", "mode"], sort=False)[
                ["step_time_s", "step_time_p25_s", "step_time_p75_s", "throughput",
                 "peak_fraction"]].median().reset_index()
            agg["peak_pct"] = agg["peak_fraction"] * 100
            steps = ["step_time_s", "step_time_p25_s", "step_time_p75_s"]
            scale, unit = plots.human_unit("step_time", "s", agg["step_time_s"])
            agg[steps] = agg[steps] / scale
            finite = agg["step_time_s"].dropna()
            log = bool(len(finite) and finite.min() > 0 and finite.max() / finite.min() > 30)
            panels = [("step_time_s", f"training step [{unit}], median, bars p25-p75"
                       + (" (log)" if log else ""), ("step_time_p25_s", "step_time_p75_s"), log),
                      ("throughput", "training throughput [samples/s]", None, False)]
            if agg["peak_pct"].notna().any():
                panels.append(("peak_pct", "achieved FLOP/s, % of measured matmul peak", None,
                               False))
            png = bars.grouped_bars(agg, panels, "where", "mode")
            blocks.append(Figure(png, f"profile of suite {suite}",
                                 f"Suite {suite}: eager / graph / XLA per configuration and "
                                 "hardware (median over runs; failed modes not drawn)."))
    return Section("Your profiles", "profiles", blocks)


def evaluations(results: Results) -> Section | None:
    frame = results.of_kind("evaluation")
    if frame.empty:
        return None
    objs = [c for c in frame.columns if c.startswith(OBJ) and frame[c].notna().any()]
    headers = ["suite", "config", "hardware_id", "status", *(c.removeprefix(OBJ) for c in objs),
               "run"]
    rows = [[fmt("", r["suite"]), r["config"], fmt("", r["hardware_id"]),
             r["status"] + (f": {r['reason']}" if present(r["reason"]) else ""),
             *(fmt(c, r[c]) for c in objs), r["run"]] for _, r in frame.iterrows()]
    return Section("Your evaluations", "evaluations", [Table(headers, rows)])
