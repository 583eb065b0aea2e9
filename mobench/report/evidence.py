"""Who is ahead of whom in a comparison document, in one shape for every document kind: the
pairwise tests at each budget with their Holm-corrected p and the effect size A12 [95% CI].

Every "better" the report prints goes through `Pairwise.winner`: a side is ahead only when
p_holm < 0.05 and its A12 > 0.5, never by medians. A test that an older mobench wrote
without A12 gets it, and its interval, computed from the runs' hypervolumes at that budget
(the same formula, `mobench.compare.statistics`). The early-stopping targets document
(`benchmarks/multifidelity_targets.py`) stores runs only: its tests, each strategy against
full-fidelity random at equal training seconds, are computed here, Holm over them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mobench.compare.statistics import ALPHA
from mobench.report.rows import number

TARGETS_KIND = "multifidelity-targets"


@dataclass(frozen=True)
class Pairwise:
    """One pairwise test at one budget; `a12` = P(a > b) + P(a = b) / 2."""

    a: str
    b: str
    p_holm: float | None
    a12: float | None
    ci: tuple[float, float] | None

    def winner(self) -> str | None:
        """The side ahead: p_holm < ALPHA and A12 > 0.5 on its side; None otherwise."""
        if self.p_holm is None or self.p_holm >= ALPHA or self.a12 is None or self.a12 == 0.5:
            return None
        return self.a if self.a12 > 0.5 else self.b

    def other(self, side: str) -> str:
        return self.b if side == self.a else self.a

    def effect(self, side: str) -> tuple[float | None, tuple[float, float] | None]:
        """A12 and its interval from `side`'s point of view (P(side > other))."""
        if side == self.a or self.a12 is None:
            return self.a12, self.ci
        return 1.0 - self.a12, (None if self.ci is None else (1.0 - self.ci[1], 1.0 - self.ci[0]))

    def text(self, side: str) -> str:
        """'p_holm 0.003, A12 0.91 [0.67, 0.98]' with A12 from `side`'s point of view."""
        a12, ci = self.effect(side)
        p = "p_holm not recorded" if self.p_holm is None else f"p_holm {self.p_holm:.2g}"
        if a12 is None:
            return f"{p}, A12 not recorded"
        return f"{p}, A12 {a12:.2f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")


def samples(runs: Sequence[dict[str, Any]], strategy: str, budget: float,
            key: str = "hypervolume") -> list[float]:
    """Each run's `key` series at trial `budget` (its last value when the run is shorter)."""
    out = []
    for run in runs:
        series = run.get(key) if isinstance(run, dict) else None
        if str(run.get("strategy")) != strategy or not isinstance(series, list) or not series:
            continue
        value = number(series[min(int(budget), len(series)) - 1])
        if value is not None:
            out.append(value)
    return out


def effect_size(a: Sequence[float], b: Sequence[float]
                ) -> tuple[float | None, tuple[float, float] | None]:
    from mobench.compare.statistics import a12, a12_interval

    if not len(a) or not len(b):
        return None, None
    return a12(a, b), a12_interval(a, b)


def document_tests(doc: dict[str, Any]) -> dict[float, list[Pairwise]]:
    """A comparison document's tests per budget (each once), A12 from the runs where the
    test does not carry it."""
    runs = doc.get("runs") if isinstance(doc.get("runs"), list) else []
    out: dict[float, dict[tuple[str, str], Pairwise]] = {}
    for row in doc.get("final") or []:
        budget = number(row.get("budget")) if isinstance(row, dict) else None
        if budget is None or not isinstance(row.get("tests"), list):
            continue
        for t in row["tests"]:
            if not isinstance(t, dict) or (str(t.get("a")), str(t.get("b"))) in out.get(budget,
                                                                                        {}):
                continue
            a, b = str(t.get("a")), str(t.get("b"))
            a12, ci = number(t.get("a12")), t.get("a12_ci")
            ci = tuple(map(float, ci)) if isinstance(ci, list) and len(ci) == 2 \
                and all(number(c) is not None for c in ci) else None
            if a12 is None:
                a12, ci = effect_size(samples(runs, a, budget), samples(runs, b, budget))
            out.setdefault(budget, {})[(a, b)] = Pairwise(a, b, number(t.get("p_holm")), a12, ci)
    return {budget: list(tests.values()) for budget, tests in out.items()}


def hypervolume_at_seconds(run: dict[str, Any], seconds: float) -> float:
    """A run's hypervolume once it had spent `seconds` of training (0 before its first
    trial finished; its final value when it spent less)."""
    cost = np.asarray([number(c) for c in run.get("cumulative_cost_s") or []], dtype=float)
    hv = np.asarray([number(v) for v in run.get("hypervolume") or []], dtype=float)
    n = min(len(cost), len(hv))
    done = int(np.searchsorted(cost[:n], seconds + 1e-9, side="right"))
    return float(hv[done - 1]) if done else 0.0


def equal_seconds(doc: dict[str, Any]
                  ) -> tuple[float, dict[str, list[float]], list[Pairwise]] | None:
    """An early-stopping targets document at equal training seconds C (random's median
    for its trials): (C, each strategy's hypervolume per run at C, each strategy against
    random with Holm over them); None without C or random's runs."""
    from mobench.compare.statistics import compare_samples, holm

    seconds = number((doc.get("random") or {}).get("median_training_seconds")) \
        if isinstance(doc.get("random"), dict) else None
    runs = [r for r in doc.get("runs") or [] if isinstance(r, dict)]
    if seconds is None or not runs:
        return None
    at: dict[str, list[float]] = {}
    for run in runs:
        at.setdefault(str(run.get("strategy")), []).append(hypervolume_at_seconds(run, seconds))
    if "random" not in at:
        return None
    pairs = [(s, compare_samples(v, at["random"])) for s, v in at.items() if s != "random"]
    adjusted = holm([r["p"] for _, r in pairs]) if pairs else []
    tests = [Pairwise(s, "random", p, r["a12"], tuple(r["a12_ci"]))
             for (s, r), p in zip(pairs, adjusted, strict=True)]
    return seconds, at, tests
