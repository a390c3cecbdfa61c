"""Engine settings: tolerances per comparison, VAT rounding limit and the grace period.

Plain frozen values only; this module must not read the environment or any file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

__all__ = ["EngineConfig", "Tolerance"]


@dataclass(frozen=True)
class Tolerance:
    """Two values agree when |a - b| <= absolute + relative * |POS value| (datacompy style)."""

    absolute: Decimal = Decimal("0.00")
    relative: Decimal = Decimal("0")


@dataclass(frozen=True)
class EngineConfig:
    """How strict each comparison is."""

    amount: Tolerance = field(default_factory=Tolerance)  # document gross totals
    tender: Tolerance = field(default_factory=Tolerance)  # store-day tender variance
    vat_rounding_max: Decimal = Decimal("0.02")  # 0 < |VAT diff| <= this is vat_rounding
    stock: Tolerance = field(default_factory=Tolerance)
    grace: timedelta = timedelta(hours=2)  # a sale younger than this at `as_of` is pending
