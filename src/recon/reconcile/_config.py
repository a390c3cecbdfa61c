"""Engine settings: tolerances per comparison, VAT rounding limit and the grace period.

Plain frozen values, built in code or from the mappings' [settings] (`map_settings` in the
snapshot); this module must not read the environment or any file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

# Plain decimal notation only, in ASCII digits: no exponent (`1e-999` is past what a Polars
# decimal holds), no sign, no `_` or other scripts' digits; 10^15 is above any money value.
_PLAIN = re.compile(r"(?=\.?\d)\d{0,15}(\.\d{0,6})?%?", re.ASCII)

__all__ = ["EngineConfig", "Tolerance"]


@dataclass(frozen=True)
class Tolerance:
    """Two values agree when |a - b| <= absolute + relative * |POS value| (datacompy style)."""

    absolute: Decimal = Decimal("0.00")
    relative: Decimal = Decimal("0")

    @classmethod
    def parse(cls, text: str) -> Tolerance:
        """`"0.05"` (in the currency) or `"0.5%"` (of the POS value), in plain notation with
        at most 15 digits before the point and 6 after; ValueError otherwise."""
        plain = text.strip()
        if not _PLAIN.fullmatch(plain):
            raise ValueError(f"{text!r} is not an amount or a percentage such as 0.05 or 0.5%")
        value = Decimal(plain.removesuffix("%"))
        return cls(relative=value / 100) if plain.endswith("%") else cls(absolute=value)

    def text(self) -> str:
        """As the settings write it: `0.05`, `0.5%`, or both joined by ` + `."""
        parts = []
        if self.absolute or not self.relative:
            parts.append(f"{self.absolute:f}")
        if self.relative:
            parts.append(f"{(self.relative * 100).normalize():f}%")
        return " + ".join(parts)

    def allows(self, pos: Decimal, erp: Decimal) -> bool:
        """True when `erp` agrees with `pos` within this tolerance (the engine's rule, for one
        pair of values outside a frame)."""
        return abs(erp - pos) <= self.absolute + self.relative * abs(pos)


@dataclass(frozen=True)
class EngineConfig:
    """How strict each comparison is."""

    amount: Tolerance = field(default_factory=Tolerance)  # document gross totals
    tender: Tolerance = field(default_factory=Tolerance)  # store-day tender variance
    vat_rounding_max: Decimal = Decimal("0.02")  # 0 < |VAT diff| <= this is vat_rounding
    stock: Tolerance = field(default_factory=Tolerance)
    grace: timedelta = timedelta(hours=2)  # a sale younger than this at `as_of` is pending
    vat_rounding_relative: Decimal = Decimal("0")  # ... plus this share of the POS VAT total

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> EngineConfig:
        """The tolerances the mappings' [settings] set (CONTRACT: `amount_tolerance`,
        `vat_rounding_max`, `tender_tolerance`, `stock_tolerance`), defaults for the rest.
        ValueError naming the setting when a value is not an amount or a percentage."""

        def given(key: str) -> Tolerance | None:
            text = settings.get(key)
            if text is None:
                return None
            try:
                return Tolerance.parse(text)
            except ValueError as exc:
                raise ValueError(f"setting {key}: {exc}") from None

        default = cls()
        rounding = given("vat_rounding_max")
        return cls(
            amount=given("amount_tolerance") or default.amount,
            tender=given("tender_tolerance") or default.tender,
            stock=given("stock_tolerance") or default.stock,
            vat_rounding_max=default.vat_rounding_max if rounding is None else rounding.absolute,
            vat_rounding_relative=Decimal(0) if rounding is None else rounding.relative,
        )
