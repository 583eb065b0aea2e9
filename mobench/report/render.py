"""Report blocks (headings, text, tables, figures) and their HTML and Markdown renderings.

The HTML page is built from Jinja2 templates (`mobench/report/templates/`) with autoescaping
on: every piece of text that comes from a results file is escaped by the template engine, and
nothing is marked safe but the page's own CSS. The page is self-contained: inline CSS, plots as
base64 PNG data URIs, no scripts, no external resources. The Markdown summary escapes with
`md_escape`.

Page order: the summary (the answers) first, then skipped files, the sections about your own
runs, then the reference results shipped with mobench and the provenance, each folded in a
closed `<details>` (`Section.collapsed`).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from mobench.documents import write_text


@dataclass(frozen=True)
class Cell:
    """A table cell with a badge (e.g. "reference") shown next to its text."""

    text: str
    badge: str = ""

    def __str__(self) -> str:
        return f"{self.text} ({self.badge})" if self.badge else self.text


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 3
    kind = "heading"


@dataclass(frozen=True)
class Text:
    text: str
    warning: bool = False
    kind = "text"


@dataclass(frozen=True)
class Table:
    """Rows under headers; `notes[i]` (when given) is a line of text shown under row i across
    the whole table, wrapped (a long config string), and the last column in Markdown."""

    headers: Sequence[str]
    rows: Sequence[Sequence[str | Cell]]
    caption: str = ""
    highlight: Sequence[bool] = ()  # rows to emphasise (e.g. Pareto front members)
    notes: Sequence[str] = ()
    note_header: str = "config"
    fit: bool = False  # HTML: wrap cells to the page's width instead of scrolling
    kind = "table"


@dataclass(frozen=True)
class Figure:
    png: bytes
    alt: str
    caption: str = ""
    kind = "figure"

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Details:
    """Blocks folded under a one-line summary (HTML <details>; Markdown: a heading)."""

    summary: str
    blocks: Sequence[Heading | Text | Table | Figure]
    kind = "details"


Block = Heading | Text | Table | Figure | Details


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    summary: bool = True  # also in the Markdown summary
    collapsed: bool = False  # HTML: folded in a closed <details> (reference, provenance)
    lead: str = ""  # collapsed: what the fold holds, shown beside its "Show" line


_MD_SPECIAL = re.compile(r"([\\`*\[\]|#])")


def md_escape(value: object) -> str:
    """Text safe in a Markdown table cell: no live HTML, no table or emphasis syntax."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


@cache
def environment():
    """The templates' Jinja2 environment: autoescaping on for every template."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mobench.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True)
    env.filters["cell"] = lambda c: c if isinstance(c, Cell) else Cell(str(c))
    return env


def page_html(title: str, subtitle: str, sections: list[Section]) -> str:
    return environment().get_template("report.html.j2").render(
        title=title, subtitle=subtitle, sections=sections)


def table_markdown(t: Table) -> str:
    lines = [f"*{md_escape(t.caption)}*", ""] if t.caption else []
    headers = [*t.headers, *([t.note_header] if t.notes else [])]
    lines.append("| " + " | ".join(md_escape(h) for h in headers) + " |")
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for i, row in enumerate(t.rows):
        mark = i < len(t.highlight) and t.highlight[i]
        cells = [md_escape(c) for c in row]
        if t.notes:
            cells.append(md_escape(t.notes[i]) if i < len(t.notes) else "")
        if mark and cells:
            cells[0] = f"**{cells[0]}**" if cells[0] else cells[0]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def block_markdown(b: Block) -> str:
    if isinstance(b, Heading):
        return "#" * b.level + " " + md_escape(b.text)
    if isinstance(b, Text):
        return ("**Warning:** " if b.warning else "") + md_escape(b.text)
    if isinstance(b, Table):
        return table_markdown(b)
    if isinstance(b, Details):
        return "\n\n".join([f"**{md_escape(b.summary)}**",
                             *(block_markdown(inner) for inner in b.blocks)])
    return f"*Plot in report.html: {md_escape(b.caption or b.alt)}*"


def page_markdown(title: str, subtitle: str, sections: list[Section]) -> str:
    parts = [f"# {md_escape(title)}", md_escape(subtitle)]
    for s in sections:
        if s.summary:
            parts.append(f"## {md_escape(s.title)}")
            parts.extend(block_markdown(b) for b in s.blocks)
    return "\n\n".join(parts) + "\n"


def write_pages(sections: list[Section], out: Path, formats: Sequence[str], *,
                title: str = "mobench report", subtitle: str = "") -> list[Path]:
    """Write report.html and/or report.md into `out`; return the paths written."""
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    subtitle = f"generated {stamp}" + (f"; {subtitle}" if subtitle else "")
    written = []
    if "html" in formats:
        written.append(write_text(out / "report.html", page_html(title, subtitle, sections)))
    if "md" in formats:
        written.append(write_text(out / "report.md", page_markdown(title, subtitle, sections)))
    return written
