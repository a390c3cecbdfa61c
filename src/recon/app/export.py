"""Tables as files: exceptions as CSV in the CONTRACT's form, any table as CSV or Excel.

Exceptions: money as strings with two decimals (quantities keep three), days as
YYYY-MM-DD, instants as ISO 8601 UTC, absent values empty. Other tables keep their
decimals exactly in CSV and as formatted numbers in Excel. Formatting only: no queries.

Vendor and user text reaches these files (SKUs, tender names, comments, messages), and a
spreadsheet runs a cell that starts like a formula: every export goes through
`spreadsheet_safe`, and Excel is written with no formulas and no auto-links.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import xlsxwriter  # type: ignore[import-untyped]

from recon.app.filters import MONEY_KINDS
from recon.app.queries import EXCEPTION_COLUMNS

__all__ = ["exceptions_csv", "frame_csv", "frame_xlsx", "spreadsheet_safe"]

VALUE_COLUMNS = ("pos_value", "erp_value", "difference")
CENT = Decimal("0.01")

# What a spreadsheet reads as the start of a formula (OWASP "CSV injection"), and the
# numbers that may start with a sign all the same: those stay numbers.
_FORMULA_START = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every text cell that a spreadsheet would run as a formula made inert.

    Text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`
    (shown, never run); text that is a number (`-0.51`, `+3`) stays as it is, so a negative
    amount is still a number. Only String columns change. The one rule for every export a
    person opens in a spreadsheet (dashboard CSV and Excel, `recon exceptions --format csv`).
    """
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_START) & ~pl.col(name).str.contains(_NUMBER))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def exceptions_csv(frame: pl.DataFrame) -> str:
    """The exceptions frame (from `queries.exceptions`) as CSV text."""
    is_money = pl.col("kind").is_in(sorted(MONEY_KINDS))
    values = [
        pl.when(is_money)
        .then(pl.col(name).map_elements(_money, return_dtype=pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name in VALUE_COLUMNS
    ]
    instants = [
        pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias(name)
        for name in ("first_seen", "last_seen", "resolved_at")
    ]
    out = frame.select(EXCEPTION_COLUMNS).with_columns(*values, *instants)
    return spreadsheet_safe(out).write_csv(null_value="", date_format="%Y-%m-%d")


def frame_csv(frame: pl.DataFrame) -> str:
    """Any dashboard table as CSV: decimals exactly as held, days YYYY-MM-DD, instants UTC."""
    out = frame.with_columns(
        [
            pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Datetime)
        ]
        + [
            pl.col(name).cast(pl.String)
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.Duration | pl.List | pl.Struct | pl.Object)
        ]
    )
    return spreadsheet_safe(out).write_csv(null_value="", date_format="%Y-%m-%d")


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # Excel has no zones: the header says UTC
    if isinstance(value, Decimal):
        return float(value)  # shown with the column's exact number of places
    if isinstance(value, date | int | float | str | bool) or value is None:
        return value
    return str(value)


def frame_xlsx(frame: pl.DataFrame, sheet: str = "data") -> bytes:
    """Any dashboard table as an Excel workbook (one sheet, a header row, typed cells).

    Decimal columns are numbers formatted with their scale (0.00 for money); instants are
    UTC (named in the header); days are Excel dates. Text is text: never a formula or a
    link, whatever it starts with (`spreadsheet_safe`).
    """
    frame = spreadsheet_safe(frame)
    buffer = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    with xlsxwriter.Workbook(buffer, options) as book:
        ws = book.add_worksheet(sheet[:31])
        bold = book.add_format({"bold": True})
        formats: dict[str, Any] = {}
        headers: list[str] = []
        for name, dtype in frame.schema.items():
            if isinstance(dtype, pl.Decimal):
                places = dtype.scale or 0
                formats[name] = book.add_format(
                    {"num_format": "#,##0" + ("." + "0" * places if places else "")}
                )
            elif isinstance(dtype, pl.Datetime):
                formats[name] = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
            elif isinstance(dtype, pl.Date):
                formats[name] = book.add_format({"num_format": "yyyy-mm-dd"})
            headers.append(f"{name} (UTC)" if isinstance(dtype, pl.Datetime) else name)
        ws.write_row(0, 0, headers, bold)
        for r, row in enumerate(frame.iter_rows(), start=1):
            for c, (name, value) in enumerate(zip(frame.columns, row, strict=True)):
                cell = _xlsx_cell(value)
                if cell is None:
                    continue
                ws.write(r, c, cell, formats.get(name))
        ws.freeze_panes(1, 0)
        for c, name in enumerate(headers):
            ws.set_column(c, c, min(40, max(10, len(name) + 2)))
    return buffer.getvalue()
