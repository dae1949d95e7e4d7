"""Small synthetic product data for the product engine's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def product_frame(products: int = 6, days: int = 200, seed: int = 0) -> pd.DataFrame:
    """A long frame of `products` daily series: weekly rhythm, some intermittent (every other product)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=days, freq="D")
    parts = []
    for i in range(products):
        level = 2.0 + i + 3.0 * (dates.dayofweek >= 5)
        sells = rng.random(days) < (0.35 if i % 2 else 0.95)
        parts.append(pd.DataFrame({"unique_id": f"p{i}", "ds": dates,
                                   "y": (rng.poisson(level) * sells).astype("float64")}))
    return pd.concat(parts, ignore_index=True)


def csv_rows(frame: pd.DataFrame, category: str) -> str:
    """`frame` as upload rows (Date,product_id,category,sales), days with no sales left out."""
    sold = frame[frame["y"] > 0]
    return "".join(f"{d:%Y-%m-%d},{p},{category},{y:g}\n" for p, d, y in zip(sold["unique_id"], sold["ds"], sold["y"],
                                                                           strict=True))
