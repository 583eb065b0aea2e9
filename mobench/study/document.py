"""The JSON run document of a tuning study: spec, provenance, every trial and the front."""

from __future__ import annotations

from typing import Any

from mobench.objectives import Objective
from mobench.pareto import is_feasible
from mobench.records import SCHEMA_VERSION
from mobench.study.rungs import HOLDING, RUNG_ATTR, STOPPED_AT_ATTR

# Each measured value is its own user attribute, "measured.<name>" (readable in
# optuna-dashboard); studies written before held one dict attribute "measured".
MEASURED_PREFIX = "measured."


def measured_values(user_attrs: dict[str, Any]) -> dict[str, Any]:
    """The trial's measured values, from either layout."""
    flat = {k.removeprefix(MEASURED_PREFIX): v for k, v in user_attrs.items()
            if k.startswith(MEASURED_PREFIX)}
    return flat or dict(user_attrs.get("measured", {}))


def finished(trial) -> bool:
    """COMPLETE, or PRUNED (stopped at a rung by a multi-fidelity strategy): it counts."""
    return trial.state.name in ("COMPLETE", "PRUNED")


def spent_seconds(trials) -> float:
    """Training seconds the finished trials measured (a stopped one: the epochs it used)."""
    return float(sum(t.user_attrs.get(MEASURED_PREFIX + "train_time", 0.0)
                     for t in trials if finished(t)))


def trial_entry(trial, objectives: tuple[Objective, ...]) -> dict[str, Any]:
    placeholders = set(trial.user_attrs.get("placeholders", ()))
    values = {}
    if trial.values is not None:
        values = {o.name: v for o, v in zip(objectives, trial.values, strict=True)
                  if o.name not in placeholders}
    duration = trial.duration.total_seconds() if trial.duration is not None else None
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "params": trial.params,
        "objectives": values,  # measured values only; placeholders are left out
        "measured": measured_values(trial.user_attrs),
        "feasible": trial.state.name == "COMPLETE" and is_feasible(trial),
        "constraints": dict(trial.constraints),
        "infeasible_reason": trial.user_attrs.get("infeasible_reason"),
        "fail_reason": trial.user_attrs.get("fail_reason"),
        "duration_s": duration,
        **({"stopped_at_epoch": trial.user_attrs[STOPPED_AT_ATTR],
            "stopped_values": dict(zip((o.name for o in objectives),
                                       trial.user_attrs.get("stopped_values", ()), strict=False))}
           if STOPPED_AT_ATTR in trial.user_attrs else {}),
    }


def rung_counts(trials) -> dict[str, int]:
    """Trials that reached each rung epoch of a multi-fidelity study ({} for other studies)."""
    prefix = RUNG_ATTR.format("")
    counts: dict[str, int] = {}
    for t in trials:
        if t.state.name not in HOLDING:  # a failed trial's retry counts for it
            continue
        for key in t.user_attrs:
            if key.startswith(prefix):
                epoch = key.removeprefix(prefix)
                counts[epoch] = counts.get(epoch, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: int(kv[0])))


def tuning_document(study, *, suite, strategy: str, objectives: tuple[Objective, ...],
                    constraints: list[str], seed: int, epochs: int, dataset: dict[str, Any],
                    provenance: dict[str, Any]) -> dict[str, Any]:
    frozen = study.get_trials(deepcopy=False)
    trials = [trial_entry(t, objectives) for t in frozen]
    rungs = rung_counts(frozen)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "tuning",
        "suite": suite.name,
        "suite_version": suite.version,
        "strategy": strategy,
        "study_name": study.study_name,
        "objectives": [{"name": o.name, "direction": o.direction.value, "unit": o.unit}
                       for o in objectives],
        "constraints": constraints,
        "seed": seed,
        "epochs": epochs,
        "dataset": dataset,
        "provenance": provenance,
        "trials": trials,
        "pareto_front": sorted(t.number for t in study.best_trials),
        **({"rungs": rungs} if rungs else {}),
        # which hps the model uses only for some values of another (mobench.conditions)
        **({"conditions": suite.conditions} if getattr(suite, "conditions", None) else {}),
    }


def front_rows(document: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the Pareto front for the terminal; a hyperparameter the config does
    not use (`conditions`: units_2 with num_layers 1) shows as '-'."""
    from mobench.display import active_params, objective_value

    names = [o["name"] for o in document["objectives"]]
    front = set(document["pareto_front"])
    members = [t for t in document["trials"] if t["number"] in front]
    params = [active_params(t["params"], document.get("conditions")) for t in members]
    keys = sorted({k for p in params for k in p})
    rows = [[str(t["number"])] + [objective_value(n, t["objectives"][n]) for n in names]
            + [_short(p[k]) if k in p else "-" for k in keys]
            for t, p in zip(members, params, strict=True)]
    return ["trial", *names, *keys], rows


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
