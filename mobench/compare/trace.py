"""What one (strategy, seed) run of a comparison produced, trial by trial: shared by the
protocol's full-fidelity runs and the multi-fidelity ones (`compare.multifidelity`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunTrace:
    """Everything one (strategy, seed) run produced, trial by trial."""

    strategy: str
    seed: int
    points: list[list[float]]  # minimisation space; NaN where infeasible
    feasible: list[bool]
    cost_s: list[float]
    overhead_s: list[float]
    epochs: list[int] = field(default_factory=list)  # multi-fidelity: epoch each trial reached
    rungs: dict[str, int] = field(default_factory=dict)  # multi-fidelity: trials per rung epoch
    full_epochs: int | None = None  # multi-fidelity: the epochs of a fully trained config
