"""What posting one thing to the ERP came to; shared by every ERP poster and the run loop."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Outcome:
    post_key: str  # sale:5120, receipt:5120:1, credit_note:5121, journal:7-2024-06-01:Card
    kind: str  # sale, refund, receipt, payment, journal
    status: str  # posted (written now) or exists (found by its reference first)
    erp_ref: str | None
    amount: Decimal | None = None  # journals: the total posted or found in the ERP
