"""Column mappings: parsing, validation messages, canonical digest and defaults."""

from __future__ import annotations

import pytest

from common.fileformat import FileProblem, match_columns
from common.mapping import Mapping, MappingError, parse_mapping, parse_mapping_text

FULL = {"date": "InvoiceDate", "product_id": "StockCode", "category": "Country",
        "sales": "Quantity * UnitPrice", "drop_negative_sales": True, "date_format": "%d/%m/%Y"}


def test_missing_keys_keep_the_original_columns():
    """An empty mapping reads Date, product_id, category and sales with no options."""
    mapping = parse_mapping({})
    assert mapping == Mapping()
    assert mapping.source_columns() == {"date": "Date", "product_id": "product_id", "category": "category",
                                        "sales": "sales"}
    assert mapping.drop_negative_sales is False and mapping.date_format is None


def test_full_mapping_is_parsed():
    """Every key of a full mapping is taken over."""
    mapping = parse_mapping(FULL)
    assert mapping == Mapping(date="InvoiceDate", product_id="StockCode", category="Country",
                              sales=("Quantity", "UnitPrice"), drop_negative_sales=True, date_format="%d/%m/%Y")


def test_constant_category_reads_no_category_column():
    """{"const": "all"} sets category_const and drops category from the source columns."""
    mapping = parse_mapping({"category": {"const": "all"}})
    assert mapping.category is None and mapping.category_const == "all"
    assert "category" not in mapping.source_columns()
    assert mapping.to_json()["category"] == {"const": "all"}


@pytest.mark.parametrize("sales", ["A * B", "A*B", "A *B", " A*  B "])
def test_product_sales_gives_two_columns(sales):
    """"A * B" (spaces optional) is the product of two columns: sales and sales_2."""
    mapping = parse_mapping({"sales": sales})
    assert mapping.sales == ("A", "B")
    assert mapping.source_columns()["sales"] == "A" and mapping.source_columns()["sales_2"] == "B"


@pytest.mark.parametrize(("raw", "words"), [
    ([], "must be a JSON object"),
    ("Date", "must be a JSON object"),
    (None, "must be a JSON object"),
    ({"colour": "x"}, "unknown mapping key(s): colour"),
    ({"date": 5}, "'date' must name a column"),
    ({"product_id": None}, "'product_id' must name a column"),
    ({"date": ""}, "'date' must name a column"),
    ({"date": "   "}, "'date' must name a column"),
    ({"product_id": "a*b"}, "'product_id' must be one column name"),
    ({"category": "a * b"}, "'category' must be one column name"),
    ({"sales": "A * B * C"}, '"sales" must be one column or "A * B"'),
    ({"sales": "A *"}, '"sales" must be one column or "A * B"'),
    ({"sales": "* B"}, '"sales" must be one column or "A * B"'),
    ({"sales": ""}, '"sales" must name a column'),
    ({"sales": 3}, '"sales" must name a column'),
    ({"category": {"const": "all", "extra": 1}}, '{"const": "<category>"}'),
    ({"category": {"const": ""}}, '{"const": "<category>"}'),
    ({"category": {"const": "  "}}, '{"const": "<category>"}'),
    ({"category": {"const": 7}}, '{"const": "<category>"}'),
    ({"category": {}}, '{"const": "<category>"}'),
    ({"category": {"const": "x" * 101}}, "at most 100 characters"),
    ({"drop_negative_sales": "yes"}, '"drop_negative_sales" must be true or false'),
    ({"drop_negative_sales": 1}, '"drop_negative_sales" must be true or false'),
    ({"date_format": "%m/%Y"}, "needs a day (%d)"),
    ({"date_format": "%d/%Y"}, "needs a day (%d)"),
    ({"date_format": "%d/%m"}, "needs a day (%d)"),
    ({"date_format": 12}, '"date_format" must be a strftime format'),
    ({"date_format": ""}, '"date_format" must be a strftime format'),
])
def test_bad_mappings_are_refused_with_a_readable_reason(raw, words):
    """Each invalid mapping raises MappingError whose message says what is wrong."""
    with pytest.raises(MappingError) as caught:
        parse_mapping(raw)
    assert words in str(caught.value)


def test_constant_category_of_100_characters_is_accepted():
    """The 100-character limit on a constant category is inclusive."""
    assert parse_mapping({"category": {"const": "x" * 100}}).category_const == "x" * 100


def test_two_digit_year_is_a_year():
    """%y counts as the year of a date_format."""
    assert parse_mapping({"date_format": "%d.%m.%y"}).date_format == "%d.%m.%y"


def test_mapping_text_that_is_not_json_is_a_mapping_error():
    """Invalid JSON text is a MappingError saying so, not a JSONDecodeError."""
    with pytest.raises(MappingError, match="not valid JSON"):
        parse_mapping_text('{"date": ')


def test_mapping_text_is_parsed():
    """Valid JSON text gives the same mapping as the decoded object."""
    assert parse_mapping_text('{"sales": "qty * price"}') == parse_mapping({"sales": "qty * price"})


def test_digest_differs_between_mappings():
    """Two different mappings have different digests."""
    assert parse_mapping({"date": "when"}).digest() != parse_mapping({"date": "day"}).digest()
    assert parse_mapping({}).digest() != parse_mapping({"drop_negative_sales": True}).digest()


def test_digest_is_stable():
    """The same mapping, spelt differently, always has the same digest."""
    first = parse_mapping({"sales": "qty*price", "date": " when "})
    second = parse_mapping({"date": "when", "sales": "qty * price"})
    assert first.digest() == second.digest() == parse_mapping(first.to_json()).digest()
    assert len(first.digest()) == 64


def test_empty_mapping_is_default():
    """{} is the default mapping."""
    assert parse_mapping({}).is_default


def test_explicit_mapping_equal_to_defaults_is_default():
    """Spelling out the original columns with no options is still the default mapping."""
    explicit = {"date": "Date", "product_id": "product_id", "category": "category", "sales": "sales",
                "drop_negative_sales": False, "date_format": None}
    assert parse_mapping(explicit).is_default
    assert not parse_mapping({"date": "when"}).is_default


def test_nothing_in_a_mapping_is_evaluated():
    """A Python expression is only a column name, which the header check then reports as missing."""
    payload = "__import__('os').system('x')"
    mapping = parse_mapping({"date": payload})
    assert mapping.date == payload
    with pytest.raises(FileProblem) as caught:
        match_columns(["Date", "product_id", "category", "sales"], mapping)
    assert caught.value.status == 400
    assert payload in caught.value.message
