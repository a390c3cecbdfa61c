"""Wire value types: money and string maps parsed by pydantic itself, as the old validators did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from recon.clients._types import (
    Amount,
    Day,
    EpochSeconds,
    Id,
    IntQuantity,
    Money,
    OptDecimal,
    Quantity,
    StrMap,
    Text,
    UtcDateTime,
    VatRate,
)

MONEY: TypeAdapter[Decimal | None] = TypeAdapter(OptDecimal)
STRINGS: TypeAdapter[dict[str, str]] = TypeAdapter(StrMap)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("12.50", Decimal("12.50")),  # trailing zero kept
        (" -0.001 ", Decimal("-0.001")),
        (7, Decimal(7)),
        (Decimal("1.10"), Decimal("1.10")),
        ("", None),  # blank means absent
        ("  ", None),
        (None, None),
    ],
)
def test_money_parses_exactly(wire: Any, expected: Decimal | None) -> None:
    got = MONEY.validate_python(wire)
    assert got == expected and str(got) == str(expected)


@pytest.mark.parametrize("wire", ["abc", "NaN", "Infinity", True, [1], Decimal("NaN")])
def test_money_refuses_what_is_not_a_finite_number(wire: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        MONEY.validate_python(wire)
    assert [e["msg"] for e in caught.value.errors()] == ["expected a finite decimal number"]


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ({"a": "b"}, {"a": "b"}),
        ([], {}),  # PHP's empty array
        (None, {}),
        ({"a": None, "b": 1, 2: "x"}, {"b": "1", "2": "x"}),  # null dropped, rest as text
    ],
)
def test_string_maps(wire: Any, expected: dict[str, str]) -> None:
    assert STRINGS.validate_python(wire) == expected


def test_a_string_map_that_is_not_a_map_is_one_error() -> None:
    with pytest.raises(ValidationError) as caught:
        STRINGS.validate_python("abc")
    assert [e["type"] for e in caught.value.errors()] == ["dict_type"]


# One table for the ranged types every vendor model uses: wire value -> parsed, or refused
# with one error.
@dataclass(frozen=True)
class Refused:
    message: str


NOT_MONEY = Refused("expected money: a decimal number under 10^12")
NOT_QUANTITY = Refused("expected a quantity: a decimal number under 10^15")
NOT_VAT = Refused("expected a VAT rate: a number from 0 to 100")
EPOCH_OUT = Refused("Value error, epoch seconds outside 1970-2100")
RANGED: list[tuple[Any, Any, Any]] = [
    #  type          wire                          expected
    (Money,        "999999999999.99",              Decimal("999999999999.99")),
    (Money,        "-999999999999.99",             Decimal("-999999999999.99")),
    (Money,        "1000000000000",                NOT_MONEY),
    (Money,        "99999999999999999999.99",      NOT_MONEY),
    (Money,        Decimal("1E+400"),              NOT_MONEY),
    (Money,        "abc",                          NOT_MONEY),
    (Money,        "",                             None),
    (Amount,       "",                             NOT_MONEY),
    (Amount,       None,                           NOT_MONEY),
    (Quantity,     "-1.000",                       Decimal("-1.000")),  # a refund line
    (Quantity,     "1e30",                         NOT_QUANTITY),
    (IntQuantity,  -(10**30),                      Refused("Input should be greater than -1000000000000000")),  # noqa: E501
    (VatRate,      "0",                            Decimal(0)),
    (VatRate,      100,                            Decimal(100)),
    (VatRate,      1000,                           NOT_VAT),
    (VatRate,      "-5",                           NOT_VAT),
    (Text,         "TEE-BLK-M",                    "TEE-BLK-M"),
    (Text,         "TEE\x00M",                     Refused("expected text without NUL characters")),
    (EpochSeconds, 0,                              datetime(1970, 1, 1, tzinfo=UTC)),
    (EpochSeconds, 1717229850,                     datetime(2024, 6, 1, 8, 17, 30, tzinfo=UTC)),
    (EpochSeconds, Decimal("1E+20"),               EPOCH_OUT),
    (EpochSeconds, -1,                             EPOCH_OUT),
    (UtcDateTime,  "2024-06-01T09:15:00",          datetime(2024, 6, 1, 9, 15, tzinfo=UTC)),
    (UtcDateTime,  "9999-12-31T00:00:00",          Refused("Value error, instant outside 1970-2100")),  # noqa: E501
    (Day,          date(2100, 1, 1),               Refused("Value error, day outside 1970-2100")),
    (Id,           2**63,                          Refused("Input should be less than 9223372036854775808")),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("kind", "wire", "expected"), RANGED)
def test_ranged_types(kind: Any, wire: Any, expected: Any) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    if isinstance(expected, Refused):
        with pytest.raises(ValidationError) as caught:
            adapter.validate_python(wire)
        assert [e["msg"] for e in caught.value.errors()] == [expected.message]
    else:
        assert adapter.validate_python(wire) == expected
