"""The dataset manifest: one row per file with its labels, or the reason it has none."""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from maskprivacy.data.imageio import DEFAULT_MAX_PIXELS, ImageError, decode_image
from maskprivacy.data.labels import AGE_BUCKET_NAMES, RACE_NAMES, SEX_NAMES, LabelError, parse_name
from maskprivacy.data.sources import SkippedFile, iter_source

MANIFEST_COLUMNS = ("path", "age", "sex", "race", "age_bucket", "status", "reason")


@dataclass
class Manifest:
    rows: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "ok"]

    @property
    def problems(self) -> list[dict]:
        return [r for r in self.rows if r["status"] != "ok"]

    def counts(self) -> dict[str, Counter]:
        ok = self.ok
        return {
            "sex": Counter(SEX_NAMES[r["sex"]] for r in ok),
            "race": Counter(RACE_NAMES[r["race"]] for r in ok),
            "age_bucket": Counter(AGE_BUCKET_NAMES[r["age_bucket"]] for r in ok),
            "status": Counter(r["status"] for r in self.rows),
        }

    def write_csv(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, extrasaction="ignore")
            w.writeheader()
            w.writerows(sorted(self.rows, key=lambda r: r["path"]))


def build_manifest(
    data: str | os.PathLike, check_images: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Manifest:
    """Parse every file name of ``data``; with ``check_images`` also decode each image."""
    skipped: list[SkippedFile] = []
    rows: list[dict] = []
    for item in iter_source(data, skipped):
        row: dict = {"path": item.name, "status": "ok", "reason": ""}
        try:
            lab = parse_name(item.name)
            row.update(age=lab.age, sex=lab.sex, race=lab.race, age_bucket=lab.age_bucket)
        except LabelError as e:
            row.update(status="bad_label", reason=str(e))
        if check_images and row["status"] == "ok":
            try:
                decode_image(item.data, max_pixels)
            except ImageError as e:
                row.update(status=e.kind, reason=e.reason)
        rows.append(row)
    rows.extend({"path": s.name, "status": "skipped", "reason": s.reason} for s in skipped)
    return Manifest(rows)


def format_counts(m: Manifest) -> str:
    """Human-readable counts by sex, race and age bucket, then the problems found."""
    c = m.counts()
    n_ok = len(m.ok)
    lines = [f"files: {len(m.rows)}   labelled: {n_ok}   problems: {len(m.problems)}", ""]

    def block(title: str, names: tuple[str, ...], counter: Counter) -> None:
        lines.append(title)
        for name in names:
            v = counter.get(name, 0)
            pct = 100.0 * v / n_ok if n_ok else 0.0
            lines.append(f"  {name:<8} {v:>7}  {pct:5.1f}%")
        lines.append("")

    block("sex", SEX_NAMES, c["sex"])
    block("race", RACE_NAMES, c["race"])
    block("age bucket", AGE_BUCKET_NAMES, c["age_bucket"])
    if m.problems:
        lines.append("problems")
        for r in sorted(m.problems, key=lambda r: r["path"]):
            lines.append(f"  {r['status']:<10} {r['path']}: {r['reason']}")
    return "\n".join(lines)
