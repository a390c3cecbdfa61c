"""The words of the domain: every exception kind once, with its owner, whether its values are
money, what it is called, who fixes it and how, and the severity the engine gives it.

The engine (`recon.reconcile`), the dashboard (`recon.app`), the alerts (`recon.alerts`) and
the order chain (`recon.warehouse.chain`) read this table; nothing else lists the kinds
(`tests/test_kinds.py` checks). A new kind is a row here. Imports nothing from recon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["FINANCE", "KINDS", "OPS", "OWNERS", "Kind", "kinds_of"]

Owner = Literal["finance", "ops"]
FINANCE: Owner = "finance"
OPS: Owner = "ops"
OWNERS: tuple[str, ...] = (FINANCE, OPS)


@dataclass(frozen=True)
class Kind:
    """One exception kind. `money`: its pos_value / erp_value / difference are amounts
    (unmapped_tax_code carries a VAT rate, the ops kinds quantities or prices per SKU).
    `document_status`: what an order's chain calls the sale's ERP document while this kind
    is open on the sale (None: the kind says nothing of that document)."""

    name: str
    owner: Owner
    money: bool
    words: str
    fix: str
    severity: Literal["error", "warning", "info"]
    document_status: str | None = None


KINDS: tuple[Kind, ...] = (
    Kind(
        "missing_in_erp",
        FINANCE,
        money=True,
        words="POS sale not in the ERP",
        fix=(
            "Finance: fix the held cause (mapping or ERP master data) or re-run the sync; the "
            "sale is then posted to the ERP."
        ),
        severity="error",
    ),
    Kind(
        "missing_in_pos",
        FINANCE,
        money=True,
        words="ERP document with no POS sale",
        fix=(
            "Finance: find who posted the document in the ERP; reverse it there if no sale "
            "happened."
        ),
        severity="error",
    ),
    Kind(
        "duplicate_in_erp",
        FINANCE,
        money=True,
        words="Sale posted twice",
        fix="Finance: reverse or delete the later document in the ERP.",
        severity="error",
    ),
    Kind(
        "amount_mismatch",
        FINANCE,
        money=True,
        words="Document total differs",
        fix="Finance: correct or re-post the ERP document to match the POS sale.",
        severity="error",
        document_status="wrong_amount",
    ),
    Kind(
        "vat_rounding",
        FINANCE,
        money=True,
        words="VAT rounding",
        fix="Finance: adjust the VAT in the ERP document (tax adjustment) if material.",
        severity="info",
    ),
    Kind(
        "day_mismatch",
        FINANCE,
        money=True,
        words="Posted on another day",
        fix="Finance: change the ERP posting date to the POS business day.",
        severity="warning",
        document_status="wrong_day",
    ),
    Kind(
        "store_mismatch",
        FINANCE,
        money=True,
        words="Posted to the wrong location",
        fix="Finance: move the ERP document to the mapped warehouse/location.",
        severity="warning",
        document_status="wrong_store",
    ),
    Kind(
        "incomplete_order_posted",
        FINANCE,
        money=True,
        words="Unfinished order posted",
        fix="Finance: reverse the ERP document; the POS order is not a completed, paid sale.",
        severity="error",
    ),
    Kind(
        "refund_without_credit_note",
        FINANCE,
        money=True,
        words="Refund with no credit note",
        fix="Finance: post the credit note in the ERP (fix the held cause first, if any).",
        severity="error",
    ),
    Kind(
        "credit_note_without_refund",
        FINANCE,
        money=True,
        words="Credit note with no refund",
        fix=(
            "Finance: check the credit note in the ERP; reverse it if no refund happened in the "
            "POS."
        ),
        severity="error",
    ),
    Kind(
        "tender_variance",
        FINANCE,
        money=True,
        words="Takings differ",
        fix=(
            "Finance: resolve the explaining exception, or trace the receipts for the store-day "
            "and tender account in the ERP bank ledger."
        ),
        severity="error",
    ),
    Kind(
        "unmapped_tender",
        FINANCE,
        money=True,
        words="Tender not mapped",
        fix="Finance: map the POS tender to an ERP account in the recon mappings.",
        severity="error",
    ),
    Kind(
        "unmapped_tax_code",
        FINANCE,
        money=False,
        words="VAT rate not mapped",
        fix="Finance: map the POS VAT rate to an ERP tax code in the recon mappings.",
        severity="error",
    ),
    Kind(
        "closed_account",
        FINANCE,
        money=True,
        words="ERP account closed",
        fix="Finance: reopen the account in the ERP or re-map the tender/tax code to an open one.",
        severity="error",
    ),
    Kind(
        "line_mismatch",
        OPS,
        money=False,
        words="Document lines differ",
        fix="Ops: correct the ERP document lines (or the POS order) for the SKU.",
        severity="warning",
        document_status="wrong_lines",
    ),
    Kind(
        "unknown_sku",
        OPS,
        money=False,
        words="SKU unknown to the ERP",
        fix="Ops: create the item in the ERP item master (ERP is master for items).",
        severity="error",
    ),
    Kind(
        "price_mismatch",
        OPS,
        money=False,
        words="Price differs",
        fix="Ops: fix the price in the ERP item master and let it sync to the POS.",
        severity="warning",
    ),
    Kind(
        "stock_variance",
        OPS,
        money=False,
        words="Stock differs",
        fix="Ops: count the stock and adjust it in the ERP, then push to the POS.",
        severity="warning",
    ),
    Kind(
        "unmapped_location",
        OPS,
        money=False,
        words="Store not mapped",
        fix=(
            "Ops: ask an admin to map the POS store to an ERP warehouse/location (Admin page, "
            "Mappings, or `recon mappings import`); only admins edit mappings."
        ),
        severity="error",
    ),
)


def kinds_of(owner: Owner) -> tuple[str, ...]:
    """The names of `owner`'s kinds, in the table's order."""
    return tuple(k.name for k in KINDS if k.owner == owner)
