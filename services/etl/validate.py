"""Validate a chunk of raw text rows: pure and vectorised, one reason per rejected row.

A row is rejected for its first problem, checked in column order: an unparseable or impossible
date, or one outside 1900-01-01..2099-12-31; an empty or over-long (> 100 characters) product_id or
category; sales that are not a number, not finite, negative, or beyond DECIMAL(12,2). A missing
sales value (blank, NA, NaN, null) is not a problem: the row is kept for imputation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.models import KEY_LENGTH, MAX_SALES_CENTS

#: Sales texts meaning "no value" (compared case-insensitively after trimming).
MISSING_TOKENS = ("", "na", "nan", "null")
#: Dates outside this range are rejected as implausible for daily sales.
MIN_DATE, MAX_DATE = "1900-01-01", "2099-12-31"
#: Longest value echoed back in an error report.
VALUE_ECHO = 200

# [0-9], not \d: \d also matches Arabic-Indic or full-width digits, which no parser here reads.
_TIME = r"[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
_DATE = rf"[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(?:{_TIME})?"
_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
#: A plain decimal (no exponent): rounded to cents exactly from its digits, half away from zero as MySQL does.
_PLAIN = r"\+?(?P<whole>[0-9]*)\.?(?P<fraction>[0-9]*)"
_INFINITE = r"[+-]?(?:inf|infinity)"


@dataclass
class Validated:
    """A chunk split into rows to stage and rows rejected."""

    good: pd.DataFrame  # line, date ('YYYY-MM-DD'), product_id, category, cents (Int64, <NA> when missing)
    rejected: pd.DataFrame  # line, column, value, reason
    blank: int  # lines with nothing in any required column (not counted as data)


def validate(rows: pd.DataFrame) -> Validated:
    """Check every row of `rows` (line, date, product_id, category, sales as text)."""
    text = {c: rows[c].astype("str").str.strip() for c in ("date", "product_id", "category", "sales")}
    blank = (text["date"] == "") & (text["product_id"] == "") & (text["category"] == "") & (text["sales"] == "")
    reason = pd.Series(pd.NA, index=rows.index, dtype="object")
    column = pd.Series(pd.NA, index=rows.index, dtype="object")

    def flag(mask: pd.Series, name: str, why: str) -> None:
        hit = mask & reason.isna() & ~blank
        reason[hit] = why
        column[hit] = name

    date_text = text["date"].str.slice(0, 10)
    flag(~text["date"].str.fullmatch(_DATE), "date", "not a date (expected YYYY-MM-DD)")
    flag((date_text < MIN_DATE) | (date_text > MAX_DATE), "date", f"date outside {MIN_DATE}..{MAX_DATE}")
    parsed = pd.to_datetime(date_text.where(reason.isna() & ~blank), format="%Y-%m-%d", errors="coerce")
    flag(parsed.isna(), "date", "impossible date")
    for key in ("product_id", "category"):
        flag(text[key] == "", key, f"empty {key}")
        flag(text[key].str.len() > KEY_LENGTH, key, f"{key} longer than {KEY_LENGTH} characters")
    cents, missing = _sales(text["sales"], flag)

    bad = reason.notna()
    good = pd.DataFrame({
        "line": rows["line"], "date": date_text, "product_id": text["product_id"],
        "category": text["category"], "cents": cents,
    })[~bad & ~blank].reset_index(drop=True)
    rejected = pd.DataFrame({
        "line": rows["line"][bad], "column": column[bad],
        "value": _echo(rows, column, bad), "reason": reason[bad],
    }).reset_index(drop=True)
    return Validated(good=good, rejected=rejected, blank=int(blank.sum()))


def _sales(sales: pd.Series, flag) -> tuple[pd.Series, pd.Series]:  # noqa: ANN001
    lowered = sales.str.lower()
    missing = lowered.isin(MISSING_TOKENS)
    numeric = sales.str.fullmatch(_NUMBER)
    flag(~missing & lowered.str.fullmatch(_INFINITE), "sales", "sales is not a finite number")
    flag(~missing & ~numeric, "sales", "sales is not a number")
    values = pd.to_numeric(sales.where(numeric & ~missing), errors="coerce").astype("float64")
    flag(~missing & numeric & ~np.isfinite(values.fillna(0.0)), "sales", "sales is not a finite number")
    flag(values < 0, "sales", "negative sales")
    scaled = _exact_cents(sales, values * 100)
    flag(scaled > MAX_SALES_CENTS, "sales", "sales larger than DECIMAL(12,2) allows (9999999999.99)")
    ok = numeric & ~missing & np.isfinite(scaled.fillna(0.0)) & (scaled.fillna(0.0) <= MAX_SALES_CENTS)
    cents = pd.Series(pd.NA, index=sales.index, dtype="Int64")
    cents[ok & (values >= 0)] = scaled[ok & (values >= 0)].astype("int64")
    return cents, missing


def _exact_cents(sales: pd.Series, raw: pd.Series) -> pd.Series:
    """Round value * 100 to whole cents; near a half cent, decide from the decimal digits, half away from zero.

    Binary floats put 1.005 * 100 just below 100.5; MySQL's DECIMAL, given the text, rounds it up.
    """
    rounded = raw.round()
    near_half = (raw - np.floor(raw) - 0.5).abs() < 1e-6
    if not near_half.any():
        return rounded
    parts = sales[near_half].str.extract(f"^{_PLAIN}$")
    plain = parts["whole"].notna() & (parts["whole"].str.len() <= 12)
    whole = pd.to_numeric(parts["whole"][plain].replace("", "0")).astype("int64")
    fraction = parts["fraction"][plain].str.ljust(3, "0")
    cents = whole * 100 + fraction.str.slice(0, 2).astype("int64") + (fraction.str.slice(2, 3) >= "5")
    rounded[cents.index] = cents.astype("float64")
    return rounded


def _echo(rows: pd.DataFrame, column: pd.Series, bad: pd.Series) -> pd.Series:
    values = [str(rows.at[i, c])[:VALUE_ECHO] for i, c in zip(rows.index[bad], column[bad], strict=True)]
    return pd.Series(values, index=rows.index[bad], dtype="object")
