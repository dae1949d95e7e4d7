"""A category's events in the forecast job: day expansion, the merged holidays frame, and the run passing it on."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from common.models import CategoryEvent, CategorySetting
from common.status import EventKind, ModelType
from services.forecast import jobs
from services.forecast.series import holiday_frame, load_events, with_events
from tests.conftest import upload
from tests.forecast.test_backtest import constant

HEADER = "Date,product_id,category,sales\n"
#: north from 2023-06-01 to 2023-07-31 (the US calendar has Independence Day in it).
SUMMER = HEADER + "".join(f"2023-{m:02d}-{d:02d},p,north,{d}\n" for m in (6, 7) for d in range(1, 31))


def add_events(engine, *events: tuple[str, str, str, str], category: str = "north") -> None:
    with Session(engine) as session, session.begin():
        session.add_all(CategoryEvent(category=category, name=name, start_date=dt.date.fromisoformat(start),
                                      end_date=dt.date.fromisoformat(end), kind=kind)
                        for name, start, end, kind in events)


def days_of(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    rows = frame[["ds", "holiday", "kind"]].itertuples(index=False)
    return [(d.strftime("%Y-%m-%d"), name, kind) for d, name, kind in rows]


@pytest.fixture
def loaded(client, drain):
    """A completed batch of north whose forecast run is queued; US holidays by default."""
    batch = upload(client, SUMMER).json["batch_num"]
    drain()
    return batch


def test_load_events_has_one_row_per_day(engine, loaded):
    """A three-day event gives three rows, a one-day closure one; ds is a datetime64[ns] day."""
    add_events(engine, ("Stocktaking", "2023-06-20", "2023-06-20", "closure"),
               ("Summer sale", "2023-06-01", "2023-06-03", "event"))
    add_events(engine, ("Other", "2023-06-02", "2023-06-02", "event"), category="south")
    with engine.connect() as conn:
        frame = load_events(conn, "north")
    assert list(frame.columns) == ["ds", "holiday", "kind"] and frame["ds"].dtype == "datetime64[ns]"
    assert days_of(frame) == [("2023-06-01", "Summer sale", "event"), ("2023-06-02", "Summer sale", "event"),
                              ("2023-06-03", "Summer sale", "event"), ("2023-06-20", "Stocktaking", "closure")]


def test_load_events_of_a_category_without_events_is_empty(engine, loaded):
    """No events: an empty frame that still has the three columns."""
    with engine.connect() as conn:
        frame = load_events(conn, "north")
    assert frame.empty and list(frame.columns) == ["ds", "holiday", "kind"]


def test_holiday_frame_marks_public_holidays():
    """Public holidays carry kind "holiday"; an empty calendar still has the kind column."""
    frame = holiday_frame("US", pd.Timestamp("2023-07-01"), pd.Timestamp("2023-07-31"))
    assert days_of(frame) == [("2023-07-04", "Independence Day", "holiday")]
    assert list(holiday_frame(None, pd.Timestamp("2023-07-01"), pd.Timestamp("2023-07-31")).columns) == [
        "ds", "holiday", "kind"]


def test_an_event_replaces_the_public_holiday_of_its_day(engine, loaded):
    """On a day with both, the event's row is kept; other holidays and events stay, ordered by day."""
    add_events(engine, ("Fireworks sale", "2023-07-03", "2023-07-04", "event"))
    holidays = holiday_frame("US", pd.Timestamp("2023-06-01"), pd.Timestamp("2023-09-05"))
    with engine.connect() as conn:
        merged = with_events(holidays, load_events(conn, "north"))
    assert days_of(merged) == [("2023-06-19", "Juneteenth National Independence Day", "holiday"),
                               ("2023-07-03", "Fireworks sale", "event"), ("2023-07-04", "Fireworks sale", "event"),
                               ("2023-09-04", "Labor Day", "holiday")]


def test_with_events_of_two_empty_frames_is_empty():
    """No holidays and no events: an empty frame with the three columns."""
    empty = holiday_frame(None, pd.Timestamp("2023-01-01"), pd.Timestamp("2023-01-02"))
    merged = with_events(empty, empty)
    assert merged.empty and list(merged.columns) == ["ds", "holiday", "kind"]


def recording_engine(monkeypatch) -> list[pd.DataFrame]:  # noqa: ANN001
    """Record the holidays frame the job hands the engine (the engine then uses it as calendar.py says)."""
    seen: list[pd.DataFrame] = []
    real = jobs.forecast_category

    def recording(history, horizon, holidays, level, models):  # noqa: ANN001, ANN202
        seen.append(holidays)
        return real(history, horizon, holidays, level, models)

    monkeypatch.setattr(jobs, "forecast_category", recording)
    return seen


def test_the_run_passes_events_to_the_models(engine, settings, loaded, monkeypatch):
    """process_run hands the engine one frame holding the country's holidays and the category's events."""
    add_events(engine, ("Shut for works", "2023-07-10", "2023-07-11", "closure"),
               ("Launch", "2023-08-15", "2023-08-15", "event"))
    seen = recording_engine(monkeypatch)
    status = jobs.process_run(1, settings=settings, engine=engine, models={ModelType.HOLT_WINTERS: constant(5)})
    assert status == "completed"
    frame = seen[-1]
    assert list(frame.columns) == ["ds", "holiday", "kind"]
    rows = days_of(frame)
    assert ("2023-07-04", "Independence Day", "holiday") in rows
    assert [r for r in rows if r[2] != "holiday"] == [("2023-07-10", "Shut for works", "closure"),
                                                      ("2023-07-11", "Shut for works", "closure"),
                                                      ("2023-08-15", "Launch", "event")]


def test_events_reach_the_models_without_a_holiday_calendar(engine, settings, loaded, monkeypatch):
    """A category with no calendar still gets its events."""
    with Session(engine) as session, session.begin():
        session.add(CategorySetting(category="north", holiday_country=None))
    add_events(engine, ("Sale", "2023-06-05", "2023-06-05", EventKind.EVENT.value))
    seen = recording_engine(monkeypatch)
    jobs.process_run(1, settings=settings, engine=engine, models={ModelType.HOLT_WINTERS: constant(5)})
    assert days_of(seen[-1]) == [("2023-06-05", "Sale", "event")]


@pytest.mark.parametrize("model", [ModelType.HOLT_WINTERS, ModelType.SARIMAX, ModelType.PROPHET])
def test_the_models_accept_the_kind_column(model):
    """Each shipped model forecasts with a holidays frame that carries kind (holiday, event and closure rows)."""
    from services.forecast.models import fitters
    index = pd.date_range("2023-01-01", periods=70, freq="D")
    history = pd.Series(100 + 20 * np.sin(np.arange(70) * 2 * np.pi / 7), index=index)
    events = with_events(holiday_frame("US", index[0], index[-1] + pd.Timedelta(days=14)),
                         pd.DataFrame({"ds": pd.to_datetime(["2023-02-01", "2023-03-15"]).astype("datetime64[ns]"),
                                       "holiday": ["Sale", "Closed"], "kind": ["event", "closure"]}))
    result = fitters()[model](history, 14, events, 0.95)
    assert len(result) == 14 and result["value"].notna().all()
