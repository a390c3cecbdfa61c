"""Field types shared by the vendor models: exact money, UTC instants, string maps.

Only parsing of single wire values lives here; no I/O and no knowledge of any endpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = [
    "EpochSeconds",
    "OptDecimal",
    "StrMap",
    "UtcDateTime",
    "VendorModel",
]


class VendorModel(BaseModel):
    """Base of every vendor record: extra fields are kept, models are immutable."""

    model_config = ConfigDict(extra="allow", frozen=True)


def _decimal(value: Any) -> Any:
    """Money / quantity from a string or JSON number, never through float."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        try:
            parsed = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
        if not parsed.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return parsed
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _epoch(value: Any) -> Any:
    """Sitoo dates: integer seconds since the Unix epoch, as an aware UTC datetime."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, bool):
        raise ValueError("expected epoch seconds, got a boolean")
    if isinstance(value, str):
        if value.strip() == "":
            return None
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not epoch seconds: {value!r}") from None
    if isinstance(value, int | Decimal):
        return datetime.fromtimestamp(int(value), tz=UTC)
    return value


def _iso_utc(value: Any) -> Any:
    """Sage dates: ISO-8601; a value without an offset is UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO date-time: {text!r}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return value


def _str_map(value: Any) -> Any:
    """`additionaldata`: string -> string; PHP's empty `[]` and null mean no entries."""
    if value is None or value == []:
        return {}
    if isinstance(value, dict):
        out: dict[str, str] = {}
        for k, v in value.items():
            if v is None:
                continue
            out[str(k)] = v if isinstance(v, str) else str(v)
        return out
    return value


OptDecimal = Annotated[Decimal | None, BeforeValidator(_decimal)]
EpochSeconds = Annotated[datetime | None, BeforeValidator(_epoch)]
UtcDateTime = Annotated[datetime | None, BeforeValidator(_iso_utc)]
StrMap = Annotated[dict[str, str], BeforeValidator(_str_map)]
