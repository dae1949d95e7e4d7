"""Hostile input: every operation of /openapi.json, fuzzed in-process (SQLite + fakeredis).

Two tests per operation. Schemathesis gives it its documented examples, its coverage cases (boundaries,
wrong types, missing and malformed values) and a bounded number of random cases, valid and invalid,
some with one value swapped for a hostile one (NUL, lone surrogates, huge numbers, ...). A sweep then
sets each parameter and body field alone to each hostile value, so every such pairing is tried on
every run. Every answer must be no 5xx, have a documented status, content type and body, and, when
it is an error, be JSON `{"error": "..."}`. Derandomized: a failure reproduces on every run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import fakeredis
import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import strategies as st
from rq import SimpleWorker
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from common.config import Settings, settings_env
from common.db import make_engine
from common.models import ForecastData, ForecastMetric, ForecastRun
from common.queue import ETL_QUEUE, queue
from services.api import create_app
from services.api.views.openapi import openapi_document
from tests.conftest import upload

#: The document the API serves at /openapi.json (`seed` checks the app serves exactly this). Loaded at
#: import because schemathesis parametrizes at collection time; its fixture-based loader
#: (`schemathesis.pytest.from_fixture`) relies on a pytest internal (`Node._nodeid`) that pytest 9.2 removed.
SCHEMA = schemathesis.openapi.from_dict(openapi_document())
API_KEY = "fuzz-key"
HEADERS = {"X-API-Key": API_KEY}
#: The README's examples (store-1, item-1, December 2017) exist, so the documented examples reach real rows.
SALES = "Date,product_id,category,sales\n" + "".join(
    f"2017-12-{day:02d},item-{item},store-{store},{day * item}\n"
    for day in range(1, 32) for item in (1, 2) for store in (1, 2)
)
#: A second batch with rejected rows, so /batches/{n}/errors has some to show (in JSON and CSV).
WITH_ERRORS = "Date,product_id,category,sales\n" + "".join(
    f"2017-11-{day:02d},item-{item},store-1,{day}\n" for day in range(1, 29) for item in (1, 2)
) + "2017-11-31,item-1,store-1,1\n2017-11-29,,store-1,2\n2017-11-30,item-1,store-1,-3\n"


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The API on its own SQLite file and fakeredis, with an API key, seeded once for all operations' tests.

    The operations' tests share it in a fixed order, so the writes of one are read by the next.
    """
    folder = tmp_path_factory.mktemp("fuzz")
    settings = Settings(database_url=f"sqlite:///{folder / 'castflow.db'}", upload_dir=str(folder / "uploads"),
                        redis_url="redis://unused:6379/0", api_key=API_KEY)
    engine = make_engine(settings.database_url)
    redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    with pytest.MonkeyPatch.context() as env:
        # The ETL jobs run in this process and read their settings from the environment.
        env.setenv("CASTFLOW_ENV_FILE", "")
        for name, value in settings_env(settings).items():
            env.setenv(name, value)
        app = create_app(settings, engine=engine, redis=redis)
        seed(app, engine, redis)
        yield app
    engine.dispose()


def seed(app: Flask, engine: Engine, redis: fakeredis.FakeRedis) -> None:
    """Two batches through the ETL (one with rejected rows), forecasts, a mapping profile and a setting."""
    client = app.test_client()
    assert client.get("/openapi.json").json == SCHEMA.raw_schema, "the app must serve the document fuzzed here"
    for content, name in ((SALES, "sales.csv"), (WITH_ERRORS, "november.csv")):
        assert upload(client, content, name, **HEADERS).status_code == 202
    SimpleWorker([queue(redis, ETL_QUEUE)], connection=redis).work(burst=True)
    for category in ("store-1", "store-2"):
        seed_forecasts(engine, category)
    profile = {"name": "retail", "mapping": {"date": "InvoiceDate", "sales": "Quantity * UnitPrice"}}
    assert client.post("/mappings", json=profile, headers=HEADERS).status_code == 201
    setting = client.put("/categories/store-2/settings", json={"holiday_country": "GB"}, headers=HEADERS)
    assert setting.status_code == 200
    assert client.get("/batches/2/errors", headers=HEADERS).json, "the second batch should have rejected rows"


def seed_forecasts(engine: Engine, category: str) -> None:
    """A completed forecast run of `category`: two models' rows (and store-1 a recommended forecast), metrics."""
    recommended = category == "store-1"  # store-2's run is one made before recommended forecasts
    with Session(engine) as session, session.begin():
        run = ForecastRun(category=category, status="completed", horizon_days=3, created_at=dt.datetime(2018, 1, 1),
                          recommended_method="mean of holt_winters, sarimax" if recommended else None)
        session.add(run)
        session.flush()
        for model, base in (("holt_winters", 10.0), ("sarimax", 20.0), ("recommended", 15.0))[:3 if recommended else 2]:
            quantiles = {"p10": base - 5, "p50": base, "p90": base + 5} if model == "recommended" else {}
            session.add_all(ForecastData(run_id=run.id, batch_num=1, category=category, model_type=model,
                                         forecast_date=dt.date(2018, 1, 1) + dt.timedelta(days=n),
                                         forecast_value=base + n, lower_bound=0.0, upper_bound=2 * base + n,
                                         **quantiles)
                            for n in range(3))
        if recommended:
            session.add(ForecastMetric(run_id=run.id, category=category, model_type="recommended", mae=0.9,
                                       coverage80=0.8, wql=0.05, is_best=False))
        session.add_all([
            ForecastMetric(run_id=run.id, category=category, model_type="holt_winters", mae=1.0, rmse=1.5,
                           smape=0.1, mase=0.7, coverage=0.95, is_best=True, fit_seconds=0.2),
            ForecastMetric(run_id=run.id, category=category, model_type="sarimax", mae=2.0, is_best=False),
            ForecastMetric(run_id=run.id, category=category, model_type="prophet", is_best=False,
                           error="prophet failed: too short"),
        ])


#: Values that break parsers, databases and spreadsheets: NUL, lone surrogates (only JSON can carry them),
#: right-to-left override, astral and over-long text, formulas, traversal, numbers past every column, format
#: strings (a strftime directive given twice once made strptime raise re.error).
HOSTILE = ["\x00", "a\x00b", "\ud800", "x\udfffy", "\u202e", "\U0001f600", "é" * 101, "=cmd()", "../../etc",
           "a/b", " ", "9" * 30, "-1", "1e309", "NaN", "null", "%s%n", "%d/%m/%Y %Y", "'; DROP TABLE invoice_data; --"]
#: The ones a URL or a form can carry (a lone surrogate cannot be UTF-8 encoded, so no client can send it there).
URL_HOSTILE = [value for value in HOSTILE if not any("\ud800" <= ch <= "\udfff" for ch in value)]


def with_hostile_value(values: object, pool: list[str]) -> st.SearchStrategy:
    """`values` as generated, or with one entry (or a nested object's entry) replaced by a value of `pool`."""
    if not isinstance(values, dict):
        return st.just(values)
    spots = [(key, None) for key, value in values.items() if not isinstance(value, bytes)]
    spots += [(key, inner) for key, value in values.items() if isinstance(value, dict) for inner in value]
    if not spots:
        return st.just(values)
    hostile = st.tuples(st.sampled_from(spots), st.sampled_from(pool)).map(lambda pick: _replaced(values, *pick))
    return st.one_of(st.just(values), hostile)


def _replaced(values: dict, spot: tuple[str, str | None], text: str) -> dict:
    key, inner = spot
    if inner is None:
        return {**values, key: text}
    return {**values, key: {**values[key], inner: text}}


def is_multipart(operation: schemathesis.APIOperation) -> bool:
    """True when the operation takes a multipart form (whose text parts go on the wire unencoded)."""
    return "multipart/form-data" in operation.definition.raw.get("requestBody", {}).get("content", {})


@SCHEMA.hook
def flatmap_body(context, body):  # noqa: ANN001, ANN201 - schemathesis' hook signature
    """Bodies sometimes carry a hostile value; JSON ones lone surrogates too (only JSON escapes can carry them)."""
    return with_hostile_value(body, URL_HOSTILE if is_multipart(context.operation) else HOSTILE)


@SCHEMA.hook
def flatmap_query(context, query):  # noqa: ANN001, ANN201
    """Query parameters sometimes carry a hostile value."""
    return with_hostile_value(query, URL_HOSTILE)


@SCHEMA.hook
def flatmap_path_parameters(context, path_parameters):  # noqa: ANN001, ANN201
    """Path parameters sometimes carry a hostile value."""
    return with_hostile_value(path_parameters, URL_HOSTILE)


def errors_are_json(ctx, response, case) -> None:  # noqa: ANN001 - schemathesis' check signature
    """Every 4xx/5xx answer is a JSON object with a non-empty `error` string."""
    if response.status_code < 400:
        return
    content_type = ";".join(response.headers.get("content-type", []))
    assert content_type.startswith("application/json"), f"error answered as {content_type!r}"
    body = json.loads(response.content)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body


#: What every answer must pass: no 5xx, status and body as documented, errors as JSON.
CHECKS = [not_a_server_error, schemathesis.checks.response_schema_conformance,
          schemathesis.checks.status_code_conformance, schemathesis.checks.content_type_conformance,
          errors_are_json]


@SCHEMA.parametrize()
@hypothesis.settings(max_examples=40, derandomize=True, deadline=None, database=None, print_blob=False,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_api_survives_hostile_input(case: schemathesis.Case, fuzz_app: Flask):
    """No operation answers 5xx or off-document to generated input; every error is JSON with `error`."""
    case.call_and_validate(app=fuzz_app, headers=HEADERS, checks=CHECKS)


#: JSON can carry more than text: numbers past every column, the wrong types, nesting.
JSON_HOSTILE = [*HOSTILE, 10**30, -1, 1.5, True, None, [], {}, [[["x"]]], {"": {"": None}}]


def hostile_cases(operation: schemathesis.APIOperation) -> Iterator[schemathesis.Case]:
    """The operation's example request with one parameter or body field at a time set to each hostile value."""
    path = {p.name: p.definition["example"] for p in operation.path_parameters}
    for param in operation.path_parameters:
        for text in URL_HOSTILE:
            yield operation.Case(path_parameters={**path, param.name: text})
    for param in operation.query:
        for text in URL_HOSTILE:
            yield operation.Case(path_parameters=path, query={param.name: text})
    for alternative in operation.body:
        for body in hostile_bodies(alternative.media_type, alternative.definition):
            yield operation.Case(path_parameters=path, body=body, media_type=alternative.media_type)


def hostile_bodies(media_type: str, definition: dict) -> Iterator[object]:
    """The documented example body (a small CSV for a form) with each field, or itself, made hostile."""
    form = media_type == "multipart/form-data"
    base = {"file": SALES.encode()} if form else definition["example"]
    if isinstance(base, list):  # an array of objects (a category's events): each entry and each field of one
        yield from hostile_entries(base)
        return
    # An object body's documented fields; a map (a category's targets by month) has its example's keys.
    fields = definition["schema"].get("properties") or base
    for name in fields:
        for value in URL_HOSTILE if form else JSON_HOSTILE:
            if not (form and name == "file"):
                yield {**base, name: value}
    for name, value in base.items():
        if isinstance(value, dict):
            yield from ({**base, name: {**value, key: hostile}} for key in value for hostile in JSON_HOSTILE)
    if form:
        yield from ({**base, "mapping": {"date": hostile}} for hostile in JSON_HOSTILE)
    else:
        yield from JSON_HOSTILE


def hostile_entries(base: list[dict]) -> Iterator[object]:
    """An example array body with its first entry's fields, each entry, or itself, made hostile."""
    for hostile in JSON_HOSTILE:
        yield from ([{**base[0], key: hostile}, *base[1:]] for key in base[0])
        yield from ([*base[:i], hostile, *base[i + 1:]] for i in range(len(base)))
        yield hostile


OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_hostile_values_one_at_a_time(operation: schemathesis.APIOperation, fuzz_app: Flask):
    """Each parameter and body field alone, set to each hostile value: no 5xx, as documented, errors as JSON."""
    failures = []
    for case in hostile_cases(operation):
        try:
            case.call_and_validate(app=fuzz_app, headers=HEADERS, checks=CHECKS)
        except FailureGroup as exc:
            failures.append(str(exc))
    assert not failures, f"{len(failures)} hostile requests failed; the first:\n{failures[0]}"
