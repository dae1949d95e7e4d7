"""A category's grain as the API shows and sets it: the settings' checks and the /categories grain fields.

The engine decides each run's grain (services/forecast/plan.py) and records it on the run; the API shows
the latest run's (`grain`, `grain_anchor`; `grain_problem` when it could not tell one) and checks a grain
or horizon setting against the category's stored dates before it is saved.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.grain import Grain, GrainReport, detect
from common.models import InvoiceData
from services.api.errors import ApiError
from services.forecast.periods import spec
from services.forecast.plan import GrainSource, anchor_of, finer_problem

#: Value that means "leave as stored" for a settings key the body did not send.
KEEP = object()


def parse_grain(value: object) -> Grain | None:
    """The body's `grain`: null or a Grain value; 400 naming the field otherwise."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in {g.value for g in Grain}:
        raise ApiError(400, f"grain must be null or one of {', '.join(g.value for g in Grain)}, got "
                            f"{str(value)[:20]!r}")
    return Grain(value)


def parse_horizon(value: object, grain: Grain) -> int | None:
    """The body's `horizon` in periods of `grain`: null or 1..the grain's largest; 400 naming the field."""
    if value is None:
        return None
    largest = spec(grain).max_horizon
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"horizon must be null or a whole number of {grain.value}s, got {str(value)[:20]!r}")
    if not 1 <= value <= largest:
        raise ApiError(400, f"horizon must be 1..{largest} {grain.value}s, got {value}")
    return value


def data_grain(session: Session, category: str) -> GrainReport:
    """What the category's stored dates say about its grain."""
    dates = session.scalars(select(InvoiceData.date).where(InvoiceData.category == category).distinct())
    return detect(dates)


def check_grain(grain: Grain | None, report: GrainReport) -> None:
    """400 when a grain setting is finer than the data's own grain."""
    if grain is not None and report.grain is not None and grain.rank < report.grain.rank:
        raise ApiError(400, f"grain: {finer_problem(grain, report.grain)}")


def grain_in_force(grain: Grain | None, report: GrainReport) -> Grain:
    """The grain a run would use: the setting, else the detected one (days when the dates fit none)."""
    return grain or report.grain or Grain.DAY


def overview_grain(row: dict[str, object]) -> dict[str, object]:
    """A /categories row's grain fields from its runs and settings (the query's helper keys removed).

    The latest run's grain (or problem), else the latest completed run's; null before any run planned one.
    A grain setting the runs have not used yet is shown as the grain the next run will use.
    """
    setting = row.pop("grain_setting")
    last = (row.pop("last_grain"), row.pop("last_grain_anchor"), row.pop("last_grain_problem"))
    done = (row.pop("done_grain"), row.pop("done_grain_anchor"), row.pop("done_run_id"))
    source = GrainSource.SETTING if setting else GrainSource.DETECTED
    if last[2]:
        return {"grain": None, "grain_anchor": None, "grain_source": source, "grain_problem": last[2]}
    grain, anchor = (last[0], last[1]) if last[0] else done[:2]
    if grain is None and done[2] is not None:
        grain = Grain.DAY.value  # a completed run made before grains forecast days
    if setting and setting != grain:
        grain, anchor = setting, anchor_of(Grain(setting), GrainReport(None))  # the next run's grain
    return {"grain": grain, "grain_anchor": anchor, "grain_source": source, "grain_problem": None}
