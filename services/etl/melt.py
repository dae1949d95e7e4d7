"""Wide files to long rows: each category cell of a line becomes one row of the chunk frame.

A wide file (a mapping's `category_columns`) has a date column and one value column per category
(or per product, when the category is a constant). `melt_lines` turns a run of its lines into frames
with the reader's columns (line, date, product_id, category, sales), about `cells` rows each, so
that memory follows the chunk size, not the file's width.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from common.mapping import Mapping

#: The chunk frame's columns, in order.
COLUMNS = ("line", "date", "product_id", "category", "sales")


def melt_lines(lines: np.ndarray, dates: np.ndarray, values: list[tuple[str, np.ndarray]], mapping: Mapping,
               cells: int) -> Iterator[pd.DataFrame]:
    """Yield the cells of these lines as long frames of about `cells` rows; wholly blank lines are skipped."""
    keep = _not_blank(dates, values)
    if not keep.all():
        lines, dates = lines[keep], dates[keep]
        values = [(name, column[keep]) for name, column in values]
    step = max(1, cells // max(len(values), 1))
    for start in range(0, len(lines), step):
        part = slice(start, start + step)
        yield _melt(lines[part], dates[part], [(name, column[part]) for name, column in values], mapping)


def _not_blank(dates: np.ndarray, values: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """False for lines with nothing in the date and every category column (a trailing ';;;;' line)."""
    keep = np.array([str(d).strip() != "" for d in dates], dtype=bool)
    for _, column in values:
        if keep.all():
            break
        blank = ~keep
        keep[blank] = [str(v).strip() != "" for v in column[blank]]
    return keep


def _melt(lines: np.ndarray, dates: np.ndarray, values: list[tuple[str, np.ndarray]], mapping: Mapping) -> pd.DataFrame:
    count, size = len(values), len(lines)
    wide = mapping.wide_field
    other, const = ("product_id", mapping.product_const) if wide == "category" else ("category", mapping.category_const)
    frame = {
        "line": np.tile(lines, count), "date": np.tile(dates, count),
        wide: np.repeat(np.array([name for name, _ in values], dtype=object), size),
        other: np.full(size * count, const, dtype=object),
        "sales": np.concatenate([column for _, column in values]) if values else np.empty(0, dtype=object),
    }
    return pd.DataFrame({name: frame[name] for name in COLUMNS})
