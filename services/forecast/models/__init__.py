"""The forecast models behind one small interface.

Each model is a function `fit(history, horizon, holidays, level) -> DataFrame`:
- `history`: the category's daily totals, a float Series on a gap-free daily DatetimeIndex (freq "D"),
  oldest first; days without rows are 0;
- `horizon`: how many days after the last day to forecast (>= 1);
- `holidays`: DataFrame with columns `ds` (datetime64, day) and `holiday` (name) covering the history
  and the horizon; may be empty (no calendar);
- `level`: the interval's coverage, e.g. 0.95.
It returns a DataFrame indexed by the `horizon` days after the history, with float columns `value`,
`lower`, `upper`, where 0 <= lower <= value <= upper (sales are never negative). A model that cannot
forecast this history raises ModelError with a reason a user can read.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from common.status import ModelType


class ModelError(Exception):
    """A model cannot forecast this history; the message says why in words."""


FitFunction = Callable[[pd.Series, int, pd.DataFrame, float], pd.DataFrame]


def fitters() -> dict[ModelType, FitFunction]:
    """The single models, by type (the ensemble is built from their results)."""
    from services.forecast.models import holt_winters, prophet, sarimax

    return {ModelType.HOLT_WINTERS: holt_winters.fit, ModelType.SARIMAX: sarimax.fit, ModelType.PROPHET: prophet.fit}


def preload() -> None:
    """Import the model libraries once in the worker, so each forked job does not pay seconds for it."""
    import prophet  # noqa: F401
    import statsmodels.tsa.holtwinters  # noqa: F401
    import statsmodels.tsa.statespace.sarimax  # noqa: F401

    fitters()


def future_index(history: pd.Series, horizon: int) -> pd.DatetimeIndex:
    """The `horizon` days after the history's last day."""
    return pd.date_range(history.index[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")


def finish(index: pd.DatetimeIndex, value, lower, upper) -> pd.DataFrame:  # noqa: ANN001 - array-likes
    """The result frame: floats, clipped at 0, with lower <= value <= upper enforced."""
    frame = pd.DataFrame({"value": value, "lower": lower, "upper": upper}, index=index).astype("float64")
    frame = frame.clip(lower=0.0)
    frame["lower"] = frame[["lower", "value"]].min(axis=1)
    frame["upper"] = frame[["upper", "value"]].max(axis=1)
    return frame
