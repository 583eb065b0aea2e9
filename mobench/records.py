"""Frozen records of what mobench measured, with one to_dict/from_dict pair each.

Every stored document carries `schema_version`; readers reject versions they do not know.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from mobench.errors import UsageError

SCHEMA_VERSION = 1


class Status(StrEnum):
    """Outcome of one measured unit (a profiled mode, a trial)."""

    OK = "ok"
    FAILED = "failed"
    OUT_OF_MEMORY = "out_of_memory"
    STOPPED = "stopped"  # stopped early on purpose (a multi-fidelity strategy's rung)


@dataclass(frozen=True)
class Timing:
    """Robust summary of repeated clock readings, in seconds."""

    median_s: float
    iqr_s: float
    p25_s: float
    p75_s: float
    min_s: float
    max_s: float
    mean_s: float
    n: int

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Timing:
        return cls(**{f.name: d[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class Inference:
    """Inference latency at batch 1 and throughput at the training batch size."""

    latency_p50_s: float
    latency_p99_s: float
    batch_size: int
    batch_time: Timing
    throughput: float  # samples/s at batch_size

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Inference:
        return cls(
            latency_p50_s=d["latency_p50_s"],
            latency_p99_s=d["latency_p99_s"],
            batch_size=d["batch_size"],
            batch_time=Timing.from_dict(d["batch_time"]),
            throughput=d["throughput"],
        )


@dataclass(frozen=True)
class ModeProfile:
    """The training step (and inference) measured in one execution mode."""

    mode: str  # eager | graph | xla
    status: Status
    reason: str | None = None
    step_time: Timing | None = None
    compile_time_s: float | None = None  # first call minus a steady step
    throughput: float | None = None  # training samples/s = batch / median step time
    peak_memory_bytes: int | None = None  # allocator peak over warm-up + timed steps
    peak_memory_reason: str | None = None  # why peak_memory_bytes is absent
    peak_memory_method: str | None = None  # how it was measured (mobench.profiling.memory)
    # analytic bytes of the step (weights, gradients, slots, activations, input), to cross-check
    peak_memory_estimate: dict[str, int] | None = None
    achieved_flops_per_s: float | None = None
    peak_fraction: float | None = None  # achieved / measured dense-matmul peak
    inference: Inference | None = None
    nvml: dict[str, Any] | None = None  # GPU power/energy/utilisation while timing
    trace: dict[str, Any] | None = None  # per-op self time from a TF profiler trace

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModeProfile:
        kw = {f.name: d.get(f.name) for f in fields(cls)}
        kw["status"] = Status(d["status"])
        if kw["step_time"] is not None:
            kw["step_time"] = Timing.from_dict(kw["step_time"])
        if kw["inference"] is not None:
            kw["inference"] = Inference.from_dict(kw["inference"])
        return cls(**kw)


@dataclass(frozen=True)
class ProfileRecord:
    """One `mobench profile` run: a model configuration measured in several modes."""

    suite: str
    suite_version: int
    variant: str | None
    hyperparameters: dict[str, Any]
    dataset: dict[str, Any]
    batch_size: int
    steps: int
    warmup: int
    seed: int
    params: int
    flops: dict[str, Any]  # forward/train FLOPs per sample, TF-profiler cross-check
    matmul_peak: dict[str, Any] | None
    modes: tuple[ModeProfile, ...]
    provenance: dict[str, Any] = field(default_factory=dict)
    process_peak_rss_bytes: int | None = None

    def mode(self, name: str) -> ModeProfile | None:
        return next((m for m in self.modes if m.mode == name and m.ok), None)

    def objectives(self) -> dict[str, float | int]:
        """Canonical objective values (names as in the objective catalogue).

        step_time, throughput, compile_time, peak_memory and latency come from graph mode
        (Keras' default execution), xla_* from XLA mode, energy (J per training step) only
        where NVML measured it. Absent measurements give absent keys.
        """
        out: dict[str, float | int] = {"params": self.params}
        if self.flops.get("train_per_sample") is not None:
            out["flops"] = self.flops["train_per_sample"]
        graph, xla = self.mode("graph"), self.mode("xla")
        if graph is not None:
            out["step_time"] = graph.step_time.median_s
            out["throughput"] = graph.throughput
            out["compile_time"] = graph.compile_time_s
            if graph.peak_memory_bytes is not None:
                out["peak_memory"] = graph.peak_memory_bytes
            if graph.inference is not None:
                out["latency"] = graph.inference.latency_p50_s
            if graph.nvml and graph.nvml.get("energy_j") is not None:
                out["energy"] = graph.nvml["energy_j"] / self.steps
        if xla is not None:
            out["xla_throughput"] = xla.throughput
            if graph is not None:
                out["xla_speedup"] = graph.step_time.median_s / xla.step_time.median_s
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["modes"] = [m.to_dict() for m in self.modes]
        return {"schema_version": SCHEMA_VERSION, "kind": "profile", **d,
                "objectives": self.objectives()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProfileRecord:
        check_document(d, "profile")
        kw = {f.name: d.get(f.name) for f in fields(cls)}
        kw["modes"] = tuple(ModeProfile.from_dict(m) for m in d["modes"])
        kw["provenance"] = d.get("provenance") or {}
        return cls(**kw)


def check_document(d: object, kind: str) -> None:
    """Reject a stored document that is not a mobench `kind` document of a known schema."""
    if not isinstance(d, dict):
        raise UsageError(f"not a mobench {kind} document: top level is {type(d).__name__}")
    version = d.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UsageError(
            f"unsupported schema_version {version!r} (this mobench reads {SCHEMA_VERSION})"
        )
    if d.get("kind") != kind:
        raise UsageError(f"expected a {kind!r} document, found kind {d.get('kind')!r}")


@dataclass(frozen=True)
class EvaluationRecord:
    """One training run of one configuration."""

    suite: str
    suite_version: int
    variant: str | None
    hyperparameters: dict[str, Any]
    dataset: dict[str, Any]
    epochs: int
    batch_size: int
    seed: int
    status: Status
    reason: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # last-epoch logs, fcd, ...
    train_time_s: float | None = None  # the whole training budget
    epoch_times_s: tuple[float, ...] = ()
    peak_memory_bytes: int | None = None
    peak_memory_reason: str | None = None
    peak_memory_method: str | None = None
    params: int | None = None
    flops: dict[str, Any] = field(default_factory=dict)
    profile: ProfileRecord | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def objectives(self) -> dict[str, float | int]:
        """Canonical objective values; measurements that were not taken are absent."""
        out: dict[str, float | int] = {}
        if self.profile is not None:
            out.update(self.profile.objectives())
        if self.params is not None:
            out["params"] = self.params
        if self.flops.get("train_per_sample") is not None:
            out["flops"] = self.flops["train_per_sample"]
        if self.status in (Status.OK, Status.STOPPED):  # stopped: the last epoch's values
            out.update(self.metrics)
            out["train_time"] = self.train_time_s
            if self.peak_memory_bytes is not None:
                out["peak_memory"] = self.peak_memory_bytes
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        d["epoch_times_s"] = list(self.epoch_times_s)
        d["profile"] = self.profile.to_dict() if self.profile else None
        return {"schema_version": SCHEMA_VERSION, "kind": "evaluation", **d,
                "objectives": self.objectives()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvaluationRecord:
        check_document(d, "evaluation")
        kw = {f.name: d.get(f.name) for f in fields(cls)}
        kw["status"] = Status(d["status"])
        kw["epoch_times_s"] = tuple(d.get("epoch_times_s") or ())
        kw["profile"] = ProfileRecord.from_dict(d["profile"]) if d.get("profile") else None
        kw["metrics"] = d.get("metrics") or {}
        kw["flops"] = d.get("flops") or {}
        kw["provenance"] = d.get("provenance") or {}
        return cls(**kw)
