"""Names of what a result is about, for headings: the problem (suite, objectives, data and
epochs, or the table / surrogate / live training a comparison ran on) and how its
hypervolume is scaled. Every heading names its problem, so no two sections share one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mobench.report.rows import number

# human names of the catalogue's objectives
NAMES = {"val_accuracy": "accuracy", "train_time": "training time", "peak_memory": "peak memory",
         "step_time": "step time", "val_loss": "validation loss", "compile_time": "compile time",
         "latency": "inference latency", "params": "parameters", "flops": "FLOPs/sample"}
Spec = Sequence[tuple[str, str, str]]  # (objective, direction, unit)


def objective_name(name: str) -> str:
    return NAMES.get(name, name)


def objectives_phrase(spec: Spec) -> str:
    """'accuracy ↑, training time ↓' (arrows: which way is better)."""
    return ", ".join(f"{objective_name(n)} {'↓' if d == 'minimize' else '↑'}" for n, d, _ in spec)


def epochs_phrase(epochs: Any) -> str:
    """'1 epoch', '4 epochs' from a number or its text; 'epochs not recorded' otherwise."""
    try:
        value = number(float(epochs)) if isinstance(epochs, str) else number(epochs)
    except ValueError:
        value = None
    if value is None:
        return "epochs not recorded"
    return f"{value:g} epoch" + ("" if value == 1 else "s")


def tuning_title(suite: str, spec: Spec, dataset: str, epochs: Any, hardware: str) -> str:
    """'mnist-mlp: accuracy ↑, training time ↓ on digits, 1 epoch (cpu-x)'."""
    return (f"{suite}: {objectives_phrase(spec)} on {dataset}, {epochs_phrase(epochs)} "
            f"({hardware})")


def comparison_spec(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(str(o.get("name")), str(o.get("direction")), str(o.get("unit") or ""))
            for o in document.get("objectives") or [] if isinstance(o, dict)]


def problem_source(problem: dict[str, Any]) -> str:
    """What the strategies ran on, short: 'trained live on digits, 10 epochs', 'on a surrogate
    of mnist-cnn-digits-curves.csv', 'on table mnist-mlp-digits.csv'."""
    if problem.get("live"):
        data = problem.get("dataset") if isinstance(problem.get("dataset"), dict) else {}
        epochs = f", {epochs_phrase(problem['epochs'])}" if number(problem.get("epochs")) else ""
        return f"trained live on {data.get('name', '?')}{epochs}"
    table = Path(str(problem.get("table", "?"))).name
    return f"on a surrogate of {table}" if problem.get("kind") == "surrogate" \
        else f"on table {table}"


def comparison_title(document: dict[str, Any]) -> str:
    """'mnist-mlp: accuracy ↑, training time ↓ on table mnist-mlp-digits.csv, 30 trials,
    10 seeds'."""
    problem = document.get("problem") if isinstance(document.get("problem"), dict) else {}
    budget = number(document.get("budget"))
    seeds = number(document.get("seeds"))
    runs = ", ".join(part for part in (
        f"{budget:g} trials" if budget is not None else "",
        f"{seeds:g} seeds" if seeds is not None else "") if part)
    seconds = number(problem.get("budget_seconds"))
    return (f"{document.get('suite')}: {objectives_phrase(comparison_spec(document))} "
            f"{problem_source(problem)}" + (f", {runs}" if runs else "")
            + (f", {seconds:g} training seconds each" if seconds else ""))


def hv_scale(document: dict[str, Any]) -> tuple[str, bool]:
    """(what the comparison's hypervolume is, whether it is a share, so at most 1).

    A document with `normalisation.primary` (front or box) scores a run as a share of the
    reference front's hypervolume, the reference front being the true front plus every point
    found (every point found when there is no true front); older documents keep their
    wording."""
    norm = document.get("normalisation") if isinstance(document.get("normalisation"),
                                                       dict) else {}
    primary = norm.get("primary")
    if isinstance(primary, str) and primary:
        front = ("the true front plus every point found"
                 if norm.get("hypervolume_normalised_by_true_front")
                 else "every point found; no true front is known")
        scaled = {"front": "", "box": ", scaled to the box of all evaluations"}.get(
            primary, f", scaled by {primary}")
        return (f"hypervolume as a share of the reference front's hypervolume{scaled} (the "
                f"reference front: {front})"), True
    if norm.get("hypervolume_normalised_by_true_front"):
        return "hypervolume as a share of the true front's", True
    return "hypervolume in normalised objective space", False


def beside_scale(document: dict[str, Any]) -> tuple[str, str] | None:
    """(name, run field) of the hypervolume in the other scale, shown beside the primary
    one ('box', 'hypervolume_box'), when the document's runs carry it."""
    norm = document.get("normalisation") if isinstance(document.get("normalisation"),
                                                       dict) else {}
    other = {"front": "box", "box": "front"}.get(str(norm.get("primary")))
    runs = document.get("runs") if isinstance(document.get("runs"), list) else []
    key = f"hypervolume_{other}"
    if other and any(isinstance(r, dict) and isinstance(r.get(key), list) for r in runs):
        return other, key
    return None


def unique_titles(titles: list[str], sources: list[str]) -> list[str]:
    """Titles made distinct: one that repeats gets its file name appended."""
    counts = {t: titles.count(t) for t in titles}
    return [t if counts[t] == 1 else f"{t} [{Path(s).name}]" for t, s in
            zip(titles, sources, strict=True)]
