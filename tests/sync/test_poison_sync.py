"""Sync with one poison Sitoo order in a batch: it is held (`held_bad_data`, the reason in
sync_posts, one problem line), the others post, and nothing raises.

Sitoo answers verbatim texts of the documented sale (sitoo.md section 6) set to this
world's master data (store 1's warehouse 101, SKU TEE at 24.00 gross); the ERP is the Sage
200 simulator of `world.py`.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from starlette.types import ASGIApp, Receive, Scope, Send

from recon.cli.main import main
from recon.clients import SitooClient
from recon.config.mappings import parse_mappings
from recon.erp.registry import PLUGINS
from recon.erp.sage200.client import Sage200Client
from recon.erp.sage200.poster import Sage200Poster
from recon.simulators import sage200
from recon.simulators.faults import Faults
from recon.simulators.serve import serve_in_thread
from recon.sync.run import run_sync
from recon.warehouse.db import open_warehouse
from recon.warehouse.mappings import import_mappings
from recon.warehouse.models import SyncPost
from recon.warehouse.runs import RunLog, record_run
from tests.clients.payloads import sitoo_order
from tests.sync.world import mappings_toml, sage_state

DEEP = "[" * 300 + "]" * 300


def sale(orderid: int, **changes: Any) -> dict[str, Any]:
    """The documented sale (one Tee, paid by Card) in store 1 of this world."""
    order = sitoo_order(orderid, warehouseid=101, moneyfinal_net="20.00", moneyfinal_vat="4.00",
                        moneytotal_gross_all="24.00")  # fmt: skip
    net = {"moneyitemtotal_net": "20.00", "moneynetpriceperunit": "20.00"}
    order["orderitems"][0] |= {"sku": "TEE", "moneyitemtotal_vat": "4.00", **net}
    order["payments"][0]["moneyamount"] = "24.00"
    return order | changes


def text(orderid: int, **changes: Any) -> str:
    return json.dumps(sale(orderid, **changes))


def item(**changes: Any) -> list[dict[str, Any]]:
    return [sale(0)["orderitems"][0] | changes]


class Sitoo:
    """Sitoo's orders list and single-order reads over the record texts in `orders`."""

    def __init__(self, orders: dict[int, str]) -> None:
        self.orders = orders

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "PUT":  # stock levels: each one taken
            taken = [{"statuscode": 200, "return": True} for _ in json.loads(request.content)]
            body = json.dumps(taken)
        elif path.endswith("/warehouseitems.json"):
            body = '{"totalcount": 0, "items": []}'
        elif path.endswith("/warehouses.json"):
            body = '{"totalcount": 2, "items": [' \
                   '{"warehouseid": 101, "storeid": 1, "warehousetype": 20}, ' \
                   '{"warehouseid": 102, "storeid": 2, "warehousetype": 20}]}'  # fmt: skip
        elif path.endswith("/orders.json"):
            first = int(request.url.params.get("orderidfrom", "0"))
            start = int(request.url.params.get("start", "0"))
            texts = [t for oid, t in sorted(self.orders.items()) if oid >= first][start:]
            body = f'{{"totalcount": {len(texts) + start}, "items": [{", ".join(texts)}]}}'
        else:  # /sites/1/orders/{id}.json
            body = self.orders[int(path.rsplit("/", 1)[-1].removesuffix(".json"))]
        return httpx.Response(
            200, content=body.encode("utf-8", "surrogatepass"),
            headers={"content-type": "application/json"},
        )  # fmt: skip


@contextmanager
def erp(engine: Engine, mode: str = "per_order") -> Iterator[Sage200Poster]:
    creds = sage200.Sage200Credentials()
    mappings = parse_mappings(tomllib.loads(mappings_toml(mode)))
    import_mappings(engine, mappings)
    with serve_in_thread(sage200.create_app(sage_state(), creds, Faults())) as root:
        env = creds.env(root + sage200.BASE_PATH)
        client = Sage200Client(
            env["SAGE200_BASE_URL"], env["SAGE200_TOKEN"], env["SAGE200_SUBSCRIPTION_KEY"],
            env["SAGE200_SITE_ID"], env["SAGE200_COMPANY_ID"], min_wait=0.01, max_wait=0.05,
        )  # fmt: skip
        with client:
            yield Sage200Poster(client, mappings, wait=0.01)


def sync(engine: Engine, poster: Sage200Poster, sitoo: Sitoo, mode: str = "per_order") -> RunLog:
    client = SitooClient("https://sitoo.test", 90210, 1, "90210-7", "pw",
                         transport=httpx.MockTransport(sitoo))  # fmt: skip
    mappings = parse_mappings(tomllib.loads(mappings_toml(mode)))
    with client, record_run(engine, "sync") as run:
        run_sync(
            engine,
            client,
            poster,
            mappings,
            "Europe/London",
            run,
            abilities=PLUGINS["sage200"].abilities,
        )
    return run


def posts(engine: Engine) -> dict[str, tuple[str, str | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(SyncPost.post_key, SyncPost.status, SyncPost.reason, SyncPost.message)
        ).all()
    return {key: (status, reason, message) for key, status, reason, message in rows}


# The middle order 5002 -> the start of its hold message (None: it posts).
CASES: list[tuple[str, str, str | None]] = [
    ("orderdate",   text(5002).replace("1717229850", "1e20"),                 "orderdate: Value error, epoch seconds outside 1970-2100"),  # noqa: E501
    ("rowdiscount", text(5002, orderitems=item(additionaldata={"orderitem-moneyrowdiscount": "abc"})), "orderitems[0].additionaldata.orderitem-moneyrowdiscount: expected money: a decimal number"),  # noqa: E501
    ("nul_sku",     text(5002, orderitems=item(sku="TEE\x00")),                "orderitems[0].sku: expected text without NUL characters"),  # noqa: E501
    ("money_20",    text(5002, moneytotal_gross_all="99999999999999999999.99"), "moneytotal_gross_all: expected money: a decimal number under 10^12"),  # noqa: E501
    ("money_1e400", text(5002).replace('"moneyamount": "24.00"', '"moneyamount": 1e400'), "payments[0].moneyamount: expected money: a decimal number under 10^12"),  # noqa: E501
    ("qty_1e30",    text(5002, orderitems=item(quantity=10**30)),              "orderitems[0].quantity: Input should be less than"),  # noqa: E501
    ("vat_1000",    text(5002, orderitems=item(vatvalue=1000)),                 "orderitems[0].vatvalue: expected a VAT rate: a number from 0 to 100"),  # noqa: E501
    ("nesting",     text(5002).replace('"LON1"', f'{{"a": {DEEP}}}', 1),       "additionaldata: nested deeper than the JSON parser's 200 levels"),  # noqa: E501
    ("surrogate",   text(5002).replace('"TEE"', '"TEE\\ud800"'),               "orderitems: does not parse as JSON"),  # noqa: E501
    # valid to the model, but its unit price (gross / quantity) is past any decimal context
    ("tiny_qty",    text(5002, orderitems=item(decimalquantitytotal="1e-30")), "cannot be posted (InvalidOperation: a value past exact arithmetic)"),  # noqa: E501
    ("timezone",    text(5002, additionaldata={"pos-timezone": "Mars/Olympus_Mons"}), None),
]  # fmt: skip


@pytest.mark.parametrize(("middle", "held"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_poison_order_is_held_and_the_others_post(
    warehouse: Engine, middle: str, held: str | None
) -> None:
    sitoo = Sitoo({5001: text(5001), 5002: middle, 5003: text(5003)})
    with erp(warehouse) as poster:
        run = sync(warehouse, poster, sitoo)
    got = posts(warehouse)
    assert got["sale:5001"][0] == got["sale:5003"][0] == "posted"
    if held is None:
        assert got["sale:5002"][0] == "posted"
        assert run.problems == []
        return
    status, reason, message = got["sale:5002"]
    assert (status, reason) == ("held", "held_bad_data")
    assert message is not None and message.startswith(held), message
    said = "" if held.startswith("cannot be posted") else "held, its Sitoo data does not validate: "
    assert run.problems == [f"order 5002: {said}{message}"]


def test_a_held_bad_order_stays_held_until_sitoo_has_it_right_then_posts(
    warehouse: Engine,
) -> None:
    sitoo = Sitoo({5001: text(5001, orderitems=item(vatvalue=1000))})
    with erp(warehouse) as poster:
        sync(warehouse, poster, sitoo)
        again = sync(warehouse, poster, sitoo)  # the retry reads it by id: still bad
        assert posts(warehouse)["sale:5001"][:2] == ("held", "held_bad_data")
        assert len(again.problems) == 1
        sitoo.orders[5001] = text(5001)
        fixed = sync(warehouse, poster, sitoo)
    assert posts(warehouse)["sale:5001"][0] == "posted"
    assert fixed.problems == []


def test_a_bad_order_that_is_not_a_sale_is_not_held(warehouse: Engine) -> None:
    cancelled = text(5001, orderstateid=20, moneytotal_gross_all="abc")
    with erp(warehouse) as poster:
        run = sync(warehouse, poster, Sitoo({5001: cancelled}))
    assert "sale:5001" not in posts(warehouse)
    assert run.counts["not_eligible"] == 1 and run.problems == []


def test_daily_journal_mode_holds_the_bad_order_and_journals_the_rest(warehouse: Engine) -> None:
    sitoo = Sitoo({
        5001: text(5001),
        5002: text(5002, orderitems=item(vatvalue=1000)),
        5003: text(5003, additionaldata={"pos-timezone": "Mars/Olympus_Mons"}),
    })  # fmt: skip
    with erp(warehouse, "daily_journal") as poster:
        run = sync(warehouse, poster, sitoo, "daily_journal")
    got = posts(warehouse)
    assert got["sale:5002"][:2] == ("held", "held_bad_data")
    assert got["sale:5001"][0] == got["sale:5003"][0] == "journaled"
    assert got["journal:1-2024-06-01:Card"][0] == "posted"
    assert run.problems == [
        "order 5002: held, its Sitoo data does not validate: orderitems[0].vatvalue: expected a"
        " VAT rate: a number from 0 to 100 (got 1000)"
    ]


def asgi(handler: Sitoo) -> ASGIApp:
    """`handler` served over real HTTP (the command line builds its own clients)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        url = f"http://sitoo{scope['path']}?{scope['query_string'].decode()}"
        answer = handler(httpx.Request(scope["method"], url, content=body))
        headers = [(b"content-type", b"application/json")]
        await send(
            {"type": "http.response.start", "status": answer.status_code, "headers": headers}
        )
        await send({"type": "http.response.body", "body": answer.content})

    return app


def test_recon_sync_exits_1_with_one_line_per_held_bad_order(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    engine = open_warehouse(url).engine
    sitoo = Sitoo({
        5001: text(5001),
        5002: text(5002).replace("1717229850", "1e20"),
        5003: text(5003, orderitems=item(vatvalue=1000)),
        5004: text(5004),
    })  # fmt: skip
    for name in ("RECON_MAPPINGS", "RECON_ERP", "RECON_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    creds = sage200.Sage200Credentials()
    import_mappings(engine, parse_mappings(tomllib.loads(mappings_toml())))
    with (
        serve_in_thread(asgi(sitoo)) as root,
        serve_in_thread(sage200.create_app(sage_state(), creds, Faults())) as sage_root,
    ):
        env = creds.env(sage_root + sage200.BASE_PATH)
        env |= {"SITOO_BASE_URL": root, "SITOO_ACCOUNT_ID": "90210", "SITOO_SITE_ID": "1",
                "SITOO_API_ID": "90210-7", "SITOO_API_PASSWORD": "pw",
                "RECON_WAREHOUSE_URL": url, "RECON_DATA_DIR": str(tmp_path)}  # fmt: skip
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code = main(["sync"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        "  order 5002: held, its Sitoo data does not validate: orderdate: Value error, epoch"
        " seconds outside 1970-2100 (got 1E+20)",
        "  order 5003: held, its Sitoo data does not validate: orderitems[0].vatvalue: expected"
        " a VAT rate: a number from 0 to 100 (got 1000)",
    ]
    assert out.startswith("sync: ") and "held=2" in out and "posted=" in out
    engine.dispose()
