"""The forecast worker's preload: model libraries imported and the compiled models run once before jobs fork."""

from __future__ import annotations

import sys

from services.forecast.models import auto, preload


def test_preload_imports_the_model_libraries_and_runs_each_statsforecast_model(monkeypatch):
    """After preload, Prophet, statsmodels and statsforecast are loaded and each statsforecast candidate ran."""
    ran = []
    for name in ("auto_ets", "auto_theta", "mstl"):
        real = getattr(auto, name)
        monkeypatch.setattr(auto, name, lambda *args, _real=real, _name=name: ran.append(_name) or _real(*args))
    preload()
    assert {"prophet", "statsmodels.tsa.statespace.sarimax", "statsforecast.models"} <= set(sys.modules)
    assert ran == ["auto_ets", "auto_theta", "mstl"]
