"""The simulators' JSON: Decimals as exact numbers, everything else as the json module writes it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from recon.simulators._wire import dumps


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": Decimal("12.50"), "b": [Decimal("-0.001"), 1]}, '{"a":12.50,"b":[-0.001,1]}'),
        (Decimal("1E+2"), "100"),  # never exponent notation
        ({"t": "Åsa", 2: None}, '{"t":"\\u00c5sa","2":null}'),
        ((None, True, 1.5, "x"), '[null,true,1.5,"x"]'),
    ],
)
def test_dumps(value: Any, expected: str) -> None:
    assert dumps(value) == expected
