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
PROGRESS_EVERY_S = 3.0  # plain progress lines (stderr not a terminal): at most one this often
EMPTY_HINT = ("run `python -m mobench profile SUITE` or `python -m mobench tune SUITE` first "
              "(they write results/runs/*.json)")


def section_builders() -> list[tuple[Callable[[Results], Section | None], bool]]:
    """The report's sections in page order, each with whether it reads all results (True) or
    your runs only; a builder returns None when it has nothing."""
    from mobench.report.comparison import comparison
    from mobench.report.hardware import hardware
    from mobench.report.hardware_fronts import hardware_fronts
    from mobench.report.hardware_noise import hardware_noise
    from mobench.report.pareto import pareto
    from mobench.report.reference import reference
    from mobench.report.sections import evaluations, problems_section, profiles, provenance
    from mobench.report.summary import summary

    # the answers first, then the evidence from your runs, the reference data folded after
    # them, where each number came from last
    return [(summary, True), (problems_section, True), (pareto, False), (comparison, False),
            (hardware_fronts, True), (hardware_noise, True), (hardware, False),
            (profiles, False), (evaluations, False), (reference, True), (provenance, True)]


def build_sections(results: Results, on_section: Callable[[], None] | None = None
                   ) -> list[Section]:
    """Every section that has something to show; `on_section()` after each section and each
    comparison document (progress, `steps` in all)."""
    from mobench.report.scope import own
    from mobench.report.steps import reporting_steps

    mine = own(results)
    sections = []
    with reporting_steps(on_section or (lambda: None)):
        for build, everything in section_builders():
            section = build(results if everything else mine)
            if section is not None:
                sections.append(section)
            if on_section is not None:
                on_section()
    return sections


def steps(results: Results) -> int:
    """Progress units of a build: one per section, one per comparison document (its plots)."""
    return len(section_builders()) + int(results.of_kind("comparison")["source"].nunique())


def only(results: Results, sources: Iterable[str]) -> Results:
    """`results` restricted to the documents `sources`."""
    keep = set(sources)
    return Results(results.frame[results.frame["source"].isin(keep)].reset_index(drop=True),
                   {k: v for k, v in results.documents.items() if k in keep},
                   list(results.problems),
                   {k: v for k, v in results.reference.items() if k in keep})


def sections_without_bad_documents(results: Results,
                                   on_section: Callable[[], None] | None = None
                                   ) -> tuple[list[Section], list[Problem]]:
    """The sections; should a document the loader took still break one (a value of the wrong
    type where a section reads it), each document is tried alone, the ones that break are
    skipped as problems naming the file and why, and the rest renders."""
    try:
        return build_sections(results, on_section), []
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


def check_usable(results: Results, where: str, strict: bool, left: str = "") -> None:
    """UsageError when nothing is left to show, or under `strict` when a file was skipped."""
    if not results.documents:
        skipped = f" ({len(results.problems)} file(s) skipped, see above)" \
            if results.problems else ""
        raise UsageError(f"no mobench results{left} under {where}{skipped}: {EMPTY_HINT}")
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
                 on_problem: Callable[[Problem], None] | None = None,
                 reference: bool = True,
                 on_line: Callable[[str], None] | None = None) -> Outcome:
    """Read `paths`, write the report into `out`.

    UsageError (exit 2, nothing written) for an empty result set, or for any skipped file
    under `strict`; otherwise skipped files are reported through `on_problem` and listed in
    the report, and the rest renders. `reference=False` leaves reference data out entirely;
    `on_line` gets progress (files read, sections built: a bar on a terminal).
    """
    from mobench.console import Progress
    from mobench.report.scope import deduplicate, own

    formats = check_formats(formats)
    where = ", ".join(f"{p}/" if Path(p).is_dir() else str(p) for p in paths)
    bar: list[Progress] = []

    def read(done: int, total: int) -> None:
        if not bar:
            on_line(f"reading {total} files under {where}")
            bar.append(Progress(total, "files", on_line=on_line, every_s=PROGRESS_EVERY_S))
        bar[0].advance(done=done, line="files read")

    try:
        results = collect(paths, on_file=read if on_line else None)
    finally:
        for b in bar:
            b.close()
    for problem in results.problems:
        if on_problem is not None:
            on_problem(problem)
    if not reference:
        results = own(results)
    left = " but reference data (--no-reference)" if not reference else ""
    check_usable(results, where, strict, left)
    results = deduplicate(results)
    if on_line:
        on_line(f"building the report from {len(results.documents)} documents")
    with Progress(steps(results), "steps", on_line=on_line,
                  every_s=PROGRESS_EVERY_S) as progress:
        sections, unshown = sections_without_bad_documents(results, lambda: progress.advance(
            line="sections and comparisons built"))
    if unshown:
        for problem in unshown:
            if on_problem is not None:
                on_problem(problem)
        results = only(results, results.documents.keys() - {p.path for p in unshown})
        results.problems.extend(unshown)
        check_usable(results, where, strict)
    mine = len(results.documents) - len(results.reference)
    subtitle = (f"{mine} of your documents" + (f" and {len(results.reference)} reference "
                                               "documents" if results.reference else "")
                + f" from {where}")
    try:
        written = write_pages(sections, Path(out), formats, subtitle=subtitle)
    except OSError as exc:  # after the output checks: a full disk, a folder gone read-only
        raise FatalError(f"cannot write the report to {exc.filename or out}: "
                         f"{exc.strerror or exc}") from None
    return Outcome(written, results.problems, len(results.documents))
