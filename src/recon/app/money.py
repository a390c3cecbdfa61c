"""Money as people read it: two decimals and the currency, the one rule for every page.

Pure: no Streamlit, no queries. The frames keep exact Decimals (and their downloads keep
them); only what is shown goes through here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from recon.app.filters import MONEY_KINDS

__all__ = ["CENT", "UNATTRIBUTED", "exception_value", "money", "store_label", "value_text"]

CENT = Decimal("0.01")
UNATTRIBUTED = "Unattributed"  # ERP money no order, location or mapping places in a store


def money(amount: Decimal | float | int | None, currency: str | None) -> str:
    """`1,234.56 GBP`: two decimals (half up), thousands separated, the currency after;
    "-" when there is no amount."""
    if amount is None:
        return "-"
    exact = Decimal(str(amount)).quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{exact:,.2f} {currency or ''}".strip()


def exception_value(kind: str, value: Decimal | None, currency: str | None) -> str | None:
    """One of an exception's `pos_value` / `erp_value` / `difference` as text: money kinds
    as `money` (two decimals and the currency), a VAT rate (`unmapped_tax_code`) with two
    decimals, quantities without trailing zeros; None stays None."""
    if value is None:
        return None
    if kind in MONEY_KINDS:
        return money(value, currency)
    if kind == "unmapped_tax_code":
        return money(value, None)
    return format(value.normalize(), "f") if value != value.to_integral() else str(int(value))


def value_text(column: str) -> pl.Expr:
    """`exception_value` of `column` over an exceptions frame (needs kind and currency)."""
    return (
        pl.struct("kind", column, "currency")
        .map_elements(
            lambda r: exception_value(r["kind"], r[column], r["currency"]),
            return_dtype=pl.String,
        )
        .alias(column)
    )


def store_label(store: str | None, names: dict[str, str]) -> str:
    """`Name (id)` for a store Sitoo named, the id alone otherwise, `Unattributed` for null."""
    if store is None:
        return UNATTRIBUTED
    name = names.get(store)
    return f"{name} ({store})" if name and name != store else store
