"""validate(): which rows of a chunk are kept, which are rejected and why (DESIGN.md "Input files")."""

from __future__ import annotations

import pandas as pd
import pytest

from services.etl.reader import FIELDS
from services.etl.validate import NOT_A_DATE, VALUE_ECHO, Validated, validate

GOOD_ROW = {"date": "2023-01-01", "product_id": "p1", "category": "c1", "sales": "1"}


def chunk(*records: tuple[str, str, str, str], first_line: int = 2) -> pd.DataFrame:
    """A chunk shaped like the reader's: `line` plus the four required columns as text."""
    frame = pd.DataFrame(list(records), columns=list(FIELDS), dtype="str")
    frame.insert(0, "line", pd.Series(range(first_line, first_line + len(records)), dtype="int64"))
    return frame


def check_one(**changes: str) -> Validated:
    """Validate one otherwise good row with some of its columns replaced."""
    row = {**GOOD_ROW, **changes}
    return validate(chunk(tuple(row[f] for f in FIELDS)))


def the_reject(checked: Validated) -> tuple[str, str]:
    """(column, reason) of the only row, which must have been rejected."""
    assert checked.good.empty
    assert len(checked.rejected) == 1
    row = checked.rejected.iloc[0]
    return row["column"], row["reason"]


def test_good_row_is_kept_with_its_value_in_cents():
    """A well-formed row is kept with its line, ISO date, keys and sales in cents."""
    checked = check_one(sales="12.50")
    assert checked.rejected.empty
    assert checked.blank == 0
    assert checked.good.to_dict("records") == [
        {"line": 2, "date": "2023-01-01", "product_id": "p1", "category": "c1", "cents": 1250}
    ]
    assert str(checked.good["cents"].dtype) == "Int64"


@pytest.mark.parametrize("text", ["01/12/2010", "2010-1-5", "20100105", "yesterday", "2023-01-01x", ""])
def test_unparseable_date_is_rejected(text):
    """A date that is not YYYY-MM-DD is rejected on the date column."""
    column, reason = the_reject(check_one(date=text))
    assert column == "date"
    assert reason == NOT_A_DATE


@pytest.mark.parametrize("text", ["2023-02-30", "2023-02-29", "2023-13-01", "2023-00-10", "2023-04-31"])
def test_impossible_date_is_rejected(text):
    """A well-shaped date that does not exist in the calendar (2023-02-30) is rejected."""
    assert the_reject(check_one(date=text)) == ("date", "impossible date")


def test_impossible_date_with_time_part_is_rejected():
    """An impossible date stays impossible when a time part follows it."""
    assert the_reject(check_one(date="2023-02-30 10:00:00")) == ("date", "impossible date")


@pytest.mark.parametrize("text", ["9999-12-31", "1899-12-31", "2100-01-01", "0000-01-01"])
def test_date_out_of_range_is_rejected(text):
    """A date outside 1900-01-01..2099-12-31 is rejected as implausible."""
    assert the_reject(check_one(date=text)) == ("date", "date outside 1900-01-01..2099-12-31")


@pytest.mark.parametrize("text", ["1900-01-01", "2099-12-31", "2024-02-29"])
def test_date_range_bounds_and_leap_day_are_kept(text):
    """The range bounds are inclusive and 29 February of a leap year is a date."""
    checked = check_one(date=text)
    assert checked.rejected.empty
    assert checked.good["date"].tolist() == [text]


@pytest.mark.parametrize("text", [
    "2010-12-01 08:26:00", "2010-12-01T08:26:00", "2010-12-01 8:26", "2010-12-01T08:26:00Z",
    "2010-12-01 08:26:00.123456+01:00",
])
def test_time_part_is_dropped(text):
    """A timestamp keeps only its date part (DESIGN: a time part is dropped)."""
    checked = check_one(date=text)
    assert checked.rejected.empty
    assert checked.good["date"].tolist() == ["2010-12-01"]


def test_surrounding_spaces_are_trimmed():
    """Spaces around every value are removed before checking and storing."""
    checked = validate(chunk((" 2023-01-01 ", "  p1 ", "\tc1 ", " 3 ")))
    assert checked.rejected.empty
    assert checked.good[["date", "product_id", "category"]].iloc[0].tolist() == ["2023-01-01", "p1", "c1"]
    assert checked.good["cents"].tolist() == [300]


@pytest.mark.parametrize("key", ["product_id", "category"])
@pytest.mark.parametrize("text", ["", "   ", "\t", "\u00a0"])
def test_empty_key_after_trimming_is_rejected(key, text):
    """A product_id or category that is empty once trimmed is rejected, never stored as text."""
    assert the_reject(check_one(**{key: text})) == (key, f"empty {key}")


@pytest.mark.parametrize("key", ["product_id", "category"])
def test_key_of_101_characters_is_rejected(key):
    """A key longer than 100 characters is rejected on its column."""
    assert the_reject(check_one(**{key: "k" * 101})) == (key, f"{key} longer than 100 characters")


@pytest.mark.parametrize("key", ["product_id", "category"])
def test_key_of_100_characters_is_kept(key):
    """A key of exactly 100 characters (non-ASCII ones count once) fits."""
    value = "é" * 50 + "k" * 50
    checked = check_one(**{key: value})
    assert checked.rejected.empty
    assert checked.good[key].tolist() == [value]


def test_key_length_is_measured_after_trimming():
    """Padding spaces do not make a 100-character key too long."""
    checked = check_one(product_id="  " + "k" * 100 + "  ")
    assert checked.rejected.empty
    assert checked.good["product_id"].tolist() == ["k" * 100]


def test_huge_category_is_rejected_with_its_value_echo_truncated():
    """A 20,000-character category is rejected and its value is echoed back cut to 200 characters."""
    huge = "abcdefghij" * 2000
    checked = check_one(category=huge)
    assert the_reject(checked) == ("category", "category longer than 100 characters")
    echoed = checked.rejected["value"].iloc[0]
    assert len(echoed) == VALUE_ECHO == 200
    assert echoed == huge[:200]


def test_rejected_value_is_the_offending_cell():
    """The echoed value is the text of the column that failed, not of another column."""
    checked = check_one(sales="-12.5")
    assert checked.rejected.to_dict("records") == [
        {"line": 2, "column": "sales", "value": "-12.5", "reason": "negative sales"}
    ]


@pytest.mark.parametrize("text", ["-1", "-0.01", "-1e3", "-0.001"])
def test_negative_sales_is_rejected(text):
    """Sales below zero are rejected."""
    assert the_reject(check_one(sales=text)) == ("sales", "negative sales")


@pytest.mark.parametrize("text", ["abc", "12,50", "1.2.3", "$5", "5 EUR", "--1", "0x10", "1_000", "e5", ".", "TRUE"])
def test_non_numeric_sales_is_rejected(text):
    """Sales that are not a plain decimal number are rejected."""
    assert the_reject(check_one(sales=text)) == ("sales", "sales is not a number")


@pytest.mark.parametrize("text", ["inf", "-Infinity", "INF", "+infinity", "Infinity", "1e400"])
def test_infinite_sales_is_rejected(text):
    """Infinite sales, spelt out or overflowing a float (1e400), are rejected as not finite."""
    assert the_reject(check_one(sales=text)) == ("sales", "sales is not a finite number")


@pytest.mark.parametrize("text", ["1e308", "10000000000", "9999999999.995", "12345678901234567890"])
def test_sales_beyond_decimal_12_2_is_rejected(text):
    """Sales above 9999999999.99 (including 1e308, whose cents overflow a float) are rejected."""
    assert the_reject(check_one(sales=text)) == ("sales", "sales larger than DECIMAL(12,2) allows (9999999999.99)")


def test_largest_decimal_12_2_value_is_kept():
    """9999999999.99, the largest DECIMAL(12,2) value, is kept exactly."""
    checked = check_one(sales="9999999999.99")
    assert checked.rejected.empty
    assert checked.good["cents"].tolist() == [999_999_999_999]


@pytest.mark.parametrize("text", ["", "NA", "na", "NaN", "nan", "NAN", "null", "NULL", "Null", " NA ", "  "])
def test_missing_tokens_are_kept_as_missing(text):
    """Blank, NA, NaN and null (any case, trimmed) keep the row with cents <NA> for imputation."""
    checked = check_one(sales=text)
    assert checked.rejected.empty
    assert len(checked.good) == 1
    assert checked.good["cents"].isna().tolist() == [True]


@pytest.mark.parametrize("text", ["-NA", "N/A", "none", "-nan", "nil"])
def test_other_placeholders_are_not_missing(text):
    """Only the four documented tokens mean missing; look-alikes are rejected."""
    assert the_reject(check_one(sales=text)) == ("sales", "sales is not a number")


@pytest.mark.parametrize(("text", "cents"), [
    ("7", 700), ("0", 0), ("-0", 0), ("1.234", 123), ("1.236", 124), ("0.001", 0), ("0.994", 99),
    ("1e2", 10000), ("1E-2", 1), (".5", 50), ("5.", 500), ("+3", 300), ("0012.30", 1230),
])
def test_sales_is_rounded_to_cents(text, cents):
    """Sales are converted to whole cents, rounding to the nearest cent."""
    checked = check_one(sales=text)
    assert checked.rejected.empty
    assert checked.good["cents"].tolist() == [cents]


@pytest.mark.parametrize(("row", "column", "reason"), [
    (("2023-02-30", "", "", "-1"), "date", "impossible date"),
    (("bad", "p", "c", "abc"), "date", NOT_A_DATE),
    (("2023-01-01", "", "x" * 101, "abc"), "product_id", "empty product_id"),
    (("2023-01-01", "x" * 101, "", "abc"), "product_id", "product_id longer than 100 characters"),
    (("2023-01-01", "p", "", "inf"), "category", "empty category"),
    (("2023-01-01", "p", "c", "-inf"), "sales", "sales is not a finite number"),
])
def test_only_the_first_failing_column_is_reported(row, column, reason):
    """A row with several problems gets one reason: that of its first failing column, in column order."""
    checked = validate(chunk(row))
    assert the_reject(checked) == (column, reason)


@pytest.mark.parametrize("row", [("", "", "", ""), ("  ", "\t", " ", "  ")])
def test_blank_line_is_counted_not_rejected(row):
    """A line with nothing in the required columns is counted in `blank`, neither kept nor rejected."""
    checked = validate(chunk(row))
    assert checked.blank == 1
    assert checked.good.empty
    assert checked.rejected.empty


def test_line_with_only_a_missing_token_is_not_blank():
    """'NA' alone in sales makes a data line (rejected for its date), not a blank one."""
    checked = validate(chunk(("", "", "", "NA")))
    assert checked.blank == 0
    assert the_reject(checked) == ("date", NOT_A_DATE)


def test_line_numbers_are_carried_through():
    """Kept and rejected rows keep the line numbers they came with; blank lines are skipped."""
    checked = validate(chunk(
        ("2023-01-01", "p1", "c1", "1"),
        ("", "", "", ""),
        ("2023-02-30", "p1", "c1", "1"),
        ("2023-01-02", "p1", "c1", "NA"),
        ("2023-01-03", "", "c1", "1"),
        ("2023-01-04", "p2", "c1", "2.5"),
        first_line=40_001,
    ))
    assert checked.good["line"].tolist() == [40_001, 40_004, 40_006]
    assert checked.good["cents"].tolist() == [100, pd.NA, 250]
    assert checked.rejected["line"].tolist() == [40_003, 40_005]
    assert checked.rejected["column"].tolist() == ["date", "product_id"]
    assert checked.blank == 1


def test_keys_keep_their_case():
    """product_id and category are stored as written: 15056BL and 15056bl stay two keys."""
    checked = validate(chunk(("2023-01-01", "15056BL", "Toys", "1"), ("2023-01-01", "15056bl", "toys", "2")))
    assert checked.good["product_id"].tolist() == ["15056BL", "15056bl"]
    assert checked.good["category"].tolist() == ["Toys", "toys"]


def test_empty_chunk_validates_to_nothing():
    """The reader's empty trailing chunk (malformed rows only) yields no rows and no rejects."""
    checked = validate(pd.DataFrame({"line": [], **{f: [] for f in FIELDS}}))
    assert checked.good.empty
    assert checked.rejected.empty
    assert checked.blank == 0


@pytest.mark.parametrize("text", ["١٢", "１２"])
def test_non_ascii_digits_in_sales_are_not_taken_as_missing(text):
    """Sales written with Arabic-Indic or full-width digits are not silently treated as a missing value."""
    checked = check_one(sales=text)
    assert checked.good["cents"].isna().sum() == 0


def test_non_ascii_digits_in_date_are_not_a_date():
    """A date written with full-width digits is reported as not a date."""
    assert the_reject(check_one(date="２０２３-01-01")) == ("date", NOT_A_DATE)


@pytest.mark.parametrize(("text", "cents"), [
    ("1.005", 101), ("0.125", 13), ("12345678.905", 1234567891), ("2.675", 268), ("0.004", 0), (".5", 50),
    ("+3.", 300), ("1.5e1", 1500), ("1E-2", 1),
])
def test_rounding_to_cents_is_exact_half_up(text, cents):
    """Decimal texts round to cents from their digits, half away from zero, as MySQL's DECIMAL does."""
    checked = validate(pd.DataFrame({"line": [2], "date": ["2023-01-01"], "product_id": ["p"], "category": ["c"],
                                     "sales": [text]}))
    assert checked.rejected.empty
    assert checked.good["cents"].tolist() == [cents]
