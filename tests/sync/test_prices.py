"""The price push against both simulators, served over HTTP: what lands in Sitoo, what is
not re-sent, what is refused, and what is left alone (with its reason).

The world: Sage 200 holds net Standard prices; Sitoo holds gross `moneyprice`s, some equal
to the Sage price converted to gross, some not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recon.clients import SitooClient
from recon.config import load_settings
from recon.config.mappings import Mappings
from recon.erp.sage200.client import Sage200Client
from recon.erp.sage200.readers import sage200_prices
from recon.simulators import sage200, sitoo
from recon.simulators.serve import serve_in_thread, serve_scenario
from recon.sync.prices import PricePlan, gross_price, push_prices
from recon.warehouse.runs import RunLog

D = Decimal
TAX = {2101: D("20.00"), 2105: D("5.00"), 2100: D("0.00")}  # Sage tax code id -> rate

#  sku         Sage net  tax id  Sitoo id  Sitoo gross   gross from Sage
SAGE = [
    ("TEE",    "20.83",  2101,   501,      "25.00"),   # 25.00: unchanged
    ("MUG",    "10.00",  2101,   502,      "8.00"),    # 12.00: changed
    ("BOOK",   "7.50",   2100,   503,      "7.00"),    # 7.50 at 0 %: changed
    ("BULB",   "0.10",   2105,   504,      "0.10"),    # 0.105 -> 0.11 (half up): changed
    ("LAMP",   "40.00",  2105,   505,      "42.00"),   # 42.00: unchanged
    ("GHOST",  "5.00",   2101,   None,     None),      # Sitoo has no such product
    ("ODD",    "5.00",   9999,   506,      "6.00"),    # Sage tax code unknown
]  # fmt: skip
SITOO_ONLY = ("WEB-ONLY", 507, "9.99")  # no Sage product: left alone


class Recorder:
    """ASGI wrapper keeping every PUT body the Sitoo simulator receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.puts: list[list[dict[str, Any]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        self.puts.append(json.loads(body))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def sitoo_world() -> sitoo.SitooState:
    state = sitoo.SitooState()
    for sku, _, tax_id, productid, gross in SAGE:
        if productid is not None and gross is not None:
            state.add_product(productid, sku, sku, D(gross), TAX.get(tax_id, D(20)))
    sku, productid, gross = SITOO_ONLY
    state.add_product(productid, sku, sku, D(gross), D(20))
    return state


def sage_world() -> sage200.Sage200State:
    state = sage200.Sage200State()
    state.add_site(sage200.Sage200Credentials().site_id, 3)
    for tax_id, rate in TAX.items():
        state.add_tax_code(tax_id, int(rate), f"{rate} %", rate)
    for n, (sku, net, tax_id, _, _) in enumerate(SAGE):
        state.add_product(77001 + n, sku, sku, tax_id, D(net))
    return state


@dataclass
class World:
    sitoo: sitoo.SitooState
    env: dict[str, str]
    puts: list[list[dict[str, Any]]]  # every PUT body Sitoo received

    def push(self) -> tuple[PricePlan, RunLog]:
        settings = load_settings(_env_file=None, **{k.lower(): v for k, v in self.env.items()})
        run = RunLog(0, "price_push")
        with (
            SitooClient.from_settings(settings, max_attempts=1) as sitoo_client,
            Sage200Client.from_settings(settings, max_attempts=1) as sage_client,
        ):
            plan = push_prices(sage200_prices(sage_client, Mappings(), run), sitoo_client, run)
        return plan, run

    def prices(self) -> dict[str, str]:
        return {p["sku"]: p["moneyprice"] for p in self.sitoo.products}


@contextmanager
def world() -> Iterator[World]:
    state = sitoo_world()
    sitoo_creds, sage_creds = sitoo.SitooCredentials(), sage200.Sage200Credentials()
    recorder = Recorder(sitoo.create_app(state, sitoo_creds))
    with ExitStack() as stack:
        sitoo_root = stack.enter_context(serve_in_thread(recorder))
        sage_root = stack.enter_context(
            serve_in_thread(sage200.create_app(sage_world(), sage_creds))
        )
        env = sitoo_creds.env(sitoo_root) | sage_creds.env(sage_root + sage200.BASE_PATH)
        yield World(state, env, recorder.puts)


@pytest.mark.parametrize(
    ("net", "rate", "gross"),
    [
        ("20.83", "20", "25.00"),  # 24.996
        ("10.00", "20", "12.00"),
        ("0.10", "5", "0.11"),  # 0.105: half up, not to even
        ("0.30", "5", "0.32"),  # 0.315
        ("7.50", "0", "7.50"),
        ("3.20", "12.5", "3.60"),
    ],
)
def test_gross_price_is_net_plus_vat_half_up_to_the_cent(net: str, rate: str, gross: str) -> None:
    assert gross_price(D(net), D(rate)) == D(gross)


def test_changed_prices_arrive_in_one_batch_and_nothing_else_is_touched() -> None:
    with world() as w:
        before = {p["sku"]: p["datemodified"] for p in w.sitoo.products}
        plan, run = w.push()

        assert w.puts == [
            [
                {"productid": 503, "moneyprice": "7.50"},  # BOOK, in SKU order
                {"productid": 504, "moneyprice": "0.11"},  # BULB
                {"productid": 502, "moneyprice": "12.00"},  # MUG
            ]
        ]
        assert w.prices() == {
            "TEE": "25.00",
            "MUG": "12.00",
            "BOOK": "7.50",
            "BULB": "0.11",
            "LAMP": "42.00",
            "ODD": "6.00",
            "WEB-ONLY": "9.99",
        }
        untouched = {p["sku"] for p in w.sitoo.products if p["datemodified"] == before[p["sku"]]}
        assert untouched == {"TEE", "LAMP", "ODD", "WEB-ONLY"}
        assert [(c.sku, c.pos_price, c.erp_price) for c in plan.changes] == [
            ("BOOK", D("7.00"), D("7.50")),
            ("BULB", D("0.10"), D("0.11")),
            ("MUG", D("8.00"), D("12.00")),
        ]
        assert run.problems == []
        assert dict(run.counts) == {"prices_pushed": 3, "prices_unchanged": 2, "prices_skipped": 2}


def test_skus_unknown_to_sitoo_or_without_a_gross_price_are_reported_not_pushed() -> None:
    with world() as w:
        plan, _ = w.push()
    assert plan.skipped == [
        "sku ODD: Sage tax code 9999 unknown or without a rate, so its gross price is unknown;"
        " not pushed",
        "sku GHOST: Sitoo has no product with this SKU; not pushed",
    ]


def test_a_second_push_sends_nothing() -> None:
    with world() as w:
        w.push()
        plan, run = w.push()
        assert len(w.puts) == 1
    assert plan.changes == []
    assert (run.counts["prices_unchanged"], run.counts["prices_pushed"]) == (5, 0)
    assert run.problems == []


def test_a_price_sitoo_refuses_is_a_problem_the_others_land_and_it_is_sent_again() -> None:
    with world() as w:
        w.sitoo.refuse_writes["MUG"] = 400
        _, run = w.push()

        assert w.prices()["MUG"] == "8.00"
        assert (w.prices()["BOOK"], w.prices()["BULB"]) == ("7.50", "0.11")
        assert run.problems == [
            "sku MUG (Sitoo product 502): Sitoo refused the price 12.00 (status 400)"
        ]
        assert (run.counts["prices_pushed"], run.counts["prices_failed"]) == (2, 1)

        del w.sitoo.refuse_writes["MUG"]
        plan, again = w.push()
        assert [c.sku for c in plan.changes] == ["MUG"]
        assert w.puts[-1] == [{"productid": 502, "moneyprice": "12.00"}]
        assert (w.prices()["MUG"], again.problems) == ("12.00", [])


def test_a_single_refused_price_is_reported_from_the_error_response() -> None:
    with world() as w:
        w.push()
        mug = next(p for p in w.sitoo.products if p["sku"] == "MUG")
        mug["moneyprice"] = "11.00"  # changed in the POS: the ERP price must win again
        w.sitoo.refuse_writes["MUG"] = 400
        _, run = w.push()

    assert len(run.problems) == 1
    assert run.problems[0].startswith("sitoo refused the price update of MUG: ")
    assert "(400)" in run.problems[0]
    assert (run.counts["prices_failed"], run.counts["prices_pushed"]) == (1, 0)


def test_on_the_small_scenario_only_the_planted_price_rise_is_pushed() -> None:
    with ExitStack() as stack:
        served = serve_scenario(stack, "small", 1, end_day=date(2026, 3, 14))
        planted = [t for t in served.truth if t["kind"] == "price_mismatch"]
        w = World(served.scenario.sitoo, served.env, [])
        plan, run = w.push()
        prices = w.prices()

    assert [(c.sku, str(c.pos_price), str(c.erp_price)) for c in plan.changes] == [
        (t["sku"], t["pos_value"], t["erp_value"]) for t in planted
    ]
    assert len(planted) == 1 and prices[str(planted[0]["sku"])] == planted[0]["erp_value"]
    assert (run.problems, plan.skipped) == ([], [])
