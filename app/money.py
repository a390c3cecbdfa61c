"""Money as people read it: two decimals and the currency, the one rule for every page.

Pure: no Streamlit, no queries. The frames keep exact Decimals (and their downloads keep
them); only what is shown goes through here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from app.filters import MONEY_KINDS

__all__ = ["CENT", "UNATTRIBUTED", "money", "store_label", "value_text"]

CENT = Decimal("0.01")
UNATTRIBUTED = "Unattributed"  # ERP money no order, location or mapping places in a store


def money(amount: Decimal | float | int | None, currency: str | None) -> str:
    """`1,234.56 GBP`: two decimals (half up), thousands separated, the currency after;
    "-" when there is no amount."""
    if amount is None:
        return "-"
    exact = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{exact:,.2f} {currency or ''}".strip()


def value_text(column: str) -> pl.Expr:
    """An exception's `pos_value` / `erp_value` / `difference` as text: money kinds as
    `money` (two decimals and the row's currency), quantities and VAT rates as written
    (trailing zeros dropped), null stays null."""
    raw = pl.col(column)
    as_money = pl.struct(raw, pl.col("currency")).map_elements(
        lambda r: money(r[column], r["currency"]), return_dtype=pl.String
    )
    plain = raw.map_elements(
        lambda v: format(v.normalize(), "f") if v != v.to_integral() else str(int(v)),
        return_dtype=pl.String,
    )
    return (
        pl.when(raw.is_null())
        .then(None)
        .when(pl.col("kind").is_in(sorted(MONEY_KINDS)))
        .then(as_money)
        .otherwise(plain)
        .alias(column)
    )


def store_label(store: str | None, names: dict[str, str]) -> str:
    """`Name (id)` for a store Sitoo named, the id alone otherwise, `Unattributed` for null."""
    if store is None:
        return UNATTRIBUTED
    name = names.get(store)
    return f"{name} ({store})" if name and name != store else store
