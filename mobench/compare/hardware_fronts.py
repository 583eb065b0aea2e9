"""Fronts of one workload measured on several hardware ids, side by side, and which hardware
reaches an accuracy target at the lowest training time, latency or memory.

The points per workload and hardware id come from `mobench.compare.hardware_points`. Per
hardware and config only its measured runs count where it has any (a transferred table's
predicted rows otherwise); hardware are compared like for like, on the configs they all have,
when there are at least MIN_SHARED of them.

A config's quality on a hardware is its first seed's run (one run per config everywhere, so a
table that repeats configs is not judged on less noisy values), its costs the median over
its runs. Quality (val_accuracy, or a GAN's fcd) is pooled across hardware (the median of the
first runs) only when the configs measured on two or more ids agree within the noise the
tables' repeats measure: one run per machine of the same config differ no more than two
seeds of one config on one machine (one-sided Mann-Whitney U, p >= 0.05, with at least
MIN_SHARED shared configs and MIN_REPEATS repeated ones); otherwise each hardware keeps its
own quality. Reachable quality is the best per-config quality measured on any hardware; the
targets are that best less 1%, 5% and 10% of it (for a minimised quality such as fcd: plus).

The report imports this module: it imports no optuna.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mobench.compare.hardware_points import COSTS, QUALITIES, Workload

TARGETS = (0.01, 0.05, 0.10)
MIN_SHARED = 5  # configs measured on 2+ hardware ids needed to test pooling
MIN_REPEATS = 5  # configs measured twice on one hardware id needed to know the noise
POOL_ALPHA = 0.05


def per_config(points: pd.DataFrame) -> pd.DataFrame:
    """One row per (hardware_id, config), from its measured runs where it has any (else its
    predicted ones): costs the median over its runs, quality its first seed's run (one run
    per config on every hardware, so that a machine whose table repeats configs is not
    judged on less noisy values than one that does not); a surrogate's points, which have
    no config, stay one row each."""
    points = points[points["hardware_id"].notna()]
    keyed = points[points["config"].notna()]
    loose = points[points["config"].isna()]
    measured = keyed.groupby(["hardware_id", "config"])["predicted"].transform(
        lambda p: not p.astype(bool).all())
    keyed = keyed[~(keyed["predicted"].astype(bool) & measured.astype(bool))]
    groups = keyed.sort_values("seed", na_position="last", kind="stable").groupby(
        ["hardware_id", "config"], sort=True)
    agg = groups.agg({**{c: "median" for c in COSTS}, "predicted": "all",
                      "source": "first"})
    agg["quality"] = groups["quality"].first()
    agg = agg.reset_index()[["hardware_id", "config", "quality", *COSTS, "predicted",
                             "source"]]
    return pd.concat([agg, loose[agg.columns]], ignore_index=True) if len(loose) else agg


def _first_runs(points: pd.DataFrame, column: str = "quality",
                keys: tuple[str, ...] = ("hardware_id", "config")) -> pd.DataFrame:
    """Measured runs with a config and `column`, the lowest seed's per `keys`."""
    measured = points[~points["predicted"].astype(bool) & points["config"].notna()
                      & points[column].notna()]
    return measured.sort_values("seed", na_position="last").groupby(
        list(keys), sort=False).first().reset_index()


def seed_differences(points: pd.DataFrame, column: str = "quality",
                     log: bool = False) -> np.ndarray:
    """|difference| between two measured seeds of one config on one hardware id (the
    noise): first two seeds of every config that has them (log ratio when `log`)."""
    measured = points[~points["predicted"].astype(bool) & points[column].notna()
                      & points["config"].notna()]
    out = []
    for _, runs in measured.groupby(["hardware_id", "source", "config"], sort=False):
        if len(runs) >= 2:
            a, b = runs.sort_values("seed")[column].to_numpy(float)[:2]
            out.append(abs(np.log(a / b)) if log else abs(a - b))
    return np.asarray(out, dtype=float)


@dataclass(frozen=True)
class Pooling:
    pooled: bool
    why: str


def pooling(points: pd.DataFrame) -> Pooling:
    """Whether quality may be pooled across the hardware ids of `points`, and why."""
    from scipy.stats import mannwhitneyu

    first = _first_runs(points)
    by_config = first.pivot_table(index="config", columns="hardware_id", values="quality")
    shared = by_config.dropna(thresh=2)
    between = np.asarray([abs(row[a] - row[b]) for _, row in shared.iterrows()
                          for i, a in enumerate(row.dropna().index)
                          for b in row.dropna().index[i + 1:]], dtype=float)
    within = seed_differences(points)
    if len(shared) < MIN_SHARED:
        return Pooling(False, f"each hardware keeps its own quality: {len(shared)} configs "
                       f"were measured on more than one hardware (pooling needs "
                       f"{MIN_SHARED})")
    if len(within) < MIN_REPEATS:
        return Pooling(False, f"each hardware keeps its own quality: {len(within)} configs "
                       f"were measured twice on one hardware, too few to know the noise "
                       f"(pooling needs {MIN_REPEATS})")
    p = float(mannwhitneyu(between, within, alternative="greater").pvalue)
    said = (f"{len(shared)} configs measured on more than one hardware differ by median "
            f"{np.median(between):.4g} between hardware, against {np.median(within):.4g} "
            f"between two seeds of {len(within)} repeated configs (one-sided Mann-Whitney U "
            f"p = {p:.2g})")
    if p >= POOL_ALPHA:
        return Pooling(True, f"quality pooled across hardware: {said}: they agree within "
                       "the measured noise")
    return Pooling(False, f"each hardware keeps its own quality: {said}: the hardware "
                   "differ beyond the measured noise")


@dataclass(frozen=True)
class Answer:
    """Per target and cost: each hardware's cheapest config reaching the target."""

    fraction: float
    target: float
    cost: str
    best: dict[str, tuple[float, str | None, bool]]  # hardware -> (cost, config, predicted)
    winner: str | None
    ratio: float | None  # the runner-up's cost / the winner's


@dataclass
class Comparison:
    """One workload on several hardware ids: per-config points, pooling, answers."""

    workload: Workload
    maximize: bool
    configs: pd.DataFrame
    pooling: Pooling
    reachable: float | None
    scope: str = ""  # which configs the fronts and answers compare
    answers: list[Answer] = field(default_factory=list)

    @property
    def hardware(self) -> list[str]:
        return sorted(self.configs["hardware_id"].unique())

    def costs(self) -> list[str]:
        return [c for c in COSTS if self.configs.groupby("hardware_id")[c].count()
                .gt(0).sum() >= 2]

    def front(self, hardware: str, cost: str) -> pd.DataFrame:
        """That hardware's configs on the (quality, cost) front, cheapest first."""
        from mobench.pareto import minimisation, nondominated_mask

        mine = self.configs[(self.configs["hardware_id"] == hardware)].dropna(
            subset=["quality", cost])
        if mine.empty:
            return mine
        values = minimisation(mine[["quality", cost]].to_numpy(float),
                              ["maximize" if self.maximize else "minimize", "minimize"])
        return mine[nondominated_mask(values)].sort_values(cost)


def target_value(reachable: float, fraction: float, maximize: bool) -> float:
    return reachable * (1 - fraction) if maximize else reachable * (1 + fraction)


def compare(workload: Workload, points: pd.DataFrame,
            fractions: tuple[float, ...] = TARGETS) -> Comparison:
    """Pool (or not), find the reachable quality and answer every (target, cost)."""
    maximize = QUALITIES[workload.quality]
    configs = per_config(points)
    decision = pooling(points) if workload.evidence == "measured" else Pooling(
        False, "each hardware keeps its own quality: a surrogate's fronts are predictions, "
        "not measurements of the same configs")
    if decision.pooled:  # a config's quality: the median of its first runs everywhere
        shared = _first_runs(points).groupby("config")["quality"].median()
        configs["quality"] = configs["config"].map(shared).fillna(configs["quality"])
    configs, scope = like_for_like(configs)
    qualities = configs["quality"].dropna()
    reachable = None if qualities.empty else float(qualities.max() if maximize
                                                   else qualities.min())
    result = Comparison(workload, maximize, configs, decision, reachable, scope)
    if reachable is None:
        return result
    for cost in result.costs():
        for fraction in fractions:
            result.answers.append(_answer(configs, cost, fraction,
                                          target_value(reachable, fraction, maximize),
                                          maximize))
    return result


def like_for_like(configs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The configs every hardware has, when at least MIN_SHARED are (a machine is not
    credited with configs only it tried); else every hardware's own. Said in a line."""
    hardware = configs["hardware_id"].nunique()
    keyed = configs[configs["config"].notna()]
    everywhere = keyed.groupby("config")["hardware_id"].nunique()
    shared = set(everywhere[everywhere == hardware].index)
    if len(shared) >= MIN_SHARED:
        left = len(configs) - len(keyed[keyed["config"].isin(shared)])
        return (keyed[keyed["config"].isin(shared)].reset_index(drop=True),
                f"like for like: the {len(shared)} configs measured (or predicted) on every "
                f"hardware" + (f"; {left} points of one hardware only left out" if left else ""))
    return configs, (f"each hardware on its own configs: {len(shared)} are on every hardware, "
                     f"too few to compare like for like (needs {MIN_SHARED})")


def _answer(configs: pd.DataFrame, cost: str, fraction: float, target: float,
            maximize: bool) -> Answer:
    reached = configs[(configs["quality"] >= target) if maximize
                      else (configs["quality"] <= target)].dropna(subset=[cost])
    best = {}
    for hw, rows in reached.groupby("hardware_id", sort=True):
        row = rows.loc[rows[cost].idxmin()]
        best[str(hw)] = (float(row[cost]), row["config"], bool(row["predicted"]))
    ranked = sorted(best, key=lambda h: best[h][0])
    winner = ranked[0] if ranked else None
    ratio = best[ranked[1]][0] / best[winner][0] if len(ranked) > 1 and best[winner][0] > 0 \
        else None
    return Answer(fraction, target, cost, best, winner, ratio)


def answer_text(answer: Answer, hardware: list[str]) -> str:
    """One line: the target, the winner and by how much, or who did not reach it."""
    from mobench.display import objective_value

    if answer.winner is None:
        return f"{answer.cost}: no hardware reaches it"
    value = objective_value(answer.cost, answer.best[answer.winner][0])
    missing = [h for h in hardware if h not in answer.best]
    by = (f", {answer.ratio:.3g}x less than the next" if answer.ratio is not None else "")
    gone = f"; not reached on {', '.join(missing)}" if missing else ""
    said = " (predicted)" if answer.best[answer.winner][2] else ""
    return f"{answer.cost} {value}{said} on {answer.winner}{by}{gone}"


DISAGREE_ALPHA = 0.01
DISAGREE_RATIO = 1.10  # and the typical ratio beyond 10%: noise-level drift is not flagged


def disagreements(points: pd.DataFrame) -> list[str]:
    """Sources of one hardware id whose training seconds for the same configs differ beyond
    the seed-to-seed noise its tables' repeats measure (one-sided Mann-Whitney U on |log
    ratio|, p < DISAGREE_ALPHA, and a median ratio beyond DISAGREE_RATIO): one line each."""
    from scipy.stats import mannwhitneyu

    first = _first_runs(points, "train_time", ("hardware_id", "source", "config"))
    out = []
    for hw, mine in first.groupby("hardware_id", sort=True):
        within = seed_differences(points[points["hardware_id"] == hw], "train_time", log=True)
        times = mine.pivot_table(index="config", columns="source", values="train_time")
        sources = list(times.columns)
        for i, a in enumerate(sources):
            for b in sources[i + 1:]:
                both = times[[a, b]].dropna()
                if len(both) < MIN_SHARED or len(within) < MIN_REPEATS:
                    continue
                between = np.abs(np.log(both[a] / both[b])).to_numpy(float)
                ratio = float(np.exp(np.median(np.log(both[b] / both[a]))))
                p = float(mannwhitneyu(between, within, alternative="greater").pvalue)
                if p < DISAGREE_ALPHA and max(ratio, 1 / ratio) > DISAGREE_RATIO:
                    out.append(f"{hw}: {b} trains the same {len(both)} configs {ratio:.3g}x "
                               f"as long as {a} (median), beyond the noise between two seeds "
                               f"(median {np.exp(np.median(within)):.3g}x; one-sided "
                               f"Mann-Whitney U p = {p:.2g}): was one of them measured with "
                               "other threads, pinning or load?")
    return out


def side_by_side(comparisons: dict[Workload, pd.DataFrame]) -> list[Comparison]:
    """A Comparison for every workload measured on two or more hardware ids."""
    out = []
    for workload, points in sorted(comparisons.items(), key=lambda kv: str(kv[0])):
        if points["hardware_id"].dropna().nunique() >= 2:
            out.append(compare(workload, points))
    return out


