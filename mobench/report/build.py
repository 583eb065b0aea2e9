"""Load results, build the sections in order, write the pages: what `mobench report` does."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mobench.errors import FatalError, UsageError
from mobench.report.load import Problem, Results, collect, malformed
from mobench.report.render import Section, write_pages

FORMATS = ("html", "md")
EMPTY_HINT = ("run `python -m mobench profile SUITE` or `python -m mobench tune SUITE` first "
              "(they write results/runs/*.json)")


def section_builders() -> list[Callable[[Results], Section | None]]:
    """The report's sections, in page order; a builder returns None when it has nothing."""
    from mobench.report.comparison import comparison
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
    return [summary, problems_section, pareto, comparison, hardware, profiles, evaluations,
            provenance]


def build_sections(results: Results) -> list[Section]:
    return [s for build in section_builders() if (s := build(results)) is not None]


def only(results: Results, sources: Iterable[str]) -> Results:
    """`results` restricted to the documents `sources`."""
    keep = set(sources)
    return Results(results.frame[results.frame["source"].isin(keep)].reset_index(drop=True),
                   {k: v for k, v in results.documents.items() if k in keep},
                   list(results.problems),
                   {k: v for k, v in results.reference.items() if k in keep})


def sections_without_bad_documents(results: Results) -> tuple[list[Section], list[Problem]]:
    """The sections; should a document the loader took still break one (a value of the wrong
    type where a section reads it), each document is tried alone, the ones that break are
    skipped as problems naming the file and why, and the rest renders."""
    try:
        return build_sections(results), []
    except Exception:  # found below, document by document
        pass
    bad = []
    for source in sorted(results.documents):
        try:
            build_sections(only(results, [source]))
        except Exception as exc:
            bad.append(Problem(source, malformed(exc, results.documents[source])
                               .replace("malformed document", "cannot be shown", 1)))
    kept = only(results, results.documents.keys() - {p.path for p in bad})
    kept.problems.extend(bad)  # listed in the page's skipped files
    if not kept.documents:
        return [], bad
    try:
        return build_sections(kept), bad
    except Exception as exc:  # documents that break only together: a bug, said in one line
        raise FatalError(f"the report could not be built ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); please report this with the files") from None


def check_usable(results: Results, where: str, strict: bool) -> None:
    """UsageError when nothing is left to show, or under `strict` when a file was skipped."""
    if not results.documents:
        skipped = f" ({len(results.problems)} file(s) skipped, see above)" \
            if results.problems else ""
        raise UsageError(f"no mobench results under {where}{skipped}: {EMPTY_HINT}")
    if strict and results.problems:
        raise UsageError(f"{len(results.problems)} file(s) under {where} could not be read "
                         "(see above); --strict: no report written")


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
    where = ", ".join(f"{p}/" if Path(p).is_dir() else str(p) for p in paths)
    for problem in results.problems:
        if on_problem is not None:
            on_problem(problem)
    check_usable(results, where, strict)
    sections, unshown = sections_without_bad_documents(results)
    if unshown:
        for problem in unshown:
            if on_problem is not None:
                on_problem(problem)
        results = only(results, results.documents.keys() - {p.path for p in unshown})
        results.problems.extend(unshown)
        check_usable(results, where, strict)
    problems, shown = results.problems, len(results.documents)
    subtitle = f"{shown} documents from {where}"
    try:
        written = write_pages(sections, Path(out), formats, subtitle=subtitle)
    except OSError as exc:  # after the output checks: a full disk, a folder gone read-only
        raise FatalError(f"cannot write the report to {exc.filename or out}: "
                         f"{exc.strerror or exc}") from None
    return Outcome(written, problems, shown)
