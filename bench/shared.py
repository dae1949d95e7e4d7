"""Where the real public datasets are read from: `../shared/data` beside the checkout, or the folder that
CASTFLOW_SHARED_DATA names (a clone kept elsewhere). Benchmarks and tests read them there; none is copied in."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CASTFLOW_SHARED_DATA") or ROOT.parent / "shared" / "data")
