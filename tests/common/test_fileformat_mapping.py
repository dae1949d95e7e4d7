"""match_columns with a mapping, and the aliases used without one."""

from __future__ import annotations

import pytest

from common.fileformat import FileProblem, match_columns
from common.mapping import parse_mapping

RETAIL = {"date": "InvoiceDate", "product_id": "StockCode", "category": "Country", "sales": "Quantity"}


def test_mapped_names_match_case_insensitively():
    """Header names are matched to the mapping regardless of case and surrounding spaces."""
    header = ["invoicedate", " STOCKCODE ", "country", "quantity"]
    assert match_columns(header, parse_mapping(RETAIL)) == {"date": 0, "product_id": 1, "category": 2, "sales": 3}


def test_mapping_naming_a_missing_column_is_a_400():
    """A mapped column absent from the header is a 400 that names it."""
    with pytest.raises(FileProblem) as caught:
        match_columns(["InvoiceDate", "StockCode", "Country", "Qty"], parse_mapping(RETAIL))
    assert caught.value.status == 400
    assert caught.value.message.startswith("the mapping names column(s) not in the file")
    assert "Quantity" in caught.value.message


def test_aliases_resolve_without_a_mapping():
    """Without a mapping, ds is the date and qty the sales."""
    assert match_columns(["ds", "product_id", "category", "qty"]) == {"date": 0, "product_id": 1, "category": 2,
                                                                       "sales": 3}


def test_two_aliases_for_one_field_are_ambiguous():
    """qty and value (no sales column) could each be sales: a 400 asking for a rename or a mapping."""
    with pytest.raises(FileProblem) as caught:
        match_columns(["Date", "product_id", "category", "qty", "value"])
    assert caught.value.status == 400
    assert "'qty' and 'value' could each be sales" in caught.value.message


def test_aliases_are_not_used_with_a_mapping():
    """An explicit mapping reads only the columns it names: qty is not taken for sales."""
    mapping = parse_mapping({"date": "when"})
    with pytest.raises(FileProblem) as caught:
        match_columns(["when", "product_id", "category", "qty"], mapping)
    assert caught.value.message.startswith("the mapping names column(s) not in the file: sales")


def test_constant_category_needs_no_category_column():
    """With {"const": ...} the file needs no category column."""
    mapping = parse_mapping({"category": {"const": "all"}})
    assert match_columns(["Date", "product_id", "sales"], mapping) == {"date": 0, "product_id": 1, "sales": 2}


def test_product_sales_resolves_both_factors():
    """"A * B" maps sales to A and sales_2 to B."""
    mapping = parse_mapping({"sales": "qty * price"})
    columns = match_columns(["price", "Date", "product_id", "category", "qty"], mapping)
    assert columns == {"date": 1, "product_id": 2, "category": 3, "sales": 4, "sales_2": 0}
