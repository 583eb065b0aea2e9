"""Multi-objective successive halving: MO-ASHA and MO-Hyperband, the stopping variant.

A trial trains epoch by epoch. At each rung (epochs `min_epochs * eta**k` below the suite's
epochs) its objective vector joins the vectors recorded there before it, and it continues
only when it ranks in the top `1/eta` of them (position `p` of `n`, 0-based, with
`p < n / eta`; the first trial at a rung always continues). No trial waits for a rung to
fill, so promotion is asynchronous, as in ASHA (Li et al., 2020) and Syne Tune's MOASHA
(Schmucker et al., 2021), whose stopping rule this is.

The multi-objective order at a rung: non-dominated sorting first; within one front, the
larger exclusive hypervolume contribution first (min-max normalised over the rung's vectors,
reference point 1.1, the indicator the comparison judges by). MOASHA breaks ties with an
epsilon-net instead; the hypervolume contribution is chosen because it is scale-free after
normalisation and rewards exactly what the final hypervolume rewards.

MO-Hyperband runs several brackets, each a MO-ASHA whose first rung is one rung higher than
the previous one's (the last bracket has no rung: full fidelity). A new trial joins bracket
`k` with probability proportional to Hyperband's number of configurations started in it,
`ceil((s_max + 1) / (s + 1)) * eta**s` with `s` the bracket's number of rungs.

Which configurations to try comes from any sampler strategy (`mo-asha:motpe`, a BOHB-like
variant); `random` by default. Options follow as `:eta=E` and `:min=M` (first rung epoch),
e.g. `mo-asha:motpe:eta=2` or `mo-hyperband:min=2`. The sampler sees finished trials with their
full-fidelity values and stopped trials as pruned. Pure: numpy and moocore only, no Optuna
or TensorFlow.
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
REFERENCE = 1.1


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
    """Hyperband's share of new configurations per bracket (s = its number of rungs)."""
    s_max = max(len(b) for b in levels)
    n = np.array([math.ceil((s_max + 1) / (len(b) + 1)) * eta ** len(b) for b in levels],
                 dtype=float)
    return n / n.sum()


def promotion_order(points: Any) -> np.ndarray:
    """Indices of `points` (minimisation rows), best first: non-dominated rank, then the
    larger hypervolume contribution within the rank (normalised over these points)."""
    import moocore

    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return np.zeros(0, dtype=int)
    ranks = pareto_ranks(points)
    norm = normalise(points, *bounds(points))
    reference = np.full(points.shape[1], REFERENCE)
    contribution = np.zeros(len(points))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        contribution[members] = moocore.hv_contributions(norm[members], ref=reference)
    return np.lexsort((np.arange(len(points)), -contribution, ranks))


def continues(recorded: list[Any], vector: Any, eta: int = ETA) -> bool:
    """Whether `vector` ranks in the top 1/eta of `recorded` plus itself."""
    if not recorded:
        return True
    points = np.vstack([np.asarray(recorded, dtype=float),
                        np.asarray(vector, dtype=float)[None, :]])
    position = int(np.flatnonzero(promotion_order(points) == len(points) - 1)[0])
    return position < len(points) / eta


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
        if len(self.levels) == 1:
            return 0
        return int(self.rng.choice(len(self.levels), p=self.weights))

    def decide(self, bracket: int, epoch: int, vector: list[float]) -> bool:
        """Record `vector` at this rung and say whether the trial continues."""
        recorded = self.recorded[(bracket, epoch)]
        keep = continues(recorded, vector, self.spec.eta)
        recorded.append([float(v) for v in vector])
        return keep

    def counts(self) -> dict[str, int]:
        """Trials that reached each rung, over brackets ("epoch" -> count)."""
        out: dict[str, int] = {}
        for (_, epoch), vectors in sorted(self.recorded.items(), key=lambda kv: kv[0][1]):
            out[str(epoch)] = out.get(str(epoch), 0) + len(vectors)
        return out
