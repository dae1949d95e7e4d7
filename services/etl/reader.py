"""Stream a stored file as chunks of raw text rows: the ETL never holds a whole file in memory.

Each chunk is a DataFrame of strings with columns `line`, `date`, `product_id`, `category`,
`sales`, where `line` is the row's line number in the file (the header is line 1; for .xlsx, the
sheet's row number). Rows with the wrong number of fields come out as structural rejects.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from common.fileformat import FileKind, FileLayout, FileProblem, describe_xlsx_error, open_workbook

FIELDS = ("date", "product_id", "category", "sales")
_MIN_BLOCK, _MAX_BLOCK = 256 * 1024, 64 * 1024 * 1024


@dataclass
class Chunk:
    """Rows read from the file, the malformed ones set aside, and how far into the file we are."""

    rows: pd.DataFrame
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    progress: float = 0.0


class _CountingReader:
    """A read-only file wrapper that counts bytes (progress) and enforces a size limit (gzip bombs)."""

    def __init__(self, raw: BinaryIO, limit: int | None = None, what: str = "file") -> None:
        self.raw, self.limit, self.what, self.count = raw, limit, what, 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise FileProblem(f"the {self.what} expands past the {self.limit // 2**20} MB limit")
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


def read_chunks(fileobj: BinaryIO, layout: FileLayout, *, chunk_rows: int, max_uncompressed: int) -> Iterator[Chunk]:
    """Yield the file's rows in chunks of about `chunk_rows`."""
    if layout.kind is FileKind.XLSX:
        yield from _xlsx_chunks(fileobj, layout, chunk_rows)
    else:
        yield from _csv_chunks(fileobj, layout, chunk_rows, max_uncompressed)


def _file_size(fileobj: BinaryIO) -> int:
    position = fileobj.tell()
    size = fileobj.seek(0, 2)
    fileobj.seek(position)
    return max(size, 1)


def _csv_chunks(fileobj: BinaryIO, layout: FileLayout, chunk_rows: int, max_uncompressed: int) -> Iterator[Chunk]:
    size = _file_size(fileobj)
    raw = _CountingReader(fileobj)
    source: object = raw
    if layout.kind is FileKind.CSV_GZ:
        source = _CountingReader(gzip.GzipFile(fileobj=raw, mode="rb"), max_uncompressed, "decompressed file")
    skipped: list[int] = []  # line numbers of malformed rows, ascending (the parser reports them in order)
    reasons: dict[int, str] = {}

    def on_invalid(row: pacsv.InvalidRow) -> str:
        line = row.number if row.number is not None and row.number > 0 else -1
        skipped.append(line)
        reasons[line] = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        return "skip"

    reader = _open_csv(source, layout, chunk_rows, on_invalid)
    next_line, reported = 2, 0
    try:
        for batch in reader:
            frame = _batch_frame(batch, layout)
            lines, next_line = _assign_lines(len(frame), next_line, skipped)
            frame.insert(0, "line", lines)
            malformed = [(line, reasons[line]) for line in skipped[reported:] if line < next_line]
            reported += len(malformed)
            yield Chunk(frame, malformed, min(raw.count / size, 1.0))
    except pa.ArrowInvalid as exc:
        raise FileProblem(_describe_arrow_error(exc, next_line)) from None
    except (OSError, EOFError) as exc:
        raise FileProblem(f"the compressed file is damaged ({exc})") from None
    trailing = [(line, reasons[line]) for line in skipped[reported:]]
    if trailing:
        yield Chunk(pd.DataFrame({"line": [], **{f: [] for f in FIELDS}}), trailing, 1.0)


def _open_csv(source: object, layout: FileLayout, chunk_rows: int, on_invalid) -> pacsv.CSVStreamingReader:  # noqa: ANN001
    names = [f"c{i}" for i in range(len(layout.header))]
    wanted = [names[layout.columns[f]] for f in FIELDS]
    # ~40 bytes a row is typical of sales files; the block bounds memory, not correctness.
    block = min(max(chunk_rows * 40, _MIN_BLOCK), _MAX_BLOCK)
    try:
        return pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(block_size=block, use_threads=False, skip_rows=1,
                                           column_names=names, encoding=layout.encoding),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter, invalid_row_handler=on_invalid,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(include_columns=wanted,
                                                 column_types={n: pa.string() for n in wanted},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise FileProblem(_describe_arrow_error(exc, 2)) from None


def _batch_frame(batch: pa.RecordBatch, layout: FileLayout) -> pd.DataFrame:
    names = [f"c{i}" for i in range(len(layout.header))]
    return pd.DataFrame({f: batch.column(names[layout.columns[f]]).to_pandas() for f in FIELDS})


def _assign_lines(count: int, next_line: int, skipped: list[int]) -> tuple[np.ndarray, int]:
    """Line numbers of `count` consecutive good rows starting at `next_line`, stepping over malformed ones."""
    lines = np.empty(count, dtype=np.int64)
    position = bisect.bisect_left(skipped, next_line)
    line = next_line
    filled = 0
    while filled < count:
        bound = skipped[position] if position < len(skipped) else None
        run = count - filled if bound is None else min(count - filled, bound - line)
        lines[filled:filled + run] = np.arange(line, line + run)
        filled += run
        line += run
        if filled < count and bound is not None and line == bound:
            line += 1
            position += 1
    return lines, line


def _describe_arrow_error(exc: Exception, line: int) -> str:
    text = str(exc)
    if "UTF8" in text or "UTF-8" in text or "utf-8" in text:
        return (f"the file is not valid UTF-8 text (at or after line {line}); "
                "save it as 'CSV UTF-8' and upload it again")
    return f"the CSV could not be parsed at or after line {line}: {text.splitlines()[0][:200]}"


def _xlsx_chunks(fileobj: BinaryIO, layout: FileLayout, chunk_rows: int) -> Iterator[Chunk]:
    workbook = open_workbook(fileobj)
    try:
        sheet = workbook[layout.sheet]
        total = max((sheet.max_row or 0) - 1, 1)
        positions = [layout.columns[f] for f in FIELDS]
        lines: list[int] = []
        values: list[list[str]] = [[] for _ in FIELDS]
        for number, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
            lines.append(number)
            for slot, position in zip(values, positions, strict=True):
                slot.append(cell_text(row[position] if position < len(row) else None))
            if len(lines) >= chunk_rows:
                yield Chunk(_xlsx_frame(lines, values), [], min((number - 1) / total, 1.0))
                lines, values = [], [[] for _ in FIELDS]
        if lines:
            yield Chunk(_xlsx_frame(lines, values), [], 1.0)
    except FileProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        raise FileProblem(describe_xlsx_error(exc)) from None
    finally:
        workbook.close()


def _xlsx_frame(lines: list[int], values: list[list[str]]) -> pd.DataFrame:
    frame = pd.DataFrame({f: pd.Series(v, dtype="str") for f, v in zip(FIELDS, values, strict=True)})
    frame.insert(0, "line", np.asarray(lines, dtype=np.int64))
    return frame


def cell_text(value: object) -> str:
    """An Excel cell as the text a CSV export of it would hold (dates ISO, numbers exact)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value)
    return str(value)
