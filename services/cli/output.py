"""What the commands print: aligned tables, a batch in words, JSON and CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from services.cli.progress import forecast_text, printable

#: The batch's counts in the order a person reads them: (field, label).
BATCH_COUNTS = [
    ("num_total_rows", "rows read"), ("num_missing_rows", "missing values"), ("num_imputed_rows", "imputed"),
    ("num_inserted_rows", "inserted"), ("num_updated_rows", "updated"), ("num_unchanged_rows", "unchanged"),
    ("num_rejected_rows", "rejected"), ("num_filtered_rows", "filtered out"),
]
BATCH_TIMES = [("uploaded_at", "uploaded"), ("started_at", "started"), ("finished_at", "finished")]


def cell(value: object) -> str:
    """One table cell: '-' for nothing, numbers with two decimals, text made terminal-safe."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    return printable(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under headers in aligned columns; a column of numbers is right-aligned."""
    cells = [[cell(value) for value in row] for row in rows]
    numeric = [_numeric([row[i] for row in rows]) for i in range(len(headers))]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    lines = [[h.rjust(w) if n else h.ljust(w) for h, w, n in zip(headers, widths, numeric, strict=True)]]
    lines += [[c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric, strict=True)] for row in cells]
    return "\n".join("  ".join(line).rstrip() for line in lines)


def batch_summary(batch: Mapping[str, Any]) -> str:
    """A batch in words: file, status and progress, forecast status, counts, times, then its log."""
    progress = float(batch.get("progress") or 0.0)
    pairs = [("status", f"{batch['status']} ({progress:.0%})"), ("forecasts", printable(forecast_text(batch)))]
    pairs += [(label, _count(batch.get(field))) for field, label in BATCH_COUNTS]
    if batch.get("mapping"):
        pairs.append(("mapping", json.dumps(batch["mapping"], sort_keys=True)))
    pairs += [(label, cell(batch.get(field))) for field, label in BATCH_TIMES]
    width = max(len(label) for label, _ in pairs)
    lines = [f"batch {batch['batch_num']}: {cell(batch.get('original_filename'))}"]
    lines += [f"  {label.ljust(width)}  {printable(value)}" for label, value in pairs]
    if batch.get("error_log"):
        lines.append("  error log:" if batch["status"] == "failed" else "  log:")
        lines += [f"    {printable(line)}" for line in str(batch["error_log"]).splitlines()]
    return "\n".join(lines)


def write_json(stream: TextIO, value: object) -> None:
    """`value` as indented JSON and a newline."""
    json.dump(value, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def write_csv(stream: TextIO, rows: Sequence[Mapping[str, object]], fields: Sequence[str]) -> None:
    """Rows as CSV with a header line (the values as the server sent them)."""
    writer = csv.DictWriter(stream, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def _numeric(column: Sequence[object]) -> bool:
    values = [v for v in column if v is not None]
    return bool(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _count(value: object) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else printable(value)
