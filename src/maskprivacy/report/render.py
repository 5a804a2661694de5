"""The report's renderers: Markdown and a self-contained HTML page (CSS inline, PNGs as data URIs).

The HTML opens offline, can be mailed as one file, and makes no network request.
"""

from __future__ import annotations

import base64
import html
import os
from pathlib import Path
from typing import Iterable

from maskprivacy.layout import RunLayout
from maskprivacy.report.blocks import Block
from maskprivacy.report.results import build_results, read_json
from maskprivacy.report.sections import FIGURES, build_blocks


def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], base: Path) -> str:
    out: list[str] = []
    for b in blocks:
        if b.kind.startswith("h"):
            out += ["#" * int(b.kind[1]) + " " + b.text, ""]
        elif b.kind == "p":
            out += [b.text, ""]
        elif b.kind == "note":
            out += [f"> note: {b.text}", ""]
        elif b.kind == "table":
            out.append("| " + " | ".join(_md_cell(h) for h in b.header) + " |")
            out.append("|" + "---|" * len(b.header))
            out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            out.append("")
        elif b.kind == "img":
            assert b.path is not None
            rel = os.path.relpath(b.path, base).replace(os.sep, "/")
            out += [f"![{b.text}]({rel})", ""]
        elif b.kind == "details":
            out += [f"**{b.text}**", ""]
            out.append(to_markdown(list(b.children), base))
    return "\n".join(out)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f3f4f6}tr:nth-child(even) td{background:#fafafa}
td:not(:first-child){font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555}
details{margin:.4em 0}summary{cursor:pointer;font-weight:600}
.note{background:#fff8e1;border-left:4px solid #f0b429;padding:.4em .8em;font-size:.9em}
code{background:#f3f4f6;padding:0 .2em}
"""


def _inline(text: str) -> str:
    """Escape, then render `code` spans (the only inline Markdown the report uses)."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _html_blocks(blocks: Iterable[Block]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if b.kind.startswith("h"):
            out.append(f"<{b.kind}>{_inline(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "note":
            out.append(f'<p class="note">note: {_inline(b.text)}</p>')
        elif b.kind == "table":
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.header)
            body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in b.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif b.kind == "img":
            assert b.path is not None
            out.append(
                f'<figure><img alt="{html.escape(b.text)}" src="{_data_uri(b.path)}">'
                f"<figcaption>{_inline(b.text)}</figcaption></figure>"
            )
        elif b.kind == "details":
            out.append(f"<details><summary>{_inline(b.text)}</summary>{''.join(_html_blocks(b.children))}</details>")
    return out


def to_html(blocks: list[Block], title: str = "maskprivacy run report") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(_html_blocks(blocks))
        + "\n</body></html>\n"
    )


def render_report(run: str | os.PathLike, results: dict | None = None, draw_pvi: bool = True) -> tuple[Path, Path]:
    """Write RUN/report.md and RUN/report.html; return their paths.

    With ``draw_pvi``, figures/pvi.png is (re)drawn from the PVI in results.json first.
    """
    run = Path(run)
    if not run.is_dir():
        raise FileNotFoundError(f"run folder not found: {run}")
    res = results or read_json(RunLayout(run).results_json) or build_results(run)
    if draw_pvi and res.get("pvi") and (res["pvi"].get("attributes") or {}):
        from maskprivacy.report.figures import pvi_figure

        pvi_figure(res["pvi"], run / FIGURES["pvi"])
    blocks = build_blocks(run, res)
    md, page = RunLayout(run).report_md, RunLayout(run).report_html
    md.write_text(to_markdown(blocks, run))
    page.write_text(to_html(blocks))
    return md, page
