"""GET /invoice-data: stored observations, filtered and paginated."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from services.api import reads
from services.api.params import MAX_ID, date_range, get_int, get_text, reject_unknown
from services.api.replica import read_session
from services.api.serialize import row_dict

blueprint = Blueprint("invoices", __name__)

INVOICE_FIELDS = ["date", "product_id", "category", "sales", "is_imputed", "batch_num", "version"]
MAX_LIMIT = 10_000


@blueprint.get("/invoice-data")
def invoice_data():  # noqa: ANN201
    """A page of observations, newest day first, with pagination totals."""
    args = request.args
    reject_unknown(args, ("category", "product_id", "batch_num", "start_date", "end_date", "page", "limit"))
    start, end = date_range(args)
    where = reads.InvoiceFilter(
        category=get_text(args, "category"),
        product_id=get_text(args, "product_id"),
        batch_num=get_int(args, "batch_num", None, minimum=1, maximum=MAX_ID),
        start_date=start,
        end_date=end,
    )
    page = get_int(args, "page", 1, minimum=1, maximum=10_000_000)
    limit = get_int(args, "limit", 15, minimum=1, maximum=MAX_LIMIT)
    with read_session() as session:
        rows, total = reads.invoice_page(session, where, page=page, limit=limit)
        data = [row_dict(row, INVOICE_FIELDS) for row in rows]
    return jsonify({
        "data": data,
        "pagination": {"page": page, "limit": limit, "total_items": total,
                       "total_pages": (total + limit - 1) // limit},
    })
