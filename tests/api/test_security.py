"""Access control and browser rules: the full and read-only keys, CORS, and a stopped query's 503."""

from __future__ import annotations

import hmac
from dataclasses import replace

import pytest
from flask import Blueprint
from sqlalchemy.exc import OperationalError

from services.api import auth, create_app
from services.api.auth import Access, key_access
from tests.conftest import upload

FULL = "full-key-0123456789abcdef"
READ = "read-key-0123456789abcdef"
GOOD = "Date,product_id,category,sales\n2023-01-01,p,c,1\n2023-01-02,p,c,2\n"
#: Every read endpoint with a request that reaches its view.
READS = ["/metadata", "/invoice-data", "/forecast-data", "/forecast-metrics", "/forecast-data/export",
         "/categories", "/mappings", "/batches/1", "/batches/1/errors", "/categories/c/settings",
         "/categories/c/history", "/categories/c/events", "/categories/c/targets"]
APP_ORIGIN = "https://app.example.com"


@pytest.fixture
def keyed(app, settings, engine, redis):
    """A client of an app with both API_KEY and READ_API_KEY set (jobs read the environment `app` set)."""
    app = create_app(replace(settings, api_key=FULL, read_api_key=READ), engine=engine, redis=redis)
    return app.test_client()


def with_key(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


# The keys


def test_key_access_tells_the_keys_apart():
    """The full key gives FULL, the read key READ, anything else (empty, prefix, other case) NONE."""
    assert key_access(FULL, FULL, READ) is Access.FULL
    assert key_access(READ, FULL, READ) is Access.READ
    for wrong in ("", FULL[:-1], FULL.upper(), FULL + " ", READ + "x"):
        assert key_access(wrong, FULL, READ) is Access.NONE


def test_an_unset_read_key_never_matches():
    """With READ_API_KEY empty, an empty header is not a read key."""
    assert key_access("", FULL, "") is Access.NONE


def test_keys_are_compared_in_constant_time(monkeypatch):
    """Both keys go through hmac.compare_digest, every time (no early exit on the first match)."""
    calls = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert key_access(FULL, FULL, READ) is Access.FULL
    assert sorted(b for _, b in calls) == sorted([FULL.encode(), READ.encode()])


@pytest.mark.parametrize("path", READS)
def test_every_read_endpoint_needs_a_key(keyed, path):
    """Without a key, or with a wrong one, each read endpoint answers 401 JSON."""
    for headers in ({}, with_key("nope")):
        response = keyed.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.json == {"error": "missing or wrong X-API-Key header"}


@pytest.mark.parametrize("path", READS)
def test_read_key_reads_every_read_endpoint(keyed, path):
    """The read-only key passes the key check on every read endpoint (the view answers, not 401/403)."""
    assert keyed.get(path, headers=with_key(READ)).status_code not in (401, 403)
    assert keyed.head(path, headers=with_key(READ)).status_code not in (401, 403)


def test_read_key_cannot_upload(keyed, settings):
    """POST /upload with the read-only key is 403 "this key is read-only"; nothing is stored."""
    response = upload(keyed, GOOD, **with_key(READ))
    assert response.status_code == 403
    assert response.json == {"error": "this key is read-only"}
    assert keyed.get("/metadata", headers=with_key(READ)).json == []


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/mappings", {"name": "m", "mapping": {}}),
    ("put", "/categories/c/settings", {"holiday_country": None}),
    ("put", "/categories/c/events", []),
    ("put", "/categories/c/targets", {}),
    ("post", "/forecasts/refresh", {}),
])
def test_read_key_cannot_write(keyed, method, path, body):
    """Every write endpoint refuses the read-only key with 403."""
    response = getattr(keyed, method)(path, json=body, headers=with_key(READ))
    assert response.status_code == 403
    assert response.json["error"] == "this key is read-only"


def test_full_key_can_write_and_read(keyed, drain):
    """API_KEY uploads, and reads back what it uploaded."""
    response = upload(keyed, GOOD, **with_key(FULL))
    assert response.status_code == 202
    drain()
    batch = keyed.get(f"/batches/{response.json['batch_num']}", headers=with_key(FULL)).json
    assert batch["status"] == "completed"


def test_write_without_a_key_is_401_not_403(keyed):
    """A write with no key at all is unauthenticated (401), not forbidden."""
    assert upload(keyed, GOOD).status_code == 401


@pytest.mark.parametrize("path", ["/health", "/ready", "/openapi.json", "/"])
def test_open_endpoints_need_no_key(keyed, path):
    """The probes, the API description and the web app answer without a key."""
    assert keyed.get(path).status_code == 200


def test_without_api_key_everything_is_open(client):
    """With no API_KEY (development), no request needs a key."""
    assert client.get("/metadata").status_code == 200
    assert upload(client, GOOD).status_code == 202


def test_unknown_path_needs_a_key_too(keyed):
    """A path no view serves does not tell a keyless caller whether it exists."""
    assert keyed.get("/no-such-thing").status_code == 401
    assert keyed.get("/no-such-thing", headers=with_key(READ)).status_code == 404


# CORS


@pytest.fixture
def cors_app(settings, engine, redis):
    """An app with a key and CORS on for APP_ORIGIN."""
    return create_app(replace(settings, api_key=FULL, cors_origins=f"{APP_ORIGIN}, http://localhost:5173"),
                      engine=engine, redis=redis)


def preflight(client, origin: str, path: str = "/invoice-data", method: str = "GET"):
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": "x-api-key"})


def test_cors_is_off_by_default(client):
    """Without CORS_ORIGINS no answer carries any Access-Control-* header, preflight or not."""
    for response in (client.get("/metadata", headers={"Origin": APP_ORIGIN}), preflight(client, APP_ORIGIN)):
        assert [k for k, _ in response.headers.items() if k.lower().startswith("access-control-")] == []


def test_preflight_from_a_listed_origin_is_answered_without_a_key(cors_app):
    """A listed origin's preflight gets 204 with the origin, methods, X-API-Key, Content-Type and max-age."""
    response = preflight(cors_app.test_client(), APP_ORIGIN, "/upload", "POST")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert {"GET", "POST", "PUT"} <= {m.strip() for m in response.headers["Access-Control-Allow-Methods"].split(",")}
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"x-api-key", "content-type"} <= allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]


def test_preflight_from_another_origin_gets_no_cors_headers(cors_app):
    """An origin not listed gets no Access-Control-Allow-Origin (so the browser refuses)."""
    response = preflight(cors_app.test_client(), "https://evil.example.net")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.status_code == 401


def test_listed_origin_is_named_on_actual_answers(cors_app):
    """Answers to a listed origin carry its name (never *) and Vary: Origin, errors included."""
    client = cors_app.test_client()
    ok = client.get("/metadata", headers={"Origin": "http://localhost:5173", **with_key(FULL)})
    refused = client.get("/metadata", headers={"Origin": APP_ORIGIN})
    for response, origin in ((ok, "http://localhost:5173"), (refused, APP_ORIGIN)):
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "Origin" in response.headers["Vary"]
    assert (ok.status_code, refused.status_code) == (200, 401)


def test_other_origins_get_no_allow_origin_on_answers(cors_app):
    """An unlisted origin, or a look-alike of a listed one, is never allowed."""
    client = cors_app.test_client()
    for origin in ("https://evil.example.net", APP_ORIGIN + ".evil.net", "https://app.example.com:8443", "null"):
        response = client.get("/metadata", headers={"Origin": origin, **with_key(FULL)})
        assert "Access-Control-Allow-Origin" not in response.headers, origin


# A query stopped by its time limit


@pytest.fixture
def slow_app(settings, engine, redis):
    """An app with one extra view that raises the error a statement killed by its time limit raises."""
    app = create_app(settings, engine=engine, redis=redis)
    extra = Blueprint("slow", __name__)

    @extra.get("/slow/<int:code>")
    def slow(code: int):  # noqa: ANN202
        raise OperationalError("SELECT ...", {}, Exception(code, "Query execution was interrupted"))

    app.register_blueprint(extra)
    return app


@pytest.mark.parametrize("code", [1969, 3024])
def test_query_stopped_by_its_time_limit_is_503_json(slow_app, code):
    """MariaDB's 1969 and MySQL's 3024 become 503 "the query took too long", not 500."""
    response = slow_app.test_client().get(f"/slow/{code}")
    assert response.status_code == 503
    assert response.json["error"].startswith("the query took too long")


def test_other_database_errors_stay_unavailable(slow_app):
    """A lost connection (2013) is still 'the database is unavailable'."""
    response = slow_app.test_client().get("/slow/2013")
    assert response.status_code == 503
    assert response.json["error"].startswith("the database is unavailable")
