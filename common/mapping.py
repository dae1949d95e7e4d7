"""Column mappings: which source columns of an uploaded file give castflow's date, product, category and sales.

A mapping is a JSON object, sent with an upload (form field `mapping`) or saved as a named profile:

    {"date": "InvoiceDate", "product_id": "StockCode", "category": "Country",
     "sales": "Quantity * UnitPrice", "drop_negative_sales": true, "date_format": null}

`date`, `product_id` and `category` name a source column; `product_id` and `category` may also be
`{"const": "all"}` for a file without one; `sales` names a column or the product of two (`"A * B"`).
Keys not given keep the original names (Date, product_id, category, sales). Nothing in a mapping is
ever evaluated: the only expression is a product of two column names, parsed by splitting on `*`.

Wide files (one column per category) and workbooks with one sheet per category:

    {"date": "datum", "product_id": {"const": "all"}, "category_columns": {"all_except": ["Year"]}}
    {"date": "date", "category": {"const": "calls"}, "category_columns": ["Calls", "Emails"]}
    {"date": "Date", "product_id": {"const": "all"}, "sheets_as_categories": true, "sales": "Volume"}

`category_columns` lists the value columns (or every column but the date column and those named in
`all_except`); each cell is one observation on its row's date. The column names become the
categories when `product_id` is a constant, the product ids when `category` is. `decimal` is "."
(default) or "," (`1.234,5`; only in `;`-, tab- or `|`-separated files).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass

#: The original columns, used for every key a mapping leaves out.
DEFAULT_COLUMNS = {"date": "Date", "product_id": "product_id", "category": "category", "sales": "sales"}
#: Longest column name or constant a mapping may hold.
MAX_NAME = 200
#: Keys added after the first mappings: left out of the canonical JSON and the digest while at their default,
#: so that a mapping saved or uploaded before them keeps its digest (a re-upload is still a duplicate).
NEWER_DEFAULTS = {"product_const": None, "category_columns": None, "category_all_except": None, "decimal": ".",
                  "sheets_as_categories": False}
_KEYS = {*DEFAULT_COLUMNS, "drop_negative_sales", "date_format", "category_columns", "decimal",
         "sheets_as_categories"}
#: Decimal separators a mapping may name.
DECIMALS = (".", ",")


class MappingError(ValueError):
    """A mapping that cannot be used; the message says why (answered as HTTP 400)."""


@dataclass(frozen=True)
class Mapping:
    """A validated mapping. `*_const` is set instead of the column for a constant product or category;
    in a wide mapping the field that takes the column names (`wide_field`) has neither."""

    date: str = "Date"
    product_id: str | None = "product_id"
    category: str | None = "category"
    category_const: str | None = None
    sales: tuple[str, ...] = ("sales",)  # one column, or two whose product is the value; () in a wide mapping
    drop_negative_sales: bool = False
    date_format: str | None = None
    product_const: str | None = None
    category_columns: tuple[str, ...] | None = None  # the listed value columns of a wide file
    category_all_except: tuple[str, ...] | None = None  # or: every column but the date and these
    decimal: str = "."
    sheets_as_categories: bool = False

    @property
    def is_default(self) -> bool:
        """True for the original columns with no options (an upload without a mapping)."""
        return self == Mapping()

    @property
    def is_wide(self) -> bool:
        """True when values come from one column per category (or product)."""
        return self.category_columns is not None or self.category_all_except is not None

    @property
    def wide_field(self) -> str | None:
        """The field a wide file's column names fill (category, or product_id when the category is constant);
        for one sheet per category, category."""
        if self.sheets_as_categories:
            return "category"
        if not self.is_wide:
            return None
        return "category" if self.product_const is not None else "product_id"

    def source_columns(self) -> dict[str, str]:
        """Field -> source column name, for every field read from the file by name (sales_2: the second
        factor); a wide file's category columns are listed apart (`category_columns`)."""
        named = {"date": self.date, "product_id": self.product_id, "category": self.category,
                 "sales": self.sales[0] if self.sales else None,
                 "sales_2": self.sales[1] if len(self.sales) == 2 else None}
        return {field: column for field, column in named.items() if column is not None}

    def to_json(self) -> dict[str, object]:
        """The mapping as the JSON object a client sends (canonical form; newer keys only when set)."""
        named = {
            "date": self.date, "product_id": _or_const(self.product_id, self.product_const),
            "category": _or_const(self.category, self.category_const),
            "sales": " * ".join(self.sales) or None, "drop_negative_sales": self.drop_negative_sales,
            "date_format": self.date_format,
        }
        canonical = {k: v for k, v in named.items() if v is not None or k == "date_format"}
        if self.is_wide:
            canonical["category_columns"] = list(self.category_columns) if self.category_columns is not None \
                else {"all_except": list(self.category_all_except)}
        if self.decimal != ".":
            canonical["decimal"] = self.decimal
        if self.sheets_as_categories:
            canonical["sheets_as_categories"] = True
        return canonical

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: the same file with another mapping is another batch."""
        fields = {k: v for k, v in asdict(self).items() if k not in NEWER_DEFAULTS or v != NEWER_DEFAULTS[k]}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def _or_const(column: str | None, const: str | None) -> object:
    return {"const": const} if const is not None else column


def parse_mapping(raw: object) -> Mapping:
    """Validate a mapping object (already decoded from JSON); MappingError says what is wrong."""
    if not isinstance(raw, dict):
        raise MappingError("mapping must be a JSON object")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise MappingError(f"unknown mapping key(s): {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    product, product_const = _column_or_const(raw, "product_id")
    category, category_const = _column_or_const(raw, "category")
    listed, all_except = _category_columns(raw.get("category_columns"))
    mapping = Mapping(
        date=_column(raw, "date"), product_id=product, product_const=product_const,
        category=category, category_const=category_const,
        sales=_sales(raw.get("sales", DEFAULT_COLUMNS["sales"])),
        drop_negative_sales=_flag(raw, "drop_negative_sales"),
        date_format=_date_format(raw.get("date_format")),
        category_columns=listed, category_all_except=all_except, decimal=_decimal(raw.get("decimal", ".")),
        sheets_as_categories=_flag(raw, "sheets_as_categories"),
    )
    if mapping.sheets_as_categories:
        return _sheets_mapping(raw, mapping)
    return _wide_mapping(raw, mapping) if mapping.is_wide else mapping


def parse_mapping_text(text: str) -> Mapping:
    """Parse a mapping sent as JSON text (the upload form field)."""
    try:
        return parse_mapping(json.loads(text))
    except json.JSONDecodeError as exc:
        raise MappingError(f"mapping is not valid JSON ({exc.msg} at character {exc.pos})") from None


def _column(raw: dict, key: str) -> str:
    return _name(raw.get(key, DEFAULT_COLUMNS[key]), repr(key))


def _name(value: object, what: str) -> str:
    """One column name: a non-empty string of at most MAX_NAME characters, without `*`."""
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"mapping {what} must name a column (a non-empty string)")
    if len(value) > MAX_NAME or "*" in value:
        raise MappingError(f"mapping {what} must be one column name of at most {MAX_NAME} characters")
    return value.strip()


def _column_or_const(raw: dict, key: str) -> tuple[str | None, str | None]:
    """(column, None) or (None, constant) for product_id / category."""
    value = raw.get(key, DEFAULT_COLUMNS[key])
    if isinstance(value, dict):
        if set(value) != {"const"} or not isinstance(value["const"], str) or not value["const"].strip():
            raise MappingError(f'mapping "{key}" must be a column name or {{"const": "<{key}>"}}')
        const = value["const"].strip()
        if len(const) > 100:
            raise MappingError(f"a constant {key.replace('_id', '')} holds at most 100 characters")
        return None, const
    return _column({key: value}, key), None


def _names(value: object, what: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A list of distinct column names."""
    if not isinstance(value, list) or (not value and not allow_empty) or len(value) > 10_000:
        raise MappingError(f"mapping {what} must be a list of column names")
    names = tuple(_name(v, what) for v in value)
    repeated = sorted({n for n in names if sum(m.lower() == n.lower() for m in names) > 1})
    if repeated:
        raise MappingError(f"mapping {what} names {', '.join(map(repr, repeated))} more than once")
    return names


def _category_columns(value: object) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """(listed, None), (None, all_except) or (None, None) from "category_columns"."""
    if value is None:
        return None, None
    if isinstance(value, dict):
        if set(value) != {"all_except"}:
            raise MappingError('mapping "category_columns" must be a list of column names or '
                               '{"all_except": [column names]}')
        return None, _names(value["all_except"], '"category_columns" all_except', allow_empty=True)
    return _names(value, '"category_columns"'), None


def _wide_mapping(raw: dict, mapping: Mapping) -> Mapping:
    """Check a wide mapping's keys: no sales, and exactly one of product_id / category a constant."""
    if "sales" in raw:
        raise MappingError('a wide mapping ("category_columns") takes each value from its category columns: '
                           'leave out "sales"')
    if (mapping.product_const is None) == (mapping.category_const is None):
        raise MappingError('a wide mapping ("category_columns") needs either "product_id": {"const": ...} (the '
                           'column names become categories) or "category": {"const": ...} (they become product '
                           "ids), not both or neither")
    named = "category" if mapping.product_const is not None else "product_id"
    if named in raw:
        raise MappingError(f'in this wide mapping the column names are the {named.replace("_", " ")}s: '
                           f'leave out "{named}"')
    return dataclasses.replace(mapping, sales=(), **{named: None})


def _sheets_mapping(raw: dict, mapping: Mapping) -> Mapping:
    """Check a one-sheet-per-category mapping: the sheet names are the categories."""
    if mapping.is_wide:
        raise MappingError('"sheets_as_categories" and "category_columns" cannot be combined')
    if "category" in raw:
        raise MappingError('with "sheets_as_categories" the sheet names are the categories: leave out "category"')
    return dataclasses.replace(mapping, category=None)


def _sales(value: object) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        raise MappingError('mapping "sales" must name a column or the product of two ("A * B")')
    parts = [part.strip() for part in value.split("*")]
    if len(parts) > 2 or not all(parts) or any(len(p) > MAX_NAME for p in parts):
        raise MappingError(f'mapping "sales" must be one column or "A * B" (a product of two columns); '
                           f"got {value[:100]!r}")
    return tuple(parts)


def _flag(raw: dict, key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise MappingError(f'mapping "{key}" must be true or false')
    return value


def _decimal(value: object) -> str:
    if value not in DECIMALS:
        raise MappingError('mapping "decimal" must be "." or ","')
    return value


def _date_format(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 50:
        raise MappingError('mapping "date_format" must be a strftime format such as "%d/%m/%Y", or null')
    if not all(code in value for code in ("%d", "%m")) or not ("%Y" in value or "%y" in value):
        raise MappingError('mapping "date_format" needs a day (%d), a month (%m) and a year (%Y or %y)')
    try:
        dt.datetime.strptime(dt.date(2001, 12, 31).strftime(value), value)
    except (ValueError, re.error):  # re.error: a directive given twice ("%Y %Y") makes strptime's pattern invalid
        raise MappingError(f"mapping date_format {value!r} does not parse its own output") from None
    return value
