"""The response cache of /forecast-data, /forecast-metrics and /categories: hits, and every way an answer goes stale.

Each writer that changes these answers renews the read generation after its commit (the ETL merge,
the forecast job, the settings and refresh endpoints); these tests go through those real code
paths, and each fails when the renewal it relies on is taken out.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import delete, event, insert, update

from common.generation import generation_key
from common.models import CategoryStats, ForecastData, ForecastRun
from common.queue import FORECAST_QUEUE, enqueue_forecast
from common.status import ForecastStatus, ModelType
from services.api import create_app
from services.api.cache import ResponseCache
from services.forecast import jobs
from tests.conftest import upload
from tests.forecast.test_backtest import constant

HEADER = "Date,product_id,category,sales\n"
TWO_MONTHS = HEADER + "".join(f"2023-{m:02d}-{d:02d},p,{c},{d}\n" for m in (1, 2) for d in range(1, 29)
                              for c in ("north", "south"))
NORTH = "/forecast-data?category=north&model_type=holt_winters"


@pytest.fixture
def models(monkeypatch):
    """Stand-in models the tests may swap between runs (the real ones have their own tests)."""
    chosen = {ModelType.HOLT_WINTERS: constant(10), ModelType.SARIMAX: constant(20), ModelType.PROPHET: constant(30)}
    monkeypatch.setattr(jobs, "fitters", lambda: dict(chosen))
    return chosen


@pytest.fixture
def forecast(client, drain, models):
    """Two categories loaded and forecast once (runs 1 and 2 completed)."""
    upload(client, TWO_MONTHS)
    drain()
    drain(FORECAST_QUEUE)


@pytest.fixture
def statements(engine):
    """The SQL statements the database receives, as they come."""
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    yield seen
    event.remove(engine, "before_cursor_execute", listener)


def shift_forecasts(engine, by: float = 1000.0) -> None:
    """Change stored forecast values behind the API's back: a commit that renews nothing."""
    with engine.begin() as conn:
        conn.execute(update(ForecastData).values(forecast_value=ForecastData.forecast_value + by))


def values(response) -> set[float]:
    """The distinct forecast values of a /forecast-data answer."""
    assert response.status_code == 200, response.get_data(as_text=True)
    return {row["forecast_value"] for row in response.json}


def test_a_hit_serves_the_same_body_without_asking_the_database(client, engine, forecast, statements):
    """The second identical read is answered from the cache: same bytes, no SQL."""
    first = client.get(NORTH)
    statements.clear()
    second = client.get(NORTH)
    assert second.status_code == 200 and second.get_data() == first.get_data()
    assert statements == []
    shift_forecasts(engine)  # a commit without a renewal is not seen: it really is the cached body
    assert values(client.get(NORTH)) == {10.0}


def test_publishing_a_forecast_run_makes_the_next_read_fresh(client, drain, engine, redis, forecast, models):
    """A run published by the forecast job replaces cached rows; while it fits, /categories shows it running."""
    assert values(client.get(NORTH)) == {10.0}
    during: dict[str, object] = {}

    def fitting(history, horizon, holidays, interval):  # noqa: ANN001, ANN202 - a model that reads meanwhile
        during["rows"] = values(client.get(NORTH))
        during["status"] = {c["category"]: c["forecast_status"] for c in client.get("/categories").json}
        return constant(50)(history, horizon, holidays, interval)

    assert client.get("/categories").json[0]["forecast_status"] == "completed"  # cached before the run starts
    models[ModelType.HOLT_WINTERS] = fitting
    with engine.begin() as conn:
        run_id = conn.execute(insert(ForecastRun).values(category="north", status=ForecastStatus.PENDING,
                                                         horizon_days=30)).inserted_primary_key[0]
    enqueue_forecast(redis, run_id)
    drain(FORECAST_QUEUE)
    assert during == {"rows": {10.0}, "status": {"north": "running", "south": "completed"}}
    answer = client.get(NORTH)
    assert values(answer) == {50.0} and {row["run_id"] for row in answer.json} == {run_id}
    assert client.get("/forecast-metrics?category=north").json[0]["run_id"] == run_id


def test_the_default_view_and_every_model_are_kept_apart_and_renewed(client, drain, engine, redis, forecast):
    """The default forecast and model_type=all are two entries; a published run renews both."""
    shown = client.get("/forecast-data?category=north").json
    every = client.get("/forecast-data?category=north&model_type=all").json
    assert len({r["model_type"] for r in shown}) == 1 and len({r["model_type"] for r in every}) > 1
    with engine.begin() as conn:
        run_id = conn.execute(insert(ForecastRun).values(category="north", status=ForecastStatus.PENDING,
                                                         horizon_days=30)).inserted_primary_key[0]
    enqueue_forecast(redis, run_id)
    drain(FORECAST_QUEUE)
    for query in ("category=north", "category=north&model_type=all"):
        assert {r["run_id"] for r in client.get(f"/forecast-data?{query}").json} == {run_id}


def test_merging_a_batch_makes_the_next_read_fresh(client, drain, forecast):
    """A batch merged by the ETL job (a new category, more rows) shows in the next /categories."""
    before = {c["category"]: c["row_count"] for c in client.get("/categories").json}
    assert before == {"north": 56, "south": 56}
    upload(client, HEADER + "2023-03-01,p,east,5\n2023-03-01,p,north,7\n")
    drain()
    after = {c["category"]: c["row_count"] for c in client.get("/categories").json}
    assert after == {"east": 1, "north": 57, "south": 56}


def test_a_settings_change_makes_the_next_categories_fresh(client, forecast):
    """PUT /categories/<name>/settings shows in the next /categories."""
    assert client.get("/categories").json[0]["holiday_country"] == "US"
    assert client.put("/categories/north/settings", json={"holiday_country": "GB"}).status_code == 200
    north = client.get("/categories").json[0]
    assert (north["category"], north["holiday_country"], north["holiday_country_overridden"]) == ("north", "GB", True)


def test_a_refresh_makes_the_next_categories_fresh(client, forecast):
    """POST /forecasts/refresh: /categories shows each category's new pending run."""
    assert [c["last_run_id"] for c in client.get("/categories").json] == [1, 2]
    run = client.post("/forecasts/refresh", json={"category": "south"}).json["runs"][0]["run_id"]
    south = client.get("/categories").json[1]
    assert (south["last_run_id"], south["forecast_status"]) == (run, "pending")


def test_filling_category_stats_renews_the_generation(client, engine, redis, forecast):
    """The first /categories over observations without stats fills them, then renews the generation."""
    with engine.begin() as conn:
        conn.execute(delete(CategoryStats))
    token = redis.get(generation_key())
    assert [c["category"] for c in client.get("/categories").json] == ["north", "south"]
    assert redis.get(generation_key()) not in (None, token)


def test_with_redis_down_every_read_goes_to_the_database(client, engine, redis, forecast, monkeypatch):
    """Redis unreachable: no caching, so a commit whose renewal could not be made is still seen at once."""
    assert values(client.get(NORTH)) == {10.0}

    def down(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(redis, "get", down)
    monkeypatch.setattr(redis, "set", down)
    shift_forecasts(engine)
    assert values(client.get(NORTH)) == {1010.0}
    shift_forecasts(engine)
    assert values(client.get(NORTH)) == {2010.0}


def test_after_flushall_reads_stay_correct(client, redis, forecast):
    """The token flushed: the next read goes to the database, and no entry outlives a later flush either."""
    assert client.get("/categories").json[0]["holiday_country"] == "US"
    redis.flushall()
    assert client.get("/categories").json[0]["holiday_country"] == "US"  # read with no token: not kept
    assert client.put("/categories/north/settings", json={"holiday_country": "GB"}).status_code == 200
    redis.flushall()
    assert client.get("/categories").json[0]["holiday_country"] == "GB"
    assert client.get("/categories").json[0]["holiday_country"] == "GB"


def test_different_args_are_different_entries(client, app, forecast):
    """Each query has its own entry; the order of the arguments does not matter."""
    north = client.get("/forecast-data?category=north&model_type=sarimax").json
    south = client.get("/forecast-data?category=south&model_type=sarimax").json
    assert {r["category"] for r in north} == {"north"} and {r["category"] for r in south} == {"south"}
    assert values(client.get("/forecast-data?model_type=sarimax&category=north")) == {20.0}
    assert len(app.extensions["castflow.cache"]) == 2
    assert client.get("/forecast-data?category=north&model_type=prophet").json[0]["forecast_value"] == 30.0
    assert len(app.extensions["castflow.cache"]) == 3


def test_errors_are_not_cached(client, engine, forecast):
    """A 404 for a run that does not exist yet is not kept: once the run exists its rows are served."""
    assert client.get("/forecast-data?run_id=3").status_code == 404
    with engine.begin() as conn:
        conn.execute(insert(ForecastRun).values(id=3, category="north", status=ForecastStatus.PENDING,
                                                horizon_days=30))
    answer = client.get("/forecast-data?run_id=3")
    assert (answer.status_code, answer.json) == (200, [])


def test_off_when_entries_is_zero(settings, engine, redis, client, forecast):
    """RESPONSE_CACHE_ENTRIES=0: every read goes to the database."""
    off = create_app(replace(settings, response_cache_entries=0), engine=engine, redis=redis).test_client()
    assert values(off.get(NORTH)) == {10.0}
    shift_forecasts(engine)
    assert values(off.get(NORTH)) == {1010.0}
    assert len(off.application.extensions["castflow.cache"]) == 0


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cache_of(redis, clock: Clock | None = None, **sizes: float) -> ResponseCache:
    """A cache over `redis` with the given sizes (defaults: 10 entries, 1 MB, 60 s)."""
    redis.set(generation_key(), "t1")
    limits = {"entries": 10, "max_bytes": 1024 * 1024, "max_age_s": 60.0, **sizes}
    return ResponseCache(redis, "", clock=clock or Clock(), **limits)


def test_least_recently_used_entries_go_first(redis):
    """Past RESPONSE_CACHE_ENTRIES, the entry read longest ago is dropped."""
    cache = cache_of(redis, entries=2)
    for name in ("a", "b"):
        cache.body(name, (), lambda name=name: name.encode())
    cache.body("a", (), lambda: b"recomputed")  # a hit: "a" is now the most recent
    cache.body("c", (), lambda: b"c")
    assert cache.body("a", (), lambda: b"recomputed") == b"a"
    assert cache.body("b", (), lambda: b"recomputed") == b"recomputed"


def test_memory_is_bounded_and_big_bodies_are_not_kept(redis, monkeypatch):
    """The compressed bodies stay within RESPONSE_CACHE_MB; a body over MAX_BODY_BYTES is never stored."""
    from services.api import cache as module

    monkeypatch.setattr(module, "MAX_BODY_BYTES", 1000)
    cache = cache_of(redis, max_bytes=400)
    cache.body("big", (), lambda: b"x" * 1001)
    assert len(cache) == 0
    noise = [bytes(range(256))[i:] + bytes(range(i)) for i in range(4)]  # barely compressible, ~260 bytes each
    for i, body in enumerate(noise):
        cache.body(str(i), (), lambda body=body: body)
    assert len(cache) == 1 and cache.body("3", (), lambda: b"recomputed") == noise[3]


def test_entries_expire_after_response_cache_seconds(redis):
    """An entry older than RESPONSE_CACHE_SECONDS is recomputed even under the same generation."""
    clock = Clock()
    cache = cache_of(redis, clock, max_age_s=60.0)
    cache.body("a", (), lambda: b"old")
    clock.now = 59.0
    assert cache.body("a", (), lambda: b"new") == b"old"
    clock.now = 61.0
    assert cache.body("a", (), lambda: b"new") == b"new"


def set_batch(engine, **values) -> None:
    """Change batch 1 behind the API's back: a commit that renews nothing."""
    from common.models import UploadMetadata
    with engine.begin() as conn:
        conn.execute(update(UploadMetadata).where(UploadMetadata.batch_num == 1).values(**values))


def test_a_finished_batch_is_kept_until_the_generation_changes(app, client, engine, redis, forecast, statements):
    """A batch loaded and forecast is served from the cache; a renewed generation brings the stored row back."""
    from common.generation import bump_generation
    first = client.get("/batches/1")
    assert first.json["status"] == "completed" and first.json["forecast_status"] == "completed"
    statements.clear()
    assert client.get("/batches/1").get_data() == first.get_data()
    assert statements == []
    set_batch(engine, error_log="changed")
    assert client.get("/batches/1").json["error_log"] is None
    bump_generation(redis, app.extensions["castflow"].settings.queue_prefix)
    assert client.get("/batches/1").json["error_log"] == "changed"


@pytest.mark.parametrize("state", [{"status": "processing", "progress": 0.5}, {"forecast_status": "running"}])
def test_a_batch_still_loading_or_forecasting_is_never_kept(client, engine, forecast, state):
    """While a batch loads or forecasts its row changes with no renewal: every read goes to the database."""
    set_batch(engine, **state)
    assert client.get("/batches/1").json["error_log"] is None
    set_batch(engine, error_log="progress")
    assert client.get("/batches/1").json["error_log"] == "progress"


def test_an_unknown_batch_is_a_404_every_time(client, forecast):
    """A missing batch is not cached: it answers 404 until it exists."""
    assert client.get("/batches/99").status_code == 404
    assert client.get("/batches/99").status_code == 404
