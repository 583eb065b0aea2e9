"""The "Reference results" section: everything shipped with mobench (replay tables, their
surrogates, reference strategy comparisons, the reference benchmark run, fronts across
hardware measured on reference data alone), folded after your own runs, with a reference
badge on every row.

Reference comparisons get the same tables and plots as yours, each folded under its problem;
the reference benchmark is compared with your runs only where both were measured the same way
(mobench.report.hardware). `report --no-reference` leaves the section out.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mobench.report.formats import MISSING, fmt, short_commit
from mobench.report.hardware_fronts import reference_fronts
from mobench.report.load import Results
from mobench.report.render import Cell, Details, Heading, Section, Table, Text
from mobench.report.rows import number
from mobench.report.scope import repeats_note, shipped

BADGE = "reference"


def reference(results: Results) -> Section | None:
    if not results.reference:
        return None
    ref = shipped(results)
    blocks: list = [Text(f"{len(ref.documents)} documents shipped with mobench (or saved as a "
                         "reference), not your runs: they are here so you can compare, and "
                         "the summary uses them only where it says \"reference data\".")]
    blocks += comparisons(ref)
    blocks += benchmarks(results, ref)
    blocks += surrogates(ref)
    blocks += reference_fronts(results)
    blocks += documents(results, ref)
    return Section("Reference results", "reference", badged(blocks), collapsed=True,
                   lead=f"{len(ref.documents)} documents shipped with mobench")


def badged(blocks: list) -> list:
    """The blocks with a reference badge on the first cell of every table row (folded ones
    too), so no reference number can be read as yours."""
    out = []
    for b in blocks:
        if isinstance(b, Table):
            rows = [[c if isinstance(c, Cell) and c.badge else Cell(str(c), BADGE), *rest]
                    for c, *rest in b.rows]
            b = replace(b, rows=rows)
        elif isinstance(b, Details):
            b = replace(b, blocks=badged(list(b.blocks)))
        out.append(b)
    return out


def comparisons(ref: Results) -> list:
    """One row per reference comparison (its problem, best strategy, significance), then each
    one's tables and plots folded under its problem."""
    from mobench.report.comparison import document_blocks, titled
    from mobench.report.summary import COMPARISON_HEADERS, best_strategy

    found = titled(ref)
    if not found:
        return []
    frame = ref.of_kind("comparison")
    rows, folds = [], []
    for source, title in found:
        doc = ref.documents[source]
        best = best_strategy(doc) or [MISSING] * len(COMPARISON_HEADERS)
        rows.append([Cell(title, BADGE), *best])
        blocks = document_blocks(source, doc, frame[frame["source"] == source], title,
                                 repeats_note(ref, source))
        folds.append(Details(title + repeats_note(ref, source), blocks[1:]))  # no 2nd title
    return [Heading("Strategy comparisons (reference)"),
            Table(["problem", *COMPARISON_HEADERS], rows, fit=True,
                  caption="Shipped comparisons, one per problem; open one below for its "
                  "tables and plots"), *folds]


def benchmarks(results: Results, ref: Results) -> list:
    """The reference benchmark and profile figures, and your runs against them."""
    from mobench.report.hardware import reference_blocks, workloads

    frame = workloads(ref.frame)
    if frame.empty:
        return []
    rows = [[Cell(r.workload, BADGE), str(r.hardware_id), fmt("step_time_s", r.step_time_s),
             fmt("throughput", r.throughput), fmt("peak_memory_bytes", r.peak_memory_bytes),
             r.method, short_commit(r.git_commit)] for r in frame.itertuples()]
    return [Heading("Benchmarks and profiles (reference)"),
            Table(["workload", "hardware", "step time", "throughput", "peak memory",
                   "measured with", "git commit"], rows,
                  caption="Reference measurements (median step of each benchmark run)"),
            *reference_blocks(results)]


def surrogates(ref: Results) -> list:
    """Each shipped surrogate's measured fidelity per objective."""
    rows = []
    for source, doc in sorted(ref.documents.items()):
        if doc.get("kind") != "surrogate":
            continue
        fidelity = doc.get("fidelity") if isinstance(doc.get("fidelity"), dict) else {}
        objectives = fidelity.get("objectives") if isinstance(fidelity.get("objectives"),
                                                               dict) else {}
        for name, s in objectives.items():
            if isinstance(s, dict):
                rows.append([Cell(Path(source).name, BADGE), str(name),
                             *(fmt("", number(s.get(k))) for k in
                               ("rho_final", "r2_final", "repeat_rho"))])
    if not rows:
        return []
    return [Heading("Surrogates (reference)"),
            Table(["surrogate", "objective", "Spearman rho (final epoch)", "R^2 (final)",
                   "rho between two seeds"], rows,
                  caption="Cross-validated fidelity of the shipped surrogates (out-of-fold "
                  "predictions); the two-seed rho is the ceiling measurement noise sets")]


def documents(results: Results, ref: Results) -> list:
    """Every reference document with why it counts as reference."""
    from mobench.report.sections import PROVENANCE_HEADERS, document_rows

    rows = [[Cell(row[0], BADGE), *row[1:], results.reference[source]]
            for source, row in document_rows(ref).items()]
    return [Heading("Reference documents"),
            Table([*PROVENANCE_HEADERS, "reference because"], rows,
                  caption="Reference data (shipped with mobench or saved as a reference; not "
                  "your runs)")]
