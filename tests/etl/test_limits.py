"""MAX_ROWS, MAX_COLUMNS and MAX_CELL_CHARS: refused at upload, rejected by row, or the batch fails early."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace

import pandas as pd
import pytest
from sqlalchemy import func, select

from common.fileformat import FileKind, FileProblem, Limits, inspect_file
from common.models import InvoiceData
from services.api import create_app
from services.etl.reader import Chunk, read_chunks, within_limits
from tests.builders import workbook
from tests.conftest import upload

HEADER = "Date,product_id,category,sales\n"
LIMIT = 1024 * 2**20


def rows_csv(count: int, start_day: int = 1) -> str:
    """A CSV of `count` valid rows, one product per row."""
    return HEADER + "".join(f"2023-01-{start_day:02d},p{i},c,{i}\n" for i in range(count))


def read(data: bytes, limits: Limits, kind: FileKind = FileKind.CSV, chunk_rows: int = 1000) -> list[Chunk]:
    """Inspect `data` with `limits` as the ETL does, and read all its chunks."""
    fileobj = io.BytesIO(data)
    layout = inspect_file(fileobj, kind, LIMIT, limits=limits)
    return list(read_chunks(fileobj, layout, chunk_rows=chunk_rows, max_uncompressed=LIMIT))


def stored_rows(engine) -> int:
    """How many observations are stored."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(InvoiceData)).scalar_one()


@pytest.fixture
def limited(app, settings, engine, redis, monkeypatch):
    """A client whose app (and ETL jobs, via the environment `app` set) run with the given settings."""

    def build(**values: int):
        small = replace(settings, **values)
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), str(value))
        return create_app(small, engine=engine, redis=redis).test_client()

    return build


def load(client, drain, body: str | bytes, filename: str = "sales.csv") -> dict:
    """Upload, run the ETL, and return the batch."""
    response = upload(client, body, filename)
    assert response.status_code == 202, response.json
    drain()
    return client.get(f"/batches/{response.json['batch_num']}").json


# MAX_ROWS


def test_file_within_max_rows_is_read_whole():
    """A file with exactly MAX_ROWS rows is read without complaint."""
    chunks = read(rows_csv(10).encode(), Limits(max_rows=10))
    assert sum(len(c.rows) for c in chunks) == 10


def test_file_over_max_rows_is_a_file_problem():
    """One row more than MAX_ROWS stops the read with a message giving the limit."""
    with pytest.raises(FileProblem, match=r"the file has more than 10 rows \(MAX_ROWS\)"):
        read(rows_csv(11).encode(), Limits(max_rows=10))


def test_malformed_rows_count_toward_max_rows():
    """Lines with the wrong number of fields are data lines too."""
    body = rows_csv(8) + "2023-01-01,x,c\n" * 3
    with pytest.raises(FileProblem, match="more than 10 rows"):
        read(body.encode(), Limits(max_rows=10))


def test_max_rows_stops_the_stream_early():
    """The read stops at the chunk that crosses MAX_ROWS; later chunks are never produced."""
    produced = []

    def chunks() -> Iterator[Chunk]:
        for number in range(100):
            produced.append(number)
            frame = pd.DataFrame({"line": range(number * 1000, number * 1000 + 1000), "date": "2023-01-01",
                                  "product_id": "p", "category": "c", "sales": "1"})
            yield Chunk(frame)

    with pytest.raises(FileProblem):
        list(within_limits(chunks(), Limits(max_rows=2500)))
    assert produced == [0, 1, 2]


def test_batch_over_max_rows_fails_and_writes_nothing(limited, drain, engine):
    """The batch of a file with more than MAX_ROWS rows fails with that reason; nothing is stored."""
    client = limited(max_rows=10)
    batch = load(client, drain, rows_csv(11))
    assert batch["status"] == "failed"
    assert "more than 10 rows" in batch["error_log"]
    assert stored_rows(engine) == 0


def test_xlsx_over_max_rows_fails_the_batch(limited, drain, engine):
    """MAX_ROWS holds for workbooks too."""
    client = limited(max_rows=5)
    rows = [["Date", "product_id", "category", "sales"]] + [["2023-01-01", f"p{i}", "c", i] for i in range(6)]
    batch = load(client, drain, workbook(("Sheet1", rows)), "sales.xlsx")
    assert batch["status"] == "failed" and "more than 5 rows" in batch["error_log"]
    assert stored_rows(engine) == 0


# MAX_COLUMNS and header cells (at upload)


def test_header_with_more_than_max_columns_is_400(limited):
    """A header wider than MAX_COLUMNS is refused at upload, naming the limit."""
    client = limited(max_columns=10)
    header = "Date,product_id,category,sales," + ",".join(f"extra{i}" for i in range(7))
    response = upload(client, header + "\n2023-01-01,p,c,1" + ",x" * 7 + "\n")
    assert response.status_code == 400
    assert "11 columns, more than the 10 allowed (MAX_COLUMNS)" in response.json["error"]


def test_header_at_max_columns_is_accepted(limited):
    """Exactly MAX_COLUMNS columns pass."""
    client = limited(max_columns=10)
    header = "Date,product_id,category,sales," + ",".join(f"extra{i}" for i in range(6))
    assert upload(client, header + "\n2023-01-01,p,c,1" + ",x" * 6 + "\n").status_code == 202


def test_xlsx_header_with_too_many_columns_is_400(limited):
    """MAX_COLUMNS holds for workbooks; blank cells Excel pads a row with do not count."""
    client = limited(max_columns=6)
    wide = [["Date", "product_id", "category", "sales", "a", "b", "c"], ["2023-01-01", "p", "c", 1, 1, 2, 3]]
    response = upload(client, workbook(("Sheet1", wide)), "wide.xlsx")
    assert response.status_code == 400 and "MAX_COLUMNS" in response.json["error"]
    padded = [["Date", "product_id", "category", "sales", None, None, None, None], ["2023-01-01", "p", "c", 1]]
    assert upload(client, workbook(("Sheet1", padded)), "padded.xlsx").status_code == 202


def test_header_cell_longer_than_max_cell_chars_is_400(client):
    """A header cell longer than MAX_CELL_CHARS (default 1000) is refused at upload."""
    response = upload(client, "Date,product_id,category,sales," + "n" * 1001 + "\n2023-01-01,p,c,1,x\n")
    assert response.status_code == 400
    assert "header cell 5 is longer than 1000 characters (MAX_CELL_CHARS)" in response.json["error"]


# MAX_CELL_CHARS in the rows (ETL)


@pytest.mark.parametrize(("column", "row", "length"), [
    ("date", "2023-01-02" + " " * 1000 + ",p,c,1", "1,010"),
    ("sales", "2023-01-02,p,c," + "0" * 1000 + "1", "1,001"),
])
def test_value_longer_than_max_cell_chars_rejects_its_row(client, drain, engine, column, row, length):
    """A read value over MAX_CELL_CHARS rejects its row (even one that would parse), and the rest loads."""
    batch = load(client, drain, rows_csv(20) + row + "\n")
    assert batch["status"] == "completed"
    assert (batch["num_total_rows"], batch["num_rejected_rows"]) == (21, 1)
    errors = client.get(f"/batches/{batch['batch_num']}/errors").json
    assert [(e["line"], e["reason"]) for e in errors] == [(22, f"{column} is longer than 1000 characters ({length})")]
    assert stored_rows(engine) == 20


def test_long_value_in_an_unread_column_is_ignored(client, drain, engine):
    """MAX_CELL_CHARS applies to the columns castflow reads, not to extra ones it ignores."""
    body = "Date,product_id,category,sales,note\n2023-01-01,p,c,1," + "n" * 5000 + "\n2023-01-02,p,c,2,ok\n"
    batch = load(client, drain, body)
    assert batch["status"] == "completed" and batch["num_rejected_rows"] == 0
    assert stored_rows(engine) == 2


def test_xlsx_value_longer_than_max_cell_chars_rejects_its_row(client, drain, engine):
    """Workbook cells get the same check."""
    rows = [["Date", "product_id", "category", "sales"], ["2023-01-01", "p", "c", 1],
            ["2023-01-02", "p", "c", "1" + " " * 1200]] + [["2023-01-03", f"q{i}", "c", i] for i in range(20)]
    batch = load(client, drain, workbook(("Sheet1", rows)), "sales.xlsx")
    errors = client.get(f"/batches/{batch['batch_num']}/errors").json
    assert [(e["line"], e["reason"]) for e in errors] == [(3, "sales is longer than 1000 characters (1,201)")]
    assert stored_rows(engine) == 21


@pytest.mark.parametrize("column", ["sales", "note"])
def test_five_megabyte_cell_fails_the_batch_clearly(client, drain, engine, column):
    """A 5 MB cell (read column or not) fails the batch naming its line; nothing is written, nothing crashes."""
    huge = "9" * (5 * 2**20)
    row = f"2023-01-05,p,c,{huge},n" if column == "sales" else f"2023-01-05,p,c,1,{huge}"
    body = "Date,product_id,category,sales,note\n" + "2023-01-01,p,c,1,n\n" * 30 + row + "\n2023-01-06,p,c,1,n\n"
    batch = load(client, drain, body)
    assert batch["status"] == "failed"
    assert batch["error_log"].startswith("line 32 is longer than 3.8 MB")  # 1,000 columns of 1,000 characters
    assert stored_rows(engine) == 0


def test_fifty_megabyte_cell_is_refused_with_bounded_memory():
    """A 50 MB cell stops the read after about a megabyte beyond it was buffered, never the whole cell."""
    body = HEADER.encode() + b"2023-01-01,p,c,1\n2023-01-02,p,c," + b"9" * (50 * 2**20) + b"\n"
    fileobj = io.BytesIO(body)
    layout = inspect_file(fileobj, FileKind.CSV, LIMIT, limits=Limits(max_columns=200))
    tracemalloc.start()
    try:
        with pytest.raises(FileProblem, match="^line 3 is longer than 1 MB"):
            list(read_chunks(fileobj, layout, chunk_rows=1000, max_uncompressed=LIMIT))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_long_line_inside_one_block_is_caught_too():
    """A line over the record limit fails the read even when it arrives whole within one read block."""
    body = rows_csv(5) + "2023-01-02,p,c,1," + "n" * (2 * 2**20) + "\n" + "2023-01-03,p,c,1,x\n"
    body = body.replace(HEADER, "Date,product_id,category,sales,note\n").replace(",c,0\n", ",c,0,x\n")
    with pytest.raises(FileProblem, match="^line 7 is longer than 1 MB"):
        read(body.encode(), Limits(max_columns=200), chunk_rows=100_000)


def test_record_limit_follows_the_cell_and_column_limits():
    """The longest record read grows with MAX_COLUMNS x MAX_CELL_CHARS, and is never under 1 MiB."""
    assert Limits(max_columns=200).max_record_bytes == 2**20
    assert Limits(max_columns=1000, max_cell_chars=1000).max_record_bytes == 1000 * 1003 * 4
