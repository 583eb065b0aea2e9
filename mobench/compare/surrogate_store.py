"""The surrogate document (by default `results/surrogates/<table name>.json`): opened or made
for a curves table, refitted (never unpickled) when the table's hash changed, its fronts kept
per objective set; and the comparison runs of strategies on a surrogate problem."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mobench.compare.surrogate import (
    AUTO,
    COLUMN,
    DEFAULT_FAMILY,
    FAMILIES,
    KIND,
    LOG_TARGETS,
    RANDOM_STATE,
    Data,
    Surrogate,
    check_table,
    infeasible_summary,
    make_model,
    table_hash,
)
from mobench.compare.surrogate_fidelity import fidelity
from mobench.compare.surrogate_front import reference_front
from mobench.compare.surrogate_problem import SurrogateProblem
from mobench.errors import UsageError
from mobench.objectives import Objective
from mobench.records import SCHEMA_VERSION, check_document


def default_document_path(table: Path) -> Path:
    """results/surrogates/<table name>.json with a `-curves` suffix left out: the default
    table SUITE-DATASET-curves.csv keeps its SUITE-DATASET.json, every other table its own."""
    stem = Path(table).stem
    return Path("results") / "surrogates" / f"{stem.removesuffix('-curves') or stem}.json"


def check_same_table(stored: dict[str, Any], table: Path, path: Path) -> None:
    """A stored document fitted to another table file (still there) is not overwritten."""
    other = (stored.get("table") or {}).get("path")
    if not isinstance(other, str) or not Path(other).exists() or not Path(table).exists():
        return
    if not os.path.samefile(other, table):
        raise UsageError(f"{path} is the surrogate of another table ({other}); give --out "
                         "PATH to keep both")

def front_key(objectives: Sequence[Objective]) -> str:
    return ",".join(o.name for o in objectives)

def open_surrogate(table: Path, suite, objectives: Sequence[Objective] = (), *,
                   folds: int = 5, family: str | None = None,
                   document_path: Path | None = None, refresh_fidelity: bool = False,
                   provenance: Callable[[], dict[str, Any]] = dict,
                   on_line: Callable[[str], None] = print
                   ) -> tuple[Surrogate, dict[str, Any], Path, bool]:
    """(surrogate, its document, the document's path, whether the document changed).

    A stored document of the same table content and model family (`None`: the stored one,
    else the default) is reused (its fidelity and fronts); otherwise the fidelity is measured
    afresh and the fronts dropped, said in a line.
    Nothing is written here: the caller writes the document when it changed.
    """
    from mobench.compare.curves_table import load_curves
    from mobench.documents import read_json

    if family is not None and family != AUTO:
        make_model(family)
    header, frame = load_curves(table)
    check_table(header, frame, suite, table)
    data = Data(header, frame)
    data.check_targets(objectives)
    n_configs = len(np.unique(data.groups))
    if not 2 <= folds <= n_configs:
        raise UsageError(f"--folds must be 2..{n_configs} (the ok configs), got {folds}")
    digest = table_hash(header, frame)
    path = document_path or default_document_path(table)
    stored = None
    if path.exists():
        stored = read_json(path)
        try:
            check_document(stored, KIND)
        except UsageError as exc:
            raise UsageError(f"{path}: {exc}") from None
        check_same_table(stored, table, path)
    selection = None
    if family == AUTO:
        same = stored is not None and stored.get("table", {}).get("sha256") == digest
        if same and stored.get("model", {}).get("selection"):
            family = stored["model"]["family"]  # chosen before, on this table's content
        else:
            family, selection = select_family(data, folds, objectives, on_line)
    family = family or (stored or {}).get("model", {}).get("family") or DEFAULT_FAMILY
    make_model(family)
    reason = None
    if stored is None:
        reason = f"no surrogate document at {path}"
    elif stored.get("table", {}).get("sha256") != digest:
        reason = (f"{path} was fitted to other content of {table} (sha256 "
                  f"{str(stored.get('table', {}).get('sha256'))[:12]} there, {digest[:12]} now)")
    elif stored.get("model", {}).get("family") != family:
        reason = f"{path} holds a {stored['model'].get('family')} surrogate, not {family}"
    elif selection and not stored.get("model", {}).get("selection"):
        reason = f"{path}: {family} is now chosen by --model auto"
    elif refresh_fidelity and stored.get("fidelity", {}).get("folds") != folds:
        reason = f"{path} holds {stored['fidelity'].get('folds')}-fold fidelity, not {folds}"
    elif refresh_fidelity and any("rho_best_quarter" not in s for s in stored.get(
            "fidelity", {}).get("objectives", {}).values()):
        reason = f"{path} holds fidelity measured before the best quarter was"
    surrogate = Surrogate(data, family)
    if reason is None:
        on_line(f"surrogate {path}: table content unchanged (sha256 {digest[:12]}), refitted "
                f"{family} deterministically")
        return surrogate, stored, path, False
    on_line(f"{reason}: fitting {family} and measuring {folds}-fold grouped fidelity on "
            f"{len(np.unique(data.groups))} configs")
    document = {
        "schema_version": SCHEMA_VERSION, "kind": KIND, "suite": suite.name,
        "suite_version": suite.version, "dataset": header.get("dataset"),
        "table": {"path": str(table), "sha256": digest, "rows": int(len(frame)),
                  "ok_configs": int(len(np.unique(data.groups))), "epochs": data.epochs,
                  "header_provenance": header.get("provenance")},
        "model": {"family": family, "random_state": RANDOM_STATE, "features": [
            *data.encoder.columns, "epoch (curves only)"], "log_targets": sorted(
                LOG_TARGETS & set(data.targets)), "columns": dict(COLUMN),
            "stored": "no model file: refitted deterministically when loaded",
            **({"selection": {"rule": selection["rule"], "scores": selection["scores"]}}
               if selection else {})},
        "fidelity": selection["fidelity"][family] if selection else fidelity(data, folds,
                                                                               family),
        "noise": noise_summary(surrogate),
        "infeasible": infeasible_summary(data),
        "space": header.get("space"),
        "fronts": {},
        "provenance": provenance(),
    }
    return surrogate, document, path, True

def select_family(data: Data, folds: int, objectives: Sequence[Objective],
                  on_line: Callable[[str], None]) -> tuple[str, dict[str, Any]]:
    """`--model auto`: the family whose out-of-fold Spearman rho within the best quarter of
    configs, averaged over the objectives (every target when none is named), is highest:
    model selection by the grouped cross-validation the document reports anyway."""
    names = [o.name for o in objectives] or list(data.targets)
    measured, scores = {}, {}
    for family in FAMILIES:
        measured[family] = fidelity(data, folds, family)
        values = [measured[family]["objectives"][n].get("rho_best_quarter") for n in names]
        kept = [v for v in values if v is not None]
        scores[family] = float(np.mean(kept)) if kept else float("-inf")
        on_line(f"--model auto: {family}: mean best-quarter rho over {', '.join(names)} "
                f"{scores[family]:.3f}")
    best = max(FAMILIES, key=lambda f: scores[f])
    return best, {"fidelity": measured, "scores": scores,
                  "rule": f"highest mean best-quarter out-of-fold rho over {', '.join(names)}"}


def noise_summary(surrogate: Surrogate) -> dict[str, Any]:
    pools = surrogate.residuals
    return {"model": "median: the prediction; sample: plus a residual of the measured repeats",
            "repeated_configs": int(sum(np.bincount(surrogate.data.groups) >= 2)),
            "spread_final": {t: (float(np.std(p[:, -1])) if len(p) else None)
                             for t, p in pools.items()},
            "scale": {t: "log" if t in LOG_TARGETS else "linear" for t in pools}}

def ensure_front(surrogate: Surrogate, document: dict[str, Any],
                 objectives: tuple[Objective, ...],
                 on_line: Callable[[str], None] = print) -> tuple[dict[str, Any], bool]:
    """The stored reference front of this objective set, computed and stored when absent."""
    import time

    key = front_key(objectives)
    if key in document.get("fronts", {}):
        return document["fronts"][key], False
    surrogate.check_targets(objectives)
    t0 = time.perf_counter()
    front = reference_front(surrogate, objectives)
    on_line(f"reference front for {key}: {len(front['points'])} points from "
            f"{front['evaluations']} evaluations in {time.perf_counter() - t0:.1f} s")
    document.setdefault("fronts", {})[key] = front
    return front, True

def fidelity_rows(document: dict[str, Any]) -> list[list[str]]:
    def f(v):
        return "-" if v is None else f"{v:.3f}"

    return [[name, f(s["rho_final"]), f(s["r2_final"]), f(s["rho_mean"]), f(s["r2_mean"]),
             f(s.get("repeat_rho")), f(s.get("rho_best_quarter")),
             f(s.get("repeat_rho_best_quarter"))]
            for name, s in document["fidelity"]["objectives"].items()]

PROGRESS_EVERY_S = 30.0  # a progress line at most this often, within a run too


def run_all(surrogate: Surrogate, objectives: tuple[Objective, ...], noise: str,
            strategies: Sequence[str], seeds: int, budget: int, front: dict[str, Any],
            on_line: Callable[[str], None] = print, budget_seconds: float | None = None):
    """Every strategy x seed on the surrogate (one fitted surrogate, this process); progress
    at most every PROGRESS_EVERY_S seconds, inside a long run as well."""
    import time

    from mobench.compare.protocol import run_strategy
    from mobench.console import Progress

    traces, timing = [], {}
    length = f"{budget} trials" if budget_seconds is None else \
        f"up to {budget_seconds:g} training seconds"
    with Progress(len(strategies) * seeds, "runs", on_line=on_line,
                  every_s=PROGRESS_EVERY_S) as progress:
        for name in strategies:
            t0 = time.perf_counter()
            for seed in range(seeds):
                problem = SurrogateProblem(surrogate, objectives, noise=noise, seed=seed,
                                           front=front)

                def tick(trials: int, run: str = f"{name} seed {seed}") -> None:
                    progress.advance(0, status=f"{run}: {trials} trials")

                traces.append(run_strategy(problem, name, seed, budget, objectives,
                                           cost=lambda trial, _, p=problem: p.cost(trial),
                                           budget_seconds=budget_seconds, on_trial=tick))
                progress.advance(status=f"{name} seed {seed}: {len(traces[-1].points)} trials")
            timing[name] = time.perf_counter() - t0
            on_line(f"{name}: {seeds} seeds x {length} in {timing[name]:.2f} s")
    return traces, timing
