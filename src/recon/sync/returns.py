"""Refund lines: back to sellable stock, or written off.

A Sitoo refund line names why the goods came back in `additionaldata["reasoncode-return"]`
(the return reason the cashier picked). A line whose reason is one of the mappings'
`[settings] writeoff_reasons` (comma separated, case-insensitive, e.g. `"DAMAGED,FAULTY"`) is
written off: its goods do not return to the store's sellable stock; every other refund line
(no reason, or another one) is restocked. Each poster turns that into what its ERP's credit
note line needs (SAP B1 `WithoutInventoryMovement`, NetSuite the write-off location, see
their module texts).
"""

from __future__ import annotations

from recon.clients.sitoo import SitooOrderItem

__all__ = ["REASON_KEY", "is_written_off"]

REASON_KEY = "reasoncode-return"


def is_written_off(item: SitooOrderItem, reasons: frozenset[str]) -> bool:
    """True when `item` (a refund line) came back for a write-off reason."""
    reason = (item.additionaldata.get(REASON_KEY) or "").strip().casefold()
    return bool(reason) and reason in reasons
