"""Report sections built from the unit table: provenance, profiles, evaluations, hardware.

Each builder takes `Results` and returns a `Section`, or None when it has nothing to show.
The Pareto fronts live in `pareto.py`, the strategy-comparison hook in `comparison.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mobench.report import plots
from mobench.report.formats import MISSING, fmt, present, short_commit
from mobench.report.load import Results
from mobench.report.render import Cell, Figure, Heading, Section, Table, Text
from mobench.report.rows import OBJ, provenance_columns

PROVENANCE_HEADERS = ["file", "kind", "suite", "variant / strategy", "hardware_id", "dataset",
                      "units", "mobench", "TensorFlow", "Keras", "git commit", "created_at"]


def provenance(results: Results) -> Section | None:
    """One row per document: what it is, where and when it was measured, with which versions;
    the user's runs and the reference data apart. Folded at the end of the page."""
    frame = results.frame
    if not results.documents:
        return None
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
    mine = [row for source, row in rows.items() if source not in results.reference]
    shipped = [[*row, results.reference[source]] for source, row in rows.items()
               if source in results.reference]
    kinds = pd.Series([str(d.get("kind", "benchmark")) for d in results.documents.values()])
    hardware = sorted(frame["hardware_id"].dropna().unique())
    counts = ", ".join(f"{n} {k}" for k, n in kinds.value_counts().sort_index().items())
    line = (f"{len(results.documents)} documents ({counts}; {len(mine)} of your runs, "
            f"{len(shipped)} reference), {len(frame)} measured units, hardware: "
            + (", ".join(hardware) if hardware else "not recorded") + ".")
    blocks: list = [Text(line)]
    if mine:
        blocks.append(Table(PROVENANCE_HEADERS, mine, caption="Your runs, oldest first"))
    if shipped:
        blocks.append(Table([*PROVENANCE_HEADERS, "reference because"], shipped,
                            caption="Reference data (shipped with mobench or saved as a "
                            "reference; not your runs)"))
    return Section("Provenance", "provenance", blocks, collapsed=True)


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
        blocks.append(Heading(f"Suite {suite}"))
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
            png = plots.grouped_bars(agg, panels, "where", "mode")
            blocks.append(Figure(png, f"profile of suite {suite}",
                                 f"Suite {suite}: eager / graph / XLA per configuration and "
                                 "hardware (median over runs; failed modes not drawn)."))
    return Section("Profiles", "profiles", blocks)


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
    return Section("Evaluations", "evaluations", [Table(headers, rows)])


HW_METRICS = [("throughput", "throughput", True), ("step_time_s", "step time", False),
              ("peak_memory_bytes", "peak memory", False),
              ("energy_j_per_step", "energy/step", False),
              ("bench_median_s", "benchmark median", False)]
REFERENCE_SUFFIX = " (reference)"


def hardware_cell(key: str) -> str | Cell:
    """A hardware key as a table cell: reference data gets its badge."""
    if key.endswith(REFERENCE_SUFFIX):
        return Cell(key.removesuffix(REFERENCE_SUFFIX), "reference")
    return key


@dataclass
class HardwareMedians:
    """Medians per (workload, hardware key) of the workloads measured on 2+ hardware keys;
    a hardware key is the hardware_id, suffixed " (reference)" for reference data, so that a
    shipped reference run is compared with, never pooled into, the user's runs."""

    keys: list[str]
    medians: pd.DataFrame
    counts: pd.Series
    workloads: list[str]
    metrics: list[tuple[str, str, bool]]

    def fastest(self) -> list[list]:
        """Rows: workload, fastest hardware, speedup over slowest, measured on."""
        rows = []
        for w in self.workloads:
            score = speed(self.medians.loc[w])
            rows.append([w, hardware_cell(score.idxmax()),
                         f"{score.max() / score.min():.3g}×",
                         ", ".join(str(hardware_cell(k)) for k in sorted(score.index))])
        return rows


def hardware_medians(results: Results) -> HardwareMedians | None:
    """None with fewer than two hardware keys."""
    frame = results.frame[results.frame["hardware_id"].notna()].copy()
    frame["hw"] = frame["hardware_id"].astype(str) + np.where(
        frame["reference"].fillna(False).astype(bool), REFERENCE_SUFFIX, "")
    keys = sorted(frame["hw"].unique())
    if len(keys) < 2:
        return None
    frame = frame[frame["kind"].isin(["profile", "benchmark"]) & (frame["status"] == "ok")]
    frame["workload"] = [
        " / ".join([str(r.suite), str(r.config), str(r.mode) if present(r.mode) else "-"]
                   + ([f"batch {r.batch_size:.0f}"] if present(r.batch_size) else [])
                   + (["benchmark"] if r.kind == "benchmark" else []))
        for r in frame.itertuples()]
    spread = frame.groupby("workload")["hw"].nunique()
    frame = frame[frame["workload"].map(spread) >= 2]
    metrics = [m for m in HW_METRICS if frame[m[0]].notna().any()]
    med = frame.groupby(["workload", "hw"])[[m[0] for m in metrics]].median()
    counts = frame.groupby(["workload", "hw"]).size()
    shared = list(med.index.get_level_values(0).unique())
    return HardwareMedians(keys, med, counts, shared, metrics)


def hardware(results: Results) -> Section | None:
    """Ratios between hardware per workload (kind, suite, config, mode, batch size)."""
    hm = hardware_medians(results)
    if hm is None:
        return None
    blocks: list = [Text(f"Hardware: {', '.join(hm.keys)}.")]
    if not hm.workloads:
        blocks.append(Text("No workload (suite, configuration, mode, batch size) was measured "
                           "on more than one hardware id, so there is nothing to compare yet."))
        return Section("Hardware comparison", "hardware", blocks)
    med, metrics = hm.medians, hm.metrics
    per_hw = med.reset_index().groupby("hw")["workload"].nunique()
    baseline = sorted(per_hw.index, key=lambda h: (-per_hw[h], h))[0]
    blocks.append(Text(f"Ratios are value / baseline value; the baseline is {baseline} "
                       "(measured on the most workloads), or the slowest hardware where it is "
                       "absent. Median over repeated runs."))
    versions = software_versions(results.frame)
    if len(set(versions.values())) > 1:
        blocks.append(Text("Software versions differ between the hardware compared, so part of "
                           "a ratio may be the software's: " + "; ".join(
                               f"{hw}: {v}" for hw, v in sorted(versions.items())) + ".",
                           warning=True))
    headers = ["workload", "hardware_id", "runs", "baseline"]
    for _, title, _ in metrics:
        headers += [title, f"{title} ×"]
    rows, marks, ratios = [], [], {}
    for w in hm.workloads:
        sub = med.loc[w]
        score = speed(sub)
        ref = baseline if baseline in sub.index else score.idxmin()
        best = score.idxmax()
        for hw, r in sub.iterrows():
            row = [w, hardware_cell(hw), str(hm.counts[(w, hw)]), hardware_cell(ref)]
            for col, _, _ in metrics:
                ratio = r[col] / sub.loc[ref, col] if present(r[col]) else math.nan
                row += [fmt(col, r[col]), f"{ratio:.3g}×" if present(ratio) else MISSING]
            rows.append(row)
            marks.append(hw == best)
        ratios[w] = score / score[ref]
    blocks.append(Table(headers, rows, caption="Per workload and hardware (fastest highlighted)",
                        highlight=marks))
    blocks.append(Table(["workload", "fastest hardware", "speedup over slowest", "measured on"],
                        hm.fastest(), caption="Fastest hardware per workload"))
    blocks.append(Figure(plots.ratio_bars(pd.DataFrame(ratios).T,
                                          "speed relative to the reference (higher is faster; "
                                          "throughput, else 1/step time)"),
                         "hardware speed ratios", "Speed per workload relative to the "
                         "reference hardware, log scale."))
    return Section("Hardware comparison", "hardware", blocks)


def software_versions(frame: pd.DataFrame) -> dict[str, str]:
    """Per hardware_id of the profiles and benchmarks: the TensorFlow and Keras versions."""
    frame = frame[frame["kind"].isin(["profile", "benchmark"]) & frame["hardware_id"].notna()]
    out = {}
    for hw, sub in frame.groupby("hardware_id"):
        tf = ", ".join(sorted(sub["tf_version"].dropna().astype(str).unique())) or "?"
        keras = ", ".join(sorted(sub["keras_version"].dropna().astype(str).unique())) or "?"
        out[str(hw)] = f"TensorFlow {tf}, Keras {keras}"
    return out


def speed(sub: pd.DataFrame) -> pd.Series:
    """Higher is faster: throughput where measured everywhere, else 1 / a time."""
    for col in ("throughput", "step_time_s", "bench_median_s"):
        if col in sub and sub[col].notna().all():
            return sub[col] if col == "throughput" else 1.0 / sub[col]
    return pd.Series(1.0, index=sub.index)
