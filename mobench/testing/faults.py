"""Deterministic fault injection for the fault-tolerance tests (a trial that hangs or sleeps).

`MOBENCH_FAULTS="hang@3,sleep@5=20"`: trial number 3 hangs until killed; trial number 5 sleeps
20 s before it trains. The trial loop asks `injected` once per run; unset (the normal case) the
evaluator is returned as it is and no trial pays anything.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from mobench.errors import UsageError

ENV = "MOBENCH_FAULTS"


@functools.cache
def _plan(spec: str) -> dict[int, float]:
    plan: dict[int, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, _, rest = item.partition("@")
        number, _, seconds = rest.partition("=")
        try:
            if kind == "hang" and not seconds:
                plan[int(number)] = float("inf")
            elif kind == "sleep":
                plan[int(number)] = float(seconds)
            else:
                raise ValueError
        except ValueError:
            raise UsageError(f"{ENV}: {item!r} is not hang@N or sleep@N=SECONDS") from None
    return plan


def before_trial(number: int) -> None:
    """Sleep (or hang) if the environment asks it for this trial number."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    seconds = _plan(spec).get(number)
    if seconds is None:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def injected(evaluator: Any) -> Any:
    """`evaluator` itself, or, when MOBENCH_FAULTS is set, one that sleeps or hangs first."""
    if not os.environ.get(ENV):
        return evaluator

    def faulty(trial):
        before_trial(trial.number)
        return evaluator(trial)

    faulty.constraints = getattr(evaluator, "constraints", ())
    return faulty
