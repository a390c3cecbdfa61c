"""What posting one thing to the ERP came to; shared by every ERP poster and the run loop."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    post_key: str  # sale:5120, receipt:5120:1, credit_note:5121, payment:5121:1
    kind: str  # sale, refund, receipt, payment
    status: str  # posted (written now) or exists (found by its reference first)
    erp_ref: str | None
