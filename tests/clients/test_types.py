"""Wire value types: money and string maps parsed by pydantic itself, as the old validators did."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from clients._types import OptDecimal, StrMap

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
