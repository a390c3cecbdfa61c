"""Tables as files: exceptions as CSV in the CONTRACT's form, any table as CSV or Excel.

Exceptions: money as strings with two decimals (quantities keep three), days as
YYYY-MM-DD, instants as ISO 8601 UTC, absent values empty. Other tables keep their
decimals exactly in CSV and as formatted numbers in Excel. Formatting only: no queries.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import xlsxwriter  # type: ignore[import-untyped]

from app.filters import MONEY_KINDS
from app.queries import EXCEPTION_COLUMNS

__all__ = ["exceptions_csv", "frame_csv", "frame_xlsx"]

VALUE_COLUMNS = ("pos_value", "erp_value", "difference")
CENT = Decimal("0.01")


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
    return (
        frame.select(EXCEPTION_COLUMNS)
        .with_columns(*values, *instants)
        .write_csv(null_value="", date_format="%Y-%m-%d")
    )


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
    return out.write_csv(null_value="", date_format="%Y-%m-%d")


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
    UTC (named in the header); days are Excel dates.
    """
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as book:
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
