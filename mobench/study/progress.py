"""What a tuning run's progress line says after each trial: the outcome, the front's size, the
best value per objective on it, and a hypervolume only against a box fixed before the study.

A hypervolume needs a reference point. One taken from the trials seen so far moves outwards
when a worse trial arrives, so the figure rose with the front unchanged and exceeded 1; here
the box is fixed from what is known before any trial: an objective's natural bounds
(accuracy: 0..1), 0 for a non-negative cost, and the limit of a `--constraint` on it. Without
a bound for every objective no hypervolume is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mobench.objectives import Constraint, Objective
from mobench.study.outcome import TrialOutcome

# (best, worst) an objective cannot pass, in its own units and direction
NATURAL_BOUNDS = {"val_accuracy": (1.0, 0.0)}
# minimised objectives that are never negative: their best conceivable value is 0
NON_NEGATIVE = {"val_loss", "train_time", "peak_memory", "step_time", "compile_time", "latency",
                "params", "flops", "energy", "fcd"}


@dataclass(frozen=True)
class HVBox:
    """Per objective the best and worst value counted, in the objectives' own units."""

    best: tuple[float, ...]
    worst: tuple[float, ...]

    def describe(self, objectives: Sequence[Objective]) -> str:
        from mobench.display import objective_value

        def text(name: str, value: float) -> str:
            return "0" if value == 0 else objective_value(name, value)

        return " x ".join(f"{o.name} {text(o.name, b)}..{text(o.name, w)}"
                          for o, b, w in zip(objectives, self.best, self.worst, strict=True))


def hv_box(objectives: Sequence[Objective], constraints: Sequence[Constraint] = ()
           ) -> HVBox | None:
    """The fixed box of the progress hypervolume, or None when an objective has no bound."""
    best, worst = [], []
    for o in objectives:
        low, high = NATURAL_BOUNDS.get(o.name, (0.0 if o.name in NON_NEGATIVE else None, None))
        for c in constraints:  # a limit the study refuses to go past is a worst value
            if c.name != o.name:
                continue
            if o.direction.value == "minimize" and c.op in ("<=", "<"):
                high = c.limit if high is None else min(high, c.limit)
            if o.direction.value == "maximize" and c.op in (">=", ">"):
                high = c.limit if high is None else max(high, c.limit)
        if low is None or high is None or low == high:
            return None
        best.append(low)
        worst.append(high)
    return HVBox(tuple(best), tuple(worst))


@dataclass(frozen=True)
class FrontState:
    """The front after a trial: its size, the best value per objective, the boxed HV."""

    size: int
    best: dict[str, float]
    hv: float | None = None


def front_state(best_trials: list, objectives: Sequence[Objective],
                box: HVBox | None) -> FrontState:
    """Size, best values and hypervolume (a share of `box`, in [0, 1]) of the front members."""
    values = [list(t.values) for t in best_trials]
    best = {}
    for k, o in enumerate(objectives):
        column = [v[k] for v in values]
        if column:
            best[o.name] = max(column) if o.direction.value == "maximize" else min(column)
    hv = None
    if box is not None:
        import moocore
        import numpy as np

        sign = np.array([1.0 if o.direction.value == "minimize" else -1.0 for o in objectives])
        low, high = np.asarray(box.best) * sign, np.asarray(box.worst) * sign
        scaled = (np.asarray(values, dtype=float).reshape(-1, len(objectives)) * sign - low) \
            / (high - low)
        inside = scaled[(scaled < 1.0).all(axis=1)]  # beyond the box: adds nothing
        hv = float(moocore.hypervolume(np.clip(inside, 0.0, 1.0), ref=np.ones(len(objectives)))
                   ) if len(inside) else 0.0
    return FrontState(len(best_trials), best, hv)


def trial_status(number: int, outcome: TrialOutcome, front: FrontState,
                 objectives: tuple[Objective, ...]) -> dict[str, str]:
    """The progress bar's status (front size, best values, HV) and the plain line of a trial."""
    from mobench.display import objective_value

    summary = f"front {front.size}"
    if front.best:
        summary += " | best " + ", ".join(f"{o.name} {objective_value(o.name, front.best[o.name])}"
                                          for o in objectives if o.name in front.best)
    if front.hv is not None:
        summary += f" | HV {front.hv:.3f}"
    if outcome.feasible:
        state = " ".join(f"{o.name}={objective_value(o.name, outcome.values[o.name])}"
                         for o in objectives)
        if outcome.stopped_at is not None:
            state = f"stopped after epoch {outcome.stopped_at}: {state}"
    else:
        state = f"infeasible ({outcome.infeasible_reason or 'constraint violated'})"
    return {"status": summary, "line": f"trial #{number}: {state} | {summary}"}
