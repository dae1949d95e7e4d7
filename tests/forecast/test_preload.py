"""The forecast worker's preload: model libraries imported and the compiled models run once before jobs fork."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_preload_imports_prophets_stan_backend_and_castflows_model_modules():
    """A fresh process has cmdstanpy (which Prophet imports at its first fit) and the model modules after preload."""
    wanted = ("cmdstanpy", "services.forecast.models.prophet", "services.forecast.models.sarimax",
              "services.forecast.models.holt_winters")
    code = ("import sys; from services.forecast.models import preload; preload(); "
            f"print(all(name in sys.modules for name in {wanted!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip().splitlines()[-1] == "True", done.stderr
