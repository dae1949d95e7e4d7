"""The pharmacy and Sandy 311 files uploaded as they are (one column per category) on MariaDB + Redis:
every category's daily total equals pandas' reading of the same file."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from tests.conftest import SHARED_DATA

pytestmark = [pytest.mark.integration]

PHARMACY = SHARED_DATA / "pharma-sales" / "salesdaily_semicolon_asfound.csv"
PHARMACY_MAPPING = {"date": "datum", "date_format": "%m/%d/%Y", "product_id": {"const": "all"},
                    "category_columns": {"all_except": ["Year", "Month", "Hour", "Weekday Name"]}}
SANDY = SHARED_DATA / "contact-centre" / "sandy_311_calls_by_day.csv"
SANDY_MAPPING = {"date": "date", "date_format": "%m/%d/%y", "product_id": {"const": "calls"},
                 "category_columns": {"all_except": ["total"]}}


def expected(path: Path, sep: str, date: str, date_format: str, left_out: list[str]) -> dict[tuple[str, str], int]:
    """(category, day) -> cents, computed by pandas from the file as found."""
    frame = pd.read_csv(path, sep=sep, dtype="str", keep_default_na=False)
    days = pd.to_datetime(frame[date], format=date_format).dt.strftime("%Y-%m-%d")
    long = frame.drop(columns=[date, *left_out]).assign(day=days).melt(id_vars="day", var_name="category")
    # Cents from the text, half away from zero, as the README says (and as MySQL's DECIMAL does): 3.825 -> 383.
    cents = [int(Decimal(v.strip()).scaleb(2).quantize(Decimal(1), ROUND_HALF_UP)) for v in long["value"]]
    sums = long.assign(cents=cents).groupby(["category", "day"])["cents"].sum()
    return {key: int(value) for key, value in sums.items()}


def stored(engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT category, date, SUM(ROUND(sales * 100)) FROM invoice_data "
                                 "GROUP BY category, date"))
        return {(category, day.isoformat()): int(total) for category, day, total in rows}


def upload(client, drain, path: Path, mapping: dict) -> dict:
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path.name}")
    with path.open("rb") as fileobj:
        answer = client.post("/upload", data={"file": (fileobj, path.name), "mapping": json.dumps(mapping)},
                             content_type="multipart/form-data")
    assert answer.status_code == 202, answer.json
    drain()
    return client.get(f"/batches/{answer.json['batch_num']}").json


def test_pharmacy_file_as_found_loads_in_one_batch(client, drain, engine):
    """8 drug classes x 2,106 days (";", M/D/YYYY): every class's daily total is pandas' exactly."""
    batch = upload(client, drain, PHARMACY, PHARMACY_MAPPING)
    want = expected(PHARMACY, ";", "datum", "%m/%d/%Y", ["Year", "Month", "Hour", "Weekday Name"])
    assert batch["status"] == "completed", batch["error_log"]
    assert (batch["num_total_rows"], batch["num_rejected_rows"]) == (2106 * 8, 0)
    assert len(batch["categories_from"]["columns"]) == 8
    assert stored(engine) == want


def test_sandy_311_file_as_found_loads_in_one_batch(client, drain, engine):
    """23 agencies x 1,783 days (M/D/YY), the total left out: every agency's daily total is pandas' exactly."""
    batch = upload(client, drain, SANDY, SANDY_MAPPING)
    want = expected(SANDY, ",", "date", "%m/%d/%y", ["total"])
    assert batch["status"] == "completed", batch["error_log"]
    assert (batch["num_total_rows"], batch["num_rejected_rows"]) == (1783 * 23, 0)
    assert stored(engine) == want
    days = pd.read_csv(SANDY, dtype={"total": "int64"})["total"]
    assert sum(want.values()) == int(days.sum()) * 100  # the agencies add up to the file's own total
