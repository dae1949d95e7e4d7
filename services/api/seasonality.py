"""A category's seasonality, from its stored history: what GET /categories/<name>/seasonality answers.

The math is services/forecast/seasonality_profile.py; this module reads the totals and writes the answer.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from services.api.forecast_reads import category_history
from services.forecast.seasonality_profile import Profile, Seasonality, seasonality

#: Decimals of a factor and of a variance share in the answer.
FACTOR_DECIMALS = 4
SHARE_DECIMALS = 3


def category_seasonality(conn: Connection, category: str) -> dict[str, object] | None:
    """The category's weekday profile and month factors, JSON-ready; None when it has no stored data."""
    days = category_history(conn, category)
    if not days:
        return None
    totals = pd.Series([total for _, total in days], index=pd.DatetimeIndex([day for day, _ in days]))
    return seasonality_json(category, totals, seasonality(totals))


def seasonality_json(category: str, totals: pd.Series, found: Seasonality) -> dict[str, object]:
    """The answer: the grain, the stored date range, each profile (or null) and the reason it is null."""
    return {
        "category": category,
        "grain": found.grain.value if found.grain else None,
        "first_date": totals.index[0].date().isoformat(),
        "last_date": totals.index[-1].date().isoformat(),
        "weekday": _weekday(found.weekday),
        "weekday_reason": found.weekday_reason,
        "month": _month(found.month),
        "month_reason": found.month_reason,
    }


def _weekday(profile: Profile | None) -> dict[str, object] | None:
    factors = profile and [{"weekday": f.name, "factor": round(f.factor, FACTOR_DECIMALS), "weeks": f.count}
                           for f in profile.factors]
    return _profile(profile, factors)


def _month(profile: Profile | None) -> dict[str, object] | None:
    factors = profile and [{"month": f.key, "name": f.name, "factor": round(f.factor, FACTOR_DECIMALS),
                            "years": f.count} for f in profile.factors]
    return _profile(profile, factors)


def _profile(profile: Profile | None, factors: list[dict[str, object]] | None) -> dict[str, object] | None:
    if profile is None:
        return None
    share = profile.variance_explained
    return {"factors": factors, "variance_explained": None if share is None else round(share, SHARE_DECIMALS),
            "method": profile.method}
