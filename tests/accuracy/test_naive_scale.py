"""The naive scale a run stores: realised MASE's denominator, the seasonal naive MAE of its history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.forecast.metrics import naive_scale


def test_days_use_a_week_ago():
    """A daily history's scale is the mean absolute change from the same weekday a week earlier."""
    values = np.arange(30, dtype=float) ** 1.5
    history = pd.Series(values, index=pd.date_range("2023-01-02", periods=30, freq="D"))
    assert naive_scale(history) == pytest.approx(np.abs(values[7:] - values[:-7]).mean())


def test_short_months_use_the_month_before_and_a_too_short_history_has_none():
    """Under two years of months the lag is one month; a history no longer than its lag has no scale."""
    months = pd.Series([10.0, 14.0, 11.0, 20.0], index=pd.date_range("2023-01-01", periods=4, freq="MS"))
    assert naive_scale(months) == pytest.approx((4 + 3 + 9) / 3)
    assert naive_scale(pd.Series([5.0], index=pd.date_range("2023-01-02", periods=1, freq="D"))) is None
