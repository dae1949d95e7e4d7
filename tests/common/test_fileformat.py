"""kind_from_name() and inspect_file(): what an upload is, and the whole-file problems found cheaply."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import zipfile
from collections.abc import Callable

import pytest
from defusedxml import EntitiesForbidden

from common.fileformat import (
    HEADER_SCAN_BYTES,
    FileKind,
    FileLayout,
    FileProblem,
    describe_xlsx_error,
    inspect_file,
    kind_from_name,
)
from tests.builders import workbook

LIMIT = 1024 * 2**20
HEADER = "Date,product_id,category,sales"
GOOD_CSV = f"{HEADER}\n2023-01-01,p1,c1,3\n".encode()
ORDERED = {"date": 0, "product_id": 1, "category": 2, "sales": 3}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n')


def inspect(data: bytes, kind: FileKind = FileKind.CSV, max_uncompressed: int = LIMIT) -> FileLayout:
    """inspect_file on in-memory bytes."""
    return inspect_file(io.BytesIO(data), kind, max_uncompressed)


def problem(data: bytes, kind: FileKind = FileKind.CSV, max_uncompressed: int = LIMIT) -> FileProblem:
    """The FileProblem inspect_file raises for `data`."""
    with pytest.raises(FileProblem) as caught:
        inspect(data, kind, max_uncompressed)
    return caught.value


GOOD_XLSX_ROWS = [["Date", "product_id", "category", "sales"], [dt.datetime(2023, 1, 1), "p1", "c1", 3]]


def rewrite(data: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    """A copy of the zip archive `data` with one member's bytes changed."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            body = source.read(name)
            target.writestr(name, change(body) if name == member else body)
    return out.getvalue()


def with_entities(body: bytes) -> bytes:
    """An XML document with a billion-laughs style DTD in front of its root element."""
    return BILLION_LAUGHS + body.split(b"?>", 1)[-1].lstrip()


@pytest.mark.parametrize(("name", "kind"), [
    ("sales.csv", FileKind.CSV),
    ("SALES.CSV", FileKind.CSV),
    ("sales.CSV.GZ", FileKind.CSV_GZ),
    ("archive.2023.csv.gz", FileKind.CSV_GZ),
    ("Book1.xlsx", FileKind.XLSX),
    ("  Book1.XLSX  ", FileKind.XLSX),
])
def test_kind_from_name(name, kind):
    """.csv, .csv.gz and .xlsx are recognised whatever their case."""
    assert kind_from_name(name) is kind


@pytest.mark.parametrize("name", ["old.xls", "macro.xlsm", "binary.xlsb", "calc.ods"])
def test_other_spreadsheet_formats_are_415_asking_for_xlsx(name):
    """Legacy or other spreadsheet formats are refused with 415 and told to use .xlsx."""
    with pytest.raises(FileProblem) as caught:
        kind_from_name(name)
    assert caught.value.status == 415
    assert ".xlsx" in caught.value.message


@pytest.mark.parametrize("name", ["sales.txt", "sales.gz", "sales", "sales.csv.zip", "sales.tsv", ""])
def test_unsupported_names_are_415(name):
    """Any other name is an unsupported file type (415)."""
    with pytest.raises(FileProblem) as caught:
        kind_from_name(name)
    assert caught.value.status == 415
    assert "unsupported file type" in caught.value.message


def test_file_kind_suffix():
    """A kind's suffix is its stored file's extension."""
    assert [kind.suffix for kind in FileKind] == [".csv", ".csv.gz", ".xlsx"]


def test_good_csv_layout():
    """A plain comma CSV gives its kind, delimiter, encoding, header and column positions."""
    layout = inspect(GOOD_CSV)
    assert layout == FileLayout(kind=FileKind.CSV, columns=ORDERED, header=("Date", "product_id", "category", "sales"),
                                delimiter=",", encoding="utf-8", sheet=None)


@pytest.mark.parametrize("kind", list(FileKind))
def test_empty_file_is_400(kind):
    """A zero-byte file is 'empty' (400) whatever it is named."""
    found = problem(b"", kind)
    assert (found.status, found.message) == (400, "the file is empty")


@pytest.mark.parametrize("data", [b"\n\n", b"   \r\n  \n", gzip.compress(b"", mtime=0)])
def test_whitespace_only_file_is_empty(data):
    """A file of blank lines (or an empty .csv.gz) is empty too."""
    kind = FileKind.CSV_GZ if data.startswith(b"\x1f\x8b") else FileKind.CSV
    assert problem(data, kind).message == "the file is empty"


@pytest.mark.parametrize("data", [f"{HEADER}\n".encode(), HEADER.encode(), f"{HEADER}\r\n\r\n  \n".encode()])
def test_header_without_data_rows_is_400(data):
    """A header with nothing (or only blank lines) after it is refused."""
    found = problem(data)
    assert found.status == 400
    assert "no data rows" in found.message


def test_missing_columns_are_named():
    """The message names every missing required column and shows what was found."""
    found = problem(b"Date,product,Category,amount\n2023-01-01,a,b,1\n")
    assert found.status == 400
    missing, _, seen = found.message.partition("(found:")
    assert missing.strip() == "missing required column(s): product_id, sales"
    assert "'product'" in seen and "'amount'" in seen


def test_duplicate_column_is_400():
    """A required column appearing twice (after normalising names) is ambiguous and refused."""
    found = problem(b"Date,product_id,category,sales, SALES \n2023-01-01,a,b,1,2\n")
    assert found.status == 400
    assert found.message == "columns 'sales' and 'SALES' could each be sales; rename one or send a mapping"


def test_header_names_are_matched_case_insensitively_and_trimmed():
    """Required names match whatever their case and surrounding spaces."""
    layout = inspect(b" DATE ,Product_ID,  Category ,SALES\n2023-01-01,a,b,1\n")
    assert layout.columns == ORDERED


def test_columns_in_any_order_with_extras():
    """Column positions are looked up by name; extra columns are ignored."""
    layout = inspect(b"note,sales,category,id,product_id,Date\nx,1,c,9,p,2023-01-01\n")
    assert layout.columns == {"date": 5, "product_id": 4, "category": 2, "sales": 1}


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected_from_the_header(delimiter):
    """Comma, semicolon, tab and pipe separated files are recognised."""
    lines = [["Date", "product_id", "category", "sales"], ["2023-01-01", "a", "b", "1"]]
    layout = inspect("".join(delimiter.join(line) + "\n" for line in lines).encode())
    assert layout.delimiter == delimiter
    assert layout.columns == ORDERED


def test_quoted_header_names_are_accepted():
    """Header names in double quotes are unquoted before matching."""
    assert inspect(b'"Date","product_id","category","sales"\n2023-01-01,a,b,1\n').columns == ORDERED


def test_binary_junk_named_csv_is_415():
    """Bytes with NULs named .csv are binary, not CSV text (415)."""
    junk = b"\x00\x01\x02\x03MZ\x90\x00" + b"\x00garbage\x00" * 50
    found = problem(junk)
    assert found.status == 415
    assert "binary" in found.message


def test_random_high_bytes_named_csv_are_refused():
    """Arbitrary binary bytes named .csv are refused rather than read as text."""
    junk = bytes((i * 37 + 11) % 256 for i in range(4096))
    assert problem(junk).status in (400, 415)


def test_png_named_xlsx_is_415():
    """A picture named .xlsx is not an Excel workbook (415)."""
    found = problem(PNG, FileKind.XLSX)
    assert found.status == 415
    assert "not an Excel workbook" in found.message


@pytest.mark.parametrize("data", [gzip.compress(GOOD_CSV, mtime=0), workbook(("Sheet", GOOD_XLSX_ROWS))])
def test_compressed_archive_named_csv_is_415(data):
    """A gzip stream or a zip archive named .csv is refused with 415."""
    found = problem(data)
    assert found.status == 415
    assert "compressed archive" in found.message


def test_plain_text_named_csv_gz_is_415():
    """A plain CSV named .csv.gz is not gzip-compressed (415)."""
    found = problem(GOOD_CSV, FileKind.CSV_GZ)
    assert found.status == 415
    assert "not gzip-compressed" in found.message


def test_damaged_gzip_header_is_400():
    """A gzip magic number followed by garbage is a damaged stream."""
    found = problem(b"\x1f\x8b" + b"\xff" * 64, FileKind.CSV_GZ)
    assert found.status == 400
    assert "damaged" in found.message


def test_gzip_csv_layout():
    """A .csv.gz is inspected through its decompressed header."""
    layout = inspect(gzip.compress(b"Date;product_id;category;sales\n2023-01-01;a;b;1\n"), FileKind.CSV_GZ)
    assert (layout.kind, layout.delimiter, layout.columns) == (FileKind.CSV_GZ, ";", ORDERED)


def test_latin1_file_is_400_asking_for_utf8():
    """A latin-1 file is refused with 400, naming UTF-8, the bad byte and its line."""
    found = problem(f"{HEADER}\n2023-01-01,Café,c,1\n".encode("latin-1"))
    assert found.status == 400
    assert "UTF-8" in found.message
    assert "0xe9" in found.message
    assert "line 2" in found.message


def test_utf8_bom_is_accepted():
    """A UTF-8 BOM (Excel's 'CSV UTF-8') does not hide the first column name."""
    layout = inspect(b"\xef\xbb\xbf" + GOOD_CSV)
    assert layout.columns == ORDERED
    assert layout.encoding == "utf-8"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_is_accepted(codec):
    """A UTF-16 file starting with its BOM is accepted and read as UTF-16."""
    text = f"{HEADER}\r\n2023-01-01,café,c,1\r\n"
    data = text.encode(codec) if codec == "utf-16" else b"\xfe\xff" + text.encode(codec)
    layout = inspect(data)
    assert layout.encoding == "utf-16"
    assert layout.columns == ORDERED


def test_multibyte_character_cut_by_the_scan_limit_is_not_an_encoding_error():
    """A UTF-8 character split by the 1 MB header scan does not make the file 'not UTF-8'."""
    row = "2023-01-01,p,ééééé,1\n"
    filler = row * (HEADER_SCAN_BYTES // len(row.encode()) + 10)
    data = f"{HEADER}\n{filler}".encode()
    assert inspect(data).columns == ORDERED


def test_header_line_over_the_scan_limit_is_400():
    """A first line longer than the 1 MB scan is refused as too long a header."""
    found = problem(b"Date,product_id,category,sales," + b"x" * HEADER_SCAN_BYTES)
    assert found.status == 400
    assert "longer than 1 MB" in found.message


@pytest.mark.parametrize("kind", [FileKind.CSV, FileKind.CSV_GZ])
def test_inspect_leaves_a_csv_at_its_start(kind):
    """After inspecting a CSV the file is back at offset 0, where the streaming reader starts."""
    fileobj = io.BytesIO(GOOD_CSV if kind is FileKind.CSV else gzip.compress(GOOD_CSV))
    inspect_file(fileobj, kind, LIMIT)
    assert fileobj.tell() == 0


def test_xlsx_layout():
    """A workbook's layout names its sheet and the required columns' positions."""
    layout = inspect(workbook(("Sales", [[" DATE", "x", "Product_ID", "category", "sales"],
                                         [dt.datetime(2023, 1, 1), 1, "p", "c", 3]])), FileKind.XLSX)
    assert (layout.kind, layout.sheet) == (FileKind.XLSX, "Sales")
    assert layout.columns == {"date": 0, "product_id": 2, "category": 3, "sales": 4}


def test_xlsx_first_sheet_with_the_required_columns_is_chosen():
    """Sheets without the required columns are skipped: a data sheet in second place is found."""
    data = workbook(("Notes", [["read me first"], ["exported 2023-01-31"]]), ("Data", GOOD_XLSX_ROWS),
                    ("Other", GOOD_XLSX_ROWS))
    assert inspect(data, FileKind.XLSX).sheet == "Data"


def test_xlsx_without_the_required_columns_names_sheets_and_missing_columns():
    """When no sheet qualifies, the message lists the sheets looked at and what the first lacks."""
    data = workbook(("Notes", [["Date", "product", "category"], ["x", "y", "z"]]), ("More", [["a"], ["b"]]))
    found = problem(data, FileKind.XLSX)
    assert found.status == 400
    assert "'Notes', 'More'" in found.message
    assert "product_id, sales" in found.message


def test_empty_workbook_is_400():
    """A workbook whose only sheet is empty is reported as empty."""
    assert problem(workbook(("Sheet", [])), FileKind.XLSX).message == "the workbook is empty"


def test_xlsx_header_without_data_rows_is_400():
    """A sheet with the header and nothing under it is refused."""
    found = problem(workbook(("Sheet", GOOD_XLSX_ROWS[:1])), FileKind.XLSX)
    assert found.message == "sheet 'Sheet' has a header but no data rows"


def test_xlsx_with_an_empty_second_row_and_data_below_is_accepted():
    """An empty row between the header and the data does not make the sheet look empty."""
    data = workbook(("Sheet", [GOOD_XLSX_ROWS[0], [], GOOD_XLSX_ROWS[1]]))
    assert inspect(data, FileKind.XLSX).sheet == "Sheet"


def test_csv_with_an_empty_second_line_and_data_below_is_accepted():
    """A blank line right after the header does not hide the data under it."""
    assert inspect(f"{HEADER}\n\n2023-01-01,p1,c1,3\n".encode()).columns == ORDERED


def test_zip_without_a_workbook_is_415():
    """A zip archive (say a .docx) named .xlsx is not an Excel workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    found = problem(out.getvalue(), FileKind.XLSX)
    assert found.status == 415
    assert "not an Excel workbook" in found.message


def test_truncated_xlsx_is_415():
    """A workbook cut short is a damaged zip archive."""
    data = workbook(("Sheet", GOOD_XLSX_ROWS))
    found = problem(data[: len(data) // 2], FileKind.XLSX)
    assert found.status == 415
    assert "damaged" in found.message


def bomb(member_size: int) -> bytes:
    """A zip with xl/workbook.xml and one huge, highly compressible member."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * member_size)
    return out.getvalue()


def test_xlsx_member_compressed_beyond_the_ratio_is_refused():
    """A member expanding more than 200:1 is refused as a decompression bomb, before any XML is parsed."""
    found = problem(bomb(8 * 2**20), FileKind.XLSX, max_uncompressed=100 * 2**20)
    assert found.status == 400
    assert "decompression bomb" in found.message
    assert "xl/worksheets/sheet1.xml" in found.message


def test_xlsx_expanding_past_the_limit_is_413():
    """A workbook whose members add up to more than max_uncompressed is 413."""
    found = problem(bomb(8 * 2**20), FileKind.XLSX, max_uncompressed=4 * 2**20)
    assert found.status == 413
    assert found.message == "the workbook expands to 8 MB, over the 4 MB limit"


@pytest.mark.parametrize("member", ["xl/workbook.xml", "xl/worksheets/sheet1.xml"])
def test_xlsx_with_xml_entities_is_refused(member):
    """An .xlsx whose XML declares entities (billion laughs) is refused, never expanded."""
    data = rewrite(workbook(("Sheet", GOOD_XLSX_ROWS)), member, with_entities)
    assert problem(data, FileKind.XLSX).status == 400


@pytest.mark.parametrize("member", ["xl/workbook.xml", "xl/worksheets/sheet1.xml"])
def test_xlsx_with_xml_entities_is_refused_naming_entities(member):
    """The refusal of an entity-declaring .xlsx says it is about XML entity or DTD declarations."""
    data = rewrite(workbook(("Sheet", GOOD_XLSX_ROWS)), member, with_entities)
    message = problem(data, FileKind.XLSX).message
    assert "entity" in message.lower() or "dtd" in message.lower()


def test_describe_xlsx_error_names_entities_for_defusedxml_errors():
    """A defusedxml refusal is described as an entity or DTD declaration."""
    message = describe_xlsx_error(EntitiesForbidden("lol", "lol", None, None, None, None))
    assert "entity or DTD" in message


def test_describe_xlsx_error_keeps_other_errors_short():
    """Other workbook errors name their type and are cut to 200 characters of detail."""
    message = describe_xlsx_error(KeyError("x" * 1000))
    assert message.startswith("the workbook could not be read (KeyError: ")
    assert len(message) < 260
