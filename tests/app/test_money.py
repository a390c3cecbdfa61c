"""Money as shown: two decimals and the currency; exception values by kind; store labels."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.app.money import money, store_label, value_text

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (D("639.650"), "GBP", "639.65 GBP"),  # the engine's 3-decimal values, shown in 2
        (D("157000"), "EUR", "157,000.00 EUR"),
        (D("-121.6"), "GBP", "-121.60 GBP"),
        (D("0.005"), "GBP", "0.01 GBP"),  # half up, as a till rounds
        (D("-0.005"), None, "-0.01"),
        (None, "GBP", "-"),
    ],
)
def test_money_has_two_decimals_and_its_currency(
    amount: Decimal | None, currency: str | None, text: str
) -> None:
    assert money(amount, currency) == text


@settings(max_examples=50)
@given(st.decimals(min_value=-(10**12), max_value=10**12, places=3))
def test_money_reads_back_as_the_amount_to_the_cent(amount: Decimal) -> None:
    shown = money(amount, "GBP")
    number = D(shown.removesuffix(" GBP").replace(",", ""))
    assert number.as_tuple().exponent == -2
    assert abs(number - amount) <= D("0.005")


def test_exception_values_show_money_with_currency_and_quantities_as_they_are() -> None:
    frame = pl.DataFrame(
        [
            # kind                 currency  pos_value
            ("missing_in_erp", "GBP", D("639.650")),
            ("stock_variance", None, D("5.000")),
            ("stock_variance", None, D("2.250")),
            ("unmapped_tax_code", None, D("12.500")),  # a VAT rate, not money
            ("missing_in_pos", "EUR", None),
        ],
        schema={"kind": pl.String, "currency": pl.String, "pos_value": pl.Decimal(18, 3)},
        orient="row",
    )
    got = frame.select(value_text("pos_value")).to_series().to_list()
    assert got == ["639.65 GBP", "5", "2.25", "12.50", None]


def test_store_label_names_a_store_sitoo_named_and_says_unattributed_for_none() -> None:
    names = {"1": "London Oxford St"}
    assert store_label("1", names) == "London Oxford St (1)"
    assert store_label("7", names) == "7"  # never named: the id
    assert store_label(None, names) == "Unattributed"
