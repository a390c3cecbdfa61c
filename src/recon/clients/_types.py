"""Field types shared by the vendor models: exact money, UTC instants, string maps.

Every value a vendor sends is checked here for range as well as type, so that what passes
fits the warehouse and the engine: money under 10^12 (the warehouse keeps NUMERIC(18,2), but
the engine adds a store-day's money into findings of Decimal(18,3): under 10^15, so one value
leaves room for a thousand), quantities within (18,3), VAT rates 0-100, instants and days
between 1970 and 2100, text without NUL characters.
A value outside is a validation error naming the field, so its record is quarantined and
the rest of its page lands. Only parsing of single wire values lives here; no I/O and no
knowledge of any endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetPydanticSchema,
)
from pydantic_core import PydanticCustomError, core_schema

__all__ = [
    "Amount",
    "Day",
    "EpochSeconds",
    "Id",
    "IntQuantity",
    "Money",
    "OptDecimal",
    "Quantity",
    "StrMap",
    "Text",
    "UtcDateTime",
    "VatRate",
    "VendorModel",
]

QUANTITY_LIMIT = Decimal(10) ** 15  # NUMERIC(18,3): 15 digits before the point
MONEY_LIMIT = Decimal(10) ** 12  # see above: sums of it must fit a finding's Decimal(18,3)
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2100, 1, 1)  # instants and days: [1970, 2100)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
ID_LIMIT = 2**63  # vendor integer ids: a signed 64-bit integer


class VendorModel(BaseModel):
    """Base of every vendor record: immutable, naming the fields recon reads. Other fields
    are dropped here (validating them costs a quarter of the time on a Sitoo order); the
    raw payload the collectors keep holds every field the vendor sent."""

    model_config = ConfigDict(extra="ignore", frozen=True)


@dataclass(frozen=True)
class _Bounds:
    lowest: Decimal
    highest: Decimal
    inclusive: bool


def _decimal(bounds: _Bounds | None) -> core_schema.CoreSchema:
    if bounds is None:
        return core_schema.decimal_schema(allow_inf_nan=False)
    if bounds.inclusive:
        return core_schema.decimal_schema(allow_inf_nan=False, ge=bounds.lowest, le=bounds.highest)
    return core_schema.decimal_schema(allow_inf_nan=False, gt=bounds.lowest, lt=bounds.highest)


def _number(what: str = "expected a finite decimal number", bounds: _Bounds | None = None) -> Any:
    """A decimal from a string or JSON number, never through float, within `bounds`; blank
    text is None. A boolean, text that is not a number, NaN, infinities and a value out of
    bounds are refused with one error, `what`."""
    blank = core_schema.no_info_after_validator_function(
        lambda _: None, core_schema.str_schema(pattern=r"^\s*$")
    )
    return core_schema.union_schema(
        [_decimal(bounds), blank],
        mode="left_to_right",
        custom_error_type="decimal",
        custom_error_message=what,
    )


def _decimal_schema(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """Any finite decimal (ratios such as exchange rates); see `_bounded`.

    Built from pydantic's own validators (no Python call per field: a page of orders holds
    tens of thousands of money fields)."""
    return core_schema.nullable_schema(_number())


def _bounded(
    lowest: Decimal, highest: Decimal, what: str, *, inclusive: bool = False, optional: bool = True
) -> Any:
    """A decimal within (lowest, highest) ([lowest, highest] when `inclusive`), parsed and
    checked by pydantic-core in one step, refused with one error, `what`. `optional`: null
    and blank text are None, else they are refused."""
    bounds = _Bounds(lowest, highest, inclusive)

    def schema(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        if not optional:
            return core_schema.custom_error_schema(
                _decimal(bounds),
                custom_error_type="decimal",
                custom_error_message=what,
            )
        return core_schema.nullable_schema(_number(what, bounds))

    return GetPydanticSchema(schema)


_EPOCH_MAX = int(LATEST.timestamp())


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
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError("expected epoch seconds, got a value that is not finite")
    if isinstance(value, int | Decimal):
        if not 0 <= value < _EPOCH_MAX:
            raise ValueError("epoch seconds outside 1970-2100")
        return datetime.fromtimestamp(int(value), tz=UTC)
    return value


def _instant_range(value: datetime | None) -> datetime | None:
    if value is not None and not EARLIEST <= value < LATEST:
        raise ValueError("instant outside 1970-2100")
    return value


def _day_range(value: date | None) -> date | None:
    if value is not None and not FIRST_DAY <= value < LAST_DAY:
        raise ValueError("day outside 1970-2100")
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
        try:
            return value.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset
            raise ValueError("instant outside 1970-2100") from None
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
    union = core_schema.union_schema(
        [strings, core_schema.no_info_before_validator_function(_str_map, strings)],
        mode="left_to_right",
        custom_error_type="dict_type",
    )
    return core_schema.no_info_after_validator_function(_no_nul, union)


def _no_nul(value: dict[str, str]) -> dict[str, str]:
    """A map whose keys and values PostgreSQL can keep (no NUL), else the key named."""
    for key, text in value.items():
        if "\x00" in key or "\x00" in text:
            raise PydanticCustomError(
                "text", "expected text without NUL characters (at {key})", {"key": repr(key)}
            )
    return value


OptDecimal = Annotated[Decimal | None, GetPydanticSchema(_decimal_schema)]
_MONEY_RANGE = "expected money: a decimal number under 10^12"
Money = Annotated[Decimal | None, _bounded(-MONEY_LIMIT, MONEY_LIMIT, _MONEY_RANGE)]
Amount = Annotated[Decimal, _bounded(-MONEY_LIMIT, MONEY_LIMIT, _MONEY_RANGE, optional=False)]
"""Money that must be there (null or blank refused)."""
Quantity = Annotated[
    Decimal | None,
    _bounded(-QUANTITY_LIMIT, QUANTITY_LIMIT, "expected a quantity: a decimal number under 10^15"),
]
VatRate = Annotated[
    Decimal | None,
    _bounded(
        Decimal(0), Decimal(100), "expected a VAT rate: a number from 0 to 100", inclusive=True
    ),
]
IntQuantity = Annotated[int, Field(gt=-QUANTITY_LIMIT, lt=QUANTITY_LIMIT)]
Id = Annotated[int, Field(ge=0, lt=ID_LIMIT)]


def _text_schema(source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """One check in pydantic-core: a string (a number is not text) without NUL."""
    return core_schema.custom_error_schema(
        core_schema.str_schema(pattern=r"^[^\x00]*$"),
        custom_error_type="text",
        custom_error_message="expected text without NUL characters",
    )


Text = Annotated[str, GetPydanticSchema(_text_schema)]
"""Text without NUL characters (PostgreSQL cannot store them)."""
EpochSeconds = Annotated[datetime | None, BeforeValidator(_epoch), AfterValidator(_instant_range)]
UtcDateTime = Annotated[datetime | None, BeforeValidator(_iso_utc), AfterValidator(_instant_range)]
Day = Annotated[date | None, AfterValidator(_day_range)]
"""A calendar day between 1970 and 2100; vendor modules put their own parser before it."""
StrMap = Annotated[dict[str, str], GetPydanticSchema(_str_map_schema)]
