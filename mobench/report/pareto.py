"""Pareto fronts of tuning runs, per problem: suite, objective set, hardware, dataset, epochs.

Runs of the same suite with the same objectives (names and directions), hardware, dataset and
epochs are pooled; the pooled front is computed from measured values of feasible, fully trained
trials only. Trials stopped early (a multi-fidelity strategy's, PRUNED) are plotted at the
values they had when stopped, drawn as their epoch number, and are never front members.
Infeasible trials appear as grey crosses where their values were measured; trials without a
measured value for an axis are left out of that plot (documents never carry placeholders).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mobench.pareto import minimisation, nondominated_mask
from mobench.report import plots
from mobench.report.formats import MISSING, fmt, present
from mobench.report.load import Results
from mobench.report.problems import epochs_phrase, tuning_title
from mobench.report.render import Figure, Heading, Section, Table, Text
from mobench.report.rows import OBJ, PARAM

MAX_FRONT_ROWS = 100


def pooled_front(trials: pd.DataFrame, spec) -> pd.Series:
    """Front membership over the pooled feasible trials with every objective measured."""
    cols = [f"{OBJ}{n}" for n, _, _ in spec]
    cols_present = [c for c in cols if c in trials]
    front = pd.Series(False, index=trials.index)
    if len(cols_present) < len(cols):
        return front
    eligible = trials[trials["feasible"].fillna(False).astype(bool)].dropna(subset=cols)
    if not eligible.empty:
        mask = nondominated_mask(minimisation(eligible[cols].to_numpy(float),
                                             [d for _, d, _ in spec]))
        front[eligible.index[mask]] = True
    return front


def pareto(results: Results) -> Section | None:
    """One subsection per (suite, objectives, hardware, dataset, epochs) group of tuning runs."""
    frame = results.of_kind("tuning")
    if frame.empty:
        return None
    blocks: list = []
    for (suite, spec, hw, dataset, epochs), trials in tuning_groups(frame):
        blocks.extend(group_blocks(trials, suite, spec, hw, dataset, epochs))
    return Section("Pareto fronts of your tuning runs", "pareto", blocks)


def tuning_groups(frame: pd.DataFrame):
    """((suite, spec, hardware_id, dataset, epochs), trials) of the tuning rows, '?' where
    unknown: runs trained for different epochs are different problems, never one front."""
    keys = ["suite", "objective_spec", "hardware_id", "dataset", "epochs"]
    if "epochs" not in frame:
        frame = frame.assign(epochs=np.nan)
    epochs = [f"{e:g}" if present(e) else "?" for e in frame["epochs"]]
    groups = frame.assign(**{k: frame[k].fillna("?") for k in ("suite", "hardware_id",
                                                                 "dataset")}, epochs=epochs)
    return groups.groupby(keys, sort=True)


def with_front(trials: pd.DataFrame, spec) -> pd.DataFrame:
    """The trials with every objective column, `feasible` and `stopped` as bool and the pooled
    `front` (feasible, fully trained trials only)."""
    trials = trials.copy()
    for n, _, _ in spec:
        if f"{OBJ}{n}" not in trials:
            trials[f"{OBJ}{n}"] = np.nan
    trials["stopped"] = (trials["stopped_at_epoch"].notna() if "stopped_at_epoch" in trials
                         else False)
    trials["feasible"] = trials["feasible"].fillna(False).astype(bool) & ~trials["stopped"]
    trials["front"] = pooled_front(trials, spec)
    return trials


def group_blocks(trials: pd.DataFrame, suite: str, spec, hw: str, dataset: str,
                 epochs) -> list:
    cols = [f"{OBJ}{n}" for n, _, _ in spec]
    trials = with_front(trials, spec)
    out: list = [Heading(tuning_title(suite, spec, dataset, epochs, hw)),
                 Text(f"{trials['source'].nunique()} run(s), {len(trials)} trials; the front "
                      "holds fully trained configurations only"
                      + (f" ({epochs_phrase(epochs)})." if epochs_phrase(epochs)[0].isdigit()
                         else "."))]
    out.append(runs_table(trials))
    measured = trials[cols].notna()
    complete = measured.all(axis=1)
    stopped = trials["stopped"] & measured.any(axis=1)
    bad = (~trials["feasible"]) & ~trials["stopped"] & measured.any(axis=1)
    unmeasured = ~measured.any(axis=1)
    front = trials[trials["front"]]
    if len(spec) >= 2 and (trials["feasible"] | trials["stopped"]).any():
        out.append(Figure(
            plots.pareto_pairs(trials[measured.any(axis=1)], spec),
            f"Pareto projections for {suite}",
            f"Objective pairs; front members ({len(front)}) large with a black edge; "
            + (f"{int(stopped.sum())} trial(s) stopped early drawn as the epoch they reached "
               "(not front members); " if stopped.any() else "")
            + f"{int(bad.sum())} infeasible trial(s) with measured values as grey crosses"
            + (f"; {int(unmeasured.sum())} trial(s) without measured values (failed) not "
               "plotted" if unmeasured.any() else "") + "."))
    if len(spec) > 2:
        feasible = trials[trials["feasible"] & complete]
        if len(feasible) >= 1:
            out.append(Figure(
                plots.parallel_coordinates(feasible, spec),
                f"parallel coordinates for {suite}",
                f"Parallel coordinates of {len(feasible)} feasible trials with every objective "
                "measured (better end at the bottom); front members coloured."))
    out.append(front_table(front, spec))
    return out


def runs_table(trials: pd.DataFrame) -> Table:
    rows = []
    for _, t in trials.groupby("source", sort=False):
        state = t["status"].fillna("?")
        rows.append([t["run"].iloc[0], fmt("", t["strategy"].iloc[0]), str(len(t)),
                     str(int((state == "complete").sum())), str(int(t["feasible"].sum())),
                     str(int(((state == "complete") & ~t["feasible"]).sum())),
                     str(int((state != "complete").sum())),
                     str(int(t["on_front"].fillna(False).sum())),
                     str(int(t["front"].sum())), stopped_text(t), fmt("", t["created_at"].iloc[0])])
    return Table(["run", "strategy", "trials", "complete", "feasible", "infeasible",
                  "failed / pruned / running", "own front", "on pooled front",
                  "stopped early (epoch: trials)", "created_at"],
                 rows, caption="Runs in this group; a multi-fidelity strategy (mo-asha) stops "
                 "trials at rung epochs, which end pruned with what they measured there")


def stopped_text(trials: pd.DataFrame) -> str:
    """'1: 5, 3: 2' (trials stopped after each epoch), or '-' for a full-fidelity run."""
    stopped = trials["stopped_at_epoch"].dropna() if "stopped_at_epoch" in trials else []
    if not len(stopped):
        return MISSING
    counts = pd.Series(stopped).astype(int).value_counts().sort_index()
    return ", ".join(f"{epoch}: {n}" for epoch, n in counts.items())


def front_table(front: pd.DataFrame, spec) -> Table:
    """Front members: where they come from, their objective values and their parameters."""
    cols = [f"{OBJ}{n}" for n, _, _ in spec]
    params = sorted(c for c in front.columns if c.startswith(PARAM) and front[c].notna().any())
    first_name, first_dir, _ = spec[0]
    ordered = front.sort_values(cols[0], ascending=first_dir == "minimize")
    rows = []
    for _, r in ordered.head(MAX_FRONT_ROWS).iterrows():
        rows.append([fmt("", r["strategy"]), r["run"], fmt("", r["trial"]),
                     *(fmt(c, r[c]) for c in cols),
                     *(param_text(r[c]) for c in params)])
    more = len(ordered) - MAX_FRONT_ROWS
    caption = f"Pareto front: {len(ordered)} member(s), sorted by {first_name}" + (
        f"; first {MAX_FRONT_ROWS} shown, {more} more" if more > 0 else "")
    headers = ["strategy", "run", "trial", *(n for n, _, _ in spec),
               *(c.removeprefix(PARAM) for c in params)]
    return Table(headers, rows, caption=caption)


def param_text(value) -> str:
    if not present(value):
        return MISSING
    return f"{value:.4g}" if isinstance(value, float) else str(value)
