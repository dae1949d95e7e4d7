"""A category's own events: GET and PUT /categories/<name>/events, their checks and the refresh they queue."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.generation import generation_key
from common.models import CategoryEvent, ForecastRun
from common.queue import FORECAST_QUEUE, queue
from services.api import events
from tests.conftest import upload

#: north holds 2023-03-01..2023-03-10; the default horizon is 30 days.
SALES = "Date,product_id,category,sales\n" + "".join(f"2023-03-{d:02d},p1,north,{d}\n" for d in range(1, 11))
SALE = {"name": "Spring sale", "start": "2023-03-04", "end": "2023-03-06", "kind": "event"}
SHUT = {"name": "Stocktaking", "start": "2023-03-20", "end": "2023-03-20", "kind": "closure"}


@pytest.fixture
def stored(client, drain, redis):
    """north's observations, loaded through the ETL (whose own forecast jobs are dropped)."""
    upload(client, SALES)
    drain()
    queue(redis, FORECAST_QUEUE).empty()


def put(client, body: object, category: str = "north"):
    return client.put(f"/categories/{category}/events", json=body)


def error_of(client, body: object) -> str:
    response = put(client, body)
    assert response.status_code == 400, response.json
    return response.json["error"]


def count_runs(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ForecastRun))


def test_events_round_trip_ordered_by_start(client, stored):
    """PUT stores the list and answers it ordered by start; GET answers the same list."""
    response = put(client, [SHUT, SALE])
    assert response.status_code == 200
    assert response.json["events"] == [SALE, SHUT]
    assert client.get("/categories/north/events").json == [SALE, SHUT]


def test_a_category_without_events_has_an_empty_list(client, stored):
    """GET of a category with data but no events is an empty array."""
    assert client.get("/categories/north/events").json == []


def test_put_replaces_the_whole_list(client, engine, stored):
    """A second PUT leaves only its own events; an empty array clears them."""
    put(client, [SALE, SHUT])
    assert put(client, [SHUT]).json["events"] == [SHUT]
    assert put(client, []).json["events"] == []
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(CategoryEvent)) == 0


def test_kind_defaults_to_event(client, stored):
    """An entry without kind is stored as an event."""
    body = {k: v for k, v in SALE.items() if k != "kind"}
    assert put(client, [body]).json["events"] == [SALE]


def test_a_put_that_changes_the_list_queues_a_refresh(client, engine, redis, stored):
    """A changed list creates a pending run for the category and queues it; the answer says so."""
    answer = put(client, [SALE]).json
    assert answer["refresh_queued"] is True and len(answer["runs"]) == 1
    with Session(engine) as session:
        run = session.get(ForecastRun, answer["runs"][0])
    assert (run.category, run.status, run.batch_num) == ("north", "pending", None)
    assert queue(redis, FORECAST_QUEUE).count == 1


def test_a_put_renews_the_read_generation(client, redis, stored):
    """After a changed list the read generation token is new (cached /categories shows the pending run)."""
    before = redis.get(generation_key())
    put(client, [SALE])
    assert redis.get(generation_key()) not in (None, before)


def test_an_unchanged_list_queues_no_refresh(client, engine, stored):
    """Saving the same list again creates no run and says why."""
    put(client, [SALE])
    runs = count_runs(engine)
    answer = put(client, [dict(SALE)]).json
    assert (answer["refresh_queued"], answer["runs"]) == (False, [])
    assert "did not change" in answer["message"] and count_runs(engine) == runs


def test_unknown_category_is_404(client, stored):
    """GET and PUT of a category without stored data answer 404 like the settings route."""
    assert client.get("/categories/nowhere/events").status_code == 404
    response = put(client, [SALE], category="nowhere")
    assert response.status_code == 404 and "nowhere" in response.json["error"]


def test_a_category_name_with_a_slash(client, drain, redis):
    """A category whose name holds / is addressed as it is."""
    upload(client, "Date,product_id,category,sales\n2023-03-01,p,a/b,1\n")
    drain()
    assert put(client, [SALE], category="a/b").status_code == 200
    assert client.get("/categories/a/b/events").json == [SALE]


def test_body_must_be_a_list(client, stored):
    """A body that is not a JSON array is a 400 saying what to send."""
    assert "JSON array" in error_of(client, {"events": [SALE]})


def test_empty_body_is_refused(client, stored):
    """A PUT without a body is a 400 (an empty array, not nothing, clears the list)."""
    response = client.put("/categories/north/events", data=b"", content_type="application/json")
    assert response.status_code == 400 and "empty array" in response.json["error"]


def test_an_entry_must_be_an_object(client, stored):
    """An entry that is not an object is named by its position."""
    assert error_of(client, [SALE, "sale"]).startswith("event 2 must be a JSON object")


def test_an_unknown_key_is_refused(client, stored):
    """An entry with a key the API does not know is a 400 naming the key."""
    assert "unknown key(s) colour" in error_of(client, [{**SALE, "colour": "red"}])


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_missing_or_empty_name_is_refused(client, stored, name):
    """An entry without a name, or with an empty one, is a 400 naming the entry."""
    body = {**SALE, "name": name} if name is not None else {k: v for k, v in SALE.items() if k != "name"}
    assert error_of(client, [body]) == "event 1: name is missing or empty"


def test_a_name_too_long_is_refused(client, stored):
    """A name over 100 characters is a 400."""
    assert "longer than 100 characters" in error_of(client, [{**SALE, "name": "x" * 101}])


@pytest.mark.parametrize("start", ["2023/03/04", "04-03-2023", "20230304", "2023-03-04T00:00", 20230304, None])
def test_a_start_that_is_not_an_iso_date_is_refused(client, stored, start):
    """start must be text as YYYY-MM-DD; the message names the event and the field."""
    body = {**SALE, "start": start} if start is not None else {k: v for k, v in SALE.items() if k != "start"}
    assert error_of(client, [body]).startswith("event 1 ('Spring sale'): start must be a date as YYYY-MM-DD")


def test_an_impossible_day_is_refused(client, stored):
    """A well-formed but impossible day (February 30) is a 400 saying it is not a real day."""
    message = error_of(client, [{**SALE, "end": "2023-02-30"}])
    assert message == "event 1 ('Spring sale'): end '2023-02-30' is not a real day"


def test_end_before_start_is_refused(client, stored):
    """An event that ends before it starts is a 400 naming both days."""
    message = error_of(client, [{**SALE, "start": "2023-03-06", "end": "2023-03-04"}])
    assert message == "event 1 ('Spring sale'): end 2023-03-04 is before start 2023-03-06"


@pytest.mark.parametrize("kind", ["holiday", "Closure", 1])
def test_an_unknown_kind_is_refused(client, stored, kind):
    """kind is event or closure, nothing else."""
    assert "kind must be one of event, closure" in error_of(client, [{**SALE, "kind": kind}])


def test_overlapping_events_are_refused_naming_both(client, engine, stored):
    """Two events sharing a day are a 400 naming both; nothing is stored."""
    inner = {"name": "Late opening", "start": "2023-03-06", "end": "2023-03-06"}
    message = error_of(client, [SALE, SHUT, inner])
    assert "'Spring sale'" in message and "'Late opening'" in message and "overlap" in message
    assert client.get("/categories/north/events").json == []


def test_overlap_found_past_a_shorter_event():
    """A long event overlapping a later one is found even with a short event between them."""
    import datetime as dt
    day = dt.date(2023, 3, 1)
    listed = [events.Event("long", day, day + dt.timedelta(days=9), events.EventKind.EVENT),
              events.Event("short", day + dt.timedelta(days=1), day + dt.timedelta(days=1), events.EventKind.EVENT),
              events.Event("late", day + dt.timedelta(days=5), day + dt.timedelta(days=6), events.EventKind.EVENT)]
    with pytest.raises(events.ApiError, match="'long'.*'short'"):
        events.check_overlaps(listed)
    with pytest.raises(events.ApiError, match="'long'.*'late'"):
        events.check_overlaps([listed[0], listed[2]])


def test_an_event_before_the_history_is_refused(client, stored):
    """An event ending before the category's first stored day cannot influence anything: 400 says so."""
    message = error_of(client, [{**SALE, "start": "2023-02-01", "end": "2023-02-28"}])
    assert "before the category's first stored day 2023-03-01" in message and "cannot influence" in message


def test_an_event_touching_the_first_day_is_accepted(client, stored):
    """An event that starts before the history but reaches into it is kept."""
    assert put(client, [{**SALE, "start": "2023-02-20", "end": "2023-03-01"}]).status_code == 200


def test_an_event_too_far_ahead_is_refused(client, stored):
    """An event starting more than a year after the last day plus the horizon is a 400 that says so."""
    # Last day 2023-03-10 + 30 days = 2023-04-09; a year later is 2024-04-08.
    assert put(client, [{**SALE, "start": "2024-04-08", "end": "2024-04-08"}]).status_code == 200
    message = error_of(client, [{**SALE, "start": "2024-04-09", "end": "2024-04-09"}])
    assert "more than a year after" in message and "cannot influence" in message


def test_more_than_500_events_are_refused(client, stored):
    """A list of 501 events is a 400 naming the limit."""
    body = [{"name": f"e{i}", "start": "2023-03-01", "end": "2023-03-01"} for i in range(501)]
    assert error_of(client, body) == "a category holds at most 500 events, got 501"


def test_500_events_fit(client, drain):
    """The largest allowed list (500 one-day events, long names) is accepted."""
    import datetime as dt
    upload(client, "Date,product_id,category,sales\n2022-01-01,p,long,1\n2023-06-01,p,long,1\n")
    drain()
    days = [(dt.date(2022, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(500)]
    body = [{"name": f"{i:03d}" + "x" * 97, "start": day, "end": day} for i, day in enumerate(days)]
    response = put(client, body, category="long")
    assert response.status_code == 200 and len(response.json["events"]) == 500
