"""The stock push against both simulators, served over HTTP: what lands in Sitoo, what is
not re-sent, what is refused and what is skipped (with its reason).

The world: Sage warehouses WH-LON, WH-MAN, WH-AMS and WH-CENTRAL; POS stores 1, 2, 3
mapped to the first three; store 3's only Sitoo warehouse is FIFO (it takes warehouse
transactions, not levels); WH-CENTRAL is unmapped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recon.config import ConfigError, Settings, load_settings
from recon.config.mappings import MapSettings, parse_mappings
from recon.jobs import stock_push_job
from recon.simulators import sage200, sitoo
from recon.simulators.serve import serve_in_thread
from recon.warehouse.db import open_warehouse
from recon.warehouse.mappings import import_mappings
from recon.warehouse.models import Run

SEEDED = 1_700_000_000  # datelastmodified of every seeded Sitoo item

# Sage holdings: (warehouse, sku, in stock, allocated) -> available = in stock - allocated
HOLDINGS = [
    ("WH-LON", "TEE-BLK-M", "10", "3"),  # 7, Sitoo already holds 7
    ("WH-LON", "MUG", "5", "0"),  # 5, Sitoo holds 1
    ("WH-LON", "GHOST", "4", "0"),  # 4, a SKU Sitoo has no product for
    ("WH-MAN", "TEE-BLK-M", "2", "0"),  # 2, Sitoo holds nothing yet
    ("WH-MAN", "MUG", "1", "3"),  # -2 (over-allocated), Sitoo holds 4
    ("WH-AMS", "TEE-BLK-M", "9", "0"),  # 9, FIFO warehouse: moved in by a transaction
    ("WH-CENTRAL", "TEE-BLK-M", "500", "0"),  # no store: skipped
]
SITOO_STOCK = [(101, "TEE-BLK-M", "7"), (101, "MUG", "1"), (102, "MUG", "4")]


class Recorder:
    """ASGI wrapper keeping every PUT body the Sitoo simulator receives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.puts: list[tuple[str, list[dict[str, Any]]]] = []

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
        self.puts.append((scope["path"].split("/")[-2], json.loads(body)))
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
    for storeid, name in [(1, "London"), (2, "Manchester"), (3, "Amsterdam")]:
        state.add_store(storeid, name, name[:3].upper())
    state.add_warehouse(101, 1, "London", "GBP")
    state.add_warehouse(102, 2, "Manchester", "GBP")
    state.add_warehouse(103, 3, "Amsterdam", "EUR", warehousetype=10)  # FIFO
    state.add_product(1, "TEE-BLK-M", "Tee", Decimal("25.00"), Decimal("20"))
    state.add_product(2, "MUG", "Mug", Decimal("8.00"), Decimal("20"))
    for wid, sku, qty in SITOO_STOCK:
        state.set_stock(wid, sku, Decimal(qty), SEEDED)
    return state


def sage_world() -> sage200.Sage200State:
    state = sage200.Sage200State()
    state.add_site(sage200.Sage200Credentials().site_id, 3)
    state.add_tax_code(2101, 1, "Standard", Decimal("20.00"))
    warehouses = {"WH-LON": 3001, "WH-MAN": 3002, "WH-AMS": 3003, "WH-CENTRAL": 3009}
    for name, wid in warehouses.items():
        state.add_warehouse(wid, name, name)
    products = {"TEE-BLK-M": 77001, "MUG": 77002, "GHOST": 77003}
    for code, pid in products.items():
        state.add_product(pid, code, code, 2101, Decimal("10.00"))
    for wh, sku, in_stock, allocated in HOLDINGS:
        state.add_holding(warehouses[wh], products[sku], Decimal(in_stock), Decimal(allocated))
    return state


MAPPINGS = {"stores": {"1": "WH-LON", "2": "WH-MAN", "3": "WH-AMS"}}


@contextmanager
def world(
    tmp_path: Path,
    sitoo_state: sitoo.SitooState,
    settings: dict[str, str] | None = None,
    sage_state: sage200.Sage200State | None = None,
) -> Iterator[tuple[Settings, Recorder]]:
    sitoo_creds, sage_creds = sitoo.SitooCredentials(), sage200.Sage200Credentials()
    recorder = Recorder(sitoo.create_app(sitoo_state, sitoo_creds))
    with ExitStack() as stack:
        sitoo_root = stack.enter_context(serve_in_thread(recorder))
        sage_root = stack.enter_context(
            serve_in_thread(sage200.create_app(sage_state or sage_world(), sage_creds))
        )
        env = sitoo_creds.env(sitoo_root) | sage_creds.env(sage_root + sage200.BASE_PATH)
        overrides: dict[str, object] = {k.lower(): v for k, v in env.items()}
        url = f"sqlite:///{tmp_path}/recon.db"
        overrides |= {"recon_warehouse_url": url, "recon_data_dir": str(tmp_path)}
        import_mappings(
            open_warehouse(url).engine, parse_mappings({**MAPPINGS, "settings": settings or {}})
        )
        yield load_settings(**overrides), recorder


def sitoo_levels(state: sitoo.SitooState) -> dict[tuple[int, str], tuple[str, bool]]:
    """(warehouse, sku) -> (decimaltotal, touched by the push)."""
    return {
        (wid, sku): (item["decimaltotal"], item["datelastmodified"] != SEEDED)
        for wid, items in state.warehouse_items.items()
        for sku, item in items.items()
    }


def test_levels_land_only_changed_skus_are_sent_and_a_refused_sku_is_reported(
    tmp_path: Path,
) -> None:
    state = sitoo_world()
    with world(tmp_path, state) as (settings, recorder):
        run, skipped = stock_push_job(settings)

    assert sitoo_levels(state) == {
        (101, "TEE-BLK-M"): ("7.000", False),  # unchanged: not sent
        (101, "MUG"): ("5.000", True),
        (102, "TEE-BLK-M"): ("2.000", True),
        (102, "MUG"): ("0.000", True),  # -2 available is pushed as 0
        (103, "TEE-BLK-M"): ("9.000", True),  # FIFO: a Move In of 9
    }
    # one PUT per warehouse, in warehouse order, SKUs in order, only the differing ones
    assert recorder.puts == [
        (
            "101",
            [{"sku": "GHOST", "decimaltotal": "4.000"}, {"sku": "MUG", "decimaltotal": "5.000"}],
        ),
        (
            "102",
            [
                {"sku": "MUG", "decimaltotal": "0.000"},
                {"sku": "TEE-BLK-M", "decimaltotal": "2.000"},
            ],
        ),
    ]
    assert run.problems == [
        "store 1 (Sitoo warehouse 101) sku GHOST: Sitoo refused the stock level (status 404)"
    ]
    assert skipped == [
        "sage200 warehouse 'WH-CENTRAL': no POS store maps to it in the mappings [stores]; "
        "not pushed",
    ]
    assert dict(run.counts) == {
        "warehouses_skipped": 1,
        "warehouses_pushed": 3,
        "skus_unchanged": 1,
        "skus_pushed": 4,
        "skus_failed": 1,
    }
    engine = open_warehouse(settings.warehouse_url).engine
    with engine.connect() as conn:
        rows = conn.execute(select(Run.job, Run.status, Run.message)).all()
    assert rows == [("stock_push", "partial", run.problems[0])]


def test_second_run_resends_nothing_that_landed(tmp_path: Path) -> None:
    state = sitoo_world()
    with world(tmp_path, state) as (settings, recorder):
        stock_push_job(settings)
        recorder.puts.clear()
        run, _ = stock_push_job(settings)

    # only the SKU Sitoo refused is tried again
    assert recorder.puts == [("101", [{"sku": "GHOST", "decimaltotal": "4.000"}])]
    assert run.counts["skus_unchanged"] == 5
    assert run.counts["skus_pushed"] == 0


def test_buffer_is_held_back_and_never_goes_below_zero(tmp_path: Path) -> None:
    state = sitoo_world()
    with world(tmp_path, state, {"stock_buffer": "3"}) as (settings, _):
        stock_push_job(settings)

    assert {k: v for k, (v, _) in sitoo_levels(state).items()} == {
        (101, "TEE-BLK-M"): "4.000",  # 7 - 3
        (101, "MUG"): "2.000",  # 5 - 3
        (102, "TEE-BLK-M"): "0.000",  # 2 - 3 -> 0
        (102, "MUG"): "0.000",
        (103, "TEE-BLK-M"): "6.000",  # 9 - 3, by a warehouse transaction
    }


def test_a_store_with_two_sellable_warehouses_is_skipped_not_split(tmp_path: Path) -> None:
    state = sitoo_world()
    state.add_warehouse(104, 2, "Manchester back room", "GBP")
    with world(tmp_path, state) as (settings, recorder):
        _, skipped = stock_push_job(settings)

    assert [wid for wid, _ in recorder.puts] == ["101"]
    assert (
        "store 2 (WH-MAN): 2 sellable Sitoo warehouses (102, 104); one ERP level cannot be "
        "split between them, not pushed"
    ) in skipped


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, Decimal(0)),
        ({"stock_buffer": " 2 "}, Decimal(2)),
        ({"stock_buffer": "0.5"}, Decimal("0.5")),
        ({"stock_buffer": "-1"}, None),
        ({"stock_buffer": "two"}, None),
        ({"stock_buffer": "NaN"}, None),
    ],
)
def test_stock_buffer_setting(settings: dict[str, str], expected: Decimal | None) -> None:
    if expected is None:
        with pytest.raises(ConfigError, match="stock_buffer"):
            MapSettings.parse(settings)
    else:
        assert MapSettings.parse(settings).stock_buffer == expected


def test_recon_stock_push_prints_skips_and_exits_1_on_a_refused_sku(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from recon.cli.main import main

    with world(tmp_path, sitoo_world()) as (settings, _):
        for name, value in settings.model_dump().items():
            if value is not None:
                secret = getattr(value, "get_secret_value", None)
                monkeypatch.setenv(name.upper(), str(secret() if secret else value))
        code = main(["stock", "push"])
    out, err = capsys.readouterr()

    assert code == 1
    assert out.splitlines() == [
        "  skipped: sage200 warehouse 'WH-CENTRAL': no POS store maps to it in the mappings "
        "[stores]; not pushed",
        "stock push: skus_failed=1, skus_pushed=4, skus_unchanged=1, warehouses_pushed=3, "
        "warehouses_skipped=1",
    ]
    assert err == (
        "  store 1 (Sitoo warehouse 101) sku GHOST: Sitoo refused the stock level (status 404)\n"
    )


def test_a_fifo_warehouse_gets_the_differences_as_warehouse_transactions(
    tmp_path: Path,
) -> None:
    state = sitoo_world()
    #            FIFO warehouse 103 holds     ERP (WH-AMS) says
    state.set_stock(103, "TEE-BLK-M", Decimal("12"), SEEDED)  # 9: move out 3
    state.set_stock(103, "MUG", Decimal("1"), SEEDED)  # 6: move in 5
    sage = sage_world()
    sage.add_holding(3003, 77002, Decimal(6), Decimal(0))  # MUG at WH-AMS
    sage.add_holding(3003, 77003, Decimal(2), Decimal(0))  # GHOST: no Sitoo product
    with world(tmp_path, state, sage_state=sage) as (settings, _):
        first, _ = stock_push_job(settings)
        second, _ = stock_push_job(settings)

    moves = [
        (
            t["warehouseid"],
            t["transactiontype"],
            [(i["sku"], i["decimalquantity"]) for i in t["items"]],
        )
        for t in state.warehouse_transactions
    ]
    #            warehouse  type (10 in, 20 out)  items
    assert moves == [
        (103, 10, [("MUG", "5.000")]),
        (103, 20, [("TEE-BLK-M", "-3.000")]),
    ]
    held = {sku: item["decimaltotal"] for sku, item in state.warehouse_items[103].items()}
    assert held == {"TEE-BLK-M": "9.000", "MUG": "6.000"}
    assert first.problems == [  # warehouse by warehouse, in id order
        "store 1 (Sitoo warehouse 101) sku GHOST: Sitoo refused the stock level (status 404)",
        "store 3 (Sitoo warehouse 103) sku GHOST: Sitoo has no product with this SKU; "
        "stock not moved",
    ]
    assert len(state.warehouse_transactions) == 2  # the second push moved nothing more
    assert second.counts["skus_pushed"] == 0
