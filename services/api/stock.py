"""Stock on hand per product, sent as a CSV/XLSX file or as JSON rows: checked whole, stored whole or not at all.

A row replaces the product's stored stock: its optional values (lead time, service level, order and
unit cost) left out or blank mean the category's inventory settings, else the deployment's defaults.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from common.db import utcnow
from common.fileformat import (
    FileKind,
    FileProblem,
    check_magic,
    check_xlsx_archive,
    decode_head,
    describe_xlsx_error,
    kind_from_name,
    normalise,
    open_workbook,
)
from common.models import KEY_LENGTH, CategoryProduct, CategoryStats, ProductStock
from services.api.inventory import LEAD_TIME_RANGE, SERVICE_LEVEL_RANGE

#: The columns (and JSON keys) a stock row must have, and those it may have.
REQUIRED = ("product_id", "category", "on_hand")
OPTIONAL = ("lead_time_days", "service_level", "order_cost", "unit_cost")
#: Most rows one stock file or body may hold.
MAX_STOCK_ROWS = 100_000
#: Largest stock CSV read, uncompressed (100,000 rows of stock take a few MB).
MAX_STOCK_BYTES = 32 * 1024 * 1024
#: Most rejected rows an error answer lists (all are counted).
MAX_REPORTED = 100
#: Largest stock or cost accepted (the sales columns' DECIMAL(12,2) bound).
MAX_QUANTITY = 1e10
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class StockRow:
    """One product's stock as sent; `line` is its line in the file (or its 1-based position in the JSON rows)."""

    line: int
    product_id: str
    category: str
    on_hand: float
    lead_time_days: int | None = None
    service_level: float | None = None
    order_cost: float | None = None
    unit_cost: float | None = None


@dataclass(frozen=True)
class RowProblem:
    """Why a row was refused: its line, the column at fault, the value and the reason."""

    line: int
    column: str
    value: str
    reason: str


class StockRejected(Exception):
    """The stock sent has bad rows; nothing was stored. `problems` lists them."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the stock rows; nothing was stored")
        self.problems = problems


def read_stock_file(fileobj: BinaryIO, filename: str, max_uncompressed: int) -> list[tuple[int, dict[str, object]]]:
    """(line, {column: cell}) of each data row of a stock .csv, .csv.gz or .xlsx; FileProblem (400/415) for the file."""
    kind = kind_from_name(filename)
    head = fileobj.read(8)
    fileobj.seek(0)
    if not head:
        raise FileProblem("the file is empty")
    check_magic(kind, head)
    if kind is FileKind.XLSX:
        records = _xlsx_records(fileobj, max_uncompressed)
    else:
        records = _csv_records(_file_text(fileobj, kind, min(max_uncompressed, MAX_STOCK_BYTES)))
    rows = []
    for line, record in records:
        rows.append((line, record))
        if len(rows) > MAX_STOCK_ROWS:
            raise FileProblem(f"the file holds more than {MAX_STOCK_ROWS} rows; send the stock in parts")
    if not rows:
        raise FileProblem("the file has a header but no data rows")
    return rows


def _file_text(fileobj: BinaryIO, kind: FileKind, max_bytes: int) -> str:
    raw = fileobj.read(max_bytes + 1)
    if kind is FileKind.CSV_GZ:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unzipped:
                raw = unzipped.read(max_bytes + 1)
        except (OSError, EOFError) as exc:
            raise FileProblem(f"the gzip stream is damaged ({exc})") from None
    if len(raw) > max_bytes:
        raise FileProblem(f"the stock file is larger than {max_bytes // 2**20} MB", 413)
    if b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem("the file is binary, not CSV text", 415)
    return decode_head(raw + b"\n")[1]


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, object]]]:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise FileProblem("the file is empty")
    delimiter, header = _header(lines[0])
    for number, cells in enumerate(csv.reader(lines[1:], delimiter=delimiter), start=2):
        if any(cell.strip() for cell in cells):
            yield number, _record(header, cells)


def _header(line: str) -> tuple[str, list[str]]:
    """The delimiter giving a header with the required columns, and the header; 400 naming what is missing."""
    best = None
    for delimiter in _DELIMITERS:
        header = [normalise(name) for name in next(csv.reader([line], delimiter=delimiter))]
        if not _missing(header):
            return delimiter, header
        best = best if best is not None and len(best) >= len(header) else header
    raise FileProblem(f"missing required column(s): {', '.join(_missing(best))} "
                      f"(found: {', '.join(repr(h) for h in best[:20] if h)}); a stock file needs "
                      f"{', '.join(REQUIRED)} and may have {', '.join(OPTIONAL)}")


def _missing(header: list[str]) -> list[str]:
    return [name for name in REQUIRED if name not in header]


def _record(header: list[str], cells: Iterable[object]) -> dict[str, object]:
    """The row's cells under the columns castflow reads (others ignored)."""
    wanted = (*REQUIRED, *OPTIONAL)
    return {name: cell for name, cell in zip(header, cells, strict=False) if name in wanted}


def _xlsx_records(fileobj: BinaryIO, max_uncompressed: int) -> list[tuple[int, dict[str, object]]]:
    """The first sheet with the required columns, as (row number, record)."""
    check_xlsx_archive(fileobj, max_uncompressed)
    workbook = open_workbook(fileobj)
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = [normalise(name) for name in next(rows, ()) or ()]
            if _missing(header):
                continue
            filled = ((number, cells) for number, cells in enumerate(rows, start=2)
                      if any(cell not in (None, "") for cell in cells))
            return [(number, _record(header, cells)) for number, cells in islice(filled, MAX_STOCK_ROWS + 1)]
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        raise FileProblem(describe_xlsx_error(exc)) from None
    finally:
        workbook.close()
    raise FileProblem(f"no sheet has the required columns {', '.join(REQUIRED)}")


def json_records(body: object) -> list[tuple[int, dict[str, object]]]:
    """(position, row) of a JSON body {"rows": [{product_id, category, on_hand, ...}, ...]}; StockRejected else."""
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not rows:
        raise StockRejected([RowProblem(0, "rows", "", 'send {"rows": [{"product_id", "category", "on_hand"}, ...]}'
                                        " with at least one row")])
    if len(rows) > MAX_STOCK_ROWS:
        raise StockRejected([RowProblem(0, "rows", str(len(rows)), f"more than {MAX_STOCK_ROWS} rows")])
    return [(number, row) for number, row in enumerate(rows, start=1)]


def parse_rows(records: list[tuple[int, object]], *, from_text: bool) -> list[StockRow]:
    """The records as StockRows; StockRejected listing every bad value (text cells parse as numbers `from_text`)."""
    rows, problems, seen = [], [], {}
    for line, record in records:
        found: list[RowProblem] = []
        row = _row(line, record, from_text, found)
        if row is not None and (row.category, row.product_id) in seen:
            found.append(RowProblem(line, "product_id", row.product_id,
                                    f"listed twice for category {row.category!r} (first on line "
                                    f"{seen[row.category, row.product_id]})"))
        if row is not None and not found:
            seen[row.category, row.product_id] = line
            rows.append(row)
        problems += found
    if problems:
        raise StockRejected(problems)
    return rows


def _row(line: int, record: object, from_text: bool, problems: list[RowProblem]) -> StockRow | None:
    if not isinstance(record, Mapping):
        problems.append(RowProblem(line, "", _shown(record), "a row must be an object"))
        return None
    unknown = sorted(set(record) - {*REQUIRED, *OPTIONAL})
    for name in unknown:
        known = ", ".join((*REQUIRED, *OPTIONAL))
        problems.append(RowProblem(line, str(name)[:30], "", f"unknown key; known: {known}"))
    before = len(problems)
    values = {
        "product_id": _key(line, "product_id", record.get("product_id"), problems),
        "category": _key(line, "category", record.get("category"), problems),
        "on_hand": _number(line, "on_hand", record.get("on_hand"), from_text, problems, required=True),
        "lead_time_days": _lead_time(line, record.get("lead_time_days"), from_text, problems),
        "service_level": _service_level(line, record.get("service_level"), from_text, problems),
        "order_cost": _number(line, "order_cost", record.get("order_cost"), from_text, problems),
        "unit_cost": _number(line, "unit_cost", record.get("unit_cost"), from_text, problems),
    }
    return StockRow(line=line, **values) if len(problems) == before and not unknown else None


def _key(line: int, name: str, value: object, problems: list[RowProblem]) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's numeric id
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if not text:
        problems.append(RowProblem(line, name, _shown(value), "must be a non-empty text"))
    elif len(text) > KEY_LENGTH:
        problems.append(RowProblem(line, name, _shown(value), f"longer than {KEY_LENGTH} characters"))
    else:
        return text
    return None


def _number(line: int, name: str, value: object, from_text: bool, problems: list[RowProblem], *,
            required: bool = False) -> float | None:
    """A finite number >= 0 (absent or blank: None, or a problem when `required`)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(RowProblem(line, name, "", "is required"))
        return None
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and from_text:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        problems.append(RowProblem(line, name, _shown(value), "must be a number"))
    elif number < 0:
        problems.append(RowProblem(line, name, _shown(value), "must not be negative"))
    elif number > MAX_QUANTITY:
        problems.append(RowProblem(line, name, _shown(value), f"must be at most {MAX_QUANTITY:.0e}"))
    else:
        return number
    return None


def _lead_time(line: int, value: object, from_text: bool, problems: list[RowProblem]) -> int | None:
    low, high = LEAD_TIME_RANGE
    before = len(problems)
    number = _number(line, "lead_time_days", value, from_text, problems)
    if number is None:
        return None
    if not number.is_integer() or not low <= number <= high:
        problems.append(RowProblem(line, "lead_time_days", _shown(value),
                                   f"must be a whole number of days, {low}..{high}"))
        return None
    return int(number) if len(problems) == before else None


def _service_level(line: int, value: object, from_text: bool, problems: list[RowProblem]) -> float | None:
    low, high = SERVICE_LEVEL_RANGE
    number = _number(line, "service_level", value, from_text, problems)
    if number is not None and not low <= number < high:
        problems.append(RowProblem(line, "service_level", _shown(value),
                                   f"must be at least {low} and below {high:g} (e.g. 0.95 for 95%)"))
        return None
    return number


def _shown(value: object) -> str:
    return "" if value is None else str(value)[:100]


def unknown_products(session: Session, rows: list[StockRow]) -> list[RowProblem]:
    """The rows naming a category without stored sales, or a product without stored sales in its category."""
    categories = {row.category for row in rows}
    known_categories = set(session.scalars(select(CategoryStats.category)
                                           .where(CategoryStats.category.in_(categories))))
    pairs = [(row.category, row.product_id) for row in rows if row.category in known_categories]
    known = set()
    for start in range(0, len(pairs), 1000):  # IN lists of bounded length
        chunk = pairs[start:start + 1000]
        known |= set(session.execute(select(CategoryProduct.category, CategoryProduct.product_id)
                                     .where(tuple_(CategoryProduct.category, CategoryProduct.product_id).in_(chunk))))
    problems = []
    for row in rows:
        if row.category not in known_categories:
            problems.append(RowProblem(row.line, "category", row.category, "unknown category (no stored sales)"))
        elif (row.category, row.product_id) not in known:
            problems.append(RowProblem(row.line, "product_id", row.product_id,
                                       f"unknown product: no stored sales in category {row.category!r}"))
    return problems


def save_stock(sessions: sessionmaker[Session], rows: list[StockRow]) -> tuple[int, int]:
    """Check the rows' products and store them in one transaction: (inserted, updated); StockRejected for unknowns."""
    with sessions.begin() as session:
        problems = unknown_products(session, rows)
        if problems:
            raise StockRejected(problems)
        stored = {(s.category, s.product_id): s for s in session.scalars(
            select(ProductStock).where(ProductStock.category.in_({row.category for row in rows})))}
        now, inserted = utcnow(), 0
        for row in rows:
            values = {name: getattr(row, name) for name in (*REQUIRED, *OPTIONAL)}
            current = stored.get((row.category, row.product_id))
            if current is None:
                session.add(ProductStock(**values, updated_at=now))
                inserted += 1
            else:
                for name, value in values.items():
                    setattr(current, name, value)
                current.updated_at = now
    return inserted, len(rows) - inserted
