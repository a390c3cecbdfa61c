"""Plain-English texts for the dashboard: what each cause code means and who fixes each
kind in which system.

Text only; must not hold any rule the engine applies.
"""

from __future__ import annotations

from recon.kinds import KINDS

__all__ = ["CAUSE_TEXT", "KIND_TEXT", "OWNER_FIX", "SEVERITY"]

CAUSE_TEXT: dict[str, str] = {
    "not_posted": "The POS sale or refund is complete and paid but has no ERP document yet.",
    "held_unmapped_tender": "Held back: a payment uses a tender with no ERP account mapped.",
    "held_unmapped_location": "Held back: the store has no ERP warehouse/location mapped.",
    "held_unmapped_tax_code": "Held back: a line's VAT rate has no ERP tax code mapped.",
    "held_unknown_sku": "Held back: a line's SKU does not exist in the ERP item master.",
    "held_closed_account": "Held back: a mapped tender or tax account is closed in the ERP.",
    "no_pos_order": "The ERP document names a POS order id that the POS does not have.",
    "no_pos_ref": "The ERP document at a store's location carries no POS order id at all.",
    "posted_twice": "The same POS order was posted to the ERP more than once.",
    "amount_differs": "The ERP document total differs from the POS order total.",
    "vat_differs": (
        "The totals agree but the ERP VAT differs from the POS VAT by more than the rounding limit."
    ),
    "posted_next_day": "The ERP document is dated the day after the POS business day.",
    "posted_other_day": "The ERP document is dated a different day than the POS business day.",
    "wrong_location": "The ERP document is at a different location than the store maps to.",
    "order_open": "An ERP document exists for a POS order that is still open.",
    "order_cancelled": "An ERP document exists for a POS order that was cancelled.",
    "order_unpaid": "An ERP document exists for a POS order that is not paid.",
    "no_pos_refund": "The ERP credit note matches no refund in the POS.",
    "held_bad_data": (
        "Held back: the POS order's data failed validation when it was collected, so it is "
        "quarantined and was not posted; fix the order in the POS (or its quarantine reason)."
    ),
    "pos_order_quarantined": (
        "The ERP document names a POS order whose data failed validation when it was "
        "collected (quarantined): the sale exists, recon could not read it."
    ),
    "explained_by_missing_in_erp": "The takings gap is the money of sales missing in the ERP.",
    "explained_by_refund_without_credit_note": (
        "The takings gap is the money of refunds that have no credit note in the ERP."
    ),
    "explained_by_amount_mismatch": (
        "The takings gap is the difference on documents whose totals do not match."
    ),
    "explained_by_missing_in_pos": (
        "The takings gap is money the ERP received for documents with no POS sale."
    ),
    "explained_by_credit_note_without_refund": (
        "The takings gap is money the ERP paid back for credit notes with no POS refund."
    ),
    "explained_by_day_mismatch": (
        "The takings gap is money of documents dated another day than the sale: their "
        "receipts moved it from the sale's day to theirs."
    ),
    "unexplained": "The takings differ and no other exception accounts for the difference.",
    "tender_not_mapped": "POS payments use a tender that has no ERP account mapped.",
    "store_not_mapped": "POS sales come from a store with no ERP warehouse/location mapped.",
    "vat_rate_not_mapped": "POS lines use a VAT rate that has no ERP tax code mapped.",
    "account_closed": "A mapped ERP account is closed, hidden or missing in the ERP.",
    "sku_not_in_erp": "The SKU is sold or active in the POS but missing in the ERP item master.",
    "price_differs": "The active POS catalogue price differs from the ERP master gross price.",
    "quantity_differs": "The quantities on the two sides differ.",
    "sku_missing_in_erp": "The POS order has this SKU but its ERP document does not.",
    "sku_missing_in_pos": "The ERP document has this SKU but the POS order does not.",
}


def _rounding(cents: int) -> str:
    return f"The ERP VAT total differs from the POS VAT by {cents / 100:.2f} (penny rounding)."


CAUSE_TEXT.update({f"rounding_0.{c:02d}": _rounding(c) for c in range(1, 100)})

KIND_TEXT: dict[str, str] = {k.name: k.words for k in KINDS}

# Severity per kind as the engine sets it (tender_variance: warning when explained by
# another exception, error when unexplained).
SEVERITY: dict[str, str] = {k.name: k.severity for k in KINDS}

OWNER_FIX: dict[str, str] = {k.name: k.fix for k in KINDS}
