"""Reading wide files (one cell, one observation), one sheet per category, and decimal commas in the ETL."""

from __future__ import annotations

import gzip
import io

import pandas as pd

from common.fileformat import FileKind, inspect_file
from common.mapping import parse_mapping
from services.etl.reader import Chunk, read_chunks
from services.etl.tally import Tally
from services.etl.validate import validate
from tests.builders import workbook

LIMIT = 2**30
WIDE = {"date": "date", "product_id": {"const": "all"}, "category_columns": {"all_except": ["total"]}}


def read(data: str | bytes, raw: dict, kind: FileKind = FileKind.CSV, chunk_rows: int = 1000) -> list[Chunk]:
    """Inspect and read a file as the ETL does."""
    fileobj = io.BytesIO(data.encode() if isinstance(data, str) else data)
    layout = inspect_file(fileobj, kind, LIMIT, parse_mapping(raw))
    return list(read_chunks(fileobj, layout, chunk_rows=chunk_rows, max_uncompressed=LIMIT))


def rows(chunks: list[Chunk]) -> list[tuple]:
    frame = pd.concat([c.rows for c in chunks])
    return sorted(frame[["line", "date", "product_id", "category", "sales"]].itertuples(index=False, name=None))


def test_each_cell_becomes_one_row_of_its_column_and_line():
    """Two lines of two category columns give four rows; total is left out."""
    chunks = read("date,Calls,Emails,total\n2023-01-01,5,2,7\n2023-01-02,6,,6\n", WIDE)
    assert rows(chunks) == [(2, "2023-01-01", "all", "Calls", "5"), (2, "2023-01-01", "all", "Emails", "2"),
                            (3, "2023-01-02", "all", "Calls", "6"), (3, "2023-01-02", "all", "Emails", "")]


def test_a_constant_category_makes_the_columns_products():
    """With category {"const"} the column names are the product ids."""
    raw = {"date": "date", "category": {"const": "contact"}, "category_columns": ["Calls"]}
    assert rows(read("date,Calls,Emails\n2023-01-01,5,2\n", raw)) == [(2, "2023-01-01", "Calls", "contact", "5")]


def test_chunks_hold_about_chunk_rows_cells_not_lines():
    """40 lines x 50 columns in chunks of 100 cells: every chunk has at most 100 rows, 2,000 in all."""
    header = "date," + ",".join(f"c{i}" for i in range(50)) + "\n"
    body = "".join(f"2023-01-{d:02d}," + ",".join(["1"] * 50) + "\n" for d in range(1, 29))
    body += "".join(f"2023-02-{d:02d}," + ",".join(["1"] * 50) + "\n" for d in range(1, 13))
    chunks = read(header + body, {**WIDE, "category_columns": {"all_except": []}}, chunk_rows=100)
    assert max(len(c.rows) for c in chunks) <= 100 and sum(len(c.rows) for c in chunks) == 2000


def test_a_blank_line_is_skipped_and_a_malformed_line_counts_its_cells():
    """;;; lines are not data; a line with too few fields is one rejected line worth two cells."""
    text = "date;Calls;Emails\n2023-01-01;1;2\n;;\n2023-01-02;3\n2023-01-03;4;5\n"
    chunks = read(text, {**WIDE, "category_columns": ["Calls", "Emails"]})
    tally = Tally(keep=10)
    for chunk in chunks:
        tally.add(chunk, validate(chunk.rows, value_label="category"))
    assert (tally.total, tally.rejected) == (6, 2)
    assert tally.errors == [(4, "(row)", "", "expected 3 fields, found 2")]


def test_a_bad_cell_is_rejected_under_its_column_header():
    """The reject names the line and the category column the cell is in, not 'sales'."""
    text = "date,Calls,Emails\n2023-01-01,5,x\n2023-01-02,6,7\n"
    chunks = read(text, {**WIDE, "category_columns": {"all_except": []}})
    checked = validate(chunks[0].rows, value_label="category")
    assert checked.rejected[["line", "column", "value"]].values.tolist() == [[2, "Emails", "x"]]
    assert sorted(checked.good["cents"].tolist()) == [500, 600, 700]


def test_wide_xlsx_cells_are_read_with_their_sheet_rows():
    """A wide sheet melts like a CSV, lines being the sheet's row numbers."""
    book = workbook(("Sheet1", [["Date", "Calls", "Emails"], ["2023-01-01", 1, 2.5], ["2023-01-02", 3, None]]))
    chunks = read(book, {"date": "Date", "product_id": {"const": "all"}, "category_columns": {"all_except": []}},
                  FileKind.XLSX, chunk_rows=2)
    assert rows(chunks) == [(2, "2023-01-01", "all", "Calls", "1"), (2, "2023-01-01", "all", "Emails", "2.5"),
                            (3, "2023-01-02", "all", "Calls", "3"), (3, "2023-01-02", "all", "Emails", "")]


def test_each_sheet_is_its_category_and_labels_its_rejects():
    """sheets_as_categories: the rows carry their sheet's name as category; a reject says sheet!column."""
    book = workbook(("Calls", [["Date", "Volume"], ["2023-01-01", 5]]),
                    ("Emails", [["Volume", "Date"], ["x", "2023-01-01"], [2, "2023-01-02"]]))
    chunks = read(book, {"product_id": {"const": "all"}, "sheets_as_categories": True, "sales": "Volume"},
                  FileKind.XLSX)
    assert rows(chunks) == [(2, "2023-01-01", "all", "Calls", "5"), (2, "2023-01-01", "all", "Emails", "x"),
                            (3, "2023-01-02", "all", "Emails", "2")]
    assert [c.progress for c in chunks][-1] == 1.0
    tally = Tally(keep=10)
    for chunk in chunks:
        tally.add(chunk, validate(chunk.rows))
    assert tally.errors == [(2, "Emails!sales", "x", "sales is not a number")]


def test_decimal_comma_values_are_read_exactly():
    """1.234,5 is 1234.50, 1,5 is 1.50, 0,005 rounds half away from zero; 3.67 is rejected with the reason."""
    frame = pd.DataFrame({"line": [2, 3, 4, 5, 6], "date": ["2023-01-01"] * 5, "product_id": ["p"] * 5,
                          "category": ["c"] * 5, "sales": ["1.234,5", "1,5", "0,005", "3.67", ""]})
    checked = validate(frame, decimal=",")
    assert checked.good["cents"].tolist()[:3] == [123450, 150, 1]
    assert checked.good["cents"].isna().tolist() == [False, False, False, True]
    assert checked.rejected["line"].tolist() == [5]
    assert 'decimal ","' in checked.rejected["reason"][0]


def test_decimal_comma_leaves_real_excel_numbers_exact():
    """In a workbook, decimal "," reads text cells like 1,5 and keeps real numbers (2.25) as they are."""
    book = workbook(("Sheet1", [["Date", "product_id", "category", "sales"], ["2023-01-01", "p", "c", 2.25],
                                ["2023-01-02", "p", "c", "1,5"]]))
    chunks = read(book, {"decimal": ","}, FileKind.XLSX)
    checked = validate(chunks[0].rows, decimal=",")
    assert checked.good["cents"].tolist() == [225, 150] and checked.rejected.empty


def test_a_gzipped_wide_file_reads_like_the_plain_one():
    """.csv.gz: the same cells as the uncompressed file."""
    text = "date;Calls;Emails;total\n2023-01-01;5;2;7\n2023-01-02;6;1;7\n"
    raw = {**WIDE, "category_columns": {"all_except": ["TOTAL"]}}
    assert rows(read(gzip.compress(text.encode()), raw, FileKind.CSV_GZ)) == rows(read(text, raw))
    assert len(rows(read(text, raw))) == 4
