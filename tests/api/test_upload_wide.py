"""Uploading wide files, one-sheet-per-category workbooks and decimal-comma files through the API."""

from __future__ import annotations

import io
import json

import pytest

from tests.builders import workbook
from tests.common.test_fileformat_wide import PHARMACY, PHARMACY_MAPPING, SHEETS
from tests.etl.test_limits import limited  # noqa: F401 - the fixture: an app with other limits

#: The first lines of the Sandy 311 calls by day, as found (M/D/YY dates, one column per agency, a total).
SANDY = ("date,NYC-3-1-1,ACS,BPSI,total\n10/22/12,0,0,0,0\n10/29/12,112,0,3,115\n10/30/12,1500,2,7,1509\n")
SANDY_MAPPING = {"date": "date", "date_format": "%m/%d/%y", "product_id": {"const": "calls"},
                 "category_columns": {"all_except": ["total"]}}


def post(client, content: str | bytes, mapping: dict, filename: str = "wide.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post("/upload", data={"file": (io.BytesIO(data), filename), "mapping": json.dumps(mapping)},
                       content_type="multipart/form-data")


def load(client, drain, content: str | bytes, mapping: dict, filename: str = "wide.csv") -> dict:
    answer = post(client, content, mapping, filename)
    assert answer.status_code == 202, answer.json
    drain()
    return client.get(f"/batches/{answer.json['batch_num']}").json


def stored(client) -> dict[tuple[str, str, str], float]:
    body = client.get("/invoice-data?limit=1000").json
    return {(r["date"], r["product_id"], r["category"]): r["sales"] for r in body["data"]}


def test_pharmacy_excerpt_loads_one_row_per_class_and_day(client, drain):
    """Two days x 8 classes: 16 cells stored; Year, Month, Hour and Weekday Name are not categories."""
    batch = load(client, drain, PHARMACY, PHARMACY_MAPPING, "salesdaily.csv")
    assert batch["status"] == "completed", batch["error_log"]
    assert batch["num_total_rows"] == batch["num_inserted_rows"] == 16
    assert batch["categories_from"] == {"columns": ["M01AB", "M01AE", "N02BA", "N02BE", "N05B", "N05C", "R03", "R06"]}
    rows = stored(client)
    assert rows[("2014-01-02", "all", "M01AE")] == 3.67 and rows[("2014-01-03", "all", "N02BE")] == 50.6
    assert {category for _, _, category in rows} == set(batch["categories_from"]["columns"])


def test_sandy_excerpt_leaves_the_total_out(client, drain):
    """The 311 agencies load per day; the total column is not stored as a category."""
    batch = load(client, drain, SANDY, SANDY_MAPPING, "sandy.csv")
    assert batch["status"] == "completed" and batch["num_total_rows"] == 9
    assert batch["mapping"]["category_columns"] == {"all_except": ["total"]}
    rows = stored(client)
    assert rows[("2012-10-30", "calls", "NYC-3-1-1")] == 1500.0
    assert sum(v for (day, _, _), v in rows.items() if day == "2012-10-30") == 1509


def test_a_bad_cell_is_rejected_with_its_line_and_column(client, drain):
    """A negative cell is one rejected observation named by its line and header; the rest loads."""
    text = "date,Calls,Emails\n" + "".join(f"2023-01-{d:02d},{d},{d}\n" for d in range(1, 20)) + "2023-01-20,5,-1\n"
    batch = load(client, drain, text, {"date": "date", "product_id": {"const": "all"},
                                       "category_columns": ["Calls", "Emails"]})
    assert batch["status"] == "completed" and (batch["num_total_rows"], batch["num_rejected_rows"]) == (40, 1)
    errors = client.get(f"/batches/{batch['batch_num']}/errors").json
    assert errors == [{"line": 21, "column": "Emails", "value": "-1", "reason": "negative sales"}]


@pytest.mark.parametrize(("content", "mapping", "words"), [
    (PHARMACY, {**PHARMACY_MAPPING, "category_columns": ["M01AB", "X99"]}, "not in the file: X99"),
    (PHARMACY, {**PHARMACY_MAPPING, "category_columns": {"all_except": ["Year", "Month", "Hour"]}},
     "column 'Weekday Name' holds no numbers"),
    (PHARMACY, {**PHARMACY_MAPPING, "sales": "M01AB"}, 'leave out "sales"'),
    (SANDY, {**SANDY_MAPPING, "decimal": ","}, 'a decimal comma needs a ";"-, tab- or "|"-separated file'),
    ("date,A,A\n2023-01-01,1,2\n", {**SANDY_MAPPING, "date_format": None, "category_columns": {"all_except": []}},
     "both headed 'A'"),
])
def test_bad_wide_uploads_are_400_with_the_reason_and_store_nothing(client, content, mapping, words):
    """Each bad wide upload is refused at once, saying why; no batch is recorded."""
    answer = post(client, content, mapping)
    assert answer.status_code == 400 and words in answer.json["error"]
    assert client.get("/metadata").json == []


def test_sheets_load_as_one_batch_that_names_them(client, drain):
    """A workbook of channel sheets is one batch; each sheet's rows are its category."""
    book = workbook(("Calls", [["Date", "Volume"], ["2023-01-01", 5], ["2023-01-02", 6]]),
                    ("Emails", [["Date", "Volume"], ["2023-01-01", 2]]))
    batch = load(client, drain, book, SHEETS, "channels.xlsx")
    assert batch["status"] == "completed" and batch["categories_from"] == {"sheets": ["Calls", "Emails"]}
    assert stored(client) == {("2023-01-01", "all", "Calls"): 5.0, ("2023-01-02", "all", "Calls"): 6.0,
                              ("2023-01-01", "all", "Emails"): 2.0}


def test_decimal_comma_file_loads_its_values(client, drain):
    """A ;-separated export with 1.234,5 and 1,5 loads 1234.5 and 1.5."""
    text = "Date;product_id;category;sales\n2023-01-01;p;c;1.234,5\n2023-01-02;p;c;1,5\n"
    batch = load(client, drain, text, {"decimal": ","})
    assert batch["status"] == "completed", batch["error_log"]
    assert stored(client) == {("2023-01-01", "p", "c"): 1234.5, ("2023-01-02", "p", "c"): 1.5}


def test_a_file_without_a_wide_mapping_shows_no_categories_from(client, drain):
    """categories_from is null for a file with a category column."""
    batch = load(client, drain, "Date,product_id,category,sales\n2023-01-01,p,c,1\n", {"date": "Date"})
    assert batch["status"] == "completed" and batch["categories_from"] is None


def test_max_rows_counts_cells_of_a_wide_file(limited, drain):  # noqa: F811
    """Three lines of three categories are nine rows: over MAX_ROWS=8 the batch fails, naming the cells."""
    client = limited(max_rows=8)
    text = "date,A,B,C\n" + "".join(f"2023-01-0{d},1,2,3\n" for d in (1, 2, 3))
    batch = load(client, drain, text, {**SANDY_MAPPING, "date_format": None, "category_columns": ["A", "B", "C"]})
    assert batch["status"] == "failed"
    assert "more than 8 rows (MAX_ROWS), counting each category cell as one" in batch["error_log"]
