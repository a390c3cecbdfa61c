"""Field types shared by the vendor models: exact money, UTC instants, string maps.

Only parsing of single wire values lives here; no I/O and no knowledge of any endpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, GetCoreSchemaHandler, GetPydanticSchema
from pydantic_core import core_schema

__all__ = [
    "EpochSeconds",
    "OptDecimal",
    "StrMap",
    "UtcDateTime",
    "VendorModel",
]


class VendorModel(BaseModel):
    """Base of every vendor record: immutable, naming the fields recon reads. Other fields
    are dropped here (validating them costs a quarter of the time on a Sitoo order); the
    raw payload the collectors keep holds every field the vendor sent."""

    model_config = ConfigDict(extra="ignore", frozen=True)


def _decimal_schema(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """Money / quantity from a string or JSON number, never through float; blank is None.

    Built from pydantic's own validators (no Python call per field: a page of orders holds
    tens of thousands of money fields). A boolean, text that is not a number, NaN and
    infinities are refused with one error."""
    blank = core_schema.no_info_after_validator_function(
        lambda _: None, core_schema.str_schema(pattern=r"^\s*$")
    )
    number = core_schema.union_schema(
        [core_schema.decimal_schema(allow_inf_nan=False), blank],
        mode="left_to_right",
        custom_error_type="decimal",
        custom_error_message="expected a finite decimal number",
    )
    return core_schema.nullable_schema(number)


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


def _str_map_schema(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """A map that already is string -> string (the usual case) is checked natively; any
    other value goes through `_str_map` first."""
    strings = core_schema.dict_schema(core_schema.str_schema(), core_schema.str_schema())
    return core_schema.union_schema(
        [strings, core_schema.no_info_before_validator_function(_str_map, strings)],
        mode="left_to_right",
        custom_error_type="dict_type",
    )


OptDecimal = Annotated[Decimal | None, GetPydanticSchema(_decimal_schema)]
EpochSeconds = Annotated[datetime | None, BeforeValidator(_epoch)]
UtcDateTime = Annotated[datetime | None, BeforeValidator(_iso_utc)]
StrMap = Annotated[dict[str, str], GetPydanticSchema(_str_map_schema)]
