"""Why an order may not be posted yet: mapping and master-data checks before any ERP write.

An order that fails a check is held (never posted to a default account or warehouse) and
recorded with the reason; the engine reports it as `missing_in_erp` with the same cause.
ERP-neutral: the poster says which SKUs and accounts its ERP knows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from clients.sitoo import SitooOrder
from collectors.sitoo import line_values, product_lines
from config.mappings import Mappings, vat_key


@dataclass(frozen=True)
class Hold:
    reason: str  # a held_* cause code of the engine
    message: str  # one line a person can act on


def hold_reason(
    order: SitooOrder,
    store_id: str,
    mappings: Mappings,
    known_skus: Collection[str],
    active_accounts: Collection[str],
) -> Hold | None:
    """The first problem that stops `order` from posting, or None when it may post."""
    if store_id not in mappings.stores:
        return Hold(
            "held_unmapped_location", f"map store '{store_id}' to an ERP warehouse in mappings"
        )
    for payment in order.payments:
        if payment.name not in mappings.tenders:
            return Hold("held_unmapped_tender", f"map tender '{payment.name}' in mappings")
    for item in product_lines(order):
        rate = vat_key(line_values(item)["vat_rate"])
        if rate not in mappings.tax:
            return Hold("held_unmapped_tax_code", f"map VAT rate {rate} to a tax code in mappings")
        if (item.sku or "") not in known_skus:
            return Hold("held_unknown_sku", f"SKU '{item.sku}' is not in the ERP item master")
    named = [(mappings.tenders[p.name], f"tender '{p.name}'") for p in order.payments]
    for item in product_lines(order):
        rate = vat_key(line_values(item)["vat_rate"])
        named.append((mappings.tax[rate].account, f"VAT rate {rate}"))
    for account, what in named:
        if account not in active_accounts:
            return Hold(
                "held_closed_account",
                f"account {account} of {what} is closed or missing in the ERP",
            )
    return None
