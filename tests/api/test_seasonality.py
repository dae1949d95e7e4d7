"""GET /categories/<name>/seasonality: the weekday profile and month factors of a category's stored history."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import SHARED_DATA, upload

#: Two products over two years from 2021-01-01: product a sells 10 on weekdays and 30 on Saturdays and
#: Sundays, product b 1 a day; in July and August both sell twice as much.
START = dt.date(2021, 1, 1)


def daily_rows(category: str, days: int) -> str:
    """`days` days of the two products above in `category`."""
    lines = []
    for n in range(days):
        day = START + dt.timedelta(days=n)
        season = 2 if day.month in (7, 8) else 1
        lines += [f"{day},a,{category},{season * (30 if day.weekday() >= 5 else 10)}", f"{day},b,{category},{season}"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def stored(client, drain):
    """shop: two years of daily sales; short: ten days; weekly: a year and a half of Mondays; a/b: two years."""
    weekly = "".join(f"{START + dt.timedelta(days=3 + 7 * n)},w,weekly,{100 + n % 5}\n" for n in range(78))
    body = "Date,product_id,category,sales\n" + daily_rows("shop", 730) + daily_rows("short", 10) + weekly \
        + daily_rows("a/b", 730)
    assert upload(client, body).status_code == 202
    drain()


def test_daily_category_has_seven_weekday_factors_and_twelve_months(client, stored):
    """The weekday factors (mean 1, weeks behind each) show the weekend; the months show July and August doubled."""
    answer = client.get("/categories/shop/seasonality").json
    assert (answer["grain"], answer["first_date"], answer["last_date"]) == ("day", "2021-01-01", "2022-12-31")
    weekday = answer["weekday"]
    assert [f["weekday"] for f in weekday["factors"]] == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                                          "Saturday", "Sunday"]
    factors = [f["factor"] for f in weekday["factors"]]
    assert sum(factors) / 7 == pytest.approx(1, abs=1e-3) and factors[5] / factors[0] == pytest.approx(31 / 11, 0.02)
    assert all(f["weeks"] >= 103 for f in weekday["factors"]) and weekday["variance_explained"] > 0.9
    months = answer["month"]["factors"]
    assert [(m["month"], m["name"]) for m in months][:2] == [(1, "January"), (2, "February")]
    assert months[6]["factor"] / months[0]["factor"] == pytest.approx(2, 0.05) and months[0]["years"] >= 1
    assert answer["weekday_reason"] is None and answer["month_reason"] is None and answer["month"]["method"]


def test_short_history_answers_null_profiles_with_reasons(client, stored):
    """Ten days: no weekday profile (three weeks needed) and no month factors (a year needed), said in words."""
    answer = client.get("/categories/short/seasonality").json
    assert answer["weekday"] is None and "three weeks" in answer["weekday_reason"]
    assert answer["month"] is None and "one full year" in answer["month_reason"]


def test_weekly_category_has_no_weekday_profile(client, stored):
    """Weekly rows: weekday null with the reason "weekly data"; month factors from the weeks' sums."""
    answer = client.get("/categories/weekly/seasonality").json
    assert answer["grain"] == "week" and answer["weekday"] is None and answer["weekday_reason"] == "weekly data"
    assert len(answer["month"]["factors"]) == 12


def test_a_category_name_with_a_slash(client, stored):
    """A name holding a slash is reachable and answers like any other."""
    assert client.get("/categories/a/b/seasonality").json["month"] == client.get("/categories/shop/seasonality").json[
        "month"]


def test_unknown_category_is_json_404(client, stored):
    """A category without stored data is a 404 naming it."""
    response = client.get("/categories/west/seasonality")
    assert response.status_code == 404 and "west" in response.json["error"]


def test_unknown_parameter_is_400(client, stored):
    """A query parameter the route does not know is a JSON 400."""
    response = client.get("/categories/shop/seasonality?grain=month")
    assert response.status_code == 400 and "grain" in response.json["error"]


def test_real_monthly_file_uploaded_as_it_is(client, drain):
    """The real monthly beverage sales: monthly grain, no weekday, December the highest month over ~25 years."""
    path = SHARED_DATA / "grains" / "monthly_us-beverage-sales.csv"
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path.name}")
    assert upload(client, path.read_bytes(), "beverages.csv").status_code == 202
    drain()
    answer = client.get("/categories/us-beverage-sales/seasonality").json
    assert answer["grain"] == "month" and answer["weekday_reason"] == "monthly data"
    months = answer["month"]["factors"]
    assert max(months, key=lambda m: m["factor"])["name"] == "December" and min(m["years"] for m in months) >= 24
