"""Plain-English texts for the dashboard: what each cause code means and who fixes each
kind in which system.

Text only; must not hold any rule the engine applies.
"""

from __future__ import annotations

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

KIND_TEXT: dict[str, str] = {
    "missing_in_erp": "POS sale not in the ERP",
    "missing_in_pos": "ERP document with no POS sale",
    "duplicate_in_erp": "Sale posted twice",
    "amount_mismatch": "Document total differs",
    "vat_rounding": "VAT rounding",
    "day_mismatch": "Posted on another day",
    "store_mismatch": "Posted to the wrong location",
    "incomplete_order_posted": "Unfinished order posted",
    "refund_without_credit_note": "Refund with no credit note",
    "credit_note_without_refund": "Credit note with no refund",
    "tender_variance": "Takings differ",
    "unmapped_tender": "Tender not mapped",
    "unmapped_tax_code": "VAT rate not mapped",
    "closed_account": "ERP account closed",
    "line_mismatch": "Document lines differ",
    "unknown_sku": "SKU unknown to the ERP",
    "price_mismatch": "Price differs",
    "stock_variance": "Stock differs",
    "unmapped_location": "Store not mapped",
}

# Severity per kind as the engine sets it (tender_variance: warning when explained by
# another exception, error when unexplained).
SEVERITY: dict[str, str] = {
    **{kind: "error" for kind in KIND_TEXT},
    "vat_rounding": "info",
    "day_mismatch": "warning",
    "store_mismatch": "warning",
    "line_mismatch": "warning",
    "price_mismatch": "warning",
    "stock_variance": "warning",
}

OWNER_FIX: dict[str, str] = {
    "missing_in_erp": (
        "Finance: fix the held cause (mapping or ERP master data) or re-run the sync; "
        "the sale is then posted to the ERP."
    ),
    "missing_in_pos": (
        "Finance: find who posted the document in the ERP; reverse it there if no sale happened."
    ),
    "duplicate_in_erp": "Finance: reverse or delete the later document in the ERP.",
    "amount_mismatch": "Finance: correct or re-post the ERP document to match the POS sale.",
    "vat_rounding": "Finance: adjust the VAT in the ERP document (tax adjustment) if material.",
    "day_mismatch": "Finance: change the ERP posting date to the POS business day.",
    "store_mismatch": "Finance: move the ERP document to the mapped warehouse/location.",
    "incomplete_order_posted": (
        "Finance: reverse the ERP document; the POS order is not a completed, paid sale."
    ),
    "refund_without_credit_note": (
        "Finance: post the credit note in the ERP (fix the held cause first, if any)."
    ),
    "credit_note_without_refund": (
        "Finance: check the credit note in the ERP; reverse it if no refund happened in the POS."
    ),
    "tender_variance": (
        "Finance: resolve the explaining exception, or trace the receipts for the store-day "
        "and tender account in the ERP bank ledger."
    ),
    "unmapped_tender": "Finance: map the POS tender to an ERP account in the recon mappings.",
    "unmapped_tax_code": "Finance: map the POS VAT rate to an ERP tax code in the recon mappings.",
    "closed_account": (
        "Finance: reopen the account in the ERP or re-map the tender/tax code to an open one."
    ),
    "line_mismatch": "Ops: correct the ERP document lines (or the POS order) for the SKU.",
    "unknown_sku": "Ops: create the item in the ERP item master (ERP is master for items).",
    "price_mismatch": "Ops: fix the price in the ERP item master and let it sync to the POS.",
    "stock_variance": "Ops: count the stock and adjust it in the ERP, then push to the POS.",
    "unmapped_location": (
        "Ops: ask an admin to map the POS store to an ERP warehouse/location (Admin page, "
        "Mappings, or `recon mappings import`); only admins edit mappings."
    ),
}
