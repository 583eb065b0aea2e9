"""Resource constraints such as `peak_memory<=2GiB` or `params<=1e6`, parsed with units.

A constraint becomes an Optuna constraint value (<= 0 feasible), scaled by the limit so that
constraints in bytes and in seconds weigh alike. Cheap ones (`params`, `flops`) are checked
before training, so an infeasible config costs nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mobench.errors import UsageError
from mobench.objectives import CATALOGUE

UNITS = {
    "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "B": 1.0, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
    "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30, "TiB": 2.0**40,
    "s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0, "J": 1.0, "kJ": 1e3,
}
PATTERN = re.compile(
    r"^\s*(?P<name>[A-Za-z_]\w*)\s*(?P<op><=|>=|<|>)\s*"
    r"(?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>[A-Za-z]*)\s*$"
)


@dataclass(frozen=True)
class Constraint:
    name: str
    op: str
    limit: float
    text: str

    @property
    def cheap(self) -> bool:
        return self.name in CATALOGUE and CATALOGUE[self.name].cheap

    def violation(self, value: float) -> float:
        """Optuna's convention: <= 0 when satisfied; relative to the limit."""
        scale = abs(self.limit) or 1.0
        excess = value - self.limit if self.op in ("<=", "<") else self.limit - value
        if self.op in ("<", ">") and excess == 0:
            excess = 1e-12
        return excess / scale

    def satisfied(self, value: float) -> bool:
        return self.violation(value) <= 0


def parse_constraint(text: str) -> Constraint:
    m = PATTERN.match(text or "")
    if m is None:
        raise UsageError(f"constraint {text!r} does not parse; write NAME<=VALUE[UNIT], "
                         "e.g. peak_memory<=2GiB, params<=1e6, train_time<30s")
    unit = m["unit"]
    if unit not in UNITS:
        raise UsageError(f"constraint {text!r}: unknown unit {unit!r}; "
                         f"known units: {', '.join(u for u in UNITS if u)}")
    if m["name"] not in CATALOGUE:
        raise UsageError(f"constraint {text!r}: unknown measurement {m['name']!r}; "
                         f"constrain one of: {', '.join(sorted(CATALOGUE))}")
    limit = float(m["number"]) * UNITS[unit]
    if not math.isfinite(limit):
        raise UsageError(f"constraint {text!r}: the limit is not a finite number; "
                         "give one like, e.g. params<=1e9")
    return Constraint(m["name"], m["op"], limit, text.strip())
