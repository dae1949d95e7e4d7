"""A category's monthly targets: GET and PUT /categories/<name>/targets, their checks, and the monthly view's gap."""

from __future__ import annotations

import pytest

from services.api.targets import MAX_TARGETS
from tests.api.test_period_views import add_run
from tests.builders import refused
from tests.conftest import upload

SALES = "Date,product_id,category,sales\n" + "".join(f"2023-03-{d:02d},p1,north,10\n" for d in range(1, 16))


@pytest.fixture
def stored(client, drain):
    """north's observations (1-15 March 2023), loaded through the ETL."""
    assert upload(client, SALES).status_code == 202
    drain()


def put(client, body: object, category: str = "north"):
    return client.put(f"/categories/{category}/targets", json=body)


def error_of(client, body: object) -> str:
    """The 400 error of PUTting `body` as north's targets."""
    return refused(put(client, body))


def test_targets_round_trip_in_month_order(client, stored):
    """PUT stores the targets and answers them by month; GET answers the same."""
    response = put(client, {"2026-04": 36000, "2026-03": 35000.5})
    assert response.status_code == 200
    assert list(response.json.items()) == [("2026-03", 35000.5), ("2026-04", 36000.0)]
    assert client.get("/categories/north/targets").json == {"2026-03": 35000.5, "2026-04": 36000.0}


def test_a_category_without_targets_has_an_empty_set(client, stored):
    """GET of a category with data but no targets is an empty object."""
    assert client.get("/categories/north/targets").json == {}


def test_put_replaces_the_whole_set_and_an_empty_object_clears_it(client, stored):
    """A second PUT leaves only its own months; {} clears them all."""
    put(client, {"2026-03": 1, "2026-04": 2})
    assert put(client, {"2026-05": 3}).json == {"2026-05": 3.0}
    assert put(client, {}).json == {}
    assert client.get("/categories/north/targets").json == {}


@pytest.mark.parametrize("key", ["2026-13", "2026-00", "2026-3", "March", "2026-03-01", "0000-01", " 2026-03"])
def test_a_key_that_is_not_a_month_is_400_naming_it(client, stored, key):
    """Each key must be a month as YYYY-MM; the error names the key."""
    error = error_of(client, {"2026-01": 5, key: 1})
    assert repr(key) in error and "YYYY-MM" in error


@pytest.mark.parametrize(("value", "words"), [(-1, "0 or more"), ("1000", "a number"), (True, "a number"),
                                              (None, "a number"), ([1], "a number"), (1e16, "at most")])
def test_a_bad_target_is_400_naming_its_key(client, stored, value, words):
    """A negative, non-numeric or too large target is refused, naming the key."""
    error = error_of(client, {"2026-03": value})
    assert "'2026-03'" in error and words in error


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_target_is_400(client, stored, literal):
    """NaN and infinities (which Python's JSON reader accepts) are refused, naming the key."""
    response = client.put("/categories/north/targets", data=f'{{"2026-03": {literal}}}',
                          content_type="application/json")
    assert response.status_code == 400
    assert "'2026-03'" in response.json["error"] and "finite" in response.json["error"]


def test_too_many_targets_is_400(client, stored):
    """More than MAX_TARGETS months are refused and nothing is stored."""
    body = {f"{2000 + n // 12}-{n % 12 + 1:02d}": 1 for n in range(MAX_TARGETS + 1)}
    assert str(MAX_TARGETS) in error_of(client, body)
    assert client.get("/categories/north/targets").json == {}


@pytest.mark.parametrize("body", [[], "2026-03", 5])
def test_a_body_that_is_not_an_object_is_400(client, stored, body):
    """The body must be a JSON object of month -> target."""
    assert "JSON object" in error_of(client, body)


def test_a_bad_entry_stores_nothing(client, stored):
    """The set is checked whole: one bad entry leaves the stored targets as they were."""
    put(client, {"2026-03": 1})
    error_of(client, {"2026-04": 2, "2026-05": -2})
    assert client.get("/categories/north/targets").json == {"2026-03": 1.0}


def test_targets_of_an_unknown_category_are_404(client, stored):
    """GET and PUT for a category without stored data are 404s naming it."""
    for response in (client.get("/categories/west/targets"), put(client, {"2026-03": 1}, "west")):
        assert response.status_code == 404
        assert "west" in response.json["error"]


def test_monthly_view_shows_target_and_gap(client, stored, engine):
    """grain=month carries each month's target, the gap (total minus target) and the gap as a share."""
    add_run(engine)
    put(client, {"2023-03": 400, "2023-04": 0})
    march, april = client.get("/forecast-data?category=north&grain=month").json
    assert (march["total"], march["target"], march["gap"], march["gap_share"]) == (470.0, 400.0, 70.0, 0.175)
    assert (april["target"], april["gap"], april["gap_share"]) == (0.0, 280.0, None)


def test_a_put_shows_in_the_cached_monthly_view(client, stored, engine):
    """After a PUT the monthly view (a cached read) shows the new target, not the old answer."""
    add_run(engine)
    assert client.get("/forecast-data?category=north&grain=month").json[0]["target"] is None
    put(client, {"2023-03": 500})
    assert client.get("/forecast-data?category=north&grain=month").json[0]["gap"] == -30.0
