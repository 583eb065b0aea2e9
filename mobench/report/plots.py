"""Matplotlib figures (Agg, no pyplot state) rendered to PNG bytes for embedding.

Only measured values are plotted: callers pass rows whose values exist; a missing value is
left out of a plot, never drawn at a stand-in position.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

DPI = 90
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
Spec = Sequence[tuple[str, str, str]]  # (objective, direction, unit)


def label(value: object, limit: int = 40) -> str:
    """Plot text from results: `$` escaped (no mathtext), long names shortened."""
    text = " ".join(str(value).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})  # layout: constrained
    return buf.getvalue()


def fixed_layout(fig: Figure, *, left: float = 0.8, right: float = 0.2, bottom: float = 1.0,
                 top: float = 0.25, wspace: float = 0.35, hspace: float = 0.5) -> None:
    """Margins in inches: cheaper than constrained layout for the many same-shaped figures."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h,
                        wspace=wspace, hspace=hspace)


def axis_label(name: str, direction: str, unit: str, sep: str = " ") -> str:
    arrow = "↓ lower is better" if direction == "minimize" else "↑ higher is better"
    return label(name + (f" [{unit}]" if unit else ""), 40) + sep + f"({arrow})"


def pareto_pairs(points: pd.DataFrame, spec: Spec, group: str = "strategy") -> bytes:
    """2-D projections for each objective pair.

    `points`: one row per trial with `obj.<name>`, `feasible`, `front` (bool) and `group`.
    Feasible trials are coloured by group, front members drawn large with a black edge,
    infeasible trials (with measured values) as grey crosses.
    """
    pairs = list(combinations(range(len(spec)), 2))
    ncols = min(3, len(pairs))
    nrows = math.ceil(len(pairs) / ncols)
    groups = sorted(points[group].fillna("?").astype(str).unique())
    legend_rows = math.ceil((len(groups) + 2) / 4)
    fig = Figure(figsize=(4.6 * ncols, 3.6 * nrows + 0.5 + 0.25 * legend_rows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    fixed_layout(fig, bottom=0.7 + 0.25 * legend_rows, hspace=0.35)
    for ax, (i, j) in zip(axes, pairs, strict=False):
        (xn, xd, xu), (yn, yd, yu) = spec[i], spec[j]
        sub = points.dropna(subset=[f"obj.{xn}", f"obj.{yn}"])
        bad = sub[~sub["feasible"]]
        ax.scatter(bad[f"obj.{xn}"], bad[f"obj.{yn}"], marker="x", c="#999999", s=25,
                   label="infeasible (measured)" if len(bad) else None)
        for k, name in enumerate(groups):
            mine = sub[sub["feasible"] & (sub[group].fillna("?").astype(str) == name)]
            color, marker = COLORS[k % len(COLORS)], MARKERS[k % len(MARKERS)]
            rest, front = mine[~mine["front"]], mine[mine["front"]]
            ax.scatter(rest[f"obj.{xn}"], rest[f"obj.{yn}"], c=color, marker=marker, s=18,
                       alpha=0.45, label=label(name))
            ax.scatter(front[f"obj.{xn}"], front[f"obj.{yn}"], c=color, marker=marker, s=70,
                       edgecolors="black", linewidths=1.2, zorder=3)
        if len(spec) == 2:
            _staircase(ax, sub[sub["feasible"] & sub["front"]], spec)
        ax.set_xlabel(axis_label(xn, xd, xu), fontsize=8)
        ax.set_ylabel(axis_label(yn, yd, yu), fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(axes[0].scatter([], [], c="white", edgecolors="black", s=70))
    labels.append("Pareto front (black edge)")
    fig.legend(handles, labels, loc="lower center", ncols=min(4, len(labels)), fontsize=8)
    return to_png(fig)


def _staircase(ax, front: pd.DataFrame, spec: Spec) -> None:
    (xn, xd, _), (yn, yd, _) = spec
    if len(front) < 2:
        return
    pts = front[[f"obj.{xn}", f"obj.{yn}"]].to_numpy(float)
    pts = pts[np.argsort(pts[:, 0] if xd == "minimize" else -pts[:, 0])]
    ax.step(pts[:, 0], pts[:, 1], where="post", color="black", lw=0.8, alpha=0.6)


def parallel_coordinates(points: pd.DataFrame, spec: Spec, group: str = "strategy") -> bytes:
    """One axis per objective, scaled to [0, 1] with the better end at the bottom.

    `points`: feasible trials with every objective measured; `front` marks front members.
    """
    names = [f"obj.{n}" for n, _, _ in spec]
    values = points[names].to_numpy(float)
    lo, hi = values.min(axis=0), values.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = (values - lo) / span
    for k, (_, direction, _) in enumerate(spec):
        if direction == "maximize":
            scaled[:, k] = 1.0 - scaled[:, k]
    fig = Figure(figsize=(max(6.0, 2.4 * len(spec)), 4.4))
    ax = fig.subplots()
    fixed_layout(fig, left=0.6, right=0.3, bottom=1.2)
    x = np.arange(len(spec))
    front = points["front"].to_numpy(bool)
    groups = points[group].fillna("?").astype(str).to_numpy()
    def lines(rows: np.ndarray) -> list[np.ndarray]:
        return [np.column_stack([x, row]) for row in rows]

    # one collection per colour: far cheaper to draw than a Line2D per trial
    ax.add_collection(LineCollection(lines(scaled[~front]), colors="#bbbbbb", linewidths=0.8,
                                     alpha=0.6, label="dominated"))
    for k, name in enumerate(sorted(set(groups[front]))):
        mine = scaled[front & (groups == name)]
        color = COLORS[k % len(COLORS)]
        ax.add_collection(LineCollection(lines(mine), colors=color, linewidths=1.8,
                                         label=f"front: {label(name)}"))
        ax.scatter(np.tile(x, len(mine)), mine.ravel(), color=color, s=9, zorder=3)
    ax.set_xticks(x, [axis_label(n, d, u, "\n") for n, d, u in spec], fontsize=8)
    ax.set_xlim(-0.1, len(spec) - 1 + 0.35)
    for k, (_, direction, _) in enumerate(spec):
        best, worst = (lo[k], hi[k]) if direction == "minimize" else (hi[k], lo[k])
        ax.annotate(f"{best:.3g}", (x[k], 0), xytext=(3, -12), textcoords="offset points",
                    fontsize=7)
        ax.annotate(f"{worst:.3g}", (x[k], 1), xytext=(3, 4), textcoords="offset points",
                    fontsize=7)
        ax.axvline(x[k], color="black", lw=0.6)
    ax.set_yticks([0, 1], ["best", "worst"])
    ax.set_ylim(-0.08, 1.08)
    fig.legend(loc="lower center", ncols=3, fontsize=7)
    return to_png(fig)


Panel = tuple[str, str, tuple[str, str] | None, bool]  # column, title, (low, high), log y


def grouped_bars(frame: pd.DataFrame, panels: Sequence[Panel], category: str,
                 series: str) -> bytes:
    """One panel per column; bars per `category`, one per `series`; error bars low..high."""
    cats = list(dict.fromkeys(frame[category]))
    kinds = list(dict.fromkeys(frame[series]))
    width = 0.8 / max(1, len(kinds))
    fig = Figure(figsize=(max(5.0, 1.0 + 0.5 * len(cats) * len(kinds)) * len(panels) / 1.6,
                          3.8), layout="constrained")
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
                      ha="right", fontsize=7)
        ax.set_title(label(title, 60), fontsize=9)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    return to_png(fig)


def ratio_bars(ratios: pd.DataFrame, title: str) -> bytes:
    """Horizontal bars: rows = workloads, columns = hardware ids, values = ratio (log x)."""
    n, m = ratios.shape
    fig = Figure(figsize=(7.5, 1.0 + 0.28 * n * m), layout="constrained")
    ax = fig.subplots()
    height = 0.8 / max(1, m)
    for k, hw in enumerate(ratios.columns):
        ys = np.arange(n) + (k - (m - 1) / 2) * height
        vals = ratios[hw].to_numpy(float)
        ok = np.isfinite(vals) & (vals > 0)
        # bars grow from the reference (1x): right is faster, left is slower
        color = COLORS[k % len(COLORS)]
        ax.barh(ys[ok], vals[ok] - 1.0, height, left=1.0, color=color, label=label(hw))
        ax.scatter(vals[ok], ys[ok], marker="|", s=120, color=color, zorder=3)
    finite = ratios.to_numpy(float)
    finite = finite[np.isfinite(finite) & (finite > 0)]
    lo, hi = (min(finite.min(), 1.0), max(finite.max(), 1.0)) if finite.size else (0.5, 2.0)
    ax.set_xscale("log")
    ax.set_xlim(lo / 1.5, hi * 1.5)
    times = FuncFormatter(lambda v, _: f"{v:.3g}×")
    ax.xaxis.set_major_formatter(times)
    ax.xaxis.set_minor_formatter(times)
    ax.tick_params(axis="x", which="both", labelsize=7)
    ax.set_yticks(np.arange(n), [label(w, 50) for w in ratios.index], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_title(label(title, 80), fontsize=9)
    fig.legend(loc="outside lower center", ncols=min(4, m), fontsize=7)
    ax.grid(axis="x", alpha=0.3, which="both")
    return to_png(fig)


def anytime_curves(curves: dict[str, np.ndarray], indicator: str,
                   x: np.ndarray | None = None, xlabel: str = "trials") -> bytes:
    """Median (line) and IQR (band) of an anytime indicator per strategy.

    `curves[strategy]`: runs x points array, NaN where a run had no value at that point;
    `x`: the points' positions (default: trial 1, 2, ...).
    """
    fig = Figure(figsize=(7.0, 4.0), layout="constrained")
    ax = fig.subplots()
    for k, (name, runs) in enumerate(curves.items()):
        at = np.arange(1, runs.shape[1] + 1) if x is None else np.asarray(x, dtype=float)
        ok = np.isfinite(runs).any(axis=0)
        q25, q50, q75 = (np.nanpercentile(runs[:, ok], q, axis=0) for q in (25, 50, 75))
        color = COLORS[k % len(COLORS)]
        ax.plot(at[ok], q50, color=color, ls=("-", "--", ":", "-.")[k % 4],
                label=f"{label(name)} (n={len(runs)})")
        ax.fill_between(at[ok], q25, q75, color=color, alpha=0.2, lw=0)
    ax.set_xlabel(label(xlabel, 80))
    ax.set_ylabel(label(f"{indicator} (median, IQR band)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return to_png(fig)


def attainment_surfaces(surfaces: dict[str, np.ndarray], spec: Spec, title: str,
                        reference: np.ndarray | None = None) -> bytes:
    """One panel per strategy with its median attainment surface (2 objectives), over the
    best points any run found (grey) when `reference` is given.

    Points are in the objectives' own units and directions; a surface is drawn as the boundary
    of the region it attains, out to the worst value plotted, so a one-point surface shows too.
    """
    (xn, xd, xu), (yn, yd, yu) = spec
    sign = np.array([1.0 if xd == "minimize" else -1.0, 1.0 if yd == "minimize" else -1.0])
    every = np.vstack([*surfaces.values(), *([reference] if reference is not None else [])])
    worst, low = (every * sign).max(axis=0), (every * sign).min(axis=0)  # minimisation space
    corner = worst + 0.05 * np.where(worst > low, worst - low, 1.0)

    def boundary(pts: np.ndarray) -> np.ndarray:
        m = pts * sign
        m = m[np.argsort(m[:, 0])]
        path = [[m[0, 0], corner[1]]]
        for i, (x, y) in enumerate(m):
            path += [[x, y], [m[i + 1, 0], y] if i + 1 < len(m) else [corner[0], y]]
        return np.array(path) * sign

    n = len(surfaces)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3.2 * cols + 0.6, 2.8 * rows + 0.9), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    for k, (name, pts) in enumerate(surfaces.items()):
        ax = axes[k]
        if reference is not None and len(reference):
            ref = boundary(reference)
            ax.plot(ref[:, 0], ref[:, 1], color="#999999", lw=1.0, ls="--")
            ax.scatter(reference[:, 0], reference[:, 1], color="#999999", s=10)
        line = boundary(pts)
        color = COLORS[k % len(COLORS)]
        ax.plot(line[:, 0], line[:, 1], color=color, lw=1.6)
        ax.scatter(pts[:, 0], pts[:, 1], color=color, s=18, marker=MARKERS[k % len(MARKERS)],
                   zorder=3)
        ax.set_title(label(name), fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.supxlabel(axis_label(xn, xd, xu), fontsize=9)
    fig.supylabel(axis_label(yn, yd, yu), fontsize=9)
    fig.suptitle(label(title + ("; grey: best points of all runs" if reference is not None
                                else ""), 90), fontsize=9)
    return to_png(fig)
