"""The forecast models behind one small interface.

Each model is a function `fit(history, horizon, holidays, level) -> DataFrame`:
- `history`: the category's totals per period, a float Series on a gap-free index of period starts (days,
  weeks, months or quarters: services/forecast/periods.py tells the grain from it), oldest first; the engine
  fills gaps before a fit (days without rows are 0; a missing week or month is interpolated);
- `horizon`: how many periods after the last one to forecast (>= 1);
- `holidays`: DataFrame with columns `ds` (datetime64, a period start) and `holiday` (name) covering the
  history and the horizon; may be empty (no calendar);
- `level`: the interval's coverage, e.g. 0.95.
It returns a DataFrame indexed by the `horizon` periods after the history, with float columns `value`,
`lower`, `upper` (the interval at `level`) and, where the model knows its distribution, `p10` and `p90`
(its 10th and 90th percentiles), where 0 <= lower <= p10 <= value <= p90 <= upper (sales are never
negative). `value` is the point forecast and stands for the median (p50). A model without p10/p90 gets
them from its interval (services/forecast/quantiles.py). A model that cannot forecast this history
raises ModelError with a reason a user can read.

What a model can do is declared once, in TAGS, and the engine asks the tags instead of special-casing
names: whether it takes the calendar itself (`uses_calendar`; the others are given a history with the
calendar's effects taken out and get them put back on their forecast) and which grains it forecasts
(`grains`; the engine refuses the others with a ModelError). Each model takes its seasons from the
history's grain (periods.spec_of) and raises ModelError when the history is too short for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.grain import Grain
from common.status import ModelType
from services.forecast.periods import future_periods


class ModelError(Exception):
    """A model cannot forecast this history; the message says why in words."""


FitFunction = Callable[[pd.Series, int, pd.DataFrame, float], pd.DataFrame]

#: Models that take the holiday and event calendar as regressors themselves. SARIMAX can (one column per
#: holiday), but the engine hands it the adjusted history instead: with the dozen days a retail calendar keeps
#: (year-end window, Easter) each fit cost 1 s instead of 0.07 s, for no better forecast.
USES_CALENDAR = frozenset({ModelType.PROPHET})


@dataclass(frozen=True)
class ModelTags:
    """What a model can do: take the calendar itself, and the grains it forecasts."""

    uses_calendar: bool = False
    grains: frozenset[Grain] = frozenset(Grain)


#: Each single model's tags. Every model forecasts every grain: those that cannot carry a 52-week season
#: (Holt-Winters, SARIMAX, AutoETS, AutoTheta) take the Fourier yearly curve out of weekly data first.
TAGS = {model: ModelTags(uses_calendar=model in USES_CALENDAR) for model in (
    ModelType.HOLT_WINTERS, ModelType.SARIMAX, ModelType.PROPHET, ModelType.AUTO_ETS, ModelType.AUTO_THETA,
    ModelType.MSTL)}


def tags(model: ModelType) -> ModelTags:
    """A model's tags (defaults for a model not listed, such as a test's stand-in)."""
    return TAGS.get(model, ModelTags(uses_calendar=model in USES_CALENDAR))


def fitters() -> dict[ModelType, FitFunction]:
    """The single models, by type (the ensemble and the recommended forecast are built from their results)."""
    from services.forecast.models import auto, holt_winters, prophet, sarimax

    return {ModelType.HOLT_WINTERS: holt_winters.fit, ModelType.SARIMAX: sarimax.fit, ModelType.PROPHET: prophet.fit,
            ModelType.AUTO_ETS: auto.auto_ets, ModelType.AUTO_THETA: auto.auto_theta, ModelType.MSTL: auto.mstl}


def preload() -> None:
    """Import the model libraries once in the worker, and run each compiled model once, so no job pays for it."""
    import cmdstanpy  # noqa: F401 - Prophet's backend imports it at the first fit, in each forked job otherwise
    import prophet  # noqa: F401
    import statsmodels.tsa.holtwinters  # noqa: F401
    import statsmodels.tsa.statespace.sarimax  # noqa: F401

    from services.forecast.models import auto

    fitters()  # castflow's own model modules
    auto.warm_up()


def future_index(history: pd.Series, horizon: int) -> pd.DatetimeIndex:
    """The first days of the `horizon` periods after the history's last one."""
    return future_periods(history, horizon)


def finish(index: pd.DatetimeIndex, value, lower, upper, p10=None, p90=None) -> pd.DataFrame:  # noqa: ANN001
    """The result frame: floats, clipped at 0, with lower <= p10 <= value <= p90 <= upper enforced."""
    columns = {"value": value, "lower": lower, "upper": upper}
    if p10 is not None and p90 is not None:
        columns.update(p10=p10, p90=p90)
    frame = pd.DataFrame(columns, index=index).astype("float64").clip(lower=0.0)
    return order_bounds(frame)


def order_bounds(frame: pd.DataFrame) -> pd.DataFrame:
    """Make the bounds nest around the value: lower <= p10 <= value <= p90 <= upper (quantiles never cross).

    NumPy's fmin/fmax skip a NaN as pandas' row-wise min/max did, at a tenth of their cost: a category's
    run orders bounds about 75 times, and pandas' way spent 0.19 CPU s of each run on it.
    """
    inner_low = inner_high = frame["value"].to_numpy()
    if "p10" in frame:
        frame["p10"] = inner_low = np.fmin(frame["p10"].to_numpy(), inner_low)
        frame["p90"] = inner_high = np.fmax(frame["p90"].to_numpy(), inner_high)
    frame["lower"] = np.fmin(frame["lower"].to_numpy(), inner_low)
    frame["upper"] = np.fmax(frame["upper"].to_numpy(), inner_high)
    return frame
