"""The one rule for turning an ERP net master price into the gross price a POS shows.

Collectors use it to fill `erp_items.price_gross`, the price push to write Sitoo prices, so
the comparison and the push always agree to the cent (half up).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

__all__ = ["gross_price"]


def gross_price(net: Decimal, rate: Decimal) -> Decimal:
    """A net price with VAT at `rate` percent, half up to the cent."""
    return (net * (1 + rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)
