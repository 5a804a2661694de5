"""The report's document model: headings, paragraphs, tables and images, and how numbers read.

The report is built once as blocks and rendered twice (Markdown, HTML), so both say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

NOT_RUN = "not run"


@dataclass
class Block:
    kind: str  # h1 h2 h3 p table img details note
    text: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    path: Path | None = None
    children: tuple["Block", ...] = ()


def heading(level: int, text: str) -> Block:
    return Block(f"h{level}", text)


def paragraph(text: str) -> Block:
    return Block("p", text)


def table_block(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Block:
    return Block("table", header=tuple(header), rows=tuple(tuple(str(c) for c in r) for r in rows))


def image_block(path: Path, caption: str) -> Block:
    return Block("img", caption, path=path)


def fmt_pct(v: float | None, digits: int = 2) -> str:
    return NOT_RUN if v is None else f"{100 * v:.{digits}f}%"


def fmt_num(v: float | None, digits: int = 2) -> str:
    return NOT_RUN if v is None else f"{v:.{digits}f}"


def fmt_metric(metric: str, v: float | None) -> str:
    return fmt_pct(v) if metric == "accuracy" or metric.endswith("_accuracy") else fmt_num(v)


def fmt_ci(ci: list | None, pct: bool = False) -> str:
    if not ci or ci[0] is None:
        return ""
    f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:.3f}")
    return f" [{f(ci[0])}, {f(ci[1])}]"


def fmt_pct_ci(v: float | None, ci: list | None) -> str:
    return f"{fmt_pct(v, 1)}{fmt_ci(ci, True)}"
