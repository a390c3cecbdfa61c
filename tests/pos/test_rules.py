"""The Sitoo posting rules (`recon.pos.rules`): an order's state, whether it may post, whether
it is a refund; and the raw-record rules the sync uses for an order that did not validate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.clients.sitoo import SitooOrder
from recon.pos.rules import is_postable, is_refund, looks_like_refund, may_post, order_state


def raw_order(
    state: int | None,
    paid: int | None,
    kind: int | None = None,
    credit: int | None = None,
    original: str | None = None,
    gross: str = "24.00",
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "orderid": 5001,
        "orderstateid": state,
        "paymentstateid": paid,
        "ordertypeid": kind,
        "creditorderid": credit,
        "moneytotal_gross_all": gross,
        "additionaldata": {} if original is None else {"pos-originalsales-orderid": original},
    }
    return raw


CASES = [
    # state paid kind  credit original gross     -> state        postable refund
    ((10,  20,  None, None,  None,    "24.00"),  ("completed", True,    False)),
    ((10,  10,  None, None,  None,    "24.00"),  ("completed", False,   False)),  # unpaid
    ((None, 20, None, None,  None,    "24.00"),  ("open",      False,   False)),
    ((20,  20,  None, None,  None,    "24.00"),  ("cancelled", False,   False)),
    ((-1,  20,  None, None,  None,    "24.00"),  ("cancelled", False,   False)),
    ((10,  20,  100,  None,  None,    "24.00"),  ("open",      False,   False)),  # booking
    ((10,  20,  110,  None,  None,    "24.00"),  ("open",      False,   False)),  # parked
    ((10,  20,  None, 4999,  None,    "-24.00"), ("completed", True,    True)),
    ((10,  20,  None, None,  "4999",  "0.00"),   ("completed", True,    True)),
    ((10,  20,  None, None,  None,    "-1.00"),  ("completed", True,    True)),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "expected"), CASES)
def test_state_postability_and_refund_of_an_order(
    fields: tuple[Any, ...], expected: tuple[str, bool, bool]
) -> None:
    order = SitooOrder.model_validate(raw_order(*fields))
    assert (order_state(order), is_postable(order), is_refund(order)) == expected


@settings(max_examples=200, deadline=None)
@given(
    state=st.sampled_from([None, 0, 10, 20, -1]),
    paid=st.sampled_from([None, 10, 20]),
    kind=st.sampled_from([None, 10, 100, 110]),
    credit=st.none() | st.integers(1, 10**6),
    original=st.sampled_from([None, "", "4999"]),
    gross=st.integers(-(10**6), 10**6).map(lambda c: str(Decimal(c).scaleb(-2)))
    | st.sampled_from(["-0.00", "0", "-0"]),
)
def test_the_raw_rules_agree_with_the_typed_ones_on_an_order_that_validates(
    state: int | None,
    paid: int | None,
    kind: int | None,
    credit: int | None,
    original: str | None,
    gross: str,
) -> None:
    raw = raw_order(state, paid, kind, credit, original, gross)
    order = SitooOrder.model_validate(raw)
    # what may post is never refused by the raw rule, and the raw rule names a refund alike
    assert may_post(raw) or not is_postable(order)
    assert looks_like_refund(raw) == is_refund(order)
