"""Impute missing sales: forward-fill within each (product_id, category) series in date order.

A missing value takes the latest known value of the same series on an earlier day, known from
this file or already stored (stored values of days this file also lists do not count: the file
replaces them); with no earlier value it is 0.
"""

from __future__ import annotations

import pandas as pd

KEYS = ["product_id", "category"]


def impute(file_rows: pd.DataFrame, stored_rows: pd.DataFrame) -> pd.DataFrame:
    """Values for the missing keys of `file_rows`.

    `file_rows`: date, product_id, category, cents (<NA> where missing), one row per key.
    `stored_rows`: date, product_id, category, cents of the same series already stored.
    Returns date, product_id, category, cents for every missing key.
    """
    in_file = file_rows.set_index(["date", *KEYS]).index
    stored = stored_rows[~stored_rows.set_index(["date", *KEYS]).index.isin(in_file)]
    combined = pd.concat(
        [file_rows.assign(missing=file_rows["cents"].isna()), stored.assign(missing=False)],
        ignore_index=True,
    ).sort_values([*KEYS, "date"], kind="stable")
    filled = combined.groupby(KEYS, sort=False)["cents"].ffill().fillna(0).astype("int64")
    out = combined.assign(cents=filled)[combined["missing"]]
    return out[["date", *KEYS, "cents"]].reset_index(drop=True)
