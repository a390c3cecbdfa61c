"""The customer an order posts to: the one ERP customer with its e-mail, else the guest."""

from __future__ import annotations

from clients.sitoo import SitooOrder
from sync.customers import Customers

ERP = {  # e-mail as the ERP finds it -> active customer ids with it
    "ann@example.com": ["C-ANN"],
    "bob@example.com": ["C-BOB2", "C-BOB1"],
}


def test_each_order_gets_its_customer_and_each_email_is_asked_once() -> None:
    asked: list[str] = []

    def find(email: str) -> list[str]:
        asked.append(email)
        return ERP.get(email, [])

    customers = Customers(find, lambda: "GUEST")
    #   order e-mail            customer
    table = [
        ("ann@example.com", "C-ANN"),
        (" ann@example.com", "C-ANN"),  # the same, asked once
        ("bob@example.com", "GUEST"),  # two customers: a guess, so the guest
        ("nobody@example.com", "GUEST"),  # none
        (None, "GUEST"),  # anonymous
        ("", "GUEST"),
        ("not an address", "GUEST"),
        ('x"@example.com', "GUEST"),  # would break the ERP query: not asked
    ]
    got = [
        (email, customers.for_order(SitooOrder.model_validate({"orderid": 1, "email": email})))
        for email, _ in table
    ]
    assert got == table
    assert asked == ["ann@example.com", "bob@example.com", "nobody@example.com"]
