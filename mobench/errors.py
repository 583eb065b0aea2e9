"""The error tree the runner and the CLI act on (see ARCHITECTURE.md, "Errors")."""

from __future__ import annotations

from collections.abc import Iterable


class MobenchError(Exception):
    """Root of every error mobench raises on purpose."""


class UsageError(MobenchError):
    """Bad user input (unknown name, malformed value): the CLI prints one line, exits 2."""

    exit_code = 2


class TrialFailed(MobenchError):
    """One trial could not be measured: the trial loop records it as infeasible with this
    reason (and whatever `values` were measured) and goes on."""

    def __init__(self, message: str, values: dict[str, float] | None = None) -> None:
        super().__init__(message)
        self.values = dict(values or {})


class FatalError(MobenchError):
    """Nothing sensible can continue: abort the run."""


def plural(kind: str) -> str:
    """English plural of a short noun phrase: strategy -> strategies, sampler of x ->
    samplers of x, mode -> modes."""
    head, of, tail = kind.partition(" of ")
    if head.endswith("y") and head[-2:-1] not in tuple("aeiou"):
        head = head[:-1] + "ies"
    elif head.endswith(("s", "x", "ch", "sh")):
        head += "es"
    else:
        head += "s"
    return head + of + tail


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> UsageError:
    """A UsageError for an unknown name that lists the valid ones."""
    choices = ", ".join(sorted(valid))
    return UsageError(f"unknown {kind} {name!r}; valid {plural(kind)}: {choices}")
