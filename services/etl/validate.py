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

from common.fileformat import DECIMAL_COMMA, MISSING_TOKENS
from common.models import KEY_LENGTH, MAX_SALES_CENTS

#: Dates outside this range are rejected as implausible for daily sales.
MIN_DATE, MAX_DATE = "1900-01-01", "2099-12-31"
#: Why a date that is not ISO is rejected: castflow never guesses day-first or month-first.
NOT_A_DATE = "not a date (expected YYYY-MM-DD; for other layouts give the mapping's date_format)"
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
    filtered: int = 0  # rows set aside by drop_negative_sales (counted, neither stored nor rejected)


def validate(rows: pd.DataFrame, *, date_format: str | None = None, drop_negative: bool = False,
             decimal: str = ".", value_label: str | None = None) -> Validated:
    """Check every row of `rows` (line, date, product_id, category, sales [, sales_2] as text).

    With `date_format` dates are read with it instead of as ISO; with `drop_negative` rows whose value
    is negative are set aside as filtered (returns, cancellations) instead of rejected. When `sales_2`
    is present the value is sales * sales_2 (a mapping's "A * B"). With `decimal` "," values are read
    as `1.234,5`. With `value_label` (a wide file's category or product_id) a rejected value is reported
    under that field's value, the header of the column it came from, instead of "sales".
    """
    text = {c: rows[c].astype("str").str.strip() for c in rows.columns if c != "line"}
    blank = (text["date"] == "") & (text["product_id"] == "") & (text["category"] == "") & (text["sales"] == "")
    reason = pd.Series(pd.NA, index=rows.index, dtype="object")
    column = pd.Series(pd.NA, index=rows.index, dtype="object")

    def flag(mask: pd.Series, name: str, why: str) -> None:
        hit = mask & reason.isna() & ~blank
        reason[hit] = why
        column[hit] = name

    date_text = _dates(text["date"], date_format, flag, lambda: reason.isna() & ~blank)
    for key in ("product_id", "category"):
        flag(text[key] == "", key, f"empty {key}")
        flag(text[key].str.len() > KEY_LENGTH, key, f"{key} longer than {KEY_LENGTH} characters")
    if decimal == ",":
        text.update({key: _decimal_comma(text[key], flag) for key in ("sales", "sales_2") if key in text})
    values = _number(text["sales"], "sales", flag)
    exact = "sales_2" not in text
    if not exact:
        values = values * _number(text["sales_2"], "sales", flag)
    negative = values < 0
    filtered = negative & reason.isna() & ~blank if drop_negative else pd.Series(False, index=rows.index)
    flag(negative & ~filtered, "sales", "negative sales")
    cents = _cents(text["sales"] if exact else None, values, flag)

    bad = reason.notna()
    keep = ~bad & ~blank & ~filtered
    good = pd.DataFrame({
        "line": rows["line"], "date": date_text, "product_id": text["product_id"],
        "category": text["category"], "cents": cents,
    })[keep].reset_index(drop=True)
    echoed = _echo(rows, column, bad)
    if value_label is not None:
        column = column.where(column != "sales", text[value_label])
    rejected = pd.DataFrame({
        "line": rows["line"][bad], "column": column[bad], "value": echoed, "reason": reason[bad],
    }).reset_index(drop=True)
    return Validated(good=good, rejected=rejected, blank=int(blank.sum()), filtered=int(filtered.sum()))


def _dates(dates: pd.Series, date_format: str | None, flag, pending) -> pd.Series:  # noqa: ANN001
    """ISO day texts ('YYYY-MM-DD'); flags unparseable, impossible and out-of-range dates."""
    if date_format is None:
        flag(~dates.str.fullmatch(_DATE), "date", NOT_A_DATE)
        date_text = dates.str.slice(0, 10)
    else:
        parsed = pd.to_datetime(dates.where(pending()), format=date_format, errors="coerce")
        flag(parsed.isna(), "date", f"date does not match date_format {date_format!r}")
        date_text = parsed.dt.strftime("%Y-%m-%d").astype("str").where(parsed.notna(), "")
    flag((date_text < MIN_DATE) | (date_text > MAX_DATE), "date", f"date outside {MIN_DATE}..{MAX_DATE}")
    parsed = pd.to_datetime(date_text.where(pending()), format="%Y-%m-%d", errors="coerce")
    flag(parsed.isna(), "date", "impossible date")
    return date_text


def _decimal_comma(sales: pd.Series, flag) -> pd.Series:  # noqa: ANN001
    """'1.234,5' as '1234.5'; flags values that are not numbers written with a decimal comma (3.67)."""
    comma = sales.str.fullmatch(DECIMAL_COMMA)
    lower = sales.str.lower()
    flag(~comma & ~lower.isin(MISSING_TOKENS) & ~lower.str.fullmatch(_INFINITE), "sales",
         'sales is not a number written with decimal "," (the mapping\'s "decimal"; e.g. 1.234,5)')
    return sales.where(~comma, sales.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))


def _number(sales: pd.Series, name: str, flag) -> pd.Series:  # noqa: ANN001
    """The texts as floats (NaN when missing); flags non-numbers and non-finite values."""
    numeric = sales.str.fullmatch(_NUMBER)
    # Only the (few) texts that are not plain numbers need the slower checks.
    other = sales[~numeric].str.lower()
    missing = pd.Series(False, index=sales.index)
    missing[other.index] = other.isin(MISSING_TOKENS)
    infinite = pd.Series(False, index=sales.index)
    infinite[other.index] = other.str.fullmatch(_INFINITE)
    flag(infinite & ~missing, name, f"{name} is not a finite number")
    flag(~missing & ~numeric, name, f"{name} is not a number")
    values = pd.to_numeric(sales.where(numeric), errors="coerce").astype("float64")
    # A number too large for a float (1e400) parses as inf or, depending on the pandas version, as missing.
    overflow = numeric & (values.isna() | ~np.isfinite(values.fillna(0.0)))
    flag(overflow, name, f"{name} is not a finite number")
    return values.where(~overflow & values.notna())


def _cents(sales: pd.Series | None, values: pd.Series, flag) -> pd.Series:  # noqa: ANN001
    """Whole cents of the valid values (<NA> where missing); flags values beyond DECIMAL(12,2)."""
    scaled = _exact_cents(sales, values * 100) if sales is not None else (values * 100).round()
    flag(scaled > MAX_SALES_CENTS, "sales", "sales larger than DECIMAL(12,2) allows (9999999999.99)")
    ok = scaled.notna() & (scaled <= MAX_SALES_CENTS) & (values >= 0)
    cents = pd.Series(pd.NA, index=values.index, dtype="Int64")
    cents[ok] = scaled[ok].astype("int64")
    return cents


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
