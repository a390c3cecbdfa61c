"""The Sage 200 collector against the Sage 200 simulator: incremental by date_time_updated,
idempotent, quarantining bad records, and resuming after an outage."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

import recon.erp.sage200.collector as sage_collector
from recon.clients import ServerError
from recon.collectors._landing import get_watermark
from recon.config.mappings import Mappings
from recon.erp.sage200.client import Sage200Client
from recon.simulators import sage200 as sim
from recon.simulators.faults import Faults
from recon.simulators.scenario import build_scenario
from recon.simulators.serve import serve_in_thread
from recon.warehouse.db import open_warehouse
from recon.warehouse.models import (
    ErpDocument,
    ErpDocumentLine,
    ErpItem,
    ErpJournalLine,
    Quarantine,
    RawPayload,
)
from recon.warehouse.runs import RunLog, record_run

END = date(2026, 3, 14)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_warehouse(f"sqlite:///{tmp_path}/w.db").engine


@pytest.fixture
def state() -> sim.Sage200State:
    state = build_scenario("small", 3, END).sage200
    customer = state.customers[0]["id"]
    bank = state.banks[0]
    for n in range(25):  # receipts so the cash book pages too
        state.post_sales_cash(
            {
                "customer_id": customer,
                "bank_id": bank["id"],
                "cheque_value": Decimal("10.00"),
                "transaction_date": "2026-03-14",
                "reference": str(7000 + n),
                "second_reference": "Card",
            },
            sim.TT_RECEIPT,
        )
    return state


@contextmanager
def client_for(
    state: sim.Sage200State, faults: Faults | None = None, page_size: int = 10
) -> Iterator[Sage200Client]:
    creds = sim.Sage200Credentials()
    env = creds.env("")
    with (
        serve_in_thread(sim.create_app(state, creds, faults)) as root,
        Sage200Client(
            root + sim.BASE_PATH,
            env["SAGE200_TOKEN"],
            env["SAGE200_SUBSCRIPTION_KEY"],
            env["SAGE200_SITE_ID"],
            env["SAGE200_COMPANY_ID"],
            page_size=page_size,
            max_attempts=2,
            min_wait=0.01,
            max_wait=0.02,
        ) as client,
    ):
        yield client


def collect(engine: Engine, client: Sage200Client, *, full: bool = False) -> RunLog:
    with record_run(engine, "collect") as run:
        sage_collector.collect_sage200(engine, client, Mappings(), run, full=full)
    return run


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_everything_lands_once_and_a_rerun_writes_nothing(
    engine: Engine, state: sim.Sage200State
) -> None:
    with client_for(state) as client:
        first = collect(engine, client)
        second = collect(engine, client)
    #  what                         expected
    assert count(engine, ErpDocument) == len(state.sop_orders) + sum(
        1
        for t in state.sales_posted
        if sage_collector.ledger_kind(t["trader_transaction_type"]) in ("invoice", "credit_note")
    )
    assert count(engine, ErpJournalLine) == len(state.bank_posted)
    assert count(engine, ErpItem) == len(state.products)
    assert first.counts["sage200_sop_orders_new"] == len(state.sop_orders)
    assert {k: v for k, v in second.counts.items() if v and k.endswith(("_new", "_changed"))} == {}


def test_a_document_changed_after_the_watermark_is_read_again(
    engine: Engine, state: sim.Sage200State
) -> None:
    with client_for(state) as client:
        collect(engine, client)
        order = state.sop_orders[0]
        order["total_gross_value"] = Decimal("999.99")
        state._stamp(order, created=False)
        run = collect(engine, client)
    assert run.counts["sage200_sop_orders_changed"] == 1
    with engine.connect() as conn:
        gross = conn.execute(
            select(ErpDocument.gross_total).where(ErpDocument.doc_id == f"sop_order:{order['id']}")
        ).scalar_one()
    assert gross == Decimal("999.99")


def test_a_bad_record_is_quarantined_and_the_rest_lands(
    engine: Engine, state: sim.Sage200State
) -> None:
    bad = state.sop_orders[1]
    bad["total_gross_value"] = "lots"
    with client_for(state) as client:
        run = collect(engine, client)
    assert count(engine, ErpDocument) > 0
    with engine.connect() as conn:
        reason = conn.execute(
            select(Quarantine.reason).where(Quarantine.vendor_id == str(bad["id"]))
        ).scalar_one()
    assert "total_gross_value" in reason
    assert len(run.problems) == 1


def test_an_outage_keeps_the_watermark_of_the_last_good_batch(
    engine: Engine, state: sim.Sage200State, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sage_collector, "BATCH", 10)
    faults = Faults()
    with client_for(state, faults) as client:
        original = client.iter_bank_posted_transactions

        def down_after_first_batch(updated_since: object = None) -> Iterator[object]:
            for n, f in enumerate(original(updated_since=updated_since)):  # type: ignore[arg-type]
                if n == 10:  # page 2 was read ahead; page 3 fails on both attempts
                    faults.queue("GET", "/bank_posted_transactions", "server_error", times=2)
                yield f

        monkeypatch.setattr(client, "iter_bank_posted_transactions", down_after_first_batch)
        with pytest.raises(ServerError):
            collect(engine, client)
        mark = get_watermark(engine, "sage200", "bank_posted_transactions")
        assert count(engine, ErpJournalLine) == 20 and mark is not None
        monkeypatch.setattr(client, "iter_bank_posted_transactions", original)
        collect(engine, client)
    assert count(engine, ErpJournalLine) == len(state.bank_posted)


def deleted(engine: Engine, entity: str) -> list[str]:
    """Vendor ids of `entity` whose raw payload is marked deleted."""
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(RawPayload.vendor_id).where(
                    RawPayload.source == "sage200",
                    RawPayload.entity == entity,
                    RawPayload.deleted_at.is_not(None),
                )
            ).scalars()
        )


def document(engine: Engine, doc_id: str) -> tuple[int, int]:
    """(header rows, line rows) of one canonical document."""
    with engine.connect() as conn:
        heads = conn.execute(select(func.count()).where(ErpDocument.doc_id == doc_id)).scalar_one()
        lines = conn.execute(
            select(func.count()).where(ErpDocumentLine.doc_id == doc_id)
        ).scalar_one()
    return int(heads), int(lines)


def test_a_full_run_removes_a_deleted_sop_order_and_brings_it_back_when_it_reappears(
    engine: Engine, state: sim.Sage200State
) -> None:
    order = state.sop_orders[3]
    doc_id = f"sop_order:{order['id']}"
    with client_for(state) as client:
        collect(engine, client)
        documents = count(engine, ErpDocument)
        assert document(engine, doc_id) == (1, len(order["lines"]))
        state.sop_orders.remove(order)  # deleted in Sage: no list reports it
        incremental = collect(engine, client)
        assert document(engine, doc_id) == (1, len(order["lines"]))  # not a complete read
        full = collect(engine, client, full=True)
        #  what                                  expected
        assert document(engine, doc_id) == (0, 0)
        assert deleted(engine, "sop_orders") == [str(order["id"])]
        assert count(engine, ErpDocument) == documents - 1  # nothing else went
        state.sop_orders.append(order)  # restored, payload unchanged
        again = collect(engine, client, full=True)
    assert incremental.counts["sage200_sop_orders_deleted"] == 0
    assert full.counts["sage200_sop_orders_deleted"] == 1
    assert full.problems == []
    assert document(engine, doc_id) == (1, len(order["lines"]))
    assert deleted(engine, "sop_orders") == []
    assert again.counts["sage200_sop_orders_changed"] == 1


def test_a_page_that_changes_between_reads_loses_nothing_and_sweeps_only_the_deleted(
    engine: Engine, state: sim.Sage200State, monkeypatch: pytest.MonkeyPatch
) -> None:
    #  sop orders by id: 0 1 2 | 3 4 5 | 6 7 8    (pages of 3)
    #  before the full run   5 is deleted in Sage: the only true deletion
    #  after page 1 is read  0 is deleted and a new order 9 inserted; with offset paging
    #                        page 2 would start at 4, missing 3 (and sweep it as deleted)
    orders = sorted(state.sop_orders, key=lambda o: o["id"])
    gone_before, gone_during = orders[5], orders[0]
    with client_for(state, page_size=3) as client:
        collect(engine, client)
        state.sop_orders.remove(gone_before)
        original = client.iter_sop_orders

        def changing(updated_since: object = None) -> Iterator[object]:
            for n, f in enumerate(original(updated_since=updated_since)):  # type: ignore[arg-type]
                yield f
                if n == 2:  # page 1 read, page 2 not yet asked for
                    with state.lock:
                        state.sop_orders.remove(gone_during)
                        state.sop_orders.append({**gone_during, "id": state.new_id()})

        monkeypatch.setattr(client, "iter_sop_orders", changing)
        run = collect(engine, client, full=True)
    landed = {o["id"] for o in orders} - {gone_before["id"]}
    #  what                                     expected
    assert deleted(engine, "sop_orders") == [str(gone_before["id"])]
    assert run.counts["sage200_sop_orders_new"] == 1  # the inserted order
    assert all(document(engine, f"sop_order:{i}")[0] == 1 for i in landed)
    assert document(engine, f"sop_order:{gone_before['id']}") == (0, 0)


def test_an_outage_during_a_full_run_deletes_nothing(
    engine: Engine, state: sim.Sage200State, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sage_collector, "BATCH", 3)
    order = state.sop_orders[0]
    doc_id = f"sop_order:{order['id']}"
    with client_for(state) as client:
        collect(engine, client)
        state.sop_orders.remove(order)
        original = client.iter_sop_orders

        def down_after_five(updated_since: object = None) -> Iterator[object]:
            for n, f in enumerate(original(updated_since=updated_since)):  # type: ignore[arg-type]
                if n == 5:
                    raise ServerError("sage200", 504, "tunnel lost", "Sage 200 server error (504)")
                yield f

        monkeypatch.setattr(client, "iter_sop_orders", down_after_five)
        with pytest.raises(ServerError):
            collect(engine, client, full=True)
        assert document(engine, doc_id) == (1, len(order["lines"]))
        assert deleted(engine, "sop_orders") == []
        monkeypatch.setattr(client, "iter_sop_orders", original)  # Sage is back
        collect(engine, client, full=True)
    assert document(engine, doc_id) == (0, 0)
    assert deleted(engine, "sop_orders") == [str(order["id"])]


def test_a_full_read_that_comes_back_empty_deletes_nothing_and_says_so(
    engine: Engine, state: sim.Sage200State
) -> None:
    with client_for(state) as client:
        collect(engine, client)
        landed = count(engine, ErpDocumentLine)
        state.sop_orders.clear()  # e.g. a tunnel answering an empty list for a lost company
        run = collect(engine, client, full=True)
    assert count(engine, ErpDocumentLine) == landed
    assert deleted(engine, "sop_orders") == []
    assert run.problems == [
        "sage200 sop_orders: a complete read lacked 9 of 9 records landed before; not deleting"
        " them (check the vendor, then run --full again)"
    ]


def test_master_data_gone_from_sage_leaves_the_warehouse_on_the_next_run(
    engine: Engine, state: sim.Sage200State
) -> None:
    product = state.products[-1]
    with client_for(state) as client:
        collect(engine, client)
        state.products.remove(product)
        run = collect(engine, client)  # master data is read whole: every run is complete
    with engine.connect() as conn:
        skus = set(conn.execute(select(ErpItem.sku)).scalars())
    assert product["code"] not in skus
    assert len(skus) == len(state.products)
    assert deleted(engine, "products") == [str(product["id"])]
    assert run.counts["sage200_products_deleted"] == 1


def test_off_a_terminal_every_batch_logs_one_key_value_line(
    engine: Engine,
    state: sim.Sage200State,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(sage_collector, "BATCH", 4)
    state.sop_orders[1]["total_gross_value"] = "lots"  # quarantined in the first batch
    with client_for(state) as client, caplog.at_level(logging.INFO, logger="recon.collect"):
        collect(engine, client)
    lines = [
        re.sub(r"elapsed_ms=\d+$", "elapsed_ms=N", r.getMessage())
        for r in caplog.records
        if r.name == "recon.collect"
    ]
    assert [ln for ln in lines if "entity=sop_orders " in ln] == [
        # 9 orders in batches of 4, the second order invalid
        "source=sage200 entity=sop_orders batch=1 landed=3 quarantined=1 elapsed_ms=N",
        "source=sage200 entity=sop_orders batch=2 landed=4 quarantined=0 elapsed_ms=N",
        "source=sage200 entity=sop_orders batch=3 landed=1 quarantined=0 elapsed_ms=N",
    ]
    entities = {ln.split()[1] for ln in lines}
    assert {"entity=bank_posted_transactions", "entity=products"} <= entities
