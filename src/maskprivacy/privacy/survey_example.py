"""A SYNTHETIC example survey in :mod:`.survey`'s format, to try the analysis without real answers.

The generator's model below is illustration, not an estimate from any survey (docs/SURVEY.md); every
file it writes says so in its header and in each row's ``data_source``.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from maskprivacy.privacy.survey import DEMOGRAPHICS, ID, IMPORTANCE, REQUIRED, SOURCE, WITH, WITHOUT

# The generator's model. The numbers are arbitrary illustration values chosen by hand, NOT estimates
# from any real survey; they only make the example file exercise every part of the analysis.
EXAMPLE_WITHOUT_P = (0.15, 0.30, 0.30, 0.18, 0.07)  # P(privacy without mask = 1..5)
EXAMPLE_SHIFT = ((-1, 0, 1, 2), (0.10, 0.45, 0.35, 0.10))  # with = clip(without + shift, 1, 5)
EXAMPLE_IMPORTANCE_P = {
    "sex": (0.25, 0.25, 0.25, 0.15, 0.10),
    "race": (0.10, 0.15, 0.25, 0.25, 0.25),
    "age": (0.20, 0.25, 0.25, 0.20, 0.10),
}
EXAMPLE_DEMOGRAPHICS = {
    "age_group": ("18-24", "25-34", "35-44", "45-54", "55+"),
    "gender": ("female", "male", "non-binary", "prefer not to say"),
    "country": ("AU", "GB", "IN", "LK", "US"),
}
EXAMPLE_COLUMNS = (*REQUIRED, *DEMOGRAPHICS, SOURCE)


def example_survey(n: int = 200, seed: int = 0) -> list[dict[str, str]]:
    """``n`` SYNTHETIC respondents drawn from the fixed model above with ``numpy.random.default_rng(seed)``."""
    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    likert = np.arange(1, 6)
    without = rng.choice(likert, size=n, p=EXAMPLE_WITHOUT_P)
    shift = rng.choice(np.array(EXAMPLE_SHIFT[0]), size=n, p=EXAMPLE_SHIFT[1])
    with_mask = np.clip(without + shift, 1, 5)
    imp = {a: rng.choice(likert, size=n, p=p) for a, p in EXAMPLE_IMPORTANCE_P.items()}
    demo = {k: rng.integers(0, len(v), size=n) for k, v in EXAMPLE_DEMOGRAPHICS.items()}
    width = max(4, len(str(n)))
    rows = []
    for i in range(n):
        row = {ID: f"synthetic-{i + 1:0{width}d}", WITHOUT: str(int(without[i])), WITH: str(int(with_mask[i]))}
        row.update({IMPORTANCE[a]: str(int(imp[a][i])) for a in IMPORTANCE})
        row.update({k: EXAMPLE_DEMOGRAPHICS[k][int(demo[k][i])] for k in EXAMPLE_DEMOGRAPHICS})
        row[SOURCE] = "synthetic"
        rows.append(row)
    return rows


def example_csv(n: int = 200, seed: int = 0) -> str:
    """The example file's text: a comment header saying it is synthetic and how it was made, then the rows."""
    buf = io.StringIO()
    buf.write(
        f"# SYNTHETIC EXAMPLE SURVEY - generated, NOT real responses, NOT the paper's data.\n"
        f"# Made by: maskprivacy survey example --n {n} --seed {seed} (model: docs/SURVEY.md).\n"
    )
    w = csv.DictWriter(buf, fieldnames=EXAMPLE_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(example_survey(n, seed))
    return buf.getvalue()


def write_example(path: str | os.PathLike, n: int = 200, seed: int = 0) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(example_csv(n, seed).encode("utf-8"))
    return path
