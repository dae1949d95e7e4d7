"""The upload check of wide files, one-sheet-per-category workbooks and decimal commas: 400s with the reason."""

from __future__ import annotations

import io
import json

import pytest

from common.fileformat import FileKind, FileProblem, inspect_file
from common.mapping import parse_mapping
from tests.builders import workbook

LIMIT = 2**30
#: The first lines of the pharmacy's daily sales, as found (";", M/D/YYYY, calendar columns after the classes).
PHARMACY = ("datum;M01AB;M01AE;N02BA;N02BE;N05B;N05C;R03;R06;Year;Month;Hour;Weekday Name\n"
            "1/2/2014;0;3.67;3.4;32.4;7;0;0;2;2014;1;248;Thursday\n"
            "1/3/2014;8;4;4.4;50.6;16;0;20;4;2014;1;276;Friday\n")
PHARMACY_MAPPING = {"date": "datum", "date_format": "%m/%d/%Y", "product_id": {"const": "all"},
                    "category_columns": {"all_except": ["Year", "Month", "Hour", "Weekday Name"]}}
SHEETS = {"date": "Date", "product_id": {"const": "all"}, "sheets_as_categories": True, "sales": "Volume"}


def inspect(text: str | bytes, raw: dict, kind: FileKind = FileKind.CSV):
    data = text.encode() if isinstance(text, str) else text
    return inspect_file(io.BytesIO(data), kind, LIMIT, parse_mapping(raw))


def refused(text: str | bytes, raw: dict, kind: FileKind = FileKind.CSV) -> str:
    with pytest.raises(FileProblem) as caught:
        inspect(text, raw, kind)
    assert caught.value.status == 400
    return caught.value.message


def test_all_except_takes_every_other_column_but_the_date():
    """The pharmacy file: its 8 class columns are the categories; the date column is left out by itself."""
    layout = inspect(PHARMACY, PHARMACY_MAPPING)
    assert layout.delimiter == ";" and layout.columns == {"date": 0}
    assert [name for name, _ in layout.values] == ["M01AB", "M01AE", "N02BA", "N02BE", "N05B", "N05C", "R03", "R06"]
    assert json.loads(layout.categories_from())["columns"][0] == "M01AB"


def test_listed_columns_are_matched_case_insensitively_in_their_order():
    """Listed columns resolve to their positions, as the file spells them."""
    layout = inspect("date,Calls,Emails,total\n2023-01-01,1,2,3\n",
                     {"date": "date", "product_id": {"const": "all"}, "category_columns": ["emails", "CALLS"]})
    assert layout.values == (("Emails", 2), ("Calls", 1)) and layout.cells_per_line == 2


@pytest.mark.parametrize(("text", "raw", "words"), [
    ("date,Calls\n2023-01-01,1\n", {"category_columns": ["Calls", "Chats"]}, "not in the file: Chats"),
    ("date,Calls\n2023-01-01,1\n", {"category_columns": {"all_except": ["totl"]}}, "not in the file: totl"),
    ("date,Calls,Weekday\n2023-01-01,1,Monday\n", {"category_columns": {"all_except": []}},
     "column 'Weekday' holds no numbers"),
    ("date,Calls,,Chats\n2023-01-01,1,2,3\n", {"category_columns": {"all_except": []}},
     "column 3 has an empty header"),
    ("date,Calls,Calls\n2023-01-01,1,2\n", {"category_columns": {"all_except": []}},
     "columns 2 and 3 are both headed 'Calls'"),
    ("date,Calls,calls\n2023-01-01,1,2\n", {"category_columns": ["Calls"]}, "could each be category column"),
    ("date,total\n2023-01-01,1\n", {"category_columns": {"all_except": ["total"]}}, "leaves no category column"),
    ("date," + "C" * 101 + "\n2023-01-01,1\n", {"category_columns": {"all_except": []}}, "longer than 100"),
    ("date,Calls\n2023-01-01,1\n", {"decimal": ","}, 'decimal comma needs a ";"-, tab- or "|"-separated file'),
])
def test_bad_wide_files_are_refused_with_the_reason(text, raw, words):
    """A column not there, not numeric, empty or repeated headers, decimal commas on a "," file: 400."""
    mapping = {"date": "date", "product_id": {"const": "all"}, **raw}
    if "category_columns" not in raw:
        mapping["category_columns"] = ["Calls"]
    assert words in refused(text, mapping)


def test_decimal_comma_is_accepted_in_a_semicolon_file():
    """1.234,5 and 1,5 are numbers when the mapping says decimal ","."""
    layout = inspect("Date;product_id;category;sales\n2023-01-01;p;c;1.234,5\n2023-01-02;p;c;1,5\n", {"decimal": ","})
    assert layout.delimiter == ";"


def test_decimal_comma_on_a_decimal_point_file_is_refused():
    """The pharmacy's 3.67 under decimal "," would read as 367: refused at upload, never guessed."""
    assert 'the mapping says decimal ","' in refused(PHARMACY, {**PHARMACY_MAPPING, "decimal": ","})


def test_a_comma_decimal_value_without_the_option_is_not_a_number():
    """Without decimal ",", a column of 1,5 values is not numeric: a 400, not a silent guess."""
    message = refused("Date;product_id;category;sales\n2023-01-01;p;c;1,5\n", {})
    assert "column 'sales' holds no numbers" in message


def test_sheets_as_categories_loads_every_sheet_with_the_columns():
    """Two channel sheets (columns in another order on the second) load; a blank sheet is skipped."""
    book = workbook(("Calls", [["Date", "Volume"], ["2023-01-01", 5]]),
                    ("Emails", [["Volume", "Date"], [3, "2023-01-01"]]), ("Notes", []))
    layout = inspect(book, SHEETS, FileKind.XLSX)
    assert layout.sheets == ("Calls", "Emails")
    assert json.loads(layout.categories_from()) == {"sheets": ["Calls", "Emails"]}


def test_sheets_that_disagree_on_their_date_column_are_refused():
    """A sheet whose date column is named otherwise is a 400 naming the sheet."""
    book = workbook(("Calls", [["Date", "Volume"], ["2023-01-01", 5]]),
                    ("Emails", [["Day", "Volume"], ["2023-01-01", 3]]))
    message = refused(book, SHEETS, FileKind.XLSX)
    assert "sheet 'Emails' has no column 'Date'" in message and "every sheet needs the same" in message


def test_sheets_as_categories_needs_a_workbook():
    """A CSV has no sheets: 400."""
    assert "needs an .xlsx workbook" in refused("Date,Volume\n2023-01-01,1\n", SHEETS)


def test_wide_xlsx_finds_its_category_columns():
    """A wide sheet (Excel pads rows with empty cells) gives its named columns only."""
    book = workbook(("Sheet1", [["Date", "Calls", "Emails", None], ["2023-01-01", 1, 2]]))
    layout = inspect(book, {"date": "Date", "product_id": {"const": "all"},
                            "category_columns": {"all_except": []}}, FileKind.XLSX)
    assert layout.values == (("Calls", 1), ("Emails", 2))


def test_all_except_may_name_the_date_column_too():
    """{"all_except": ["date", "total"]}, as a client may send it, leaves the date and the total out."""
    layout = inspect("date,Calls,Emails,total\n2023-01-01,1,2,3\n",
                     {"date": "date", "product_id": {"const": "all"},
                      "category_columns": {"all_except": ["date", "total"]}})
    assert layout.values == (("Calls", 1), ("Emails", 2))
