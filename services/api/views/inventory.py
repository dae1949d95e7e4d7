"""Inventory: stock per product in (a file or JSON rows), categories' inventory settings, and what to order."""

from __future__ import annotations

import io
import math
from functools import partial

from flask import Blueprint, Response, current_app, jsonify, request
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from common.fileformat import FileProblem
from common.storage import PendingUpload, UploadTooLarge
from services.api import forecast_reads, inventory, inventory_reads, services, stock
from services.api.cache import reads_changed, response_cache
from services.api.errors import ApiError
from services.api.export import escape_formula, rows_csv
from services.api.params import get_choice, get_int, get_text, json_body, json_object, reject_unknown
from services.api.views.forecasts import XLSX_MIMETYPE

blueprint = Blueprint("inventory", __name__)

#: Largest JSON body of stock rows (about 20,000 rows).
MAX_STOCK_JSON_BYTES = 4 * 1024 * 1024
MAX_LIMIT = 1000


@blueprint.post("/inventory/stock")
def post_stock():  # noqa: ANN201
    """Store stock per product from a multipart `file` (.csv, .csv.gz, .xlsx) or a JSON body {"rows": [...]}."""
    reject_unknown(request.args, ())
    if request.mimetype == "multipart/form-data":
        records, from_text = _file_records(), True
    else:
        body = json_body(request, 'send the stock as multipart field "file" or a JSON body {"rows": [...]}',
                         max_bytes=MAX_STOCK_JSON_BYTES)
        records, from_text = _checked(stock.json_records, body), False
    rows = _checked(partial(stock.parse_rows, from_text=from_text), records)
    inserted, updated = _checked(stock.save_stock, services().sessions, rows)
    reads_changed()  # /inventory is cached
    return jsonify({"rows": len(rows), "inserted": inserted, "updated": updated}), 201


def _file_records() -> list[tuple[int, dict[str, object]]]:
    """The uploaded stock file's records; 400/413/415 for a missing, oversized or unreadable file."""
    deps = services()
    try:
        received = request.files.get("file")
    except UploadTooLarge as exc:
        raise ApiError(413, str(exc)) from None
    if received is None or not received.filename or not isinstance(received.stream, PendingUpload):
        raise ApiError(400, "send the stock file as multipart/form-data field 'file'")
    try:
        with deps.store.received(received.stream) as fileobj:
            return stock.read_stock_file(fileobj, received.filename, deps.settings.max_uncompressed_bytes)
    except FileProblem as exc:
        raise ApiError(exc.status, exc.message) from None
    finally:
        deps.store.abort(received.stream)  # the stock file is read, never kept


def _checked(step, *args):  # noqa: ANN001, ANN002, ANN202
    """`step(*args)`, with StockRejected answered as a 400 listing the bad rows."""
    try:
        return step(*args)
    except stock.StockRejected as exc:
        problems = [{"line": p.line, "column": p.column, "value": p.value, "reason": p.reason}
                    for p in exc.problems[:stock.MAX_REPORTED]]
        first = exc.problems[0]
        where = f"line {first.line}: " if first.line else ""
        raise ApiError(400, f"{len(exc.problems)} problem(s) in the stock rows, nothing was stored; first: {where}"
                            f"{first.column} {first.value!r}: {first.reason}".replace(" '':", ":"),
                       problems=problems, problem_count=len(exc.problems)) from None


@blueprint.get("/inventory")
def inventory_view():  # noqa: ANN201
    """A page of products' stock advice: order-now first, then fewest days of inventory."""
    args = request.args
    reject_unknown(args, ("category", "order_now", "page", "limit"))
    where = _filter(args)
    page = get_int(args, "page", 1, minimum=1, maximum=10_000_000)
    limit = get_int(args, "limit", 50, minimum=1, maximum=MAX_LIMIT)
    body = response_cache().body("/inventory", args.items(multi=True), partial(_inventory_page, where, page, limit))
    return Response(body, mimetype="application/json")


def _filter(args) -> inventory_reads.InventoryFilter:  # noqa: ANN001
    order_now = get_choice(args, "order_now", ["true", "false"])
    return inventory_reads.InventoryFilter(category=get_text(args, "category"),
                                           order_now=None if order_now is None else order_now == "true")


def _rows(where: inventory_reads.InventoryFilter) -> list[dict[str, object]]:
    deps = services()
    with deps.sessions() as session:
        return inventory_reads.inventory_rows(session, deps.settings, where)


def _inventory_page(where: inventory_reads.InventoryFilter, page: int, limit: int) -> bytes:
    rows = _rows(where)
    answer = {"data": rows[(page - 1) * limit:page * limit],
              "pagination": {"page": page, "limit": limit, "total_items": len(rows),
                             "total_pages": (len(rows) + limit - 1) // limit}}
    return current_app.json.dumps(answer).encode()


@blueprint.get("/inventory/export")
def inventory_export():  # noqa: ANN201
    """Every /inventory row (same filters) as CSV or as an .xlsx sheet."""
    args = request.args
    reject_unknown(args, ("category", "order_now", "format"))
    fmt = get_choice(args, "format", ["csv", "xlsx"], default="csv")
    rows = _rows(_filter(args))
    if fmt == "csv":
        return Response(rows_csv(rows, inventory_reads.INVENTORY_FIELDS), mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="inventory.csv"'})
    return Response(_workbook(rows), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": 'attachment; filename="inventory.xlsx"'})


def _workbook(rows: list[dict[str, object]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("inventory")
    sheet.append(inventory_reads.INVENTORY_FIELDS)
    for row in rows:
        sheet.append([escape_formula(ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)
                      for v in (row[name] for name in inventory_reads.INVENTORY_FIELDS)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@blueprint.get("/categories/<path:name>/inventory-settings")
def get_inventory_settings(name: str):  # noqa: ANN201
    """The category's lead time, service level, review period and costs in force, and the defaults."""
    reject_unknown(request.args, ())
    deps = services()
    with deps.sessions() as session:
        if not forecast_reads.category_exists(session, name):
            raise _unknown(name)
        return jsonify(inventory_reads.category_inventory_settings(session, name, deps.settings))


@blueprint.put("/categories/<path:name>/inventory-settings")
def put_inventory_settings(name: str):  # noqa: ANN201
    """Set some of the category's inventory settings (null: back to the deployment's default)."""
    reject_unknown(request.args, ())
    body = json_object(request, optional=inventory_reads.SETTING_NAMES)
    if not body:
        raise ApiError(400, f"send at least one of {', '.join(inventory_reads.SETTING_NAMES)}")
    change = {key: _setting(key, value) for key, value in body.items()}
    deps = services()
    with deps.sessions() as session:
        if not forecast_reads.category_exists(session, name):
            raise _unknown(name)
    saved = inventory_reads.save_inventory_settings(deps.sessions, name, change, deps.settings)
    reads_changed()  # /inventory is cached
    return jsonify(saved)


#: Each inventory setting's accepted range (low, high, whether high is included, whole numbers only).
_RANGES = {"lead_time_days": (*inventory.LEAD_TIME_RANGE, True, True), "review_days": (1, 365, True, True),
           "service_level": (*inventory.SERVICE_LEVEL_RANGE, False, False),
           "order_cost": (0, stock.MAX_QUANTITY, True, False), "unit_cost": (0, stock.MAX_QUANTITY, True, False),
           "holding_cost_rate": (0.001, 10, True, False)}


def _setting(name: str, value: object) -> float | int | None:
    """A setting's value from the body: null, or a number in its range; 400 naming it otherwise."""
    if value is None:
        return None
    low, high, closed, whole = _RANGES[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and low <= value and (value <= high if closed else value < high) and (not whole or value == int(value))
    if not ok:
        kind = "a whole number" if whole else "a number"
        raise ApiError(400, f"{name} must be {kind} from {low:g} to {high:g}{'' if closed else ' (excluded)'} "
                            f"or null, got {str(value)[:50]!r}")
    return int(value) if whole else float(value)


def _unknown(name: str) -> ApiError:
    return ApiError(404, f"category {name[:100]!r} has no stored data")
