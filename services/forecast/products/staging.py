"""A chunk's results as stored in product_chunks.result until its run's reconciliation: compressed JSON."""

from __future__ import annotations

import io
import json
import zlib

import pandas as pd

from services.forecast.products.backtest import ProductForecasts
from services.forecast.products.series import ProductSeries

_FRAMES = ("forecasts", "backtests", "summaries")


def pack(result: ProductForecasts | None, series: ProductSeries) -> bytes:
    """A chunk's forecasts, backtests and summaries, and its skipped products and totals, as bytes."""
    body = {name: (getattr(result, name).to_json(orient="split", date_format="iso", index=False)
                   if result is not None else None) for name in _FRAMES}
    body.update(skipped=series.skipped, volume=series.volume, selling_days=series.selling_days)
    return zlib.compress(json.dumps(body).encode("utf-8"), 6)


def unpack(blob: bytes) -> dict:
    """What `pack` stored: frames (None when the chunk forecast nothing) and the per-product dicts."""
    body = json.loads(zlib.decompress(blob).decode("utf-8"))
    for name in _FRAMES:
        if body[name] is not None:
            frame = pd.read_json(io.StringIO(body[name]), orient="split", dtype={"unique_id": str})
            if "ds" in frame:
                frame["ds"] = pd.to_datetime(frame["ds"]).dt.tz_localize(None)
            body[name] = frame
    return body


def merged(blobs: list[bytes]) -> dict:
    """Several chunks' results as one: frames concatenated, dicts merged."""
    parts = [unpack(blob) for blob in blobs]
    out: dict = {"skipped": {}, "volume": {}, "selling_days": {}}
    for name in _FRAMES:
        frames = [p[name] for p in parts if p[name] is not None and not p[name].empty]
        out[name] = pd.concat(frames, ignore_index=True) if frames else None
    for part in parts:
        for key in ("skipped", "volume", "selling_days"):
            out[key].update(part[key])
    return out
