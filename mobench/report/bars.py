"""Bar charts (Agg, PNG bytes): grouped bars per profile mode, and speed ratios between
hardware against a named baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from mobench.report.plots import COLORS, label, plain_number, plain_ticks, to_png

Panel = tuple[str, str, tuple[str, str] | None, bool]  # column, title, (low, high), log y


def grouped_bars(frame: pd.DataFrame, panels: Sequence[Panel], category: str,
                 series: str) -> bytes:
    """One panel per column; bars per `category`, one per `series`; error bars low..high."""
    cats = list(dict.fromkeys(frame[category]))
    kinds = list(dict.fromkeys(frame[series]))
    width = 0.8 / max(1, len(kinds))
    fig = Figure(figsize=(max(4.2, 1.0 + 0.45 * len(cats) * len(kinds)) * len(panels),
                          4.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False).ravel()
    for ax, (column, title, err, log) in zip(axes, panels, strict=True):
        for k, kind in enumerate(kinds):
            sub = frame[frame[series] == kind].set_index(category).reindex(cats)
            xs = np.arange(len(cats)) + (k - (len(kinds) - 1) / 2) * width
            ok = sub[column].notna().to_numpy()
            yerr = None
            if err:
                mid = sub[column].to_numpy(float)[ok]
                yerr = np.abs(np.vstack([mid - sub[err[0]].to_numpy(float)[ok],
                                         sub[err[1]].to_numpy(float)[ok] - mid]))
                yerr = np.nan_to_num(yerr)
            ax.bar(xs[ok], sub[column].to_numpy(float)[ok], width, yerr=yerr, capsize=2,
                   color=COLORS[k % len(COLORS)], label=label(kind))
        ax.set_xticks(np.arange(len(cats)), [label(c, 28) for c in cats], rotation=20,
                      ha="right", fontsize=8)
        ax.set_title(label(title, 60), fontsize=10)
        if log:
            ax.set_yscale("log")
        plain_ticks(ax, "y")
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    return to_png(fig)


def ratio_bars(ratios: pd.DataFrame, title: str, baseline: str) -> bytes:
    """Horizontal bars: rows = workloads, columns = hardware keys, values = ratio to
    `baseline` (log x). Bars start at the left edge, so the baseline's own bars (1×) show too;
    the black line marks 1×. The title wraps, never cut."""
    import textwrap

    n, m = ratios.shape
    fig = Figure(figsize=(8.5, 1.8 + 0.32 * n * m), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / max(1, m)
    finite = ratios.to_numpy(float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    lo, hi = (min(finite.min(), 1.0), max(finite.max(), 1.0)) if finite.size else (0.5, 2.0)
    left = lo / 1.5
    for k, hw in enumerate(ratios.columns):
        ys = np.arange(n) + (k - (m - 1) / 2) * height
        vals = ratios[hw].to_numpy(float)
        ok = np.isfinite(vals) & (vals > 0)
        name = label(hw) + (" (baseline)" if hw == baseline else "")
        ax.barh(ys[ok], vals[ok] - left, height, left=left, color=COLORS[k % len(COLORS)],
                label=name, edgecolor="black" if hw == baseline else "none", linewidth=0.6)
    ax.set_xscale("log")
    ax.set_xlim(left, hi * 1.5)
    times = FuncFormatter(lambda v, _: plain_number(v, 3) + "×")
    ax.xaxis.set_major_formatter(times)
    ax.xaxis.set_minor_formatter(FuncFormatter(
        lambda v, _: plain_number(v, 3) + "×" if f"{v:.1e}"[0] in "25" else ""))
    ax.tick_params(axis="x", which="both", labelsize=9)
    ax.set_yticks(np.arange(n), [label(w, 50) for w in ratios.index], fontsize=9)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", lw=1.0)
    ax.set_title("\n".join(textwrap.wrap(" ".join(str(title).split()).replace("$", r"\$"), 80)),
                 fontsize=10)
    fig.legend(loc="outside lower center", ncols=min(3, m), fontsize=9)
    ax.grid(axis="x", alpha=0.3, which="both")
    return to_png(fig)
