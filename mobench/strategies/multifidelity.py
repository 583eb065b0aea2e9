"""Multi-objective successive halving: MO-ASHA and MO-Hyperband, the stopping variant.

A trial trains epoch by epoch. At each rung (epochs `min_epochs * eta**k` below the suite's
epochs) its objective vector joins the vectors recorded there before it, and it continues
only when it ranks in the top `1/eta` of them (position `p` of `n`, 0-based, with
`p < n / eta`; the first trial at a rung always continues). No trial waits for a rung to
fill, so promotion is asynchronous, as in ASHA (Li et al., 2020) and Syne Tune's MOASHA
(Schmucker et al., 2021), whose stopping rule this is.

The multi-objective order at a rung is MOASHA's (Schmucker et al., 2021; Salinas et al.,
2021), as Syne Tune's `NonDominatedPriority` computes it: non-dominated sorting first; within
one front, an epsilon-net (Clarkson's greedy farthest-point order): start from an extreme, then
repeatedly take the point farthest from those already taken. Chosen over NSGA-II's crowding
distance because it is what MOASHA's authors use and because it stays well defined for a
front of two points, the usual case at a young rung. Two choices differ from Syne Tune's
code and are kept on purpose: distances are taken after min-max normalisation over the
rung's vectors (Syne Tune uses raw values, where seconds dwarf an accuracy in [0, 1]); and
the net starts from every objective's best point in turn (Syne Tune starts from the first
objective's), so each objective's best comes first in any number of objectives (with two,
the order is the same: the farthest point of a 2-D front from one end is the other end).
Exact ties go to the earlier row, so a rung's rows in trial-number order give every worker
the same order.

MO-Hyperband runs several brackets, each a MO-ASHA whose first rung is one rung higher than
the previous one's (the last bracket has no rung: full fidelity). A new trial joins bracket
`k` with probability proportional to Hyperband's number of configurations started in it,
`ceil((s_max + 1) * eta**s / (s + 1))` with `s` the bracket's number of rungs (Li et al.,
2018): 27, 12, 6, 4 at 10 epochs and eta 3.

Which configurations to try comes from any sampler strategy (`mo-asha:motpe`, a BOHB-like
variant); `random` by default. Options follow as `:eta=E` and `:min=M` (first rung epoch),
e.g. `mo-asha:motpe:eta=2` or `mo-hyperband:min=2`. The sampler sees finished trials only
(`mobench.strategies.proposer`). Pure: numpy and moocore only, no Optuna or TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mobench.errors import UsageError, unknown_name
from mobench.pareto import bounds, normalise, pareto_ranks

KINDS = ("mo-asha", "mo-hyperband")
BASELINES = ("st-moasha",)  # Syne Tune's MOASHA itself (mobench.strategies.synetune)
ETA = 3
MIN_EPOCHS = 1


@dataclass(frozen=True)
class MultiFidelity:
    """A parsed multi-fidelity strategy name: `mo-asha`, `mo-asha:motpe`, `mo-asha:eta=2`."""

    kind: str
    proposer: str = "random"
    eta: int = ETA
    min_epochs: int = MIN_EPOCHS

    @property
    def name(self) -> str:
        parts = [self.kind, *([self.proposer] if self.proposer != "random" else []),
                 *([f"eta={self.eta}"] if self.eta != ETA else []),
                 *([f"min={self.min_epochs}"] if self.min_epochs != MIN_EPOCHS else [])]
        return ":".join(parts)


def is_multi_fidelity(name: str) -> bool:
    return name in BASELINES or name.partition(":")[0] in KINDS


def check_multi_fidelity(name: str) -> str | None:
    """A UsageError for a bad name or a missing package; the proposing sampler, if any."""
    if name in BASELINES:
        from mobench.strategies.synetune import check_available

        check_available()
        return None
    return parse_multi_fidelity(name).proposer


def parse_multi_fidelity(name: str) -> MultiFidelity:
    """`KIND[:SAMPLER][:eta=E][:min=M]` -> MultiFidelity; a one-line UsageError otherwise."""
    from mobench.strategies import registry

    kind, colon, rest = name.partition(":")
    if kind not in KINDS:
        raise unknown_name("multi-fidelity strategy", kind, KINDS)
    parts = rest.split(":") if colon else []
    options = dict(part.partition("=")[::2] for part in parts if "=" in part)
    samplers = [part for part in parts if "=" not in part]
    if "" in samplers:
        raise UsageError(f"strategy {name!r}: name the sampler after ':', e.g. {kind}:motpe")
    if len(samplers) > 1 or len(options) < len(parts) - len(samplers):
        raise UsageError(f"strategy {name!r}: expected {kind}[:SAMPLER][:eta=E][:min=M], "
                         f"e.g. {kind}:motpe:eta=3")
    unknown = sorted(set(options) - {"eta", "min"})
    if unknown:
        raise UsageError(f"strategy {name!r}: unknown option {unknown[0]!r} (options: eta, min)")
    eta = _option(name, options, "eta", ETA, 2, "the reduction factor")
    min_epochs = _option(name, options, "min", MIN_EPOCHS, 1, "the first rung's epoch")
    proposer = samplers[0] if samplers else "random"
    if proposer == "grid" or is_multi_fidelity(proposer):
        raise UsageError(f"strategy {name!r}: {proposer!r} cannot propose configurations to "
                         f"{kind}; use a sampler such as random, motpe or nsga2")
    if proposer not in registry():
        raise unknown_name("sampler of " + kind, proposer, registry())
    return MultiFidelity(kind, proposer, eta, min_epochs)


def _option(name: str, options: dict[str, str], key: str, default: int, least: int,
            what: str) -> int:
    text = options.get(key)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) < least:
        raise UsageError(f"strategy {name!r}: {key}={text!r} must be an integer >= {least} "
                         f"({what})")
    return int(text)


def check_epochs(spec: MultiFidelity, max_epochs: int) -> None:
    """A one-line UsageError unless there is a rung below the last of `max_epochs` epochs."""
    if max_epochs <= spec.min_epochs:
        fix = "train for more --epochs" if spec.min_epochs == MIN_EPOCHS else \
            f"lower min={spec.min_epochs}"
        raise UsageError(f"strategy {spec.name!r} judges trials at rung epochs from "
                         f"{spec.min_epochs} below the last, but trials train for {max_epochs} "
                         f"epoch{'s' if max_epochs != 1 else ''}: no rung; {fix}")


def rung_levels(max_epochs: int, eta: int = ETA, min_epochs: int = MIN_EPOCHS) -> list[int]:
    """Epochs at which trials are judged: min_epochs * eta**k below max_epochs."""
    if eta < 2 or min_epochs < 1 or max_epochs < 1:
        raise UsageError(f"rungs need eta >= 2, min_epochs >= 1 and epochs >= 1 "
                         f"(got {eta}, {min_epochs}, {max_epochs})")
    levels, r = [], min_epochs
    while r < max_epochs:
        levels.append(r)
        r *= eta
    return levels


def brackets(spec: MultiFidelity, max_epochs: int) -> list[list[int]]:
    """Rung levels of each bracket: one for MO-ASHA; for MO-Hyperband one per first rung,
    down to a bracket without rungs."""
    base = rung_levels(max_epochs, spec.eta, spec.min_epochs)
    if spec.kind == "mo-asha":
        return [base]
    return [base[k:] for k in range(len(base) + 1)]


def bracket_weights(levels: list[list[int]], eta: int = ETA) -> np.ndarray:
    """Hyperband's share of new configurations per bracket: n_s = ceil((s_max + 1) * eta**s /
    (s + 1)), s = the bracket's number of rungs."""
    s_max = max(len(b) for b in levels)
    n = np.array([math.ceil((s_max + 1) * eta ** len(b) / (len(b) + 1)) for b in levels],
                 dtype=float)
    return n / n.sum()


def draw_bracket(rng: np.random.Generator, weights: np.ndarray) -> int:
    """A new trial's bracket, drawn with `weights` (bracket 0 when there is one)."""
    return 0 if len(weights) == 1 else int(rng.choice(len(weights), p=weights))


def epsilon_net(points: Any) -> np.ndarray:
    """Indices of `points`, spread out first: each objective's best (lowest) point in turn,
    then repeatedly the point farthest (Euclidean) from those already taken; ties go to the
    earlier row."""
    points = np.asarray(points, dtype=float)
    order: list[int] = []
    for column in points.T:
        best = int(np.argmin(column))
        if best not in order:
            order.append(best)
    gap = np.min(np.linalg.norm(points[:, None, :] - points[order][None, :, :], axis=2), axis=1)
    gap[order] = -np.inf
    while len(order) < len(points):
        far = int(np.argmax(gap))
        order.append(far)
        gap = np.minimum(gap, np.linalg.norm(points - points[far], axis=1))
        gap[far] = -np.inf
    return np.array(order, dtype=int)


def promotion_order(points: Any) -> np.ndarray:
    """Indices of `points` (minimisation rows), best first: non-dominated rank, then the
    epsilon-net order within the rank (on the points min-max normalised over all rows)."""
    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return np.zeros(0, dtype=int)
    ranks = pareto_ranks(points)
    norm = normalise(points, *bounds(points))
    order = []
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        order.extend(members[epsilon_net(norm[members])])
    return np.array(order, dtype=int)


def in_top_share(points: Any, index: int, eta: int = ETA) -> bool:
    """Whether row `index` ranks in the top 1/eta of `points`: position p of n, p < n/eta."""
    points = np.asarray(points, dtype=float)
    position = int(np.flatnonzero(promotion_order(points) == index)[0])
    return position < len(points) / eta


def continues(recorded: list[Any], vector: Any, eta: int = ETA) -> bool:
    """Whether `vector` ranks in the top 1/eta of `recorded` plus itself."""
    if not len(recorded):
        return True
    points = np.vstack([np.asarray(recorded, dtype=float),
                        np.asarray(vector, dtype=float)[None, :]])
    return in_top_share(points, len(points) - 1, eta)


@dataclass
class Rungs:
    """One study's rung bookkeeping in memory: the vectors recorded at each (bracket, rung)."""

    spec: MultiFidelity
    max_epochs: int
    seed: int = 0
    levels: list[list[int]] = field(init=False)
    recorded: dict[tuple[int, int], list[list[float]]] = field(init=False)

    def __post_init__(self) -> None:
        self.levels = brackets(self.spec, self.max_epochs)
        self.weights = bracket_weights(self.levels, self.spec.eta)
        self.rng = np.random.default_rng(self.seed)
        self.recorded = {(b, r): [] for b, lv in enumerate(self.levels) for r in lv}

    def new_bracket(self) -> int:
        return draw_bracket(self.rng, self.weights)

    def decide(self, bracket: int, epoch: int, vector: list[float]) -> bool:
        """Record `vector` at this rung and say whether the trial continues."""
        recorded = self.recorded[(bracket, epoch)]
        recorded.append([float(v) for v in vector])
        return self.keeps(recorded, len(recorded) - 1)

    def keeps(self, points: list[list[float]], index: int) -> bool:
        """The promotion rule: row `index` of a rung's `points` goes on (top 1/eta)."""
        return in_top_share(points, index, self.spec.eta)

    def counts(self) -> dict[str, int]:
        """Trials that reached each rung, over brackets ("epoch" -> count)."""
        out: dict[str, int] = {}
        for (_, epoch), vectors in sorted(self.recorded.items(), key=lambda kv: kv[0][1]):
            out[str(epoch)] = out.get(str(epoch), 0) + len(vectors)
        return out
