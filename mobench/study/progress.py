"""What a tuning run's progress line says after each trial: the outcome, the front's size and
its hypervolume (never decreasing during a study)."""

from __future__ import annotations

from mobench.objectives import Objective
from mobench.study.outcome import TrialOutcome


def front_hv(best: list, complete: list, values: list[float],
             objectives: tuple[Objective, ...]) -> float | None:
    """Hypervolume of the front in the objectives' own units (minimisation form), against the
    worst values of the feasible finished trials pushed out by 10% of their range. That point
    only moves outwards and the front only improves, so the figure never decreases during a
    study; None with fewer than two such trials."""
    from mobench.pareto import bounds, is_feasible, minimisation

    rows = [list(t.values) for t in complete if is_feasible(t)] + [list(values)]
    if len(rows) < 2 or not best:
        return None
    import moocore
    import numpy as np

    directions = [o.direction.value for o in objectives]
    low, high = bounds(minimisation(rows, directions))
    reference = high + 0.1 * np.where(high > low, high - low, 1.0)
    front = minimisation([list(t.values) for t in best], directions)
    return float(moocore.hypervolume(front, ref=reference))


def trial_status(number: int, outcome: TrialOutcome, front: tuple[int, float | None],
                 objectives: tuple[Objective, ...]) -> dict[str, str]:
    """The progress bar's status (front size, hypervolume) and the plain line of a trial."""
    from mobench.display import objective_value

    size, hv = front
    summary = f"front {size}" + (f" | HV {hv:.4g}" if hv is not None else "")
    if outcome.feasible:
        state = " ".join(f"{o.name}={objective_value(o.name, outcome.values[o.name])}"
                         for o in objectives)
        if outcome.stopped_at is not None:
            state = f"stopped after epoch {outcome.stopped_at}: {state}"
    else:
        state = f"infeasible ({outcome.infeasible_reason or 'constraint violated'})"
    return {"status": summary, "line": f"trial #{number}: {state} | {summary}"}
