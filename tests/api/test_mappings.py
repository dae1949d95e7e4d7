"""Mapping profiles (/mappings) and uploads with a column mapping, through to the loaded rows."""

from __future__ import annotations

import io
import json

import pytest

from tests.conftest import upload

GOOD = "Date,product_id,category,sales\n2023-01-01,p1,c1,3\n2023-01-02,p1,c1,4\n"
RETAIL = {"date": "when", "product_id": "sku", "category": {"const": "all"}, "sales": "qty * price",
          "drop_negative_sales": True}
CANONICAL = {"date": "when", "product_id": "sku", "category": {"const": "all"}, "sales": "qty * price",
             "drop_negative_sales": True, "date_format": None}


def upload_with(client, content: str, filename: str = "sales.csv", **fields):
    """POST a file with extra form fields (mapping, mapping_name)."""
    data = {"file": (io.BytesIO(content.encode()), filename), **fields}
    return client.post("/upload", data=data, content_type="multipart/form-data")


def loaded_rows(client) -> list[tuple[str, str, str, float]]:
    body = client.get("/invoice-data?limit=1000").json
    return sorted((r["date"], r["product_id"], r["category"], float(r["sales"])) for r in body["data"])


def batch_count(client) -> int:
    return len(client.get("/metadata").json)


def test_post_creates_then_replaces_a_profile(client):
    """The first POST creates (201), the second replaces (200); GET lists the canonical mapping."""
    created = client.post("/mappings", json={"name": "retail", "mapping": {"date": "when"}})
    assert created.status_code == 201
    assert created.json["name"] == "retail"
    replaced = client.post("/mappings", json={"name": "retail", "mapping": RETAIL})
    assert replaced.status_code == 200
    assert replaced.json["mapping"] == CANONICAL
    listed = client.get("/mappings")
    assert listed.status_code == 200
    assert [(p["name"], p["mapping"]) for p in listed.json] == [("retail", CANONICAL)]


def test_profiles_start_empty(client):
    """GET /mappings with no profiles is an empty list."""
    assert client.get("/mappings").json == []


@pytest.mark.parametrize("body", [
    {"mapping": {"date": "when"}},
    {"name": "x"},
    {"name": "", "mapping": {}},
    {"name": "x" * 101, "mapping": {}},
    {"name": 5, "mapping": {}},
    {"name": "x", "mapping": {"colour": "red"}},
    {"name": "x", "mapping": {"sales": "a * b * c"}},
    {"name": "x", "mapping": "date"},
])
def test_bad_profile_bodies_are_400(client, body):
    """A missing name, a bad name or a bad mapping is a JSON 400 and stores nothing."""
    response = client.post("/mappings", json=body)
    assert response.status_code == 400
    assert response.json["error"]
    assert client.get("/mappings").json == []


def test_upload_with_mapping_name_uses_the_profile(client):
    """An upload naming a profile is read with it; the batch shows that mapping."""
    client.post("/mappings", json={"name": "retail", "mapping": RETAIL})
    response = upload_with(client, "when,sku,qty,price\n2023-01-01,a,2,1.5\n", mapping_name="retail")
    assert response.status_code == 202
    assert client.get(f"/batches/{response.json['batch_num']}").json["mapping"] == CANONICAL


def test_upload_without_mapping_shows_none(client):
    """A batch uploaded without a mapping shows mapping null."""
    response = upload(client, GOOD)
    assert client.get(f"/batches/{response.json['batch_num']}").json["mapping"] is None


def test_unknown_mapping_name_is_400(client):
    """A mapping_name with no profile is a 400 naming it, and nothing is stored."""
    response = upload_with(client, GOOD, mapping_name="nope")
    assert response.status_code == 400
    assert "'nope'" in response.json["error"]
    assert batch_count(client) == 0


def test_mapping_and_mapping_name_together_are_400(client):
    """Sending both a mapping and a mapping_name is refused."""
    client.post("/mappings", json={"name": "retail", "mapping": RETAIL})
    response = upload_with(client, GOOD, mapping=json.dumps({}), mapping_name="retail")
    assert response.status_code == 400
    assert "not both" in response.json["error"]
    assert batch_count(client) == 0


@pytest.mark.parametrize(("text", "words"), [
    ('{"date": ', "not valid JSON"),
    ('["date"]', "JSON object"),
    ('{"colour": "red"}', "unknown mapping key"),
])
def test_invalid_mapping_field_is_400(client, text, words):
    """A mapping form field that is not JSON or not a valid mapping is a 400 saying why."""
    response = upload_with(client, GOOD, mapping=text)
    assert response.status_code == 400
    assert words in response.json["error"]
    assert batch_count(client) == 0


def test_mapping_naming_a_missing_column_is_400_and_stores_nothing(client):
    """A mapped column absent from the file is a 400 naming it; no batch is recorded."""
    response = upload_with(client, GOOD, mapping=json.dumps({"date": "InvoiceDate"}))
    assert response.status_code == 400
    assert response.json["error"].startswith("the mapping names column(s) not in the file")
    assert "InvoiceDate" in response.json["error"]
    assert client.get("/metadata").json == []


def test_same_bytes_with_another_mapping_is_another_batch(client):
    """No mapping then a mapping: two batches; the same mapping again: 409 with the second batch."""
    content = "Date,product_id,category,sales,qty\n2023-01-01,p1,c1,3,5\n"
    mapping = json.dumps({"sales": "qty"})
    first = upload(client, content)
    second = upload_with(client, content, mapping=mapping)
    third = upload_with(client, content, "again.csv", mapping=mapping)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json["batch_num"] != second.json["batch_num"]
    assert third.status_code == 409
    assert third.json == {"error": "duplicate file", "batch_num": second.json["batch_num"]}


def test_mapped_upload_loads_products_summed_per_day_and_sku(client, drain):
    """qty * price is summed per (day, sku), timestamps count for their day, negative rows are filtered."""
    content = ("when,sku,qty,price\n"
               "2010-12-01 08:26:00,A,2,1.5\n"
               "2010-12-01 09:00:00,A,3,2\n"
               "2010-12-01,B,1,10\n"
               "2010-12-02 10:00:00,A,-1,1.5\n"
               "2010-12-02,A,4,0.25\n"
               "2010-12-02,B,2,5\n")
    response = upload_with(client, content, mapping=json.dumps(RETAIL))
    assert response.status_code == 202
    drain()
    batch = client.get(f"/batches/{response.json['batch_num']}").json
    assert batch["status"] == "completed", batch["error_log"]
    assert batch["num_filtered_rows"] == 1
    assert batch["num_rejected_rows"] == 0
    assert loaded_rows(client) == [
        ("2010-12-01", "A", "all", 9.0),
        ("2010-12-01", "B", "all", 10.0),
        ("2010-12-02", "A", "all", 1.0),
        ("2010-12-02", "B", "all", 10.0),
    ]


def test_day_first_dates_without_date_format_fail_the_batch(client, drain):
    """31/12/2023 is not ISO: every row is rejected and the reason points at date_format."""
    content = "Date,product_id,category,sales\n31/12/2023,p1,c1,3\n30/12/2023,p1,c1,4\n"
    response = upload(client, content)
    assert response.status_code == 202
    drain()
    batch = client.get(f"/batches/{response.json['batch_num']}").json
    assert batch["status"] == "failed"
    assert "date_format" in batch["error_log"]
    assert loaded_rows(client) == []


def test_day_first_dates_with_date_format_load(client, drain):
    """With date_format %d/%m/%Y, 31/12/2023 loads as 2023-12-31."""
    content = "Date,product_id,category,sales\n31/12/2023,p1,c1,3\n"
    response = upload_with(client, content, mapping=json.dumps({"date_format": "%d/%m/%Y"}))
    assert response.status_code == 202
    drain()
    batch = client.get(f"/batches/{response.json['batch_num']}").json
    assert batch["status"] == "completed", batch["error_log"]
    assert loaded_rows(client) == [("2023-12-31", "p1", "c1", 3.0)]


def test_mapping_equal_to_the_defaults_is_a_duplicate_of_no_mapping(client):
    """An explicit mapping of the original columns is no mapping: the same bytes again are a 409."""
    first = upload(client, GOOD)
    second = upload_with(client, GOOD, mapping=json.dumps({"date": "Date", "sales": "sales"}))
    assert second.status_code == 409
    assert second.json["batch_num"] == first.json["batch_num"]


def test_a_mapping_onto_a_text_column_is_400(client):
    """sales mapped to a column without a single number is refused at upload, naming the column."""
    body = b"when,sku,label,qty\n2023-01-01,a,red box,2\n2023-01-02,b,blue box,3\n"
    answer = client.post("/upload", data={"file": (io.BytesIO(body), "m.csv"),
                                          "mapping": json.dumps({"date": "when", "product_id": "sku",
                                                                 "category": {"const": "all"}, "sales": "label"})},
                         content_type="multipart/form-data")
    assert answer.status_code == 400
    assert "'label' holds no numbers" in answer.json["error"]
