"""Stream a stored file as chunks of raw text rows: the ETL never holds a whole file in memory.

Each chunk is a DataFrame of strings with columns `line`, `date`, `product_id`, `category`,
`sales`, where `line` is the row's line number in the file (the header is line 1; for .xlsx, the
sheet's row number). A wide file's line gives one row per category cell (see melt), and MAX_ROWS
and the chunk size count those cells. Rows with the wrong number of fields, or with a value longer than
MAX_CELL_CHARS in a column castflow reads, come out as structural rejects. A file with more than
MAX_ROWS rows, or a CSV record longer than the limits allow, stops the read with a FileProblem as
soon as it is seen (the batch fails; nothing has been written).
"""

from __future__ import annotations

import bisect
import codecs
import dataclasses
import datetime as dt
import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from common.fileformat import (
    FileKind,
    FileLayout,
    FileProblem,
    Limits,
    describe_xlsx_error,
    match_columns,
    open_workbook,
)
from services.etl.melt import melt_lines

FIELDS = ("date", "product_id", "category", "sales")
_MIN_BLOCK, _MAX_BLOCK = 256 * 1024, 64 * 1024 * 1024


@dataclass
class Chunk:
    """Rows read from the file, the malformed ones set aside, and how far into the file we are."""

    rows: pd.DataFrame
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    progress: float = 0.0
    #: Observations a malformed line stands for (a wide file's category columns), for the counts.
    line_cells: int = 1
    #: The sheet the rows come from when each sheet is a category: it prefixes the columns of rejects.
    label: str | None = None


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
    """Yield the file's rows in chunks of about `chunk_rows`, within the layout's limits."""
    if layout.kind is FileKind.XLSX:
        chunks = _xlsx_chunks(fileobj, layout, chunk_rows)
    else:
        chunks = _csv_chunks(fileobj, layout, chunk_rows, max_uncompressed)
    yield from within_limits(chunks, layout.limits)


def within_limits(chunks: Iterator[Chunk], limits: Limits) -> Iterator[Chunk]:
    """Pass chunks on with over-long cells set aside as rejects; FileProblem once more than max_rows were read."""
    seen = 0
    for chunk in chunks:
        seen += len(chunk.rows) + len(chunk.malformed) * chunk.line_cells
        if seen > limits.max_rows:
            cells = ", counting each category cell as one" if chunk.line_cells > 1 else ""
            raise FileProblem(f"the file has more than {limits.max_rows:,} rows (MAX_ROWS){cells}; split it into "
                              "smaller files; nothing was loaded")
        yield _drop_long_cells(chunk, limits.max_cell_chars)


def _drop_long_cells(chunk: Chunk, max_chars: int) -> Chunk:
    """Move rows with a value longer than `max_chars` in a read column to the chunk's rejects."""
    rows = chunk.rows
    long = pd.Series(False, index=rows.index)
    reasons = pd.Series("", index=rows.index, dtype="object")
    for name in rows.columns.drop("line"):
        lengths = rows[name].str.len()
        hit = (lengths > max_chars) & ~long
        if hit.any():
            field_name = "sales" if name.startswith("sales") else name
            reasons[hit] = [f"{field_name} is longer than {max_chars} characters ({n:,})" for n in lengths[hit]]
            long |= hit
    if not long.any():
        return chunk
    rejects = list(zip(rows["line"][long].tolist(), reasons[long].tolist(), strict=True))
    return dataclasses.replace(chunk, rows=rows[~long].reset_index(drop=True),
                               malformed=sorted(chunk.malformed + rejects))


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
    if layout.encoding != "utf-8":
        source = _Utf8Reader(source, layout.encoding)
    # ~40 bytes a row is typical of sales files, ~8 a cell of a wide one (a number and its delimiter); the
    # piece size bounds memory (each cell of a piece becomes a Python string at once), not correctness.
    block = min(max(chunk_rows * (8 if layout.values else 40), _MIN_BLOCK), _MAX_BLOCK)
    line, pieces = 1, record_pieces(source, block, layout.limits.max_record_bytes)
    try:
        for number, piece in enumerate(pieces):
            if number == 0:
                piece, line = _drop_header(piece), 2
            if piece:
                yield from _piece_chunks(piece, layout, line, chunk_rows, min(raw.count / size, 1.0))
            line += piece.count(b"\n")
    except RecordTooLong as exc:
        raise FileProblem(f"line {line + exc.line_offset} is {exc.message}; nothing was loaded") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise FileProblem(f"the compressed file is damaged ({exc})") from None


class _Utf8Reader:
    """Transcodes a byte stream in another encoding (UTF-16 from Excel) to UTF-8 as it is read."""

    def __init__(self, raw: object, encoding: str) -> None:
        self.raw, self.decoder = raw, codecs.getincrementaldecoder(encoding)(errors="strict")

    def read(self, size: int = -1) -> bytes:
        while True:
            data = self.raw.read(size)
            try:
                text = self.decoder.decode(data, final=not data)
            except UnicodeDecodeError:
                raise FileProblem("the file is not valid UTF-16 text throughout") from None
            if text or not data:
                return text.encode("utf-8")


def record_pieces(source: object, block: int, max_record: int = _MAX_BLOCK) -> Iterator[bytes]:
    """Cut a byte stream into pieces of about `block` bytes that end at a record boundary.

    A boundary is a newline outside double quotes (a quoted field may hold newlines); CSV doubles
    quotes inside quoted fields, so the parity of the quote count tells inside from outside.
    RecordTooLong when a line is longer than `max_record` bytes, or no boundary comes within them.
    """
    carry = b""
    while data := source.read(block):
        buffer = carry + data
        cut = _last_record_end(buffer)
        if cut < 0:
            if len(buffer) > max_record:
                raise _too_long(max_record, 0)
            carry = buffer
            continue
        piece, carry = buffer[: cut + 1], buffer[cut + 1:]
        _check_line_lengths(piece, max_record)
        yield piece
    if carry:
        _check_line_lengths(carry, max_record)
        yield carry


class RecordTooLong(FileProblem):
    """A CSV line longer than the limits allow (or unbalanced quotes swallowing the rest of the file)."""

    def __init__(self, message: str, line_offset: int) -> None:
        super().__init__(message)
        self.line_offset = line_offset  # lines before the long one in the piece being cut


def _too_long(max_record: int, line_offset: int) -> RecordTooLong:
    size = f"{round(max_record / 2**20, 1):g} MB" if max_record >= 2**20 else f"{max_record / 1024:g} KB"
    return RecordTooLong(f"longer than {size} (a cell far over MAX_CELL_CHARS, or unbalanced quotes)",
                         line_offset)


def _check_line_lengths(piece: bytes, max_record: int) -> None:
    """RecordTooLong at the first line of `piece` longer than `max_record` bytes (vectorised: cheap)."""
    if len(piece) <= max_record:
        return
    ends = np.flatnonzero(np.frombuffer(piece, dtype=np.uint8) == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    lengths = np.concatenate((ends, [len(piece)])) - starts
    long = np.flatnonzero(lengths > max_record)
    if long.size:
        raise _too_long(max_record, int(long[0]))


def _last_record_end(buffer: bytes) -> int:
    quotes = buffer.count(b'"')
    newline = buffer.rfind(b"\n")
    while newline >= 0:
        if (quotes - buffer.count(b'"', newline)) % 2 == 0:
            return newline
        newline = buffer.rfind(b"\n", 0, newline)
    return -1


def _drop_header(piece: bytes) -> bytes:
    piece = piece.removeprefix(codecs.BOM_UTF8)
    end = _first_record_end(piece)
    return b"" if end < 0 else piece[end + 1:]


def _first_record_end(buffer: bytes) -> int:
    newline = buffer.find(b"\n")
    while newline >= 0 and buffer.count(b'"', 0, newline) % 2:
        newline = buffer.find(b"\n", newline + 1)
    return newline


def _piece_chunks(piece: bytes, layout: FileLayout, first_line: int, cells: int, progress: float) -> Iterator[Chunk]:
    """The chunks of one piece: one frame, or for a wide file its cells in frames of about `cells` rows."""
    columns, lines, malformed = _parse_piece(piece, layout, first_line)
    if not layout.values:
        rows = _with_fields(columns, layout)
        rows.insert(0, "line", lines)
        yield Chunk(rows, malformed, progress)
        return
    values = [(header, columns[f"c{position}"].to_numpy(dtype=object)) for header, position in layout.values]
    frames = melt_lines(lines, columns["date"].to_numpy(dtype=object), values, layout.mapping, cells)
    first = next(frames, pd.DataFrame(columns=["line", *FIELDS]))  # the malformed lines ride on the first
    yield Chunk(first, malformed, progress, layout.cells_per_line)
    for frame in frames:
        yield Chunk(frame, [], progress, layout.cells_per_line)


def _parse_piece(piece: bytes, layout: FileLayout, first_line: int) -> tuple[dict[str, pd.Series], np.ndarray,
                                                                             list[tuple[int, str]]]:
    """Parse one piece of records; `first_line` is the file line its first record starts on.

    Returns the columns castflow reads (by field, and a wide file's category columns by header), the good
    rows' line numbers, and the malformed lines.
    """
    names = [f"c{i}" for i in range(len(layout.header))]
    # A wide file's category columns are keyed by position (c3): a header may spell a field's name.
    read = {**{f: names[p] for f, p in layout.columns.items()}, **{names[p]: names[p] for _, p in layout.values}}
    malformed: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        line = first_line + row.number - 1 if row.number is not None and row.number > 0 else first_line
        malformed.append((line, f"expected {row.expected_columns} fields, found {row.actual_columns}"))
        return "skip"

    wanted = sorted(set(read.values()), key=names.index)
    try:
        table = pacsv.read_csv(
            pa.py_buffer(piece),
            read_options=pacsv.ReadOptions(block_size=len(piece) + 1, use_threads=False, column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=layout.delimiter, invalid_row_handler=on_invalid,
                                             ignore_empty_lines=False, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(include_columns=wanted,
                                                 column_types={n: pa.string() for n in wanted},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raise FileProblem(_describe_arrow_error(exc, first_line)) from None
    columns = {key: table.column(name).to_pandas() for key, name in read.items()}
    lines, _ = _assign_lines(table.num_rows, first_line, sorted(line for line, _ in malformed))
    return columns, lines, malformed


def _with_fields(columns: dict[str, pd.Series], layout: FileLayout) -> pd.DataFrame:
    """The chunk frame in FIELDS order (plus sales_2 when sales is a product), constants filled in."""
    mapping = layout.mapping
    size = len(next(iter(columns.values())))
    for name, const in (("product_id", mapping.product_const), ("category", mapping.category_const)):
        if const is not None:
            columns[name] = pd.Series([const] * size, dtype="str")
    order = [*FIELDS, *(["sales_2"] if "sales_2" in columns else [])]
    return pd.DataFrame({f: columns[f] for f in order})


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
        sheets = [workbook[name] for name in (layout.sheets or (layout.sheet,))]
        total = max(sum(max((sheet.max_row or 0) - 1, 0) for sheet in sheets), 1)
        done = 0
        for sheet in sheets:
            for chunk, read in _sheet_chunks(sheet, _sheet_layout(sheet, layout), chunk_rows):
                yield dataclasses.replace(chunk, progress=min((done + read) / total, 1.0))
            done += max((sheet.max_row or 0) - 1, 0)
    except FileProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        raise FileProblem(describe_xlsx_error(exc)) from None
    finally:
        workbook.close()


def _sheet_layout(sheet, layout: FileLayout) -> FileLayout:  # noqa: ANN001 - an openpyxl worksheet
    """With one sheet per category: this sheet's column positions, and its name as the constant category."""
    if not layout.sheets:
        return layout
    header = list(next(sheet.iter_rows(values_only=True, max_row=1), ()) or ())
    mapping = dataclasses.replace(layout.mapping, category_const=sheet.title.strip())
    return dataclasses.replace(layout, sheet=sheet.title, columns=match_columns(header, layout.mapping),
                               mapping=mapping)


def _sheet_chunks(sheet, layout: FileLayout, chunk_rows: int) -> Iterator[tuple[Chunk, int]]:  # noqa: ANN001
    """A sheet's chunks of about `chunk_rows` rows (cells, in a wide sheet), each with the data rows read so far."""
    read = list(layout.columns)
    positions = [layout.columns[f] for f in read] + [p for _, p in layout.values]
    lines: list[int] = []
    cells: list[list[str]] = [[] for _ in positions]
    for number, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
        lines.append(number)
        for slot, position in zip(cells, positions, strict=True):
            slot.append(cell_text(row[position] if position < len(row) else None, layout.mapping.decimal))
        if len(lines) * layout.cells_per_line >= chunk_rows:
            yield from ((chunk, number - 1) for chunk in _xlsx_frames(lines, read, cells, layout, chunk_rows))
            lines, cells = [], [[] for _ in positions]
    if lines:
        yield from ((chunk, lines[-1] - 1) for chunk in _xlsx_frames(lines, read, cells, layout, chunk_rows))


def _xlsx_frames(lines: list[int], read: list[str], cells: list[list[str]], layout: FileLayout,
                 chunk_rows: int) -> Iterator[Chunk]:
    label = layout.sheet if layout.sheets else None
    numbers = np.asarray(lines, dtype=np.int64)
    if not layout.values:
        frame = _with_fields({f: pd.Series(v, dtype="str") for f, v in zip(read, cells, strict=True)}, layout)
        frame.insert(0, "line", numbers)
        yield Chunk(frame, label=label)
        return
    values = [(header, np.asarray(column, dtype=object))
              for (header, _), column in zip(layout.values, cells[len(read):], strict=True)]
    dates = np.asarray(cells[read.index("date")], dtype=object)
    for frame in melt_lines(numbers, dates, values, layout.mapping, chunk_rows):
        yield Chunk(frame, line_cells=layout.cells_per_line)


def cell_text(value: object, decimal: str = ".") -> str:
    """An Excel cell as the text a CSV export of it would hold (dates ISO, numbers exact, with `decimal`)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value).replace(".", decimal)
    return str(value)
