"""Small builders of test inputs shared by several test modules."""

from __future__ import annotations

import io

import openpyxl


def workbook(*sheets: tuple[str, list[list[object]]]) -> bytes:
    """An .xlsx written by openpyxl with the given (title, rows) sheets."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refused(response, status: int = 400) -> str:  # noqa: ANN001 - a Flask test response
    """The JSON error of a response that must have failed with `status`."""
    assert response.status_code == status, response.json
    return response.json["error"]
