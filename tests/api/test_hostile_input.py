"""Regressions found by fuzzing (tests/api/test_fuzz.py): each answered 500 before, now a 400 naming the problem."""

from __future__ import annotations

import io

import pytest

from services.api.errors import ApiError
from services.api.params import json_value
from tests.conftest import upload

ROWS = "Date,product_id,category,sales\n2024-01-01,p1,north,5\n"
#: Deeper than Python's JSON decoder can recurse (it raised RecursionError), far below the 64 KiB body limit.
DEEP = "[" * 50_000


def post_json(client, path: str, text: str, method: str = "post"):
    """Send `text` as a JSON body exactly as given (escapes such as \\ud800 included)."""
    return getattr(client, method)(path, data=text, content_type="application/json")


def upload_with(client, **fields: str):
    """POST a small valid file to /upload with extra form fields."""
    data = {"file": (io.BytesIO(ROWS.encode()), "sales.csv"), **fields}
    return client.post("/upload", data=data, content_type="multipart/form-data")


def assert_400(response, *words: str) -> None:
    assert response.status_code == 400, response.json
    assert all(word in response.json["error"] for word in words), response.json


def test_metadata_offset_past_the_database_range_is_400(client):
    """An offset beyond SQLite's/MySQL's 64-bit range was an OverflowError (500); now a bounded 400."""
    assert_400(client.get("/metadata?offset=999999999999999999999999999999"), "offset", "between 0 and 1000000000")
    assert client.get("/metadata?offset=1000000000").status_code == 200


def test_lone_surrogate_in_refresh_category_is_400(client):
    """A category escaped as a lone surrogate could not be encoded for the database (500); now 400."""
    assert_400(post_json(client, "/forecasts/refresh", '{"category": "\\ud800"}'), "lone surrogate")


@pytest.mark.parametrize("body", [
    '{"name": "\\udfff", "mapping": {}}',
    '{"name": "retail", "mapping": {"date": "x\\ud800y"}}',
    '{"name": "retail", "mapping": {"\\ud800": "Date"}}',
])
def test_lone_surrogate_in_mapping_profile_is_400(client, body):
    """A lone surrogate anywhere in a profile (name, value or key) is refused before it reaches the database."""
    assert_400(post_json(client, "/mappings", body), "lone surrogate")
    assert client.get("/mappings").json == []


def test_lone_surrogate_in_upload_mapping_is_400_and_nothing_stored(client):
    """An upload whose mapping holds a lone surrogate was accepted (its ETL could never store it); now 400."""
    assert_400(upload_with(client, mapping='{"category": {"const": "\\ud800"}}'), "mapping", "lone surrogate")
    assert client.get("/metadata").json == []


def test_surrogate_pair_escapes_are_ordinary_text(client):
    """A proper UTF-16 pair escape is one astral character, accepted like any other text."""
    response = post_json(client, "/mappings", '{"name": "\\ud83d\\ude00", "mapping": {}}')
    assert response.status_code == 201 and response.json["name"] == "\U0001f600"


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/forecasts/refresh"), ("post", "/mappings"), ("put", "/categories/north/settings"),
])
def test_deeply_nested_json_body_is_400(client, method, path):
    """Thousands of nested brackets exhausted the JSON decoder's stack (RecursionError, 500); now 400."""
    assert_400(post_json(client, path, DEEP, method), "nests", "too deeply")


def test_deeply_nested_upload_mapping_is_400(client):
    """The upload's mapping field is decoded with the same guard."""
    assert_400(upload_with(client, mapping=DEEP), "mapping", "too deeply")


def test_upload_mapping_that_is_not_json_still_says_where(client):
    """Invalid JSON in the mapping field is a 400 pointing at the character, as before the guard."""
    assert_400(upload_with(client, mapping='{"date": '), "mapping is not valid JSON", "at character")


@pytest.mark.parametrize("date_format", ["%d/%m/%Y %Y", "%d%m%Y%Y%Y", "%d/%m/%y %d"])
def test_date_format_with_a_repeated_directive_is_400(client, date_format):
    """strptime raised re.error (not ValueError) on a directive given twice (500); now the mapping's 400."""
    body = {"name": "retail", "mapping": {"date_format": date_format}}
    assert_400(client.post("/mappings", json=body), "date_format", "does not parse its own output")


def test_upload_with_a_repeated_date_directive_is_400(client):
    """The same date_format sent with an upload is refused the same way, nothing stored."""
    assert_400(upload_with(client, mapping='{"date_format": "%d/%m/%Y %Y"}'), "date_format")
    assert client.get("/metadata").json == []


def test_json_value_finds_lone_surrogates_in_keys_and_nested_values():
    """The surrogate guard looks at object keys and at every nesting level, not only at top-level strings."""
    for text in ('{"\\ud800": 1}', '[1, [2, {"a": ["\\udc00"]}]]', '"\\udbff"'):
        with pytest.raises(ApiError, match="lone surrogate"):
            json_value(text, "body")
    assert json_value('{"a": ["\\ud83d\\ude00", null, 1e309]}', "body") == {"a": ["\U0001f600", None, float("inf")]}


def test_json_value_keeps_the_decoder_position_in_its_message():
    """A syntax error names the decoder's reason and position."""
    with pytest.raises(ApiError, match=r"body is not valid JSON \(Expecting value at character 5\)"):
        json_value('{"a":', "body")


def test_upload_still_works_after_the_guards(client):
    """A plain upload and one with a sane mapping are accepted as before."""
    assert upload(client, ROWS).status_code == 202
    assert upload_with(client, mapping='{"drop_negative_sales": true}').status_code == 202
