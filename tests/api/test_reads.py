"""The read endpoints: shapes, filters, pagination, and 400s for bad parameters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from common.queue import connect
from services.api import create_app
from tests.conftest import upload

ROWS = "Date,product_id,category,sales\n" + "".join(
    f"2023-01-{day:02d},{product},{category},{day}\n"
    for day in range(1, 11) for product in ("p1", "p2") for category in ("north", "South")
)


@pytest.fixture
def loaded(client, drain):
    """Two completed batches: 40 observations, then one more day."""
    first = upload(client, ROWS, "first.csv").json["batch_num"]
    drain()
    second = upload(client, "Date,product_id,category,sales\n2023-01-11,p1,north,0\n", "second.csv").json["batch_num"]
    drain()
    return first, second


def test_health_is_ok(client):
    """/health answers while the process is up."""
    assert client.get("/health").json == {"status": "ok"}


def test_ready_when_database_and_redis_answer(client):
    """/ready is 200 when both dependencies answer."""
    assert client.get("/ready").status_code == 200


def test_not_ready_without_redis(settings, engine):
    """/ready is 503 naming Redis when it does not answer."""
    client = create_app(settings, engine=engine, redis=connect("redis://127.0.0.1:1/0")).test_client()
    response = client.get("/ready")
    assert response.status_code == 503
    assert "redis" in response.json["error"]


def test_metadata_lists_every_column_newest_first(client, loaded):
    """/metadata rows carry every upload_metadata column with ISO timestamps, newest batch first."""
    rows = client.get("/metadata").json
    assert [r["batch_num"] for r in rows] == [loaded[1], loaded[0]]
    from common.models import UploadMetadata
    assert set(rows[0]) == {c.name for c in UploadMetadata.__table__.columns}
    assert "T" in rows[0]["uploaded_at"]


def test_metadata_filters_and_pages(client, loaded):
    """limit, offset and status narrow /metadata."""
    assert [r["batch_num"] for r in client.get("/metadata?limit=1&offset=1").json] == [loaded[0]]
    assert client.get("/metadata?status=failed").json == []


def test_batch_shows_status_and_counts(client, loaded):
    """/batches/<id> has the status, progress and the row counts."""
    batch = client.get(f"/batches/{loaded[0]}").json
    assert batch["status"] == "completed" and batch["progress"] == 1.0
    assert batch["num_total_rows"] == 40 and batch["num_inserted_rows"] == 40
    assert batch["forecast_status"] == "pending"


def test_unknown_batch_is_json_404(client):
    """A batch that does not exist is a JSON 404."""
    response = client.get("/batches/999")
    assert response.status_code == 404
    assert response.json == {"error": "batch 999 not found"}


def test_invoice_data_orders_and_paginates(client, loaded):
    """Newest day first, then product and category; pagination totals are right."""
    body = client.get("/invoice-data?limit=3&page=2").json
    assert body["pagination"] == {"page": 2, "limit": 3, "total_items": 41, "total_pages": 14}
    keys = [(r["date"], r["product_id"], r["category"]) for r in client.get("/invoice-data?limit=41").json["data"]]
    assert keys == sorted(keys, key=lambda k: (-int(k[0].replace("-", "")), k[1], k[2]))
    assert body["data"][0].keys() == {"date", "product_id", "category", "sales", "is_imputed", "batch_num", "version"}


def test_invoice_data_filters(client, loaded):
    """category (exact, case-sensitive), product_id, batch_num and an inclusive date range filter rows."""
    def count(query: str) -> int:
        return client.get(f"/invoice-data?{query}").json["pagination"]["total_items"]

    assert count("category=South") == 20
    assert count("category=south") == 0
    assert count("product_id=p2&category=north") == 10
    assert count(f"batch_num={loaded[1]}") == 1
    assert count("start_date=2023-01-02&end_date=2023-01-03") == 8


@pytest.mark.parametrize("query", [
    "page=0", "limit=0", "limit=10001", "limit=-5", "page=abc", "start_date=2023-02-30", "end_date=yesterday",
    "start_date=2023-02-01&end_date=2023-01-01", "batch_num=x", "colour=red",
])
def test_invoice_data_bad_parameters_are_400(client, query):
    """Bad parameters get a JSON 400 naming the problem, never a silent default."""
    response = client.get(f"/invoice-data?{query}")
    assert response.status_code == 400
    assert response.json["error"]


@pytest.mark.parametrize("query", ["/metadata?limit=abc", "/metadata?status=done", "/metadata?offset=-1"])
def test_metadata_bad_parameters_are_400(client, query):
    """Bad /metadata parameters get a JSON 400."""
    assert client.get(query).status_code == 400


def test_categories_summarise_what_is_stored(client, loaded):
    """Each category with product count, date range and row count."""
    body = {c["category"]: c for c in client.get("/categories").json}
    assert body["north"] == {"category": "north", "product_count": 2, "first_date": "2023-01-01",
                             "last_date": "2023-01-11", "row_count": 21, "best_model": None,
                             "holiday_country": "US", "holiday_country_overridden": False,
                             "last_run_id": body["north"]["last_run_id"], "forecast_status": "pending",
                             "recommended_method": None, "grain": None, "grain_anchor": None,
                             "grain_source": "detected", "grain_problem": None, "product_status": None,
                             "reconciliation": None, "drifting": False, "drift": None}
    assert body["South"]["row_count"] == 20


def test_unknown_route_and_method_are_json(client):
    """404 and 405 are JSON errors too."""
    assert client.get("/nope").json == {"error": "not found"}
    response = client.delete("/upload")
    assert response.status_code == 405 and response.json == {"error": "method not allowed"}


def test_api_key_guards_everything_but_probes(settings, engine, redis):
    """With API_KEY set, data endpoints need X-API-Key; /health and /ready stay open."""
    client = create_app(replace(settings, api_key="s3cret"), engine=engine, redis=redis).test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
    assert client.get("/metadata").status_code == 401
    assert client.get("/metadata", headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/metadata", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert upload(client, ROWS).status_code == 401


def test_without_a_build_the_landing_page_is_the_plain_upload_page(client, monkeypatch, tmp_path):
    """With no built web app, / serves the plain page: it says so and still carries the upload control."""
    from services.api.views import frontend
    monkeypatch.setattr(frontend, "BUILT", tmp_path / "no-build")
    response = client.get("/")
    assert response.status_code == 200
    assert b"The web app is not built" in response.data
    assert b'type="file"' in response.data and b'id="mapping"' in response.data


def test_a_built_web_app_is_served_at_the_root_with_its_assets(client, monkeypatch, tmp_path):
    """With frontend/dist built, / serves its index.html and /assets/ its files, and nothing outside them."""
    from services.api.views import frontend
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<div id="app"></div><script src="assets/app.js"></script>')
    (tmp_path / "assets" / "app.js").write_text("console.log('castflow')")
    monkeypatch.setattr(frontend, "BUILT", tmp_path)
    assert b'id="app"' in client.get("/").data
    assert client.get("/assets/app.js").data == b"console.log('castflow')"
    outside = client.get("/assets/../index.html")
    assert outside.status_code == 404


def test_database_outage_is_a_clear_503(app, client, tmp_path):
    """When the database cannot be reached, reads and uploads answer 503 in words, not 500."""
    from sqlalchemy import create_engine

    from common.db import make_session_factory
    from services.api import services
    (tmp_path / "not-a-directory").write_text("")
    unreachable = create_engine(f"sqlite:///{tmp_path}/not-a-directory/castflow.db")
    with app.app_context():
        down = make_session_factory(unreachable)
        services().sessions = services().read_sessions = down  # no replica: reads use the primary too
    for response in (client.get("/metadata"), client.get("/invoice-data"), upload(client, ROWS)):
        assert response.status_code == 503
        assert "database is unavailable" in response.json["error"]


@pytest.mark.parametrize("path", ["/invoice-data?batch_num=99999999999999999999", "/batches/99999999999999999999",
                                  "/batches/99999999999999999999/errors"])
def test_ids_beyond_the_id_range_are_4xx_not_500(client, path):
    """An id too large for the id columns is a 400 (parameter) or 404 (path), never an overflow 500."""
    assert client.get(path).status_code in (400, 404)
