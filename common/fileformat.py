"""What an uploaded file is and where its columns are: cheap checks shared by the API and the ETL.

The API runs `inspect_file` on the first bytes of every upload, so that an empty file, a file that
is not CSV/XLSX, or one without the required columns is answered at once (400/415) and nothing is
stored. The ETL runs it again on the stored file to learn the delimiter, sheet and column positions.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gzip
import json
import math
import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from common.mapping import Mapping
from common.models import KEY_LENGTH

#: Sales texts meaning "no value" (compared case-insensitively after trimming).
MISSING_TOKENS = ("", "na", "nan", "null")
#: Other names a field is found under when the upload has no mapping; used only when exactly one is present.
ALIASES = {"date": ("date", "ds", "day"), "sales": ("sales", "qty", "quantity", "value", "y")}
#: How many bytes of a CSV are read to find the header line.
HEADER_SCAN_BYTES = 1024 * 1024
#: Largest compression ratio accepted for one member of an .xlsx archive (real sheets stay far below).
MAX_XLSX_RATIO = 200
_DELIMITERS = (",", ";", "\t", "|")
#: A number written with decimal comma: `1,5`, `1.234,5` (a `.` only between groups of three digits).
DECIMAL_COMMA = r"[+-]?(?:(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]*)?|,[0-9]+)"
#: Data rows sampled at upload time to tell a numeric column from a text one.
SAMPLE_ROWS = 200
#: Rows below an .xlsx header searched for data at upload time (blank rows may come first).
XLSX_DATA_SCAN_ROWS = 1000


@dataclass(frozen=True)
class Limits:
    """Bounds on a file's shape (MAX_ROWS, MAX_COLUMNS, MAX_CELL_CHARS): checked on the header at upload
    and on every row while the ETL streams the file."""

    max_rows: int = 5_000_000
    max_columns: int = 1000
    max_cell_chars: int = 1000

    @property
    def max_record_bytes(self) -> int:
        """Longest CSV record read: every column at its longest, 4 bytes a character, or 1 MiB if more.

        Cells of columns castflow does not read are not checked one by one; this bounds them together,
        so a record can never make the ETL hold tens of MB at once.
        """
        return max(2**20, self.max_columns * (self.max_cell_chars + 3) * 4)


class FileKind(StrEnum):
    """The file formats castflow reads; the value is the stored file's suffix without the dot."""

    CSV = "csv"
    CSV_GZ = "csv.gz"
    XLSX = "xlsx"

    @property
    def suffix(self) -> str:
        """The suffix stored files of this kind get."""
        return f".{self.value}"


class FileProblem(Exception):
    """A whole-file problem, with the HTTP status that reports it at upload time."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class FileLayout:
    """Where the data is: format, text encoding, delimiter or sheet, and the required columns' positions."""

    kind: FileKind
    columns: dict[str, int]  # canonical field -> 0-based column index
    header: tuple[str, ...]
    delimiter: str = ","
    encoding: str = "utf-8"
    sheet: str | None = None
    mapping: Mapping = dataclasses.field(default_factory=Mapping)
    limits: Limits = Limits()
    #: A wide file's category columns: (header, 0-based position); each cell is one observation.
    values: tuple[tuple[str, int], ...] = ()
    #: With sheets_as_categories: the sheets loaded, each one category.
    sheets: tuple[str, ...] = ()

    @property
    def cells_per_line(self) -> int:
        """Observations one line of the file holds (a wide file's category columns; else 1)."""
        return len(self.values) or 1

    def categories_from(self) -> str | None:
        """Where the categories come from, as the JSON the batch shows: the columns or sheets loaded."""
        if self.sheets:
            return json.dumps({"sheets": list(self.sheets)})
        if self.values:
            return json.dumps({"columns": [name for name, _ in self.values]})
        return None


def kind_from_name(filename: str) -> FileKind:
    """The kind a file name claims (.csv, .csv.gz, .xlsx), or FileProblem 415."""
    name = filename.strip().lower()
    for kind in (FileKind.CSV_GZ, FileKind.CSV, FileKind.XLSX):
        if name.endswith(kind.suffix):
            return kind
    if name.endswith((".xls", ".xlsm", ".xlsb", ".ods")):
        raise FileProblem("only .xlsx workbooks are read; save the file as .xlsx or CSV UTF-8", 415)
    raise FileProblem("unsupported file type: upload a .csv, .csv.gz or .xlsx file", 415)


def inspect_file(fileobj: BinaryIO, kind: FileKind, max_uncompressed: int,
                 mapping: Mapping | None = None, *, limits: Limits | None = None) -> FileLayout:
    """Check the file's format and header; FileProblem (400/415) says what is wrong."""
    head = fileobj.read(8)
    fileobj.seek(0)
    if not head:
        raise FileProblem("the file is empty")
    check_magic(kind, head)
    try:
        if kind is FileKind.XLSX:
            from common.workbook import inspect_xlsx  # imported here: only .xlsx uploads pay for openpyxl

            layout = inspect_xlsx(fileobj, max_uncompressed, mapping or Mapping(), limits or Limits())
        else:
            layout = _inspect_csv_head(_read_head(fileobj, kind), kind, mapping or Mapping(), limits or Limits())
        return dataclasses.replace(layout, limits=limits or Limits())
    finally:
        fileobj.seek(0)


def check_header_limits(header: list[object], limits: Limits) -> None:
    """400 when the header has more columns than MAX_COLUMNS or a cell longer than MAX_CELL_CHARS."""
    width = len(header)
    while width and header[width - 1] in (None, ""):  # Excel pads rows to the sheet's widest one
        width -= 1
    if width > limits.max_columns:
        raise FileProblem(f"the header has {width} columns, more than the {limits.max_columns} allowed "
                          "(MAX_COLUMNS); remove the columns castflow does not need")
    for position, cell in enumerate(header[:width], start=1):
        if cell is not None and len(str(cell)) > limits.max_cell_chars:
            raise FileProblem(f"header cell {position} is longer than {limits.max_cell_chars} characters "
                              "(MAX_CELL_CHARS); is the first line really the header?")


def check_magic(kind: FileKind, head: bytes) -> None:
    """415 when the file's first bytes are not what its name claims (a zip for .xlsx, gzip for .csv.gz, text)."""
    is_zip, is_gzip = head.startswith(b"PK\x03\x04"), head.startswith(b"\x1f\x8b")
    if kind is FileKind.XLSX and not is_zip:
        raise FileProblem("the file is named .xlsx but is not an Excel workbook", 415)
    if kind is FileKind.CSV_GZ and not is_gzip:
        raise FileProblem("the file is named .csv.gz but is not gzip-compressed", 415)
    if kind is FileKind.CSV and (is_zip or is_gzip):
        raise FileProblem("the file is named .csv but is a compressed archive; name it .csv.gz or .xlsx", 415)


def _read_head(fileobj: BinaryIO, kind: FileKind) -> bytes:
    if kind is FileKind.CSV:
        return fileobj.read(HEADER_SCAN_BYTES)
    try:
        with gzip.GzipFile(fileobj=fileobj, mode="rb") as gz:
            return gz.read(HEADER_SCAN_BYTES)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise FileProblem(f"the gzip stream is damaged ({exc})") from None


def _inspect_csv_head(raw: bytes, kind: FileKind, mapping: Mapping, limits: Limits) -> FileLayout:
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in raw and not utf16:
        raise FileProblem("the file is binary, not CSV text", 415)
    encoding, text = decode_head(raw)
    if not text.strip():
        raise FileProblem("the file is empty")
    lines = text.splitlines()
    header_line = lines[0]
    if len(lines) == 1 and len(raw) >= HEADER_SCAN_BYTES:
        raise FileProblem("the header line is longer than 1 MB")
    delimiter, header = _split_header(header_line, mapping)
    if mapping.sheets_as_categories:
        raise FileProblem('"sheets_as_categories" needs an .xlsx workbook; this file is CSV')
    if mapping.decimal == "," and delimiter == ",":
        raise FileProblem('the mapping asks for decimal ",", but the file\'s fields are separated by ",": a decimal '
                          'comma needs a ";"-, tab- or "|"-separated file (or leave out "decimal")')
    check_header_limits(header, limits)
    columns = match_columns(header, mapping)
    values = match_value_columns(header, mapping, columns)
    if not any(line.strip() for line in lines[1:]):
        raise FileProblem("the file has a header but no data rows")
    complete = lines[1:-1] if len(raw) >= HEADER_SCAN_BYTES else lines[1:]  # the last may be cut off
    sample = list(csv.reader(complete[:SAMPLE_ROWS], delimiter=delimiter))
    check_value_columns(sample, columns, header, mapping.decimal)
    check_numeric(sample, dict(values), mapping.decimal, WIDE_HINT)
    return FileLayout(kind=kind, columns=columns, header=tuple(header), delimiter=delimiter, encoding=encoding,
                      mapping=mapping, values=values)


def decode_head(raw: bytes) -> tuple[str, str]:
    """(encoding, text) of a CSV's bytes: UTF-16 with a BOM, else UTF-8 (a BOM dropped); 400 for other bytes."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", raw.decode("utf-16", errors="replace")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        return "utf-8", decoder.decode(raw, final=False)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileProblem(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); "
            "save it as 'CSV UTF-8' and upload it again"
        ) from None


def _split_header(line: str, mapping: Mapping) -> tuple[str, list[str]]:
    best: tuple[str, list[str]] | None = None
    for delimiter in _DELIMITERS:
        header = next(csv.reader([line], delimiter=delimiter))
        if missing_columns(header, mapping) == []:
            return delimiter, header
        if best is None or len(header) > len(best[1]):
            best = (delimiter, header)
    return best


def normalise(name: object) -> str:
    return str(name).strip().lstrip("\ufeff").strip().lower() if name is not None else ""


def _candidates(header: list[object], mapping: Mapping) -> dict[str, list[int]]:
    """For each field the mapping reads, the header positions that could hold it."""
    names = [normalise(h) for h in header]
    found = {}
    for key, source in mapping.source_columns().items():
        hits = [i for i, name in enumerate(names) if name == source.lower()]
        if not hits and mapping.is_default and key in ALIASES:
            hits = [i for i, name in enumerate(names) if name in ALIASES[key]]
        found[key] = hits
    return found


def missing_columns(header: list[object], mapping: Mapping) -> list[str]:
    sources = mapping.source_columns()
    return [sources[field] for field, hits in _candidates(header, mapping).items() if not hits]


def match_columns(header: list[object], mapping: Mapping | None = None) -> dict[str, int]:
    """Map each field the mapping reads to its column index; FileProblem naming missing or ambiguous columns."""
    mapping = mapping or Mapping()
    missing = missing_columns(header, mapping)
    if missing:
        found = ", ".join(repr(str(h)) for h in header[:20] if h is not None) or "none"
        what = "missing required column(s)" if mapping.is_default else "the mapping names column(s) not in the file"
        raise FileProblem(f"{what}: {', '.join(missing)} (found: {found})")
    columns: dict[str, int] = {}
    for key, hits in _candidates(header, mapping).items():
        if len(hits) > 1:
            names = " and ".join(repr(str(header[i]).strip()) for i in hits)
            raise FileProblem(f"columns {names} could each be {key}; rename one or send a mapping")
        columns[key] = hits[0]
    return columns


def check_value_columns(rows: list[list[object]], columns: dict[str, int], header: list[object],
                        decimal: str = ".") -> None:
    """400 when a column mapped to sales holds no number at all in the sampled rows (a wrong mapping)."""
    named = {str(header[columns[key]]).strip(): columns[key] for key in ("sales", "sales_2") if key in columns}
    check_numeric(rows, named, decimal, "sales must map to a numeric column")


#: Why a wide file's column that holds text is refused.
WIDE_HINT = "each category column must hold numbers: leave it out with all_except or list the columns"


def check_numeric(rows: list[list[object]], named: dict[str, int], decimal: str, hint: str) -> None:
    """400 when a value column (name -> position) holds values but no number in the sampled rows."""
    for name, position in named.items():
        cells = [row[position] for row in rows if position < len(row) and row[position] is not None]
        if any(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cells):
            continue  # real Excel numbers: numeric whatever the decimal separator
        values = [str(c).strip() for c in cells]
        values = [v for v in values if v.lower() not in MISSING_TOKENS]
        if values and not any(is_number(v, decimal) for v in values):
            example = next((v for v in values if not is_number(v, decimal)), values[0])
            raise FileProblem(f"column {name!r} holds no numbers in the first {len(rows)} rows "
                              f"(e.g. {example[:40]!r}); {hint}")
        bad = next((v for v in values if not is_number(v, decimal)), None)
        if bad is not None and decimal == "," and re.fullmatch(r"[+-]?[0-9]*\.[0-9]+", bad):
            raise FileProblem(f"column {name!r} holds {bad[:40]!r}, a decimal point, but the mapping says "
                              'decimal ","; leave out "decimal" for this file')


def is_number(text: str, decimal: str = ".") -> bool:
    """True when `text` is a finite number written with `decimal` as its decimal separator."""
    if decimal == ",":
        if not re.fullmatch(DECIMAL_COMMA, text):
            return False
        text = text.replace(".", "").replace(",", ".")
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def match_value_columns(header: list[object], mapping: Mapping, taken: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """A wide file's category columns, (header, position): the listed ones, or all but the date and those
    excluded; 400 for a column not in the file, an empty or repeated header, or a header too long for a key."""
    if not mapping.is_wide:
        return ()
    names = [normalise(h) for h in header]
    width = len(names)
    while width and names[width - 1] == "":  # Excel pads rows to the sheet's widest one
        width -= 1
    wanted = mapping.category_columns or mapping.category_all_except
    absent = [name for name in wanted if name.lower() not in names]
    if absent:
        found = ", ".join(repr(str(h)) for h in header[:20] if h is not None)
        raise FileProblem(f"the mapping's category_columns name column(s) not in the file: {', '.join(absent)} "
                          f"(found: {found})")
    if mapping.category_columns is not None:
        positions = [_only_position(names, name, header) for name in mapping.category_columns]
    else:
        excluded = {name.lower() for name in mapping.category_all_except} | {names[p] for p in taken.values()}
        positions = [p for p in range(width) if names[p] not in excluded]
    return _checked_value_headers(header, positions, mapping.date)


def _only_position(names: list[str], name: str, header: list[object]) -> int:
    hits = [i for i, n in enumerate(names) if n == name.lower()]
    if len(hits) > 1:
        raise FileProblem(f"columns {' and '.join(repr(str(header[i]).strip()) for i in hits)} could each be "
                          f"category column {name!r}; rename one")
    return hits[0]


def _checked_value_headers(header: list[object], positions: list[int], date: str) -> tuple[tuple[str, int], ...]:
    if not positions:
        raise FileProblem(f"the wide mapping leaves no category column besides {date!r}")
    seen: dict[str, int] = {}
    for position in positions:
        name = "" if header[position] is None else str(header[position]).strip().lstrip("\ufeff").strip()
        if not name:
            raise FileProblem(f"column {position + 1} has an empty header, so it cannot name a category; name it, "
                              "or list the category columns")
        if name in seen:
            raise FileProblem(f"columns {seen[name] + 1} and {position + 1} are both headed {name!r}; a category "
                              "column's header must be unique")
        if len(name) > KEY_LENGTH:
            raise FileProblem(f"column {position + 1}'s header is longer than {KEY_LENGTH} characters, too long "
                              "for a category or product id")
        seen[name] = position
    return tuple(seen.items())


def check_xlsx_archive(fileobj: BinaryIO, max_uncompressed: int) -> None:
    """Refuse a damaged .xlsx or a decompression bomb by reading only the archive's directory."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except zipfile.BadZipFile:
        raise FileProblem("the .xlsx file is damaged (not a valid zip archive)", 415) from None
    with archive:
        infos = archive.infolist()
        if "xl/workbook.xml" not in {info.filename for info in infos}:
            raise FileProblem("the file is a zip archive but not an Excel workbook", 415)
        total = sum(info.file_size for info in infos)
        if total > max_uncompressed:
            raise FileProblem(f"the workbook expands to {total // 2**20} MB, over the "
                              f"{max_uncompressed // 2**20} MB limit", 413)
        for info in infos:
            if info.file_size > 1_000_000 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                raise FileProblem(f"the workbook member {info.filename!r} is compressed more than "
                                  f"{MAX_XLSX_RATIO}:1; refused as a possible decompression bomb")
    fileobj.seek(0)


def open_workbook(fileobj: BinaryIO):  # noqa: ANN201 - openpyxl's Workbook
    """Open an .xlsx read-only (streaming), turning XML attacks and damage into FileProblem."""
    import openpyxl  # imported here: only .xlsx uploads pay for it

    try:
        return openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        raise FileProblem(describe_xlsx_error(exc)) from None


def describe_xlsx_error(exc: BaseException) -> str:
    """A readable, one-line reason for an openpyxl/defusedxml failure (openpyxl wraps defusedxml's)."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__module__.startswith("defusedxml"):
            return "the workbook contains XML entity or DTD declarations, refused for safety"
        seen = seen.__cause__ or seen.__context__
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"the workbook could not be read ({type(exc).__name__}: {first_line})"
