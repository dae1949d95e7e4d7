"""read_chunks(): CSV, .csv.gz and .xlsx streamed as chunks of text rows with their line numbers."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile

import pandas as pd
import pytest

from common.fileformat import HEADER_SCAN_BYTES, FileKind, FileLayout, FileProblem, inspect_file
from services.etl.reader import FIELDS, Chunk, cell_text, read_chunks
from services.etl.validate import validate
from tests.builders import workbook

HEADER = "Date,product_id,category,sales"
LIMIT = 1024 * 2**20


def numbered_csv(count: int, malformed: frozenset[int] = frozenset()) -> bytes:
    """A CSV of `count` data rows whose sales value is the row's own line number; `malformed` lines lack it."""
    lines = [HEADER]
    for line in range(2, count + 2):
        lines.append(f"2023-01-01,p{line},c" if line in malformed else f"2023-01-01,p{line},c,{line}")
    return ("\n".join(lines) + "\n").encode()


def read(data: bytes, kind: FileKind = FileKind.CSV, *, chunk_rows: int = 1000,
         max_uncompressed: int = LIMIT) -> list[Chunk]:
    """Inspect `data` like the ETL does and read all its chunks."""
    fileobj = io.BytesIO(data)
    layout = inspect_file(fileobj, kind, max_uncompressed)
    return list(read_chunks(fileobj, layout, chunk_rows=chunk_rows, max_uncompressed=max_uncompressed))


def all_rows(chunks: list[Chunk]) -> list[dict[str, object]]:
    """Every row of every chunk as a dict, in order."""
    return [row for chunk in chunks for row in chunk.rows.to_dict("records")]


def all_malformed(chunks: list[Chunk]) -> list[tuple[int, str]]:
    """Every malformed (line, reason) of every chunk, in order."""
    return [entry for chunk in chunks for entry in chunk.malformed]


def assert_lines_match_values(chunks: list[Chunk]) -> None:
    """Each row's line number equals the sales value numbered_csv wrote on that line."""
    for chunk in chunks:
        assert chunk.rows["line"].astype("int64").astype("str").tolist() == chunk.rows["sales"].tolist()


def test_small_csv_comes_out_as_text_rows_numbered_from_line_2():
    """Rows keep their text as written and the header is line 1."""
    chunks = read(f"{HEADER}\n2023-01-01,p1,c1,12.50\n2023-01-02,p2,c2,NA\n".encode())
    assert all_rows(chunks) == [
        {"line": 2, "date": "2023-01-01", "product_id": "p1", "category": "c1", "sales": "12.50"},
        {"line": 3, "date": "2023-01-02", "product_id": "p2", "category": "c2", "sales": "NA"},
    ]
    assert all_malformed(chunks) == []


def test_columns_are_found_by_name_and_extra_columns_ignored():
    """Columns in another order, with extras, come out under their canonical names."""
    data = b"sales,note,Category,DATE,Product_ID\n7,hello,c1,2023-01-01,p1\n"
    assert all_rows(read(data)) == [
        {"line": 2, "date": "2023-01-01", "product_id": "p1", "category": "c1", "sales": "7"}
    ]


def test_large_file_comes_in_several_chunks_with_continuous_line_numbers():
    """A 50,000-row file read with a small chunk_rows arrives in several chunks, every line once and right."""
    chunks = read(numbered_csv(50_000), chunk_rows=1000)
    assert len(chunks) >= 3
    assert_lines_match_values(chunks)
    lines = [row["line"] for row in all_rows(chunks)]
    assert lines == list(range(2, 50_002))


def test_larger_chunk_rows_means_fewer_chunks():
    """chunk_rows bounds the chunk size: a large value reads the same file in one chunk."""
    data = numbered_csv(50_000)
    assert len(read(data, chunk_rows=100_000)) == 1
    assert len(read(data, chunk_rows=1000)) > 1


def test_rows_with_wrong_field_counts_are_reported_as_malformed():
    """Too few or too many fields make a malformed row with its line; the rows after keep their lines."""
    data = (f"{HEADER}\n2023-01-01,p1,c1,1\n2023-01-02,p1,c1\n2023-01-03,p1,c1,3\n"
            "2023-01-04,p1,c1,4,extra\n2023-01-05,p1,c1,5\n").encode()
    chunks = read(data)
    assert all_malformed(chunks) == [(3, "expected 4 fields, found 3"), (5, "expected 4 fields, found 5")]
    assert [(row["line"], row["sales"]) for row in all_rows(chunks)] == [(2, "1"), (4, "3"), (6, "5")]


def test_malformed_rows_around_chunk_boundaries_keep_every_line_number_right():
    """Malformed rows at the start, end and edges of chunks are each reported once and shift nothing."""
    clean = read(numbered_csv(50_000))
    edges = [int(chunk.rows["line"].iloc[-1]) for chunk in clean[:-1]]
    bad = frozenset({2, 3, 50_000, 50_001} | {edge + step for edge in edges for step in range(-2, 3)})
    chunks = read(numbered_csv(50_000, bad))
    assert_lines_match_values(chunks)
    assert [line for line, _ in all_malformed(chunks)] == sorted(bad)
    assert sum(len(chunk.rows) for chunk in chunks) == 50_000 - len(bad)


def test_malformed_last_lines_are_reported_after_the_last_rows():
    """Malformed rows at the very end of the file still come out, in a final chunk without rows."""
    chunks = read(f"{HEADER}\n2023-01-01,p1,c1,1\n2023-01-02,p1\n2023-01-03\n".encode())
    assert all_malformed(chunks) == [(3, "expected 4 fields, found 2"), (4, "expected 4 fields, found 1")]
    assert [row["line"] for row in all_rows(chunks)] == [2]
    assert list(chunks[-1].rows.columns) == ["line", *FIELDS]


def test_quoted_fields_keep_commas_and_quotes():
    """A quoted field may hold the delimiter and doubled quotes."""
    data = f'{HEADER}\n2023-01-01,"Widget, large","Toys ""deluxe""",3\n2023-01-02,p2,c2,4\n'.encode()
    rows = all_rows(read(data))
    assert (rows[0]["product_id"], rows[0]["category"]) == ("Widget, large", 'Toys "deluxe"')
    assert [row["line"] for row in rows] == [2, 3]


def test_utf8_bom_and_crlf_line_ends_are_handled():
    """A UTF-8 BOM and Windows line ends leave no trace in names or values."""
    data = "\ufeffDate,product_id,category,sales\r\n2023-01-01,café,c1,1\r\n2023-01-02,p2,c2,2\r\n".encode()
    assert all_rows(read(data)) == [
        {"line": 2, "date": "2023-01-01", "product_id": "café", "category": "c1", "sales": "1"},
        {"line": 3, "date": "2023-01-02", "product_id": "p2", "category": "c2", "sales": "2"},
    ]


def test_semicolon_delimited_file_is_read():
    """A semicolon-separated file (a European Excel export) is split on semicolons."""
    data = b"Date;product_id;category;sales\n2023-01-01;p1;c,1;1.5\n"
    assert all_rows(read(data)) == [
        {"line": 2, "date": "2023-01-01", "product_id": "p1", "category": "c,1", "sales": "1.5"}
    ]


def test_utf16_file_with_bom_is_read():
    """A UTF-16 file with a BOM is decoded with the encoding inspect_file found."""
    data = f"{HEADER}\r\n2023-01-01,café,c1,1\r\n".encode("utf-16")
    assert all_rows(read(data)) == [
        {"line": 2, "date": "2023-01-01", "product_id": "café", "category": "c1", "sales": "1"}
    ]


def test_blank_lines_come_through_as_empty_rows():
    """Blank lines are rows of empty text (validate counts them as blank) and keep the numbering."""
    data = f"{HEADER}\n2023-01-01,p1,c1,1\n\n,,,\n2023-01-02,p1,c1,2\n".encode()
    chunks = read(data)
    rows = all_rows(chunks)
    assert [row["line"] for row in rows] == [2, 3, 4, 5]
    assert rows[1] == {"line": 3, "date": "", "product_id": "", "category": "", "sales": ""}
    assert validate(chunks[0].rows).blank == 2


def test_gzip_file_is_read_like_the_plain_one():
    """A .csv.gz yields the same rows and line numbers as the CSV inside it."""
    data = numbered_csv(20_000, frozenset({5, 19_999}))
    plain, packed = read(data), read(gzip.compress(data), FileKind.CSV_GZ)
    assert all_rows(packed) == all_rows(plain)
    assert all_malformed(packed) == all_malformed(plain)


def test_gzip_expanding_past_the_limit_is_a_file_problem():
    """A .csv.gz that decompresses past max_uncompressed is refused (gzip bomb guard)."""
    data = gzip.compress(numbered_csv(50_000))
    with pytest.raises(FileProblem, match="expands past the 1 MB limit"):
        read(data, FileKind.CSV_GZ, max_uncompressed=2**20)


def test_gzip_just_under_the_limit_is_read():
    """The decompressed-size limit is not hit by a file that fits under it."""
    data = numbered_csv(1000)
    assert len(all_rows(read(gzip.compress(data), FileKind.CSV_GZ, max_uncompressed=len(data)))) == 1000


def test_damaged_gzip_is_a_file_problem():
    """A .csv.gz whose checksum does not match is reported as damaged."""
    packed = bytearray(gzip.compress(numbered_csv(5000)))
    packed[-6] ^= 0xFF  # inside the CRC-32 trailer
    with pytest.raises(FileProblem, match="damaged"):
        read(bytes(packed), FileKind.CSV_GZ)


def test_invalid_utf8_after_the_inspected_head_is_a_readable_file_problem():
    """Bad UTF-8 beyond the header scan stops the read with a message naming UTF-8 and a line."""
    data = numbered_csv(60_000)
    cut = data.index(b"\n", HEADER_SCAN_BYTES + 1000) + 1
    broken = data[:cut] + b"2023-01-01,caf\xe9,c,1\n" + data[cut:]
    fileobj = io.BytesIO(broken)
    layout = inspect_file(fileobj, FileKind.CSV, LIMIT)
    with pytest.raises(FileProblem) as caught:
        for _ in read_chunks(fileobj, layout, chunk_rows=1000, max_uncompressed=LIMIT):
            pass
    assert "not valid UTF-8" in caught.value.message
    assert "line" in caught.value.message
    assert "CSV UTF-8" in caught.value.message


def test_xlsx_cells_come_out_as_csv_like_text():
    """Excel dates, numbers and empty cells become the text a CSV export would hold."""
    data = workbook(("Sales", [
        ["Date", "product_id", "category", "sales"],
        [dt.datetime(2023, 1, 1), 15056, "toys", 12.5],
        [dt.datetime(2023, 1, 2, 8, 26), "p2", "toys", 3],
        [dt.date(2023, 1, 3), "p3", None, None],
    ]))
    assert all_rows(read(data, FileKind.XLSX)) == [
        {"line": 2, "date": "2023-01-01 00:00:00", "product_id": "15056", "category": "toys", "sales": "12.5"},
        {"line": 3, "date": "2023-01-02 08:26:00", "product_id": "p2", "category": "toys", "sales": "3"},
        {"line": 4, "date": "2023-01-03 00:00:00", "product_id": "p3", "category": "", "sales": ""},
    ]


def test_xlsx_dates_validate_to_iso_days():
    """Real Excel dates pass validation as their ISO day, time part dropped."""
    data = workbook(("Sales", [
        ["Date", "product_id", "category", "sales"],
        [dt.datetime(2023, 1, 1), "p1", "c1", 12.5],
        [dt.datetime(2023, 1, 2, 23, 59), "p1", "c1", 1],
    ]))
    (chunk,) = read(data, FileKind.XLSX)
    checked = validate(chunk.rows)
    assert checked.rejected.empty
    assert checked.good["date"].tolist() == ["2023-01-01", "2023-01-02"]
    assert checked.good["cents"].tolist() == [1250, 100]


def test_xlsx_data_on_the_second_sheet_is_read_from_there():
    """When the first sheet is notes, the first sheet with the required columns is the one read."""
    data = workbook(
        ("Notes", [["Exported by the till"], ["do not edit"]]),
        ("Data", [["Date", "product_id", "category", "sales"], [dt.datetime(2023, 1, 1), "p1", "c1", 4]]),
    )
    fileobj = io.BytesIO(data)
    layout = inspect_file(fileobj, FileKind.XLSX, LIMIT)
    assert layout.sheet == "Data"
    rows = all_rows(list(read_chunks(fileobj, layout, chunk_rows=1000, max_uncompressed=LIMIT)))
    assert rows == [{"line": 2, "date": "2023-01-01 00:00:00", "product_id": "p1", "category": "c1", "sales": "4"}]


def test_xlsx_chunks_follow_chunk_rows_and_sheet_row_numbers():
    """An .xlsx is cut every chunk_rows rows; lines are sheet rows, empty rows included as blank rows."""
    data = workbook(("Sales", [
        ["Date", "product_id", "category", "sales"],
        ["2023-01-01", "p1", "c1", 1], [], ["2023-01-03", "p1", "c1", 3],
        ["2023-01-04", "p1", "c1"], ["2023-01-05", "p1", "c1", 5],
    ]))
    chunks = read(data, FileKind.XLSX, chunk_rows=2)
    assert [chunk.rows["line"].tolist() for chunk in chunks] == [[2, 3], [4, 5], [6]]
    rows = all_rows(chunks)
    assert rows[1] == {"line": 3, "date": "", "product_id": "", "category": "", "sales": ""}
    assert rows[3]["sales"] == ""
    assert chunks[-1].progress == 1.0


def test_xlsx_with_an_xml_entity_is_refused_while_reading():
    """Reading a workbook whose XML declares entities raises FileProblem, never expands them."""
    clean = workbook(("Sheet", [["Date", "product_id", "category", "sales"], ["2023-01-01", "p", "c", 1]]))
    source, out = zipfile.ZipFile(io.BytesIO(clean)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            body = source.read(name)
            if name == "xl/workbook.xml":
                body = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + body.split(b"?>", 1)[-1]
            target.writestr(name, body)
    layout = FileLayout(kind=FileKind.XLSX, columns={f: i for i, f in enumerate(FIELDS)},
                        header=("date", "product_id", "category", "sales"), sheet="Sheet")
    with pytest.raises(FileProblem):
        list(read_chunks(io.BytesIO(out.getvalue()), layout, chunk_rows=1000, max_uncompressed=LIMIT))


@pytest.mark.parametrize(("value", "text"), [
    (None, ""),
    (dt.datetime(2010, 12, 1, 8, 26), "2010-12-01 08:26:00"),
    (dt.date(2010, 12, 1), "2010-12-01"),
    (True, "TRUE"),
    (False, "FALSE"),
    (12.5, "12.5"),
    (0.1, "0.1"),
    (1e-7, "1e-07"),
    (7, "7"),
    ("  x ", "  x "),
])
def test_cell_text(value, text):
    """cell_text renders an Excel value as a CSV export would: ISO dates, exact numbers, '' for empty."""
    assert cell_text(value) == text


def test_chunk_rows_are_strings():
    """Every column but `line` is text, so validate sees exactly what the file held."""
    (chunk,) = read(f"{HEADER}\n2023-01-01,007,1,0.50\n".encode())
    assert chunk.rows.loc[0, ["product_id", "category", "sales"]].tolist() == ["007", "1", "0.50"]
    assert pd.api.types.is_integer_dtype(chunk.rows["line"])
