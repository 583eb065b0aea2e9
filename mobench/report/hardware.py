"""Hardware comparisons: your machines side by side, and your runs against a reference run.

A workload is a suite, configuration, mode and batch size, profile and benchmark kept apart;
ratios are of medians over repeated runs. Two measurements are compared only when they were
taken the same way: the same document schema and the same peak-memory method
(`peak_memory_method`; a run that predates its recording has none). A reference measured
otherwise is listed with the reason, and no ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from mobench.report import bars
from mobench.report.formats import MISSING, fmt, present, short_commit
from mobench.report.load import Results
from mobench.report.render import Cell, Figure, Section, Table, Text
from mobench.report.scope import own

HW_METRICS = [("throughput", "throughput", True), ("step_time_s", "step time", False),
              ("peak_memory_bytes", "peak memory", False),
              ("energy_j_per_step", "energy/step", False),
              ("bench_median_s", "benchmark median", False)]
REFERENCE = "reference"


def workloads(frame: pd.DataFrame) -> pd.DataFrame:
    """The measured profile and benchmark rows with a `workload` label and a `method`."""
    frame = frame[frame["kind"].isin(["profile", "benchmark"]) & (frame["status"] == "ok")
                  & frame["hardware_id"].notna()].copy()
    frame["workload"] = [
        " / ".join([str(r.suite), str(r.config), str(r.mode) if present(r.mode) else "-"]
                   + ([f"batch {r.batch_size:.0f}"] if present(r.batch_size) else [])
                   + (["benchmark"] if r.kind == "benchmark" else []))
        for r in frame.itertuples()]
    schema = frame["schema_version"] if "schema_version" in frame else pd.Series(
        None, index=frame.index, dtype=object)
    method = frame["peak_memory_method"] if "peak_memory_method" in frame else pd.Series(
        None, index=frame.index, dtype=object)
    frame["method"] = [f"schema {fmt('', s)}, peak memory by "
                       + (str(m) if present(m) else "a method not recorded")
                       for s, m in zip(schema, method, strict=True)]
    return frame


@dataclass
class HardwareMedians:
    """Medians per (workload, hardware_id) of the workloads measured on 2+ hardware ids."""

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
            rows.append([w, score.idxmax(), f"{score.max() / score.min():.3g}×",
                         ", ".join(sorted(score.index))])
        return rows


def hardware_medians(frame: pd.DataFrame) -> HardwareMedians | None:
    """None with fewer than two hardware ids; workloads measured one way only (the method
    most rows of the workload used; the others are left out)."""
    keys = sorted(frame["hardware_id"].dropna().astype(str).unique())
    if len(keys) < 2:
        return None
    frame = workloads(frame)
    usual = frame.groupby("workload")["method"].agg(lambda m: m.value_counts().index[0])
    frame = frame[frame["method"] == frame["workload"].map(usual)]
    spread = frame.groupby("workload")["hardware_id"].nunique()
    frame = frame[frame["workload"].map(spread) >= 2]
    metrics = [m for m in HW_METRICS if frame[m[0]].notna().any()]
    med = frame.groupby(["workload", "hardware_id"])[[m[0] for m in metrics]].median()
    counts = frame.groupby(["workload", "hardware_id"]).size()
    shared = list(med.index.get_level_values(0).unique())
    return HardwareMedians(keys, med, counts, shared, metrics)


def hardware(results: Results) -> Section | None:
    """Ratios between your hardware per workload (needs runs on two hardware ids)."""
    hm = hardware_medians(results.frame)
    if hm is None:
        return None
    blocks: list = [Text(f"Hardware: {', '.join(hm.keys)}.")]
    if not hm.workloads:
        blocks.append(Text("No workload (suite, configuration, mode, batch size) was measured "
                           "the same way on more than one hardware id, so there is nothing to "
                           "compare yet."))
        return Section("Hardware comparison", "hardware", blocks)
    med, metrics = hm.medians, hm.metrics
    per_hw = med.reset_index().groupby("hardware_id")["workload"].nunique()
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
            row = [w, hw, str(hm.counts[(w, hw)]), ref]
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
    blocks.append(Figure(bars.ratio_bars(
        pd.DataFrame(ratios).T, f"Speed relative to {baseline} (the baseline, 1×; higher is "
        "faster): throughput, else 1 / step time", baseline),
        "hardware speed ratios", f"Speed per workload relative to {baseline}, log scale."))
    return Section("Hardware comparison", "hardware", blocks)


def hardware_summary(results: Results) -> list:
    """The summary's hardware lines: your fastest hardware per workload; your runs against
    the reference run where that comparison is valid (said to be reference data)."""
    from mobench.report.render import Heading

    out: list = []
    hm = hardware_medians(own(results).frame)
    if hm is not None and hm.workloads:
        out += [Heading("Fastest hardware per workload"),
                Table(["workload", "fastest hardware", "speedup over slowest", "measured on"],
                      hm.fastest(), fit=True,
                      caption="Throughput, else 1 / step time; median over runs")]
    pairs = against_reference(results)
    if pairs is not None:
        compared = pairs[pairs["ratio"].notna()]
        if len(compared):
            out.append(Text(
                f"Your runs against the reference run (reference data): median speed ratio "
                f"{compared['ratio'].median():.3g}× (yours ÷ reference; higher: yours is "
                f"faster) over {len(compared)} workload(s) measured the same way."))
        skipped = pairs[pairs["ratio"].isna()]
        if len(skipped):
            out.append(Text(
                f"{len(skipped)} workload(s) of yours were not compared with the reference run "
                f"(reference data): {skipped['reason'].iloc[0]}. See \"Reference results\"."))
    return out


def against_reference(results: Results) -> pd.DataFrame | None:
    """Per workload and your hardware id measured in your runs and in reference data: the
    speed ratio yours ÷ reference when both were measured the same way, else the reason."""
    frame = workloads(results.frame)
    if frame.empty:
        return None
    is_ref = frame["source"].isin(results.reference)
    mine, ref = frame[~is_ref], frame[is_ref]
    shared = sorted(set(mine["workload"]) & set(ref["workload"]))
    if not shared:
        return None
    rows = []
    for w in shared:
        theirs = ref[ref["workload"] == w]
        for hw, yours in mine[mine["workload"] == w].groupby("hardware_id"):
            row = {"workload": w, "hardware_id": hw, "reference": ", ".join(
                sorted(theirs["hardware_id"].astype(str).unique())),
                   "commit": short_commit(theirs["git_commit"].iloc[0]), "ratio": math.nan,
                   "reason": "", "yours": yours, "theirs": theirs}
            methods = set(yours["method"]) | set(theirs["method"])
            if len(methods) > 1:
                row["reason"] = ("measured differently: yours "
                                 + ", ".join(sorted(set(yours["method"]))) + "; reference "
                                 + ", ".join(sorted(set(theirs["method"]))))
            else:
                both = pd.concat([yours.assign(side="yours"), theirs.assign(side="ref")])
                score = speed(both.groupby("side")[["throughput", "step_time_s",
                                                    "bench_median_s"]].median())
                row["ratio"] = float(score["yours"] / score["ref"])
            rows.append(row)
    return pd.DataFrame(rows)


def reference_blocks(results: Results) -> list:
    """For the reference section: every workload compared with the reference run (ratios),
    or listed with the reason it was not."""
    pairs = against_reference(results)
    if pairs is None:
        return []
    rows = []
    for r in pairs.itertuples():
        if present(r.ratio):
            cells = [f"{r.ratio:.3g}×"]
            for col in ("throughput", "step_time_s", "peak_memory_bytes"):
                yours, theirs = r.yours[col].median(), r.theirs[col].median()
                cells.append(f"{yours / theirs:.3g}×" if present(yours) and present(theirs)
                             and theirs else MISSING)
            cells.append("compared")
        else:
            cells = [MISSING, MISSING, MISSING, MISSING, f"not compared: {r.reason}"]
        rows.append([Cell(r.workload, REFERENCE), r.hardware_id, r.reference, r.commit, *cells])
    return [Table(["workload", "your hardware", "reference hardware", "reference commit",
                   "speed (yours ÷ reference)", "throughput ×", "step time ×", "peak memory ×",
                   "comparison"], rows,
                  caption="Your runs against the reference run of the same workload: ratios "
                  "only where both were measured the same way (schema, peak-memory method)")]


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
