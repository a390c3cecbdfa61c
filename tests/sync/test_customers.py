"""The customer an order posts to: the one ERP customer with its e-mail, else the guest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from recon.clients.sitoo import SitooOrder
from recon.simulators.sage200 import TT_CREDIT_NOTE, TT_PAYMENT, TT_RECEIPT
from recon.sync.customers import Customers
from tests.sync.world import at, order, served

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


def test_sage200_posts_each_sale_to_its_emails_customer_and_the_refund_follows(
    tmp_path: Path,
) -> None:
    with served([], f"sqlite:///{tmp_path}/w.db", tmp_path) as w:
        w.sage.add_customer(2001, "ANN", "Ann", email="ann@example.com")
        w.sage.add_customer(2002, "BOB1", "Bob", email="bob@example.com")
        w.sage.add_customer(2003, "BOB2", "Bob", email="bob@example.com")
        w.sage.add_customer(2004, "CAT", "Cat", email="cat@example.com")
        w.sage.add_customer(2005, "CATOLD", "Cat", email="cat@example.com", active=False)
        w.sage.add_customer(2006, "DAN", "Dan", email="dan@example.com", active=False)
        guest = 1042
        #   the sale's e-mail      customer of sale, receipt, credit note, refund payment
        table = [
            ("ann@example.com", 2001),
            ("bob@example.com", guest),  # two customers: a guess, so the guest
            ("cat@example.com", 2004),  # the hidden one does not count
            ("dan@example.com", guest),  # only a hidden customer
            ("nobody@example.com", guest),
            ("", guest),
        ]
        day = date(2026, 3, 12)
        with w.sage_client() as sage:
            poster = w.poster(sage)
            for n, (email, _) in enumerate(table):
                sale = order(7001 + 2 * n, 1, at(day, 10), [("TEE", 1)])
                sale["email"] = email  # the refund carries none: it follows its sale
                refund = order(7002 + 2 * n, 1, at(day, 11), [("TEE", -1)], refund_of=7001 + 2 * n)
                poster.post_sale(SitooOrder.model_validate(sale), day, "WH-LON")
                poster.post_refund(SitooOrder.model_validate(refund), day, "WH-LON")

        sop = {o["customer_document_no"]: o["customer_id"] for o in w.sage.sop_orders}
        ledger = {(t["reference"], t["trader_transaction_type"]): t for t in w.sage.sales_posted}

        def customers(sale: str, refund: str) -> tuple[int, ...]:
            kinds = [(sale, TT_RECEIPT), (refund, TT_CREDIT_NOTE), (refund, TT_PAYMENT)]
            return (sop[sale], *(ledger[k]["customer_id"] for k in kinds))

        got = [
            (email, customers(str(7001 + 2 * n), str(7002 + 2 * n)))
            for n, (email, _) in enumerate(table)
        ]
        assert got == [(email, (c, c, c, c)) for email, c in table]


def test_sage200_refund_of_a_sale_posted_in_an_earlier_run_looks_up_its_customer(
    tmp_path: Path,
) -> None:
    with served([], f"sqlite:///{tmp_path}/w.db", tmp_path) as w:
        w.sage.add_customer(2001, "ANN", "Ann", email="ann@example.com")
        day = date(2026, 3, 12)
        sale = order(7001, 1, at(day, 10), [("TEE", 1)])
        sale["email"] = "ann@example.com"
        refund = order(7002, 1, at(day, 11), [("TEE", -1)], refund_of=7001)
        with w.sage_client() as sage:
            w.poster(sage).post_sale(SitooOrder.model_validate(sale), day, "WH-LON")
        with w.sage_client() as sage:  # a later run: this poster never saw the sale
            w.poster(sage).post_refund(SitooOrder.model_validate(refund), day, "WH-LON")
    ledger = {(t["reference"], t["trader_transaction_type"]): t for t in w.sage.sales_posted}
    refund_customers = [
        ledger[("7002", kind)]["customer_id"] for kind in (TT_CREDIT_NOTE, TT_PAYMENT)
    ]
    assert refund_customers == [2001, 2001]
