"""order_bounds: the bounds nest around the value, a missing bound is left to its neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.forecast.models import order_bounds

NAN = np.nan


def frame(**columns: list[float]) -> pd.DataFrame:
    """A small forecast frame from columns of floats."""
    return pd.DataFrame(columns, index=pd.date_range("2024-01-01", periods=len(columns["value"])), dtype="float64")


def test_crossed_bounds_and_quantiles_are_pulled_to_nest_around_the_value():
    """lower <= p10 <= value <= p90 <= upper after ordering, each moved no further than needed."""
    out = order_bounds(frame(value=[10.0, 10.0], lower=[12.0, 5.0], upper=[8.0, 15.0], p10=[11.0, 4.0],
                             p90=[9.0, 16.0]))
    assert out["p10"].tolist() == [10.0, 4.0] and out["p90"].tolist() == [10.0, 16.0]
    assert out["lower"].tolist() == [10.0, 4.0] and out["upper"].tolist() == [10.0, 16.0]


def test_a_missing_bound_takes_its_neighbour_as_a_row_wise_min_would():
    """A NaN side is skipped (pandas' skipna), and stays NaN only when both sides are missing."""
    out = order_bounds(frame(value=[10.0, NAN], lower=[NAN, NAN], upper=[12.0, 3.0]))
    assert out["lower"].tolist()[0] == 10.0 and np.isnan(out["lower"].tolist()[1])
    assert out["upper"].tolist() == [12.0, 3.0]
