"""The upload check of an .xlsx workbook: which sheet (or, one per category, which sheets) holds the data.

Called by `common.fileformat.inspect_file` for .xlsx uploads; it reads only the archive's directory
and each sheet's first rows.
"""

from __future__ import annotations

from typing import BinaryIO

from common.fileformat import (
    SAMPLE_ROWS,
    WIDE_HINT,
    XLSX_DATA_SCAN_ROWS,
    FileKind,
    FileLayout,
    FileProblem,
    Limits,
    check_header_limits,
    check_numeric,
    check_value_columns,
    check_xlsx_archive,
    describe_xlsx_error,
    match_columns,
    match_value_columns,
    missing_columns,
    normalise,
    open_workbook,
)
from common.mapping import Mapping


def inspect_xlsx(fileobj: BinaryIO, max_uncompressed: int, mapping: Mapping, limits: Limits) -> FileLayout:
    """The layout of a workbook: the first sheet with the mapping's columns, or every sheet for
    sheets_as_categories; FileProblem (400/415) says what is wrong."""
    check_xlsx_archive(fileobj, max_uncompressed)
    workbook = open_workbook(fileobj)
    try:
        if mapping.sheets_as_categories:
            return _inspect_sheets(workbook, mapping, limits)
        seen = []
        for sheet in workbook.worksheets:
            header, sample = _sheet_head(sheet)
            seen.append(sheet.title)
            if missing_columns(header, mapping):
                continue
            columns, values = _check_sheet(sheet.title, header, sample, mapping, limits)
            return FileLayout(kind=FileKind.XLSX, columns=columns, mapping=mapping, values=values,
                              header=tuple(normalise(h) for h in header), sheet=sheet.title)
        first = list(next(workbook.worksheets[0].iter_rows(values_only=True, max_row=1), ()) or ()) \
            if workbook.worksheets else []
        if not any(h not in (None, "") for h in first) and len(seen) <= 1:
            raise FileProblem("the workbook is empty")
        missing = ", ".join(missing_columns(first, mapping))
        raise FileProblem(f"no sheet has the required columns (looked at {', '.join(map(repr, seen))}; "
                          f"the first lacks {missing})")
    except FileProblem:
        raise
    except Exception as exc:  # noqa: BLE001
        raise FileProblem(describe_xlsx_error(exc)) from None
    finally:
        workbook.close()


def _sheet_head(sheet) -> tuple[list[object], list[tuple]]:  # noqa: ANN001 - an openpyxl worksheet
    """A sheet's header row and its first non-blank data rows."""
    rows = sheet.iter_rows(values_only=True, max_row=1 + XLSX_DATA_SCAN_ROWS)
    header = list(next(rows, ()) or ())
    sample = [row for row in rows if any(v not in (None, "") for v in row)][:SAMPLE_ROWS]
    return header, sample


def _check_sheet(title: str, header: list[object], sample: list[tuple], mapping: Mapping,
                 limits: Limits) -> tuple[dict[str, int], tuple[tuple[str, int], ...]]:
    """The columns of a sheet that has the mapping's columns: limits, positions, numbers and data checked."""
    check_header_limits(header, limits)
    columns = match_columns(header, mapping)
    values = match_value_columns(header, mapping, columns)
    if not sample:
        raise FileProblem(f"sheet {title!r} has a header but no data rows")
    check_value_columns(sample, columns, header, mapping.decimal)
    check_numeric(sample, dict(values), mapping.decimal, WIDE_HINT)
    return columns, values


def _inspect_sheets(workbook, mapping: Mapping, limits: Limits) -> FileLayout:  # noqa: ANN001
    """sheets_as_categories: every sheet with a header holds the same date and value columns; blank sheets are
    skipped; a sheet that disagrees is a 400 naming it."""
    loaded, first = [], None
    for sheet in workbook.worksheets:
        header, sample = _sheet_head(sheet)
        if not any(h not in (None, "") for h in header):
            continue
        missing = missing_columns(header, mapping)
        if missing:
            found = ", ".join(repr(str(h)) for h in header[:20] if h not in (None, ""))
            raise FileProblem(f"sheet {sheet.title!r} has no column {', '.join(map(repr, missing))} (found: {found}); "
                              "with sheets_as_categories every sheet needs the same date and value columns")
        columns, _ = _check_sheet(sheet.title, header, sample, mapping, limits)
        if not sheet.title.strip():
            raise FileProblem("a sheet's name is blank, so it cannot name a category")
        loaded.append(sheet.title)
        first = first or (header, columns)
    if first is None:
        raise FileProblem("the workbook is empty")
    return FileLayout(kind=FileKind.XLSX, columns=first[1], mapping=mapping, sheet=loaded[0], sheets=tuple(loaded),
                      header=tuple(normalise(h) for h in first[0]))
