"""Warnings when two documents of one hardware id disagree beyond their noise: the same
workload's step times (profiles, pytest benchmarks) whose IQRs lie apart by more than the
wider IQR and whose medians differ by more than 10%, or the same configs' training seconds
in two curves tables beyond the seed-to-seed noise the tables' repeats measure
(`mobench.compare.hardware_fronts.disagreements`). Either means the id covers two things that
cost differently: other threads, pinning, load, thermal state or software.
"""

from __future__ import annotations

import pandas as pd

from mobench.report.formats import fmt, present
from mobench.report.load import Results
from mobench.report.render import Section, Text

GAP_FACTOR = 1.0  # IQRs apart by more than this many times the wider IQR
MIN_RATIO = 1.10  # and medians apart by more than 10%


def hardware_noise(results: Results) -> Section | None:
    lines = step_time_disagreements(results.frame) + table_disagreements(results)
    if not lines:
        return None
    return Section("Hardware consistency", "hardware-consistency", [
        *(Text(line, warning=True) for line in lines),
        Text("Documents of one hardware id should measure the same costs. Step times "
             f"disagree when their IQRs lie apart by more than {GAP_FACTOR:g}x the wider IQR "
             f"and their medians by more than {MIN_RATIO - 1:.0%}; tables when the same "
             "configs' training seconds differ more than two seeds of one config do "
             "(one-sided Mann-Whitney U, p < 0.01, and a median ratio beyond 10%). Runs "
             "with other TensorFlow threads or CPU pinning get their own id (-t<N>, -cpu<M>); "
             "other load, thermal state or software do not.")])


def _intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (workload, hardware_id, source): median step time and its IQR interval."""
    frame = frame[frame["kind"].isin(["profile", "benchmark"]) & (frame["status"] == "ok")
                  & frame["hardware_id"].notna()].copy()
    if frame.empty:
        return frame
    profile = frame["step_time_s"].notna() & frame["step_time_p25_s"].notna()
    frame["median"] = frame["step_time_s"].where(profile, frame["bench_median_s"])
    half = frame["bench_iqr_s"] / 2
    frame["low"] = frame["step_time_p25_s"].where(profile, frame["bench_median_s"] - half)
    frame["high"] = frame["step_time_p75_s"].where(profile, frame["bench_median_s"] + half)
    frame = frame.dropna(subset=["median", "low", "high"])
    frame["workload"] = [
        " / ".join([str(r.suite), str(r.config), str(r.mode) if present(r.mode) else "-"]
                   + ([f"batch {r.batch_size:.0f}"] if present(r.batch_size) else [])
                   + [str(r.kind)])
        for r in frame.itertuples()]
    return frame


def step_time_disagreements(frame: pd.DataFrame) -> list[str]:
    frame = _intervals(frame)
    out = []
    if frame.empty:
        return out
    for (workload, hw), rows in frame.groupby(["workload", "hardware_id"], sort=True):
        docs = rows.groupby("source", sort=True)[["median", "low", "high"]].median()
        names = list(docs.index)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                x, y = docs.loc[a], docs.loc[b]
                gap = max(x["low"], y["low"]) - min(x["high"], y["high"])
                wider = max(x["high"] - x["low"], y["high"] - y["low"])
                ratio = max(x["median"], y["median"]) / min(x["median"], y["median"])
                if gap > GAP_FACTOR * wider and ratio > MIN_RATIO:
                    out.append(f"{hw}, {workload}: {a} measured "
                               f"{fmt('x_s', x['median'])} (IQR {fmt('x_s', x['low'])}-"
                               f"{fmt('x_s', x['high'])}) and {b} {fmt('x_s', y['median'])} "
                               f"(IQR {fmt('x_s', y['low'])}-{fmt('x_s', y['high'])}): "
                               f"{ratio:.3g}x apart, beyond their noise")
    return out


def table_disagreements(results: Results) -> list[str]:
    """Curves tables of one hardware id that train the same configs at other speeds."""
    from mobench.compare.hardware_fronts import disagreements
    from mobench.compare.hardware_points import gather

    found = gather({s: d for s, d in results.documents.items() if d.get("kind") == "curves"})
    lines: list[str] = []
    for points in found.values():
        lines.extend(disagreements(points))
    return lines
