"""The "Fronts across hardware" section: per workload measured on two or more hardware ids
(curves tables, tune runs, surrogates; `mobench.compare.hardware_fronts`), the fronts
overlaid (one colour and marker per hardware) and, per accuracy target, which hardware
reaches it at the lowest training time, latency or memory, and by how much.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure as MplFigure

from mobench.report import plots
from mobench.report.formats import MISSING, fmt
from mobench.report.load import Results
from mobench.report.render import Details, Figure, Heading, Section, Table, Text

COST_TITLES = {"train_time": "training time", "latency": "inference latency (batch 1, p50)",
               "peak_memory": "peak memory (allocator, training)"}


INTRO = ("Per workload (a suite, its data and epochs) measured on more than one hardware id, "
         "on the configs every hardware has when there are enough of them. A config's costs "
         "are the medians over its runs there, its quality that hardware's first-seed run "
         "(measured runs preferred to a transferred table's predicted ones). Reachable "
         "quality is the best per-config quality measured on any hardware; a target is that "
         "best less 1%, 5% or 10% of it (fcd: plus). Per target and cost the table names the "
         "hardware whose cheapest config reaching the target costs least, and the next "
         "hardware's cost divided by it.")


def hardware_fronts(results: Results) -> Section | None:
    """The workloads that involve your runs (one of your documents, or one of the machines
    your documents were measured on); the others, reference data about other machines, are
    folded in the reference section (`reference_fronts`)."""
    found, skipped = workload_comparisons(results)
    yours = [c for c, mine in found if mine]
    if not yours and not skipped:
        return None
    blocks: list = [Text(INTRO)] if yours else []
    for comparison in yours:
        blocks.extend(comparison_blocks(comparison))
    if skipped:
        blocks.append(Text("Left out (could not be read): " + "; ".join(
            f"{s}: {why}" for s, why in skipped), warning=True))
    return Section("Fronts across hardware", "hardware-fronts", blocks)


def reference_fronts(results: Results) -> list:
    """Fronts across hardware measured on reference data only, one fold per workload."""
    found, _ = workload_comparisons(results)
    shipped = [c for c, mine in found if not mine]
    if not shipped:
        return []
    return [Heading("Fronts across hardware (reference)"), Text(INTRO),
            *(Details(str(c.workload), comparison_blocks(c)[1:]) for c in shipped)]


# per Results: its section and the reference section's fold read the tables once
_COMPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def workload_comparisons(results: Results) -> tuple[list[tuple[object, bool]],
                                                    list[tuple[str, str]]]:
    """Every workload on two or more hardware ids, each with whether it involves your runs
    (one of your documents among its points, or one of your machines among its hardware);
    and the documents that could not be read (source, why). Computed once per `results`."""
    if results not in _COMPARED:
        _COMPARED[results] = _compare(results)
    return _COMPARED[results]


def _compare(results: Results) -> tuple[list[tuple[object, bool]], list[tuple[str, str]]]:
    from mobench.compare.hardware_fronts import side_by_side
    from mobench.compare.hardware_points import gather

    skipped: list[tuple[str, str]] = []
    gathered = gather(results.documents, on_problem=lambda s, why: skipped.append((s, why)))
    frame = results.frame
    machines = set(frame.loc[~frame["source"].isin(results.reference), "hardware_id"]
                   .dropna().astype(str)) if len(frame) else set()
    yours = {w: points for w, points in gathered.items()
             if machines & set(points["hardware_id"].dropna().astype(str))
             or any(not _is_reference(str(s), results) for s in points["source"].unique())}
    shipped = {w: points for w, points in gathered.items() if w not in yours}
    found = [(c, True) for c in side_by_side(yours)] + \
        [(c, False) for c in side_by_side(shipped)]
    return found, skipped


def _is_reference(source: str, results: Results) -> bool:
    """A point's source is a document, or a curves table's CSV beside its JSON header."""
    return source in results.reference or \
        str(Path(source).with_suffix(".json")) in results.reference


def comparison_blocks(c) -> list:
    from mobench.compare.hardware_fronts import TARGETS, target_value

    quality = c.workload.quality
    best = c.configs.loc[c.configs["quality"].idxmax() if c.maximize
                         else c.configs["quality"].idxmin()]
    counts = c.configs.groupby("hardware_id").size()
    out: list = [
        Heading(str(c.workload)),
        Text(f"Hardware: {', '.join(f'{h} ({counts[h]} configs)' for h in c.hardware)}. "
             f"Reachable {quality}: {fmt('obj.' + quality, c.reachable)}, on "
             f"{best['hardware_id']}; targets "
             + ", ".join(f"best {f:.0%}: {'≥' if c.maximize else '≤'} "
                         f"{target_value(c.reachable, f, c.maximize):.4g}" for f in TARGETS)
             + "."),
        Text(f"Compared {c.scope}; {c.pooling.why}.")]
    costs = c.costs()
    if costs:
        out.append(Figure(front_overlay(c, costs), f"{c.workload}: fronts per hardware",
                          "Per hardware its configs (small; hollow where the cost is a "
                          "transfer's prediction) and its front of quality against each cost "
                          "(large, joined); dotted: the targets. Log cost axes."))
    varying = varying_names(c.configs["config"].dropna().unique())
    rows = []
    for a in c.answers:
        cells = []
        for hw in c.hardware:
            got = a.best.get(hw)
            cells.append(MISSING if got is None else fmt(f"obj.{a.cost}", got[0])
                         + (" (predicted)" if got[2] else ""))
        winner_config = a.best[a.winner][1] if a.winner else None
        tied = sorted(h for h, got in a.best.items() if a.winner and got[0] == a.best[
            a.winner][0])
        lowest = a.winner or "none reaches it"
        if len(tied) > 1:
            lowest = "tied: " + ", ".join(tied)
        rows.append([f"best {a.fraction:.0%} ({'≥' if c.maximize else '≤'} {a.target:.4g})",
                     COST_TITLES[a.cost], *cells, lowest,
                     f"{a.ratio:.3g}x" if a.ratio is not None else MISSING,
                     short_config(winner_config, varying)])
    if rows:
        out.append(Table(["target", "cost", *c.hardware, "lowest", "next / lowest",
                          "lowest's config"], rows,
                         caption=f"{c.workload}: the cheapest config reaching each target, "
                         "per hardware ('-': not reached there)"))
    return out


def short_config(key: str | None, varying: set[str] | None = None) -> str:
    """`name=value, ...` of the hyperparameters that vary between the compared configs."""
    if not key:
        return MISSING
    values = json.loads(key)
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                     for k, v in values.items() if varying is None or k in varying)


def varying_names(keys) -> set[str]:
    """Hyperparameters with more than one value among the configs `keys` (JSON texts)."""
    seen: dict[str, set[str]] = {}
    for key in keys:
        for name, value in json.loads(key).items():
            seen.setdefault(name, set()).add(json.dumps(value))
    return {name for name, values in seen.items() if len(values) > 1}


def front_overlay(c, costs: list[str]) -> bytes:
    """One panel per cost: quality against cost, a colour and marker per hardware."""
    from mobench.compare.hardware_fronts import TARGETS, target_value
    from mobench.compare.hardware_points import COSTS

    quality = c.workload.quality
    q_scale, q_unit = plots.human_unit(quality, "", c.configs["quality"].to_numpy(float))
    fig = MplFigure(figsize=(5.2 * len(costs), 4.6), layout="constrained")
    axes = fig.subplots(1, len(costs), squeeze=False).ravel()
    for ax, cost in zip(axes, costs, strict=True):
        unit = COSTS[cost][2]
        scale, text = plots.human_unit(cost, unit, c.configs[cost].dropna().to_numpy(float))
        for k, hw in enumerate(c.hardware):
            style = plots.strategy_style(k)
            mine = c.configs[c.configs["hardware_id"] == hw].dropna(subset=["quality", cost])
            guessed = mine["predicted"].astype(bool)
            ax.scatter(mine.loc[~guessed, cost] / scale, mine.loc[~guessed, "quality"] / q_scale,
                       s=12, alpha=0.3, color=style["color"], marker=style["marker"])
            ax.scatter(mine.loc[guessed, cost] / scale, mine.loc[guessed, "quality"] / q_scale,
                       s=14, alpha=0.5, facecolors="none", edgecolors=style["color"],
                       marker=style["marker"])
            front = c.front(hw, cost)
            ax.step(front[cost] / scale, front["quality"] / q_scale,
                    where="post" if c.maximize else "pre", color=style["color"],
                    ls=style["ls"], lw=1.4)
            ax.scatter(front[cost] / scale, front["quality"] / q_scale, s=55,
                       color=style["color"], marker=style["marker"], edgecolors="black",
                       linewidths=0.8, zorder=3, label=plots.label(hw))
        for fraction in TARGETS:
            ax.axhline(target_value(c.reachable, fraction, c.maximize) / q_scale, ls=":",
                       color="#555555", lw=0.8)
        if np.nanmin(c.configs[cost].to_numpy(float)) > 0:
            ax.set_xscale("log")
        ax.set_xlabel(plots.axis_label(COST_TITLES[cost].split(" (")[0], "minimize", text),
                      fontsize=10)
        ax.set_ylabel(plots.axis_label(quality, "maximize" if c.maximize else "minimize",
                                       q_unit), fontsize=10)
        plots.plain_ticks(ax, "x")
        plots.plain_ticks(ax, "y")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
               fontsize=9)
    return plots.to_png(fig)
