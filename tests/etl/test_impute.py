"""impute(): forward-fill of missing sales within each (product_id, category) series in date order."""

from __future__ import annotations

import pandas as pd

from services.etl.impute import impute

COLUMNS = ["date", "product_id", "category", "cents"]


def rows(*records: tuple[str, str, str, int | None]) -> pd.DataFrame:
    """Key rows shaped like BatchLoader.series_rows returns them (cents Int64, <NA> when missing)."""
    frame = pd.DataFrame([r[:3] for r in records], columns=COLUMNS[:3], dtype="str")
    frame["cents"] = pd.array([r[3] for r in records], dtype="Int64")
    return frame


NOTHING_STORED = rows()


def filled(result: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    """The imputed values as {(date, product_id, category): cents}."""
    return {(d, p, c): int(v) for d, p, c, v in result.itertuples(index=False, name=None)}


def test_missing_value_takes_the_previous_days_value():
    """A missing day takes the value of the same series on the day before."""
    file_rows = rows(("2023-01-01", "p1", "c1", 500), ("2023-01-02", "p1", "c1", None))
    assert filled(impute(file_rows, NOTHING_STORED)) == {("2023-01-02", "p1", "c1"): 500}


def test_several_consecutive_missing_days_take_the_last_known_value():
    """A run of missing days all take the last value before the run; a later value restarts the fill."""
    file_rows = rows(
        ("2023-01-01", "p1", "c1", 100), ("2023-01-02", "p1", "c1", None), ("2023-01-03", "p1", "c1", None),
        ("2023-01-04", "p1", "c1", None), ("2023-01-05", "p1", "c1", 900), ("2023-01-06", "p1", "c1", None),
    )
    assert filled(impute(file_rows, NOTHING_STORED)) == {
        ("2023-01-02", "p1", "c1"): 100, ("2023-01-03", "p1", "c1"): 100,
        ("2023-01-04", "p1", "c1"): 100, ("2023-01-06", "p1", "c1"): 900,
    }


def test_fill_follows_date_order_not_file_order():
    """Rows listed out of date order are filled from the previous date, not the previous row."""
    file_rows = rows(
        ("2023-01-03", "p1", "c1", 300), ("2023-01-02", "p1", "c1", None), ("2023-01-01", "p1", "c1", 100),
    )
    assert filled(impute(file_rows, NOTHING_STORED)) == {("2023-01-02", "p1", "c1"): 100}


def test_one_products_value_never_fills_another_products_gap():
    """The original bug: interleaved products must not fill each other's missing days."""
    file_rows = rows(
        ("2023-01-01", "p1", "c1", 700), ("2023-01-01", "p2", "c1", None),
        ("2023-01-02", "p1", "c1", None), ("2023-01-02", "p2", "c1", 40),
        ("2023-01-03", "p2", "c1", None), ("2023-01-03", "p1", "c1", 800),
    )
    assert filled(impute(file_rows, NOTHING_STORED)) == {
        ("2023-01-01", "p2", "c1"): 0, ("2023-01-02", "p1", "c1"): 700, ("2023-01-03", "p2", "c1"): 40,
    }


def test_same_product_in_another_category_is_another_series():
    """The series key is (product_id, category): the same product in another category does not fill."""
    file_rows = rows(("2023-01-01", "p1", "toys", 250), ("2023-01-02", "p1", "games", None))
    assert filled(impute(file_rows, NOTHING_STORED)) == {("2023-01-02", "p1", "games"): 0}


def test_keys_that_differ_only_in_case_are_different_series():
    """15056BL and 15056bl are two products, so one does not fill the other."""
    file_rows = rows(("2023-01-01", "15056BL", "c1", 250), ("2023-01-02", "15056bl", "c1", None))
    stored = rows(("2022-12-31", "15056BL", "C1", 999))
    assert filled(impute(file_rows, stored)) == {("2023-01-02", "15056bl", "c1"): 0}


def test_first_missing_day_is_seeded_from_the_stored_series():
    """With no earlier value in the file, the latest stored value of an earlier date is used."""
    file_rows = rows(("2023-01-05", "p1", "c1", None), ("2023-01-06", "p1", "c1", None))
    stored = rows(("2023-01-01", "p1", "c1", 100), ("2023-01-03", "p1", "c1", 300), ("2022-12-01", "p1", "c1", 5))
    assert filled(impute(file_rows, stored)) == {("2023-01-05", "p1", "c1"): 300, ("2023-01-06", "p1", "c1"): 300}


def test_stored_value_between_file_days_is_the_latest_known():
    """A stored day later than the file's last value but before the gap is the one that fills it."""
    file_rows = rows(("2023-01-01", "p1", "c1", 100), ("2023-01-05", "p1", "c1", None))
    stored = rows(("2023-01-03", "p1", "c1", 300))
    assert filled(impute(file_rows, stored)) == {("2023-01-05", "p1", "c1"): 300}


def test_file_value_later_than_stored_values_wins():
    """A value in the file dated after the stored ones is the latest known, so it fills the gap."""
    file_rows = rows(("2023-01-03", "p1", "c1", 333), ("2023-01-04", "p1", "c1", None))
    stored = rows(("2023-01-01", "p1", "c1", 100), ("2023-01-02", "p1", "c1", 200))
    assert filled(impute(file_rows, stored)) == {("2023-01-04", "p1", "c1"): 333}


def test_stored_value_of_a_missing_day_in_the_file_is_ignored():
    """The file replaces the days it lists: the stored value of the missing day itself is not reused."""
    file_rows = rows(("2023-01-01", "p1", "c1", 100), ("2023-01-02", "p1", "c1", None))
    stored = rows(("2023-01-02", "p1", "c1", 900))
    assert filled(impute(file_rows, stored)) == {("2023-01-02", "p1", "c1"): 100}


def test_stored_value_of_a_day_the_file_lists_is_ignored():
    """A stored value of a day the file also has does not count, even when the file's value is missing."""
    file_rows = rows(("2023-01-02", "p1", "c1", None), ("2023-01-03", "p1", "c1", None))
    stored = rows(("2023-01-01", "p1", "c1", 100), ("2023-01-02", "p1", "c1", 900))
    assert filled(impute(file_rows, stored)) == {("2023-01-02", "p1", "c1"): 100, ("2023-01-03", "p1", "c1"): 100}


def test_stored_value_of_a_later_day_does_not_fill_backwards():
    """Forward fill only: a stored value dated after the gap is not used."""
    file_rows = rows(("2023-01-01", "p1", "c1", None))
    stored = rows(("2023-01-05", "p1", "c1", 700))
    assert filled(impute(file_rows, stored)) == {("2023-01-01", "p1", "c1"): 0}


def test_zero_when_nothing_earlier_is_known():
    """A missing day with no earlier value in the file or the store is 0."""
    file_rows = rows(("2023-01-01", "p1", "c1", None), ("2023-01-02", "p1", "c1", None))
    assert filled(impute(file_rows, NOTHING_STORED)) == {("2023-01-01", "p1", "c1"): 0, ("2023-01-02", "p1", "c1"): 0}


def test_zero_is_a_known_value():
    """A stored or file value of 0 is a value like any other and is carried forward."""
    file_rows = rows(("2023-01-02", "p1", "c1", 0), ("2023-01-03", "p1", "c1", None))
    stored = rows(("2023-01-01", "p1", "c1", 500))
    assert filled(impute(file_rows, stored)) == {("2023-01-03", "p1", "c1"): 0}


def test_only_missing_keys_are_returned_with_integer_cents():
    """The result lists exactly the missing keys, as date, product_id, category, cents (int64)."""
    file_rows = rows(("2023-01-01", "p1", "c1", 100), ("2023-01-02", "p1", "c1", None), ("2023-01-03", "p1", "c1", 7))
    result = impute(file_rows, rows(("2022-12-31", "p1", "c1", 50)))
    assert result.columns.tolist() == COLUMNS
    assert str(result["cents"].dtype) == "int64"
    assert result.to_dict("records") == [{"date": "2023-01-02", "product_id": "p1", "category": "c1", "cents": 100}]


def test_nothing_missing_gives_an_empty_result():
    """When every key has a value there is nothing to impute."""
    file_rows = rows(("2023-01-01", "p1", "c1", 100))
    result = impute(file_rows, rows(("2022-12-31", "p1", "c1", 50)))
    assert result.empty
    assert result.columns.tolist() == COLUMNS
