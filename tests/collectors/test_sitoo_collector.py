"""The Sitoo collector against the Sitoo simulator: complete, incremental, idempotent.

Each test serves the simulator with the `small` scenario, collects with a small page size so
paging and per-batch watermarks are exercised, and looks at the warehouse afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

import recon.collectors.sitoo as sitoo_collector
from recon.clients import ServerError, SitooClient
from recon.collectors._landing import get_watermark
from recon.config.mappings import Mappings
from recon.simulators import sitoo as sim
from recon.simulators.faults import Faults
from recon.simulators.scenario import build_scenario
from recon.simulators.serve import serve_in_thread
from recon.warehouse.db import open_warehouse, unpack
from recon.warehouse.models import PosOrder, PosOrderLine, PosStore, Quarantine, RawPayload
from recon.warehouse.runs import RunLog, record_run

END = date(2026, 3, 14)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_warehouse(f"sqlite:///{tmp_path}/w.db").engine


@pytest.fixture
def state() -> sim.SitooState:
    return build_scenario("small", 3, END).sitoo


@contextmanager
def client_for(state: sim.SitooState, faults: Faults | None = None) -> Iterator[SitooClient]:
    creds = sim.SitooCredentials()
    with (
        serve_in_thread(sim.create_app(state, creds, faults)) as url,
        SitooClient(
            url,
            creds.account_id,
            str(creds.site_id),
            creds.api_id,
            creds.password,
            page_size=10,
            max_attempts=2,
            min_wait=0.01,
            max_wait=0.02,
        ) as client,
    ):
        yield client


def collect(engine: Engine, client: SitooClient, *, full: bool = False) -> RunLog:
    with record_run(engine, "collect") as run:
        sitoo_collector.collect_sitoo(engine, client, Mappings(), "Europe/London", run, full=full)
    return run


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_first_run_lands_every_order_and_a_rerun_writes_nothing(
    engine: Engine, state: sim.SitooState
) -> None:
    with client_for(state) as client:
        first = collect(engine, client)
        second = collect(engine, client)
        full = collect(engine, client, full=True)
    orders = len(state.orders)
    #   run      new orders                     changed                          unchanged
    assert (first.counts["sitoo_orders_new"], first.counts["sitoo_orders_changed"]) == (orders, 0)
    assert (second.counts["sitoo_orders_new"], second.counts["sitoo_orders_changed"]) == (0, 0)
    assert (full.counts["sitoo_orders_new"], full.counts["sitoo_orders_changed"]) == (0, 0)
    assert full.counts["sitoo_orders_unchanged"] == orders
    assert count(engine, PosOrder) == orders
    lines = sum(
        1
        for o in state.orders.values()
        for i in o["orderitems"]
        if i.get("orderitemtype", 10) == 10
    )
    assert count(engine, PosOrderLine) == lines
    with engine.connect() as conn:
        raw = conn.execute(
            select(func.count()).select_from(RawPayload).where(RawPayload.entity == "orders")
        ).scalar_one()
        linked = conn.execute(
            select(func.count()).select_from(PosOrder).where(PosOrder.raw_id.is_not(None))
        ).scalar_one()
    assert raw == linked == orders


def test_store_names_are_kept_and_follow_a_rename(engine: Engine, state: sim.SitooState) -> None:
    named = {str(s["storeid"]): s["name"] for s in state.stores}
    with client_for(state) as client:
        first = collect(engine, client)
        state.stores[0]["name"] = "Renamed in Sitoo"
        collect(engine, client)
    with engine.connect() as conn:
        kept = {s: n for s, n in conn.execute(select(PosStore.store_id, PosStore.name))}
    assert first.counts["sitoo_stores"] == len(named) > 0
    assert kept == {**named, str(state.stores[0]["storeid"]): "Renamed in Sitoo"}


def test_an_open_order_closed_later_is_read_again(engine: Engine, state: sim.SitooState) -> None:
    # A register has an order open right now (recent and unsettled: it may still change).
    target = sorted(state.orders)[5]
    state.orders[target] |= {
        "orderstateid": sim.STATE_OPEN,
        "paymentstateid": 0,
        "orderdate": int(time.time()) - 60,
    }
    with client_for(state) as client:
        collect(engine, client)
        assert int(get_watermark(engine, "sitoo", "orders") or 0) <= target  # pinned by it
        state.orders[target]["orderstateid"] = sim.STATE_CLOSED
        state.orders[target]["paymentstateid"] = sim.PAY_SUCCESSFUL
        run = collect(engine, client)
    assert run.counts["sitoo_orders_changed"] >= 1
    with engine.connect() as conn:
        got = conn.execute(
            select(PosOrder.state, PosOrder.paid).where(PosOrder.order_id == str(target))
        ).one()
    assert tuple(got) == ("completed", True)


def test_an_order_added_while_paging_is_not_lost(engine: Engine, state: sim.SitooState) -> None:
    template = dict(next(iter(state.orders.values())))
    with client_for(state) as client:
        collect(engine, client)
        new_id = max(state.orders) + 1
        state.orders[new_id] = template | {"orderid": new_id}
        collect(engine, client)
    with engine.connect() as conn:
        assert conn.execute(
            select(PosOrder.order_id).where(PosOrder.order_id == str(new_id))
        ).scalar() == str(new_id)


def test_a_bad_record_is_quarantined_and_the_rest_lands(
    engine: Engine, state: sim.SitooState
) -> None:
    bad_id = sorted(state.orders)[3]
    state.orders[bad_id]["moneytotal_gross_all"] = "twelve pounds"
    with client_for(state) as client:
        run = collect(engine, client)
    assert count(engine, PosOrder) == len(state.orders) - 1
    with engine.connect() as conn:
        reason = conn.execute(
            select(Quarantine.reason).where(Quarantine.vendor_id == str(bad_id))
        ).scalar_one()
    assert "moneytotal_gross_all" in reason
    assert len(run.problems) == 1 and str(bad_id) in run.problems[0]


def test_a_bad_value_in_a_field_recon_does_not_read_lands_the_order_and_keeps_it_raw(
    engine: Engine, state: sim.SitooState
) -> None:
    odd_id = sorted(state.orders)[3]
    state.orders[odd_id]["moneytotal_gross_roundoff"] = "n/a"  # sent, never read
    with client_for(state) as client:
        run = collect(engine, client)
    assert (count(engine, PosOrder), count(engine, Quarantine), run.problems) == (
        len(state.orders),
        0,
        [],
    )
    with engine.connect() as conn:
        blob = conn.execute(
            select(RawPayload.payload).where(RawPayload.vendor_id == str(odd_id))
        ).scalar_one()
    assert unpack(blob)["moneytotal_gross_roundoff"] == "n/a"


def test_an_outage_mid_run_keeps_the_last_good_batch_and_resumes(
    engine: Engine, state: sim.SitooState, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sitoo_collector, "BATCH", 10)
    for order in state.orders.values():  # settled orders only, so the watermark can move
        order["orderstateid"], order["paymentstateid"], order["ordertypeid"] = 10, 20, 10
    faults = Faults()
    with client_for(state, faults) as client:
        # Pages of 10; when the reader takes the first order of page 2, the vendor goes
        # down (both attempts of the next page read, page 3, fail). The read-ahead thread
        # reads page 3 while batch 2 lands: its error surfaces after batch 2 committed.
        original = client.iter_orders

        def failing_after_first_page(**kw: object) -> Iterator[object]:
            for n, f in enumerate(original(**kw)):  # type: ignore[arg-type]
                if n == 10:
                    faults.queue("GET", "/orders.json", "server_error", times=2)
                yield f

        monkeypatch.setattr(client, "iter_orders", failing_after_first_page)
        with pytest.raises(ServerError):
            collect(engine, client)
        ordered = sorted(state.orders)
        assert count(engine, PosOrder) == 20
        assert get_watermark(engine, "sitoo", "orders") == str(ordered[19] + 1)
        assert "read-ahead" not in [t.name for t in threading.enumerate()]
        monkeypatch.setattr(client, "iter_orders", original)
        collect(engine, client)
    assert count(engine, PosOrder) == len(state.orders)
