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

DPI = 100
# tab10: ten colours told apart by most readers; with the markers and line styles below, eight
# strategies stay distinguishable even in greyscale
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#17becf", "#bcbd22", "#7f7f7f")  # tab10 with its grey last: grey is the baseline
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
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


def human_unit(name: str, unit: str, values: Sequence[float] | np.ndarray) -> tuple[float, str]:
    """(divisor, unit) putting `values` in the units the tables use: ms or s for times,
    KiB/MiB/GiB for bytes, % for accuracies; (1, unit) otherwise."""
    finite = np.asarray(values, dtype=float)
    finite = np.abs(finite[np.isfinite(finite)])
    typical = float(np.median(finite)) if finite.size else 1.0
    if unit == "s":
        for scale, text in ((1.0, "s"), (1e-3, "ms")):
            if typical >= scale:
                return scale, text
        return 1e-6, "µs"
    if unit == "B":
        for scale, text in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if typical >= scale:
                return float(scale), text
        return 1.0, "B"
    if not unit and name.endswith("accuracy") and finite.size and finite.max() <= 1:
        return 0.01, "%"
    return 1.0, unit


def plain_number(value: float, digits: int = 4) -> str:
    """A tick label without exponent: 100,000 not 1e+05, 0.00025 not 2.5e-04."""
    if not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{round(value):,}"
    return np.format_float_positional(value, precision=digits, unique=True, fractional=False,
                                      trim="-")


def plain_ticks(ax, axis: str = "y") -> None:
    """Plain numbers on an axis (no 1e7 offset, no 6×10⁻² on log scales, no 1e+05)."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: plain_number(v)))
    if target.get_scale() == "log":
        target.set_minor_formatter(FuncFormatter(
            lambda v, _: plain_number(v, 3) if f"{v:.1e}"[0] in "25" else ""))


def strategy_style(k: int) -> dict:
    return {"color": COLORS[k % len(COLORS)], "marker": MARKERS[k % len(MARKERS)],
            "ls": LINESTYLES[k % len(LINESTYLES)]}


def axis_label(name: str, direction: str, unit: str, sep: str = " ") -> str:
    arrow = "↓ lower is better" if direction == "minimize" else "↑ higher is better"
    return label(name + (f" [{unit}]" if unit else ""), 40) + sep + f"({arrow})"


def pareto_pairs(points: pd.DataFrame, spec: Spec, group: str = "strategy") -> bytes:
    """2-D projections for each objective pair, in human units (ms, MiB, %).

    `points`: one row per trial with `obj.<name>`, `feasible`, `front` (bool) and `group`.
    Feasible trials are coloured by group, front members drawn large with a black edge,
    infeasible trials (with measured values) as grey crosses.
    """
    points, spec = in_human_units(points, spec)
    pairs = list(combinations(range(len(spec)), 2))
    ncols = min(2, len(pairs))
    nrows = math.ceil(len(pairs) / ncols)
    groups = sorted(points[group].fillna("?").astype(str).unique())
    size = (7.5, 5.2) if len(pairs) == 1 else (5.6, 4.3)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (i, j) in zip(axes, pairs, strict=False):
        (xn, xd, xu), (yn, yd, yu) = spec[i], spec[j]
        sub = points.dropna(subset=[f"obj.{xn}", f"obj.{yn}"])
        stopped = sub["stopped"] if "stopped" in sub else pd.Series(False, index=sub.index)
        bad = sub[~sub["feasible"] & ~stopped]
        ax.scatter(bad[f"obj.{xn}"], bad[f"obj.{yn}"], marker="x", c="#999999", s=30,
                   label="infeasible (measured)" if len(bad) else None)
        for epoch, early in sub[stopped].groupby("stopped_at_epoch"):
            ax.scatter(early[f"obj.{xn}"], early[f"obj.{yn}"], marker=f"${int(epoch)}$",
                       c="#555555", s=70, label=f"stopped after epoch {int(epoch)}")
        for k, name in enumerate(groups):
            mine = sub[sub["feasible"] & (sub[group].fillna("?").astype(str) == name)]
            color, marker = COLORS[k % len(COLORS)], MARKERS[k % len(MARKERS)]
            rest, front = mine[~mine["front"]], mine[mine["front"]]
            ax.scatter(rest[f"obj.{xn}"], rest[f"obj.{yn}"], c=color, marker=marker, s=28,
                       alpha=0.45, label=label(name))
            ax.scatter(front[f"obj.{xn}"], front[f"obj.{yn}"], c=color, marker=marker, s=95,
                       edgecolors="black", linewidths=1.3, zorder=3)
        if len(spec) == 2:
            _staircase(ax, sub[sub["feasible"] & sub["front"]], spec)
        ax.set_xlabel(axis_label(xn, xd, xu), fontsize=10)
        ax.set_ylabel(axis_label(yn, yd, yu), fontsize=10)
        plain_ticks(ax, "x")
        plain_ticks(ax, "y")
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(axes[0].scatter([], [], c="white", edgecolors="black", s=95))
    labels.append("Pareto front (black edge)")
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
               fontsize=9)
    return to_png(fig)


def in_human_units(points: pd.DataFrame, spec: Spec) -> tuple[pd.DataFrame, list]:
    """The objective columns divided into human units, and the spec with those units."""
    points = points.copy()
    out = []
    for name, direction, unit in spec:
        col = f"obj.{name}"
        scale, text = human_unit(name, unit, points[col].to_numpy(float))
        points[col] = points[col].astype(float) / scale
        out.append((name, direction, text))
    return points, out


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
    points, spec = in_human_units(points, spec)
    names = [f"obj.{n}" for n, _, _ in spec]
    values = points[names].to_numpy(float)
    lo, hi = values.min(axis=0), values.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = (values - lo) / span
    for k, (_, direction, _) in enumerate(spec):
        if direction == "maximize":
            scaled[:, k] = 1.0 - scaled[:, k]
    fig = Figure(figsize=(max(7.0, 2.6 * len(spec)), 4.8), layout="constrained")
    ax = fig.subplots()
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
    ax.set_xticks(x, [axis_label(n, d, u, "\n") for n, d, u in spec], fontsize=9)
    ax.set_xlim(-0.1, len(spec) - 1 + 0.35)
    for k, (_, direction, _) in enumerate(spec):
        best, worst = (lo[k], hi[k]) if direction == "minimize" else (hi[k], lo[k])
        unit = spec[k][2]
        ax.annotate(f"{best:,.3g} {unit}".rstrip(), (x[k], 0), xytext=(3, -12),
                    textcoords="offset points", fontsize=8)
        ax.annotate(f"{worst:,.3g} {unit}".rstrip(), (x[k], 1), xytext=(3, 4),
                    textcoords="offset points", fontsize=8)
        ax.axvline(x[k], color="black", lw=0.6)
    ax.set_yticks([0, 1], ["best", "worst"])
    ax.set_ylim(-0.08, 1.08)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8)
    return to_png(fig)


OVERLAY_MAX = 3  # more strategies than this: small multiples against a baseline


def anytime_curves(curves: dict[str, np.ndarray], indicator: str,
                   x: np.ndarray | None = None, xlabel: str = "trials",
                   baseline: str = "random") -> bytes:
    """Median (line) and IQR (band) of an anytime indicator per strategy.

    `curves[strategy]`: runs x points array, NaN where a run had no value at that point;
    `x`: the points' positions (default: trial 1, 2, ...). Up to OVERLAY_MAX strategies share
    one panel; beyond that, small multiples: one panel per strategy, each over `baseline`
    (random search, else the first strategy) in grey, on shared axes.
    """
    names = list(curves)
    styles = {name: strategy_style(k) for k, name in enumerate(names)}

    def draw(ax, name: str, color: str | None = None, band: float = 0.2) -> None:
        runs = curves[name]
        at = np.arange(1, runs.shape[1] + 1) if x is None else np.asarray(x, dtype=float)
        ok = np.isfinite(runs).any(axis=0)
        q25, q50, q75 = (np.nanpercentile(runs[:, ok], q, axis=0) for q in (25, 50, 75))
        style = dict(styles[name], color=color or styles[name]["color"])
        ax.plot(at[ok], q50, lw=1.8, markevery=max(1, int(ok.sum()) // 8), markersize=5,
                label=f"{label(name)} (n={len(runs)})", **style)
        ax.fill_between(at[ok], q25, q75, color=style["color"], alpha=band, lw=0)

    if len(names) <= OVERLAY_MAX:
        fig = Figure(figsize=(7.5, 4.4), layout="constrained")
        ax = fig.subplots()
        for name in names:
            draw(ax, name)
        ax.set_xlabel(label(xlabel, 80))
        ax.set_ylabel(label(f"{indicator} (median, IQR band)"))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
        plain_ticks(ax, "x")
        return to_png(fig)
    base = baseline if baseline in curves else names[0]
    others = [n for n in names if n != base]
    cols = min(4, len(others))
    rows = math.ceil(len(others) / cols)
    fig = Figure(figsize=(3.3 * cols + 0.6, 2.7 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    for ax, name in zip(axes, others, strict=False):
        draw(ax, base, color="#888888", band=0.15)
        draw(ax, name, band=0.25)
        ax.set_title(label(name, 30), fontsize=10, color=styles[name]["color"])
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        plain_ticks(ax, "x")
    for ax in axes[len(others):]:
        ax.set_visible(False)
    fig.supxlabel(label(xlabel, 80), fontsize=10)
    fig.supylabel(label(f"{indicator} (median, IQR band)"), fontsize=10)
    fig.suptitle(label(f"each strategy (colour) against {base} (grey)", 90), fontsize=10)
    return to_png(fig)


def attainment_surfaces(surfaces: dict[str, np.ndarray], spec: Spec, title: str,
                        reference: np.ndarray | None = None) -> bytes:
    """One panel per strategy with its median attainment surface (2 objectives), over the
    best points any run found (grey) when `reference` is given.

    Points are in the objectives' own units and directions; a surface is drawn as the boundary
    of the region it attains, out to the worst value plotted, so a one-point surface shows too.
    """
    every = np.vstack([*surfaces.values(), *([reference] if reference is not None else [])])
    (xn, xd, xu), (yn, yd, yu) = spec
    (xs, xu), (ys, yu) = (human_unit(xn, xu, every[:, 0]), human_unit(yn, yu, every[:, 1]))
    divide = np.array([xs, ys])
    surfaces = {k: v / divide for k, v in surfaces.items()}
    reference = reference / divide if reference is not None else None
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
    fig = Figure(figsize=(3.6 * cols + 0.6, 3.0 * rows + 0.9), layout="constrained")
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
        ax.set_title(label(name), fontsize=10, color=color)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        plain_ticks(ax, "x")
        plain_ticks(ax, "y")
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.supxlabel(axis_label(xn, xd, xu), fontsize=10)
    fig.supylabel(axis_label(yn, yd, yu), fontsize=10)
    fig.suptitle(label(title + ("; grey: best points of all runs" if reference is not None
                                else ""), 90), fontsize=9)
    return to_png(fig)
