"""Tally: counting a batch's rows, the rejected-share check, the error log and the kept errors."""

from __future__ import annotations

import pandas as pd
import pytest

from services.etl.reader import FIELDS, Chunk
from services.etl.tally import QUOTED, BatchRejected, Tally
from services.etl.validate import validate

GOOD = ("2023-01-01", "p1", "c1", "1.50")
MISSING = ("2023-01-02", "p1", "c1", "NA")
NEGATIVE = ("2023-01-03", "p1", "c1", "-1")
BAD_DATE = ("2023-02-30", "p1", "c1", "1")
BLANK = ("", "", "", "")


def add(tally: Tally, *records: tuple[str, str, str, str], first_line: int = 2,
        malformed: tuple[tuple[int, str], ...] = ()) -> None:
    """Validate a chunk of `records` (numbered from `first_line`) and count it in `tally`, as the ETL does."""
    rows = pd.DataFrame(list(records), columns=list(FIELDS), dtype="str")
    rows.insert(0, "line", pd.Series(range(first_line, first_line + len(records)), dtype="int64"))
    tally.add(Chunk(rows, list(malformed)), validate(rows))


def rejection(tally: Tally, max_share: float) -> BatchRejected:
    """The BatchRejected that tally.check(max_share) raises."""
    with pytest.raises(BatchRejected) as caught:
        tally.check(max_share)
    return caught.value


@pytest.fixture
def tally() -> Tally:
    """A tally keeping up to 100 rejected rows."""
    return Tally(keep=100)


def test_counts_rows_missing_and_rejected(tally):
    """Total counts data rows (kept, rejected, malformed) but not blank lines; missing and rejected are split out."""
    add(tally, GOOD, MISSING, BLANK, NEGATIVE, MISSING, BAD_DATE, malformed=((9, "expected 4 fields, found 3"),))
    assert (tally.total, tally.missing, tally.rejected) == (6, 2, 3)
    assert tally.columns() == {"num_total_rows": 6, "num_missing_rows": 2, "num_rejected_rows": 3,
                               "num_filtered_rows": 0}


def test_counts_accumulate_over_chunks(tally):
    """Each chunk adds to the running counts."""
    add(tally, GOOD, MISSING)
    add(tally, NEGATIVE, GOOD, first_line=4)
    assert tally.columns() == {"num_total_rows": 4, "num_missing_rows": 1, "num_rejected_rows": 1,
                               "num_filtered_rows": 0}


def test_cents_total_sums_the_staged_values(tally):
    """cents_total adds up every kept value; missing and rejected rows add nothing."""
    add(tally, GOOD, MISSING, NEGATIVE, ("2023-01-04", "p2", "c1", "2.25"))
    add(tally, ("2023-01-05", "p2", "c1", "9999999999.99"), first_line=10)
    assert tally.cents_total == 150 + 225 + 999_999_999_999


def test_share_exactly_at_the_limit_passes(tally):
    """1 rejected row in 10 passes a 0.10 limit: only a larger share fails."""
    add(tally, *[GOOD] * 9, NEGATIVE)
    tally.check(0.10)


def test_share_at_the_limit_passes_for_other_sizes(tally):
    """Exactly 30 % rejected passes MAX_REJECTED_SHARE=0.3 despite floating point."""
    add(tally, *[GOOD] * 7, NEGATIVE, BAD_DATE, NEGATIVE)
    tally.check(0.3)


def test_share_above_the_limit_fails(tally):
    """2 rejected rows in 10 exceed 0.10: the batch is refused with the counts and the limit."""
    add(tally, *[GOOD] * 8, NEGATIVE, BAD_DATE)
    refused = rejection(tally, 0.10)
    assert refused.message.startswith("2 of 10 rows (20.0%) were rejected, more than MAX_REJECTED_SHARE allows (10%)")
    assert "nothing was loaded" in refused.message
    assert refused.tally is tally


def test_malformed_rows_count_towards_the_share(tally):
    """Malformed rows are rejected rows for the share check."""
    add(tally, *[GOOD] * 8, malformed=((10, "expected 4 fields, found 3"), (11, "expected 4 fields, found 5")))
    assert rejection(tally, 0.10).message.startswith("2 of 10 rows")


def test_blank_lines_do_not_dilute_the_share(tally):
    """Blank lines are not data, so they do not lower the rejected share."""
    add(tally, GOOD, NEGATIVE, *[BLANK] * 50)
    assert rejection(tally, 0.10).message.startswith("1 of 2 rows (50.0%)")


def test_zero_share_refuses_any_rejected_row(tally):
    """With MAX_REJECTED_SHARE=0 one rejected row fails the batch; none passes."""
    add(tally, *[GOOD] * 99)
    tally.check(0.0)
    add(tally, NEGATIVE, first_line=200)
    assert rejection(tally, 0.0).message.startswith("1 of 100 rows")


def test_all_rows_rejected_fails_even_with_a_full_share(tally):
    """When every row is rejected nothing would load, so the batch fails whatever the limit."""
    add(tally, NEGATIVE, BAD_DATE)
    refused = rejection(tally, 1.0)
    assert refused.message.startswith("all 2 rows were rejected; nothing was loaded.")


def test_no_data_rows_fails(tally):
    """A file of blank lines has no data rows and fails."""
    add(tally, BLANK, BLANK)
    assert rejection(tally, 0.10).message == "the file has no data rows"


def test_nothing_added_fails_as_no_data(tally):
    """A tally that saw no chunk at all reports no data rows."""
    assert rejection(tally, 1.0).message == "the file has no data rows"


def test_rejection_message_quotes_the_first_rejects(tally):
    """The refusal quotes the first rejected rows with line, column, reason and value."""
    add(tally, NEGATIVE, BAD_DATE)
    message = rejection(tally, 0.10).message
    assert message.endswith("First: line 2 sales: negative sales ('-1'); line 3 date: impossible date ('2023-02-30').")


def test_summary_is_none_without_rejects(tally):
    """A batch with no rejected rows has no error log."""
    add(tally, GOOD, MISSING)
    assert tally.summary(7) is None


def test_summary_counts_points_to_the_list_and_quotes_three(tally):
    """The error log gives the count, where the full list is, and quotes the first three rejects."""
    add(tally, GOOD, NEGATIVE, ("2023-01-01", "", "c1", "1"), GOOD, BAD_DATE, NEGATIVE,
        malformed=((3, "expected 4 fields, found 2"),), first_line=4)
    summary = tally.summary(7)
    assert QUOTED == 3
    assert summary == ("5 rows were rejected (listed at /batches/7/errors). First: line 3: expected 4 fields, "
                       "found 2; line 5 sales: negative sales ('-1'); line 6 product_id: empty product_id.")


def test_errors_are_kept_in_line_order_with_malformed_rows_merged(tally):
    """Kept errors are sorted by line, malformed rows (column '(row)') among validation rejects."""
    add(tally, NEGATIVE, GOOD, BAD_DATE, malformed=((3, "expected 4 fields, found 5"),), first_line=2)
    assert tally.errors == [
        (2, "sales", "-1", "negative sales"),
        (3, "(row)", "", "expected 4 fields, found 5"),
        (4, "date", "2023-02-30", "impossible date"),
    ]


def test_error_cap_keeps_the_first_rows_but_counts_all():
    """Only `keep` rejected rows are kept with details, across chunks; every one is still counted."""
    tally = Tally(keep=3)
    add(tally, NEGATIVE, NEGATIVE)
    add(tally, BAD_DATE, BAD_DATE, first_line=10)
    add(tally, NEGATIVE, first_line=20)
    assert [line for line, *_ in tally.errors] == [2, 3, 10]
    assert tally.rejected == 5


def test_error_cap_of_zero_keeps_nothing():
    """MAX_STORED_ERRORS=0 keeps no details, and the error log then has no quotes."""
    tally = Tally(keep=0)
    add(tally, GOOD, NEGATIVE)
    assert tally.errors == []
    summary = tally.summary(1)
    assert summary.startswith("1 row was rejected (listed at /batches/1/errors).")
    assert "First" not in summary


def test_error_rows_for_the_batch_errors_table(tally):
    """error_rows turns kept errors into batch_errors rows with plain int lines."""
    add(tally, NEGATIVE, malformed=((3, "expected 4 fields, found 1"),))
    rows = tally.error_rows(5)
    assert rows == [
        {"batch_num": 5, "line": 2, "column_name": "sales", "value": "-1", "reason": "negative sales"},
        {"batch_num": 5, "line": 3, "column_name": "(row)", "value": "", "reason": "expected 4 fields, found 1"},
    ]
    assert all(type(row["line"]) is int for row in rows)
