"""Why an order may not be posted yet: mapping and master-data checks before any ERP write.

An order that fails a check is held (never posted to a default account or warehouse) and
recorded with the reason; the engine reports it as `missing_in_erp` with the same cause.
ERP-neutral: the poster says which SKUs and accounts its ERP knows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from recon.clients.sitoo import SitooOrder
from recon.config.mappings import Mappings, vat_key
from recon.pos.rules import line_values, product_lines


@dataclass(frozen=True)
class Hold:
    reason: str  # a held_* cause code of the engine
    message: str  # one line a person can act on


# A hold a mapping fixes: its message, and how to read back what it names.
UNMAPPED: dict[str, tuple[str, str]] = {
    "held_unmapped_location": ("map store '", "' to an ERP warehouse in mappings"),
    "held_unmapped_tender": ("map tender '", "' in mappings"),
    "held_unmapped_tax_code": ("map VAT rate ", " to a tax code in mappings"),
}


def unmapped(reason: str, key: str) -> Hold:
    """The hold of an order whose store, tender or VAT rate (`key`) has no mapping."""
    before, after = UNMAPPED[reason]
    return Hold(reason, f"{before}{key}{after}")


def unmapped_key(reason: str, message: str) -> str | None:
    """What an unmapped-* hold's message names (the store id, tender or VAT rate), or None
    for any other hold."""
    if reason not in UNMAPPED:
        return None
    before, after = UNMAPPED[reason]
    if not (message.startswith(before) and message.endswith(after)):
        return None
    return message[len(before) : len(message) - len(after)] or None


def hold_reason(
    order: SitooOrder,
    store_id: str,
    mappings: Mappings,
    known_skus: Collection[str],
    active_accounts: Collection[str],
) -> Hold | None:
    """The first problem that stops `order` from posting, or None when it may post."""
    if store_id not in mappings.stores:
        return unmapped("held_unmapped_location", store_id)
    for payment in order.payments:
        if payment.name not in mappings.tenders:
            return unmapped("held_unmapped_tender", payment.name)
    for item in product_lines(order):
        rate = vat_key(line_values(item)["vat_rate"])
        if rate not in mappings.tax:
            return unmapped("held_unmapped_tax_code", str(rate))
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
