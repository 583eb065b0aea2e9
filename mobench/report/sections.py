"""Report sections built from the unit table: runs overview, profiles, evaluations, hardware.

Each builder takes `Results` and returns a `Section`, or None when it has nothing to show.
The Pareto fronts live in `pareto.py`, the strategy-comparison hook in `comparison.py`.
"""

from __future__ import annotations

import math

import pandas as pd

from mobench.report import plots
from mobench.report.formats import MISSING, fmt, present, short_commit
from mobench.report.load import Results
from mobench.report.render import Figure, Heading, Section, Table, Text
from mobench.report.rows import OBJ, provenance_columns


def overview(results: Results) -> Section | None:
    """One row per document: what it is, where and when it was measured, with which versions."""
    frame = results.frame
    if not results.documents:
        return None
    firsts = frame.groupby("source", sort=False).first()
    units = frame.groupby("source", sort=False).size()
    firsts = firsts.assign(units=units).sort_values("created_at", na_position="last")
    headers = ["file", "kind", "suite", "variant / strategy", "hardware_id", "dataset", "units",
               "mobench", "TensorFlow", "Keras", "git commit", "created_at"]
    rows = []
    strategies = frame.groupby("source", sort=False)["strategy"].agg(
        lambda s: ", ".join(dict.fromkeys(s.dropna().astype(str))))
    for source, r in firsts.iterrows():
        who = strategies[source] or r["config"]
        rows.append([source, r["kind"], fmt("", r["suite"]), fmt("", who),
                     fmt("", r["hardware_id"]), fmt("", r["dataset"]), str(r["units"]),
                     fmt("", r["mobench_version"]), fmt("", r["tf_version"]),
                     fmt("", r["keras_version"]), short_commit(r["git_commit"]),
                     fmt("", r["created_at"])])
    for source in sorted(results.documents.keys() - set(firsts.index)):  # no units
        doc = results.documents[source]
        p = provenance_columns(doc)
        rows.append([source, str(doc.get("kind", "benchmark")), fmt("", p["suite"]), MISSING,
                     fmt("", p["hardware_id"]), fmt("", p["dataset"]), "0",
                     fmt("", p["mobench_version"]), fmt("", p["tf_version"]),
                     fmt("", p["keras_version"]), short_commit(p["git_commit"]),
                     fmt("", p["created_at"])])
    kinds = pd.Series([str(d.get("kind", "benchmark")) for d in results.documents.values()])
    hardware = sorted(frame["hardware_id"].dropna().unique())
    counts = ", ".join(f"{n} {k}" for k, n in kinds.value_counts().sort_index().items())
    line = (f"{len(results.documents)} documents ({counts}), {len(frame)} measured units, "
            "hardware: "
            + (", ".join(hardware) if hardware else "not recorded") + ".")
    return Section("Runs overview", "overview",
                   [Text(line), Table(headers, rows, caption="Documents read, oldest first")])


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
            panels = [("step_time_s", "training step [s], median, bars p25-p75 (log)",
                       ("step_time_p25_s", "step_time_p75_s"), True),
                      ("throughput", "training samples/s", None, False)]
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


def hardware(results: Results) -> Section | None:
    """Ratios between hardware ids per workload (kind, suite, config, mode, batch size)."""
    ids = results.frame["hardware_id"].dropna().unique()
    if len(ids) < 2:
        return None
    frame = results.frame[results.frame["kind"].isin(["profile", "benchmark"])
                          & (results.frame["status"] == "ok")
                          & results.frame["hardware_id"].notna()].copy()
    frame["workload"] = [
        " / ".join([str(r.suite), str(r.config), str(r.mode) if present(r.mode) else "-"]
                   + ([f"batch {r.batch_size:.0f}"] if present(r.batch_size) else [])
                   + (["benchmark"] if r.kind == "benchmark" else []))
        for r in frame.itertuples()]
    spread = frame.groupby("workload")["hardware_id"].nunique()
    frame = frame[frame["workload"].map(spread) >= 2]
    metrics = [m for m in HW_METRICS if frame[m[0]].notna().any()]
    med = frame.groupby(["workload", "hardware_id"])[[m[0] for m in metrics]].median()
    counts = frame.groupby(["workload", "hardware_id"]).size()
    shared = list(med.index.get_level_values(0).unique())
    blocks: list = [Text(f"Hardware ids: {', '.join(sorted(ids))}.")]
    if not shared:
        blocks.append(Text("No workload (suite, configuration, mode, batch size) was measured "
                           "on more than one hardware id, so there is nothing to compare yet."))
        return Section("Hardware comparison", "hardware", blocks)
    per_hw = med.reset_index().groupby("hardware_id")["workload"].nunique()
    baseline = sorted(per_hw.index, key=lambda h: (-per_hw[h], h))[0]
    blocks.append(Text(f"Ratios are value / reference value; the reference is {baseline} "
                       "(measured on the most workloads), or the slowest hardware where it is "
                       "absent. Median over repeated runs."))
    headers = ["workload", "hardware_id", "runs", "reference"]
    for _, title, _ in metrics:
        headers += [title, f"{title} ×"]
    rows, marks, fastest_rows, speed = [], [], [], {}
    for w in shared:
        sub = med.loc[w]
        score = _speed(sub)
        ref = baseline if baseline in sub.index else score.idxmin()
        best = score.idxmax()
        for hw, r in sub.iterrows():
            row = [w, hw, str(counts[(w, hw)]), ref]
            for col, _, _ in metrics:
                ratio = r[col] / sub.loc[ref, col] if present(r[col]) else math.nan
                row += [fmt(col, r[col]), f"{ratio:.3g}×" if present(ratio) else MISSING]
            rows.append(row)
            marks.append(hw == best)
        speed[w] = score / score[ref]
        fastest_rows.append([w, best, f"{score.max() / score.min():.3g}×",
                             ", ".join(sorted(sub.index))])
    blocks.append(Table(headers, rows, caption="Per workload and hardware (fastest highlighted)",
                        highlight=marks))
    blocks.append(Table(["workload", "fastest hardware", "speedup over slowest", "measured on"],
                        fastest_rows, caption="Fastest hardware per workload"))
    ratios = pd.DataFrame(speed).T
    blocks.append(Figure(plots.ratio_bars(ratios, "speed relative to the reference (higher is "
                                                  "faster; throughput, else 1/step time)"),
                         "hardware speed ratios", "Speed per workload relative to the "
                         "reference hardware, log scale."))
    return Section("Hardware comparison", "hardware", blocks)


def _speed(sub: pd.DataFrame) -> pd.Series:
    """Higher is faster: throughput where measured everywhere, else 1 / a time."""
    for col in ("throughput", "step_time_s", "bench_median_s"):
        if col in sub and sub[col].notna().all():
            return sub[col] if col == "throughput" else 1.0 / sub[col]
    return pd.Series(1.0, index=sub.index)
