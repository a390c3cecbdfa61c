"""Landing without a vendor: the progress line on a terminal, voids, the sweep guard and
reading ahead."""

from __future__ import annotations

import gc
import hashlib
import io
import logging
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import zstandard
from sqlalchemy import Engine, select

from recon.clients import Fetched
from recon.collectors._landing import (
    GC_GEN0,
    Landed,
    Pass,
    Rows,
    chunks,
    land,
    read_ahead,
    sweep,
    write_rows,
)
from recon.warehouse.db import canonical, open_warehouse, pack, table, unpack
from recon.warehouse.models import ErpAccount, PosOrder, PosOrderLine, Quarantine, RawPayload
from recon.warehouse.runs import RunLog


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def fetched(key: str, active: bool = True) -> Fetched[Any]:
    raw = {"code": key, "active": active}
    return Fetched(key=key, raw=raw, item=raw, error=None)


def account_rows(item: Any, raw_id: int) -> Rows:
    return {"erp_accounts": [{"account": item["code"], "active": item["active"], "raw_id": raw_id}]}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_warehouse(f"sqlite:///{tmp_path}/w.db").engine


def test_on_a_terminal_one_line_is_redrawn_and_nothing_is_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Pass, "REDRAW", 0.0)
    screen = Terminal()
    batch = [fetched(str(n)) for n in range(3)]
    with (
        caplog.at_level(logging.INFO, logger="recon.collect"),
        Pass("sage200", "banks", stream=screen) as p,
    ):
        p.record(batch, Landed(new=3))
        p.record(batch[:1], Landed(unchanged=1))
        p.record(batch[:2], Landed(new=1, quarantined=1))
    frames = screen.getvalue().split("\r")[1:]
    assert [f.split("/s")[0].rsplit(", ", 1)[0] for f in frames] == [
        "sage200 banks: 3 records",
        "sage200 banks: 4 records",
        "sage200 banks: 6 records, 1 quarantined",
        "sage200 banks: 6 records, 1 quarantined",  # drawn again when the pass ends
    ]
    assert screen.getvalue().endswith("\x1b[K\n")
    assert [r for r in caplog.records if r.name == "recon.collect"] == []


def test_a_void_record_is_stored_marked_and_loses_its_rows_and_comes_back(
    warehouse: Engine,
) -> None:
    engine = warehouse

    def is_void(item: Any) -> bool:
        return not item["active"]

    def land_one(f: Fetched[Any]) -> Landed:
        with engine.begin() as conn:
            landed, _ = land(
                conn, "test", "accounts", [f], account_rows, void=is_void, tables=["erp_accounts"]
            )
        return landed

    def state() -> tuple[list[str], bool]:
        with engine.connect() as conn:
            accounts = list(conn.execute(select(ErpAccount.account)).scalars())
            marked = conn.execute(select(RawPayload.deleted_at)).scalar_one() is not None
        return accounts, marked

    #  step                                  counts                      (rows, raw marked)
    assert land_one(fetched("1210")) == Landed(new=1)
    assert state() == (["1210"], False)
    assert land_one(fetched("1210", active=False)) == Landed(deleted=1)
    assert state() == ([], True)
    assert land_one(fetched("1210", active=False)) == Landed(unchanged=1)
    assert state() == ([], True)
    assert land_one(fetched("1210")) == Landed(changed=1)
    assert state() == (["1210"], False)


def test_a_changed_order_replaces_its_lines_and_leaves_quarantine(warehouse: Engine) -> None:
    def order(oid: str, skus: list[str]) -> Fetched[Any]:
        raw = {"id": oid, "skus": skus}
        return Fetched(key=oid, raw=raw, item=raw, error=None)

    def rows(item: Any, raw_id: int) -> Rows:
        head = {
            "order_id": item["id"],
            "store_id": "1",
            "business_day": date(2026, 3, 14),
            "created_at": datetime(2026, 3, 14, 9, 30, tzinfo=UTC),
            "order_type": "sale",
            "state": "completed",
            "paid": True,
            "original_order_id": None,
            "gross_total": Decimal(len(item["skus"])),
            "vat_total": Decimal(0),
            "currency": "GBP",
            "raw_id": raw_id,
        }
        money = {"unit_price_gross": Decimal(1), "line_discount": Decimal(0)}
        lines = [
            {"order_id": item["id"], "line_no": n, "sku": sku, "quantity": Decimal(1)}
            | money
            | {"line_gross": Decimal(1), "line_vat": Decimal(0), "vat_rate": Decimal(0)}
            for n, sku in enumerate(item["skus"], start=1)
        ]
        return {"pos_orders": [head], "pos_order_lines": lines}

    replace = {"pos_order_lines": "order_id"}
    broken: Fetched[Any] = Fetched(key="2", raw={"id": "2"}, item=None, error="no skus")
    with warehouse.begin() as conn:
        land(conn, "test", "orders", [order("1", ["A", "B"]), broken], rows, replace)
    with warehouse.begin() as conn:
        landed, _ = land(
            conn, "test", "orders", [order("1", ["C"]), order("2", ["D"])], rows, replace
        )
    with warehouse.connect() as conn:
        lines = sorted(
            tuple(r) for r in conn.execute(select(PosOrderLine.order_id, PosOrderLine.sku))
        )
        quarantined = conn.execute(select(Quarantine.vendor_id)).all()
    assert landed == Landed(new=1, changed=1)
    assert lines == [("1", "C"), ("2", "D")]  # order 1's A and B replaced, 2 left quarantine
    assert quarantined == []


def test_a_sweep_marks_only_what_the_pass_did_not_see(engine: Engine) -> None:
    bad: Fetched[Any] = Fetched(key="99", raw={"code": 99}, item=None, error="bad code")
    with engine.begin() as conn:
        land(conn, "test", "accounts", [fetched(str(n)) for n in range(20)], account_rows)
        land(conn, "test", "accounts", [bad], account_rows)
    run = RunLog(0, "collect")
    gone = sweep(
        engine, "test", "accounts", {str(n) for n in range(20) if n != 7}, ["erp_accounts"], run
    )
    with engine.connect() as conn:
        accounts = set(conn.execute(select(ErpAccount.account)).scalars())
    assert (gone, run.problems) == (1, [])
    assert accounts == {str(n) for n in range(20)} - {"7"}
    with engine.connect() as conn:
        assert conn.execute(select(Quarantine.vendor_id)).all() == []  # gone: not a problem
    refused = sweep(engine, "test", "accounts", {"1", "2"}, ["erp_accounts"], run)  # 17 of 19
    assert refused == 0 and len(run.problems) == 1


def test_canonical_text_is_the_vendor_order_in_utf8_with_exact_decimals() -> None:
    # the hash decides "unchanged": a different text would rewrite every warehouse once
    raw = {"b": Decimal("12.50"), "a": [1, None, "Åsa"], "c": {"z": True, "y": Decimal("-0.001")}}
    text, digest = canonical(raw)
    assert text == '{"b":"12.50","a":[1,null,"Åsa"],"c":{"z":true,"y":"-0.001"}}'.encode()
    assert digest == hashlib.sha1(text).hexdigest()
    blob, same = pack(raw)
    assert (zstandard.ZstdDecompressor().decompress(blob), same) == (text, digest)
    as_read = {"b": "12.50", "a": [1, None, "Åsa"], "c": {"z": True, "y": "-0.001"}}
    assert unpack(blob) == as_read
    assert unpack(zlib.compress(text, 1)) == as_read  # a payload stored before Zstandard


def test_write_rows_inserts_then_updates_like_upsert(warehouse: Engine) -> None:
    def order(order_id: str, gross: str, paid: bool) -> dict[str, Any]:
        return {
            "order_id": order_id,
            "store_id": "1",
            "business_day": date(2026, 3, 14),
            "created_at": datetime(2026, 3, 14, 9, 30, tzinfo=UTC),
            "order_type": "sale",
            "state": "completed",
            "paid": paid,
            "original_order_id": None,
            "gross_total": Decimal(gross),
            "vat_total": Decimal("0.5"),
            "currency": "GBP",
            "raw_id": None,
        }

    orders = table("pos_orders")
    with warehouse.begin() as conn:
        write_rows(conn, orders, [order("1", "10", True), order("2", "20.005", False)])
    with warehouse.begin() as conn:
        write_rows(conn, orders, [order("2", "21.1", True), order("3", "30", True)])
    with warehouse.connect() as conn:
        got = sorted(
            tuple(r)
            for r in conn.execute(
                select(
                    PosOrder.order_id,
                    PosOrder.business_day,
                    PosOrder.created_at,
                    PosOrder.paid,
                    PosOrder.gross_total,
                    PosOrder.vat_total,
                    PosOrder.original_order_id,
                )
            )
        )
    at = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    day = date(2026, 3, 14)
    assert got == [
        # id  day  created  paid   gross            vat
        ("1", day, at, True, Decimal("10.00"), Decimal("0.50"), None),
        ("2", day, at, True, Decimal("21.10"), Decimal("0.50"), None),  # updated in place
        ("3", day, at, True, Decimal("30.00"), Decimal("0.50"), None),
    ]


def test_passes_collect_garbage_less_often_and_put_the_setting_back() -> None:
    before = gc.get_threshold()
    with Pass("sitoo", "orders", stream=io.StringIO()):
        with Pass("sitoo", "products", stream=io.StringIO()):
            inner = gc.get_threshold()
        between = gc.get_threshold()  # another pass still runs
    assert inner[0] == between[0] == max(GC_GEN0, before[0])
    assert inner[1:] == before[1:]
    assert gc.get_threshold() == before


def readers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "read-ahead"]


def pages(read: list[int], fail_at: int | None = None) -> Iterator[int]:
    """Records 0..29 as a vendor pages them; record `fail_at` is an outage."""
    for n in range(30):
        if n == fail_at:
            raise ConnectionError(f"vendor down at record {n}")
        read.append(n)
        yield n


def test_an_outage_read_ahead_surfaces_after_the_batches_before_it() -> None:
    got: list[list[int]] = []
    with pytest.raises(ConnectionError, match="record 25"):
        for batch in read_ahead(chunks(pages([], fail_at=25), 10)):
            got.append(batch)
    assert got == [list(range(10)), list(range(10, 20))]  # record 20..24 never land
    assert readers() == []


@pytest.mark.parametrize("stop", [RuntimeError, KeyboardInterrupt])
def test_a_failing_batch_stops_the_reader_one_batch_ahead_at_most(
    stop: type[BaseException],
) -> None:
    read: list[int] = []
    with pytest.raises(stop), Pass("sitoo", "orders", stream=io.StringIO()) as p:
        for batch in p.read(chunks(pages(read), 5)):
            assert readers() == ["read-ahead"]
            if batch[0] == 5:
                raise stop
    assert readers() == []
    # batch 2 failed while batch 3 waited in the queue and batch 4 was read, no further
    assert len(read) <= 20
