"""A category's forecast plan: the grain it is forecast at, its anchor, its horizon in periods, or the problem.

The grain comes from the category's `grain` setting when there is one, else from its stored dates
(common.grain.detect). A setting coarser than the data sums the data into it (days into weeks or months); a
setting finer than the data is refused, and dates that fit no grain without a setting are a problem in
words, never a guess. The horizon is the category's `horizon` setting, else the grain's default (for days,
the run's own horizon: FORECAST_HORIZON_DAYS).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from common.grain import Grain, GrainReport, detect, week_start_of
from services.forecast.periods import spec


class GrainSource(StrEnum):
    """Where a category's grain comes from."""

    DETECTED = "detected"
    SETTING = "setting"


@dataclass(frozen=True)
class Plan:
    """How a category is forecast: grain, anchor, horizon in periods; or, with no grain, the problem."""

    grain: Grain | None
    anchor: str | None
    source: GrainSource
    horizon: int | None
    problem: str | None = None
    #: The grain the stored dates have on their own (None when they fit none).
    data_grain: Grain | None = None

    @property
    def week_start(self) -> int:
        """The weekday weeks start on (0 = Monday): the data's own weekday for weekly data."""
        return week_start_of(self.anchor)


def finer_problem(setting: Grain, data: Grain) -> str:
    """The words for a grain setting finer than the data's own grain."""
    return (f"the category's grain is set to {setting.value} but its data are {data.value}ly: a {data.value}'s "
            f"total cannot be split into {setting.value}s; set the grain to {data.value} or coarser, or clear it")


def make_plan(dates: Iterable[dt.date], grain: Grain | None, horizon: int | None, day_horizon: int) -> Plan:
    """The plan for a category with these stored dates and settings (`day_horizon`: the daily default)."""
    report = detect(dates)
    source = GrainSource.SETTING if grain is not None else GrainSource.DETECTED
    if grain is None:
        if report.grain is None:
            return Plan(None, None, source, None, report.problem)
        grain = report.grain
    elif report.grain is not None and grain.rank < report.grain.rank:
        return Plan(None, None, source, None, finer_problem(grain, report.grain), report.grain)
    default = day_horizon if grain is Grain.DAY else spec(grain).default_horizon
    return Plan(grain, anchor_of(grain, report), source, horizon or default, None, report.grain)


def anchor_of(grain: Grain, report: GrainReport) -> str | None:
    """The plan's anchor: the data's own when it is at this grain; weeks of summed days start on Monday."""
    if report.grain is grain:
        return report.anchor
    return {Grain.DAY: None, Grain.WEEK: "Monday"}.get(grain, "start")
