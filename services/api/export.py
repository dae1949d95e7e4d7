"""Downloads: forecasts as streamed CSV or as a workbook with one sheet and one chart per category.

Every text cell goes through `escape_formula`: a category named `=cmd()` must reach a spreadsheet
as text, never as a formula it would run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import LineChart, Reference
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session, sessionmaker

from common.grain import Grain
from common.status import ModelType
from services.api import forecast_reads, period_reads, periods, product_reads
from services.api.forecast_reads import ForecastFilter
from services.api.serialize import jsonable

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

#: Columns of the CSV export, in order.
CSV_FIELDS = ["forecast_date", "category", "model_type", "forecast_value", "lower_bound", "upper_bound",
              "run_id", "batch_num", "p10", "p50", "p90"]  # the quantiles last: older readers keep their columns
#: Columns of a product's CSV export: the same, then the product.
PRODUCT_CSV_FIELDS = [*CSV_FIELDS, "product_id"]
#: Days of actual sales shown before the forecast starts in each workbook sheet.
HISTORY_DAYS = 90
#: Excel's limit on sheet names, and the characters it refuses in them.
SHEET_NAME_LENGTH = 31
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
#: Where the data starts on a sheet: row 1 holds the category, row 2 the column headers.
_HEADER_ROW = 2
#: Each model's columns on a sheet (after the date and history columns), headed `<model><suffix>`.
_MODEL_FIELDS = ["forecast_value", "lower_bound", "upper_bound", "p10", "p50", "p90"]
_MODEL_SUFFIXES = ["", "_lower", "_upper", "_p10", "_p50", "_p90"]
_SHEET_FIELDS = ["model_type", "forecast_date", *_MODEL_FIELDS]
#: Columns of a period CSV (grain=week or month), in order.
PERIOD_CSV_FIELDS = ["forecast_date", "period_end", "category", "model_type", "grain", "days", "days_in_period",
                     "forecast_start", "forecast_end", "forecast_value", "lower_bound", "upper_bound", "p10", "p50",
                     "p90", "actual", "actual_days", "total", "complete", "target", "gap", "gap_share", "run_id",
                     "batch_num"]
#: The Monthly sheet: its headers, and the period row field or (field, plus the actual) behind each column.
MONTHLY_SHEET = "Monthly"
_MONTHLY_COLUMNS = [("category", "category"), ("model", "model_type"), ("month", "forecast_date"),
                    ("days forecast", "days"), ("days in month", "days_in_period"), ("actual so far", "actual"),
                    ("forecast", "forecast_value"), ("total", "total"), ("total lower", ("lower_bound",)),
                    ("total upper", ("upper_bound",)), ("total p10", ("p10",)), ("total p90", ("p90",)),
                    ("target", "target"), ("gap", "gap"), ("gap share", "gap_share")]


def escape_formula(value: object) -> object:
    """Prefix text starting with = + - @ (or a tab/CR) with ' so spreadsheets show it, not run it."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def forecast_csv(sessions: sessionmaker[Session], where: ForecastFilter) -> Iterator[str]:
    """The filtered forecast rows as CSV text, chunk by chunk (for a streamed response)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    # The generator runs after the view has returned, so it opens its own session.
    with sessions() as session:
        for chunk in forecast_reads.forecast_row_chunks(session, where, CSV_FIELDS):
            writer.writerows([escape_formula(jsonable(value)) for value in row] for row in chunk)
            yield _drain(out)
    yield _drain(out)


def period_csv(rows: list[dict[str, object]]) -> str:
    """Period rows (grain=week or month) as CSV text."""
    return rows_csv(rows, PERIOD_CSV_FIELDS)


def rows_csv(rows: Iterable[dict[str, object]], fields: Sequence[str]) -> str:
    """JSON-ready rows as CSV text with the columns `fields`, formula-like text escaped."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    writer.writerows([escape_formula(row.get(name)) for name in fields] for row in rows)
    return out.getvalue()


def _drain(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def forecast_workbook(session: Session, where: ForecastFilter) -> bytes:
    """An .xlsx with one sheet per category: recent history, each model's forecast, bounds and quantiles, a chart."""
    workbook = Workbook(write_only=True)
    names: set[str] = set()
    # One category at a time: memory holds one sheet's rows, and no cursor is open during the history query.
    for category in forecast_reads.forecast_categories(session, where):
        rows = forecast_reads.forecast_rows(session, replace(where, category=category), _SHEET_FIELDS)
        forecast = {(model, day): tuple(values) for model, day, *values in rows}
        start = min(day for _, day in forecast)
        history = forecast_reads.daily_history(session, category, start - dt.timedelta(days=HISTORY_DAYS), start)
        _write_sheet(workbook.create_sheet(sheet_name(category, names)), category, history, forecast)
    if not workbook.worksheets:
        workbook.create_sheet("forecasts").append(["no forecast rows match the filters"])
    else:
        _write_monthly(workbook.create_sheet(sheet_name(MONTHLY_SHEET, names)), _monthly_rows(session, where))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def product_workbook(session: Session, runs: dict[str, int], product_id: str, start: dt.date | None,
                     end: dt.date | None) -> bytes:
    """An .xlsx with one sheet per category the product's forecast is in: its recent sales, forecast and a chart."""
    workbook = Workbook(write_only=True)
    names: set[str] = set()
    for category, run_id in sorted(runs.items()):
        query = product_reads.product_rows_query({category: run_id}, product_id, _SHEET_FIELDS, start=start, end=end)
        forecast = {(model, day): tuple(values) for model, day, *values in session.execute(query)}
        if not forecast:
            continue
        first = min(day for _, day in forecast)
        history = product_reads.product_history(session, category, product_id,
                                                first - dt.timedelta(days=HISTORY_DAYS), first)
        _write_sheet(workbook.create_sheet(sheet_name(category, names)), category, history, forecast,
                     product_id=product_id)
    if not workbook.worksheets:
        workbook.create_sheet("forecasts").append(["no forecast rows match the filters"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _write_sheet(sheet: WriteOnlyWorksheet, category: str, history: dict[dt.date, float],
                 forecast: dict[tuple[str, dt.date], tuple[float | None, ...]], product_id: str | None = None) -> None:
    models = model_order({model for model, _ in forecast})
    category = ILLEGAL_CHARACTERS_RE.sub("", category)  # control characters are not allowed in the XML
    product = ["product_id", escape_formula(ILLEGAL_CHARACTERS_RE.sub("", product_id))] if product_id else []
    sheet.append(["category", escape_formula(category), *product])
    sheet.append(["date", "history", *(f"{m}{suffix}" for m in models for suffix in _MODEL_SUFFIXES)])
    days = sorted(set(history) | {day for _, day in forecast})
    empty = (None,) * len(_MODEL_FIELDS)
    for day in days:
        values = [v for m in models for v in forecast.get((m, day), empty)]
        sheet.append([day, history.get(day), *values])
    # To the right of the table (date, history, the columns of each model), after one empty column.
    corner = get_column_letter(4 + len(_MODEL_FIELDS) * len(models))
    sheet.add_chart(_chart(sheet, category, len(models), len(days)), f"{corner}2")


def _monthly_rows(session: Session, where: ForecastFilter) -> list[dict[str, object]]:
    """The filtered forecasts per month (with actual, interval, target and gap); none when they cannot be."""
    try:
        return period_reads.forecast_periods(session, where, Grain.MONTH) or []
    except (period_reads.NoForecast, periods.FinerThanSource):
        return []


def _write_monthly(sheet: WriteOnlyWorksheet, rows: list[dict[str, object]]) -> None:
    """Per category, model and month: actual so far, forecast, total with its interval, target and gap."""
    sheet.append([header for header, _ in _MONTHLY_COLUMNS])
    for row in rows:
        sheet.append([escape_formula(_monthly_cell(row, field)) for _, field in _MONTHLY_COLUMNS])
    if not rows:
        sheet.append(["no monthly view: the forecasts could not be summed per month"])


def _monthly_cell(row: dict[str, object], field: str | tuple[str]) -> object:
    """One cell of the Monthly sheet: a field of the period row, or (a 1-tuple) a bound of its total."""
    if isinstance(field, tuple):
        bound = row.get(field[0])
        return None if bound is None else round((row.get("actual") or 0.0) + bound, 2)
    value = row.get(field)
    if field == "forecast_date":
        return dt.date.fromisoformat(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _chart(sheet: WriteOnlyWorksheet, category: str, n_models: int, n_days: int) -> LineChart:
    chart = LineChart()
    chart.title = category[:200]
    chart.y_axis.title = "sales"
    chart.x_axis.number_format = "yyyy-mm-dd"
    # openpyxl 3.1 hides both axes unless told otherwise.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width, chart.height = 24, 12
    last = _HEADER_ROW + n_days
    # History, then each model's value (its bounds and quantiles stay in the table: 9 models' bands would be noise).
    for column in (2, *(3 + len(_MODEL_FIELDS) * index for index in range(n_models))):
        chart.add_data(Reference(sheet, min_col=column, min_row=_HEADER_ROW, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=_HEADER_ROW + 1, max_row=last))
    return chart


def model_order(models: Iterable[str]) -> list[str]:
    """Model types in ModelType order, unknown ones after them alphabetically."""
    known = [m.value for m in ModelType]
    return sorted(models, key=lambda m: (known.index(m) if m in known else len(known), m))


def sheet_name(category: str, taken: set[str]) -> str:
    """A sheet name Excel accepts for `category`: no []:*?/\\, at most 31 characters, unique (any case)."""
    base = ILLEGAL_CHARACTERS_RE.sub("", _SHEET_NAME_BAD.sub("_", category)).strip().strip("'")
    base = base[:SHEET_NAME_LENGTH].strip() or "category"
    if base.lower() == "history":  # a name Excel reserves
        base = "history_"
    name, number = base, 1
    while name.lower() in taken:
        number += 1
        suffix = f"~{number}"
        name = base[:SHEET_NAME_LENGTH - len(suffix)] + suffix
    taken.add(name.lower())
    return name
