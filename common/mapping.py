"""Column mappings: which source columns of an uploaded file give castflow's date, product, category and sales.

A mapping is a JSON object, sent with an upload (form field `mapping`) or saved as a named profile:

    {"date": "InvoiceDate", "product_id": "StockCode", "category": "Country",
     "sales": "Quantity * UnitPrice", "drop_negative_sales": true, "date_format": null}

`date`, `product_id` and `category` name a source column; `category` may also be `{"const": "all"}`
for a file without one; `sales` names a column or the product of two (`"A * B"`). Keys not given
keep the original names (Date, product_id, category, sales). Nothing in a mapping is ever evaluated:
the only expression is a product of two column names, parsed by splitting on `*`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass

#: The original columns, used for every key a mapping leaves out.
DEFAULT_COLUMNS = {"date": "Date", "product_id": "product_id", "category": "category", "sales": "sales"}
#: Longest column name or constant a mapping may hold.
MAX_NAME = 200
_KEYS = {*DEFAULT_COLUMNS, "drop_negative_sales", "date_format"}


class MappingError(ValueError):
    """A mapping that cannot be used; the message says why (answered as HTTP 400)."""


@dataclass(frozen=True)
class Mapping:
    """A validated mapping. `category_const` is set instead of `category` for a constant category."""

    date: str = "Date"
    product_id: str = "product_id"
    category: str | None = "category"
    category_const: str | None = None
    sales: tuple[str, ...] = ("sales",)  # one column, or two whose product is the value
    drop_negative_sales: bool = False
    date_format: str | None = None

    @property
    def is_default(self) -> bool:
        """True for the original columns with no options (an upload without a mapping)."""
        return self == Mapping()

    def source_columns(self) -> dict[str, str]:
        """Field -> source column name, for every field read from the file (sales_2: the second factor)."""
        columns = {"date": self.date, "product_id": self.product_id, "sales": self.sales[0]}
        if self.category is not None:
            columns["category"] = self.category
        if len(self.sales) == 2:
            columns["sales_2"] = self.sales[1]
        return columns

    def to_json(self) -> dict[str, object]:
        """The mapping as the JSON object a client sends (canonical form)."""
        return {
            "date": self.date, "product_id": self.product_id,
            "category": {"const": self.category_const} if self.category_const is not None else self.category,
            "sales": " * ".join(self.sales), "drop_negative_sales": self.drop_negative_sales,
            "date_format": self.date_format,
        }

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: the same file with another mapping is another batch."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


def parse_mapping(raw: object) -> Mapping:
    """Validate a mapping object (already decoded from JSON); MappingError says what is wrong."""
    if not isinstance(raw, dict):
        raise MappingError("mapping must be a JSON object")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise MappingError(f"unknown mapping key(s): {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    category, const = _category(raw.get("category", DEFAULT_COLUMNS["category"]))
    return Mapping(
        date=_column(raw, "date"), product_id=_column(raw, "product_id"), category=category, category_const=const,
        sales=_sales(raw.get("sales", DEFAULT_COLUMNS["sales"])),
        drop_negative_sales=_flag(raw.get("drop_negative_sales", False)),
        date_format=_date_format(raw.get("date_format")),
    )


def parse_mapping_text(text: str) -> Mapping:
    """Parse a mapping sent as JSON text (the upload form field)."""
    try:
        return parse_mapping(json.loads(text))
    except json.JSONDecodeError as exc:
        raise MappingError(f"mapping is not valid JSON ({exc.msg} at character {exc.pos})") from None


def _column(raw: dict, key: str) -> str:
    value = raw.get(key, DEFAULT_COLUMNS[key])
    if not isinstance(value, str) or not value.strip():
        raise MappingError(f"mapping {key!r} must name a column (a non-empty string)")
    if len(value) > MAX_NAME or "*" in value:
        raise MappingError(f"mapping {key!r} must be one column name of at most {MAX_NAME} characters")
    return value.strip()


def _category(value: object) -> tuple[str | None, str | None]:
    if isinstance(value, dict):
        if set(value) != {"const"} or not isinstance(value["const"], str) or not value["const"].strip():
            raise MappingError('mapping "category" must be a column name or {"const": "<category>"}')
        const = value["const"].strip()
        if len(const) > 100:
            raise MappingError("a constant category holds at most 100 characters")
        return None, const
    return _column({"category": value}, "category"), None


def _sales(value: object) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        raise MappingError('mapping "sales" must name a column or the product of two ("A * B")')
    parts = [part.strip() for part in value.split("*")]
    if len(parts) > 2 or not all(parts) or any(len(p) > MAX_NAME for p in parts):
        raise MappingError(f'mapping "sales" must be one column or "A * B" (a product of two columns); '
                           f"got {value[:100]!r}")
    return tuple(parts)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise MappingError('mapping "drop_negative_sales" must be true or false')
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
