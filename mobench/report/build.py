"""Load results, build the sections in order, write the pages: what `mobench report` does."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mobench.errors import UsageError
from mobench.report.load import Problem, Results, collect
from mobench.report.render import Section, write_pages

FORMATS = ("html", "md")
EMPTY_HINT = ("run `python -m mobench profile SUITE` or `python -m mobench tune SUITE` first "
              "(they write results/runs/*.json)")


def section_builders() -> list[Callable[[Results], Section | None]]:
    """The report's sections, in page order; a builder returns None when it has nothing."""
    from mobench.report.comparison import comparison
    from mobench.report.hardware_fronts import hardware_fronts
    from mobench.report.hardware_noise import hardware_noise
    from mobench.report.pareto import pareto
    from mobench.report.sections import (
        evaluations,
        hardware,
        problems_section,
        profiles,
        provenance,
    )
    from mobench.report.summary import summary

    # the answers first, the evidence after, where each number came from last
    return [summary, problems_section, pareto, comparison, hardware_fronts, hardware_noise,
            hardware, profiles, evaluations, provenance]


def build_sections(results: Results) -> list[Section]:
    return [s for build in section_builders() if (s := build(results)) is not None]


@dataclass(frozen=True)
class Outcome:
    """What a report run produced: files written (none under --strict with problems)."""

    written: list[Path]
    problems: list[Problem]
    documents: int

    @property
    def exit_status(self) -> int:
        return 1 if self.problems else 0


def check_formats(formats: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise UsageError(f"unknown report format {(unknown or [''])[0]!r}; valid formats: "
                         + ", ".join(FORMATS))
    return chosen


def build_report(paths: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                 formats: Sequence[str] = FORMATS, strict: bool = False,
                 on_problem: Callable[[Problem], None] | None = None) -> Outcome:
    """Read `paths`, write the report into `out`.

    UsageError (exit 2, nothing written) for an empty result set, or for any skipped file
    under `strict`; otherwise skipped files are reported through `on_problem` and listed in
    the report, and the rest renders.
    """
    formats = check_formats(formats)
    results = collect(paths)
    for problem in results.problems:
        if on_problem is not None:
            on_problem(problem)
    where = ", ".join(f"{p}/" if Path(p).is_dir() else str(p) for p in paths)
    if not results.documents:
        skipped = f" ({len(results.problems)} file(s) skipped, see above)" \
            if results.problems else ""
        raise UsageError(f"no mobench results under {where}{skipped}: {EMPTY_HINT}")
    if strict and results.problems:
        raise UsageError(f"{len(results.problems)} file(s) under {where} could not be read "
                         "(see above); --strict: no report written")
    sections = build_sections(results)
    subtitle = f"{len(results.documents)} documents from {where}"
    written = write_pages(sections, Path(out), formats, subtitle=subtitle)
    return Outcome(written, results.problems, len(results.documents))
