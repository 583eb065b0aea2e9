"""Report blocks (headings, text, tables, figures) and their HTML and Markdown renderings.

The HTML page is self-contained: inline CSS, plots as base64 PNG data URIs, no scripts, no
external resources. Every piece of text that comes from a results file is escaped here, in one
place: `html.escape` for the page, `md_escape` for the Markdown summary.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mobench.documents import write_text


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 3


@dataclass(frozen=True)
class Text:
    text: str
    warning: bool = False


@dataclass(frozen=True)
class Table:
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""
    highlight: Sequence[bool] = ()  # rows to emphasise (e.g. Pareto front members)


@dataclass(frozen=True)
class Figure:
    png: bytes
    alt: str
    caption: str = ""


Block = Heading | Text | Table | Figure


@dataclass
class Section:
    title: str
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    summary: bool = True  # also in the Markdown summary


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;
 padding:0 1em;color:#222;line-height:1.4}
h1{border-bottom:2px solid #444}h2{border-bottom:1px solid #aaa;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;white-space:nowrap}
th{background:#f0f0f0}tr.hl td{background:#fff3c4;font-weight:600}
caption{caption-side:top;text-align:left;font-style:italic;padding:.3em 0}
figure{margin:1em 0}img{max-width:100%}figcaption{font-style:italic;font-size:.9em}
p.warning{background:#fde2e1;border-left:4px solid #c0392b;padding:.5em}
nav li{margin:.1em 0}.meta{color:#666;font-size:.9em}
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*\[\]|#])")


def md_escape(value: object) -> str:
    """Text safe in a Markdown table cell: no live HTML, no table or emphasis syntax."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def table_html(t: Table) -> str:
    out = ["<table>"]
    if t.caption:
        out.append(f"<caption>{esc(t.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in t.headers)
               + "</tr></thead><tbody>")
    for i, row in enumerate(t.rows):
        cls = ' class="hl"' if i < len(t.highlight) and t.highlight[i] else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def table_markdown(t: Table) -> str:
    lines = [f"*{md_escape(t.caption)}*", ""] if t.caption else []
    lines.append("| " + " | ".join(md_escape(h) for h in t.headers) + " |")
    lines.append("|" + "|".join("---" for _ in t.headers) + "|")
    for i, row in enumerate(t.rows):
        mark = i < len(t.highlight) and t.highlight[i]
        cells = [md_escape(c) for c in row]
        if mark and cells:
            cells[0] = f"**{cells[0]}**" if cells[0] else cells[0]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def block_html(b: Block) -> str:
    if isinstance(b, Heading):
        return f"<h{b.level}>{esc(b.text)}</h{b.level}>"
    if isinstance(b, Text):
        return f'<p class="warning">{esc(b.text)}</p>' if b.warning else f"<p>{esc(b.text)}</p>"
    if isinstance(b, Table):
        return table_html(b)
    data = base64.b64encode(b.png).decode("ascii")
    caption = f"<figcaption>{esc(b.caption)}</figcaption>" if b.caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{esc(b.alt)}">{caption}</figure>'


def block_markdown(b: Block) -> str:
    if isinstance(b, Heading):
        return "#" * b.level + " " + md_escape(b.text)
    if isinstance(b, Text):
        return ("**Warning:** " if b.warning else "") + md_escape(b.text)
    if isinstance(b, Table):
        return table_markdown(b)
    return f"*Plot in report.html: {md_escape(b.caption or b.alt)}*"


def page_html(title: str, subtitle: str, sections: list[Section]) -> str:
    toc = "".join(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a></li>' for s in sections)
    body = []
    for s in sections:
        body.append(f'<section id="{esc(s.anchor)}"><h2>{esc(s.title)}</h2>')
        body.extend(block_html(b) for b in s.blocks)
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"meta\">{esc(subtitle)}</p>"
            f"<nav><ul>{toc}</ul></nav>\n" + "\n".join(body) + "\n</body></html>\n")


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
