"""Wide mappings (category_columns), one sheet per category, decimal commas: parsing and canonical form."""

from __future__ import annotations

import pytest

from common.mapping import Mapping, MappingError, parse_mapping

WIDE = {"date": "datum", "product_id": {"const": "all"}, "category_columns": {"all_except": ["Year", "Hour"]}}


def test_all_except_makes_the_column_names_categories():
    """all_except with a constant product: values come from the columns, which name the categories."""
    mapping = parse_mapping(WIDE)
    assert mapping.is_wide and mapping.wide_field == "category"
    assert mapping.category_all_except == ("Year", "Hour") and mapping.category_columns is None
    assert mapping.product_const == "all" and mapping.sales == ()
    assert mapping.source_columns() == {"date": "datum"}


def test_listed_columns_with_a_constant_category_make_the_names_product_ids():
    """A constant category turns the listed column names into product ids."""
    mapping = parse_mapping({"date": "date", "category": {"const": "calls"}, "category_columns": ["Calls", "Emails"]})
    assert mapping.wide_field == "product_id" and mapping.category_columns == ("Calls", "Emails")
    assert mapping.product_id is None and mapping.category_const == "calls"


@pytest.mark.parametrize("raw", [
    WIDE,
    {"date": "date", "category": {"const": "calls"}, "category_columns": ["Calls", "Emails"], "decimal": ","},
    {"product_id": {"const": "all"}, "sheets_as_categories": True, "sales": "Volume"},
    {"product_id": {"const": "p"}, "category": "shop", "decimal": ","},
])
def test_new_keys_round_trip_through_the_canonical_json(raw):
    """to_json gives back a mapping that parses to the same one (and the same digest)."""
    mapping = parse_mapping(raw)
    again = parse_mapping(mapping.to_json())
    assert again == mapping and again.digest() == mapping.digest()


def test_a_mapping_without_the_new_keys_keeps_its_json_and_digest():
    """Mappings stored before wide files existed hash as before, so re-uploads stay duplicates."""
    full = parse_mapping({"date": "InvoiceDate", "product_id": "StockCode", "category": "Country",
                          "sales": "Quantity * UnitPrice", "drop_negative_sales": True, "date_format": "%d/%m/%Y"})
    assert full.digest() == "385ad80b9ae3dcd7c34362db3ba3fac7927b089b395be739704b84689f2b673b"
    assert parse_mapping({"category": {"const": "all"}}).digest() == \
        "62ff3ec4891ecdc9d27897f3ef50724f9cc9560a9dcca12502d40b10d41bdeb4"
    assert set(full.to_json()) == {"date", "product_id", "category", "sales", "drop_negative_sales", "date_format"}


def test_decimal_comma_alone_is_not_the_default_mapping():
    """decimal "," is an option of its own: the mapping is not the default one and hashes differently."""
    mapping = parse_mapping({"decimal": ","})
    assert not mapping.is_default and mapping.digest() != Mapping().digest()
    assert parse_mapping({"decimal": "."}).is_default


@pytest.mark.parametrize(("raw", "words"), [
    ({**WIDE, "sales": "x"}, 'leave out "sales"'),
    ({"category_columns": ["A"]}, "needs either"),
    ({"product_id": {"const": "p"}, "category": {"const": "c"}, "category_columns": ["A"]}, "not both or neither"),
    ({"product_id": {"const": "p"}, "category": "shop", "category_columns": ["A"]}, 'leave out "category"'),
    ({"category": {"const": "c"}, "product_id": "sku", "category_columns": ["A"]}, 'leave out "product_id"'),
    ({**WIDE, "category_columns": []}, "must be a list of column names"),
    ({**WIDE, "category_columns": ["A", "a"]}, "names 'A', 'a' more than once"),
    ({**WIDE, "category_columns": ["A", ""]}, "must name a column"),
    ({**WIDE, "category_columns": ["A", 5]}, "must name a column"),
    ({**WIDE, "category_columns": {"all": []}}, '{"all_except": [column names]}'),
    ({**WIDE, "category_columns": "A"}, "must be a list of column names"),
    ({"decimal": ";"}, 'mapping "decimal" must be "." or ","'),
    ({"sheets_as_categories": "yes"}, 'mapping "sheets_as_categories" must be true or false'),
    ({**WIDE, "sheets_as_categories": True}, "cannot be combined"),
    ({"sheets_as_categories": True, "category": "shop"}, 'sheet names are the categories: leave out "category"'),
    ({"product_id": {"const": ""}}, '"product_id" must be a column name or {"const": "<product_id>"}'),
    ({"product_id": {"const": "x" * 101}}, "a constant product holds at most 100 characters"),
])
def test_bad_new_keys_are_refused_with_the_reason(raw, words):
    """Each misuse of the new keys is a MappingError (a 400) saying what to change."""
    with pytest.raises(MappingError) as caught:
        parse_mapping(raw)
    assert words in str(caught.value)
