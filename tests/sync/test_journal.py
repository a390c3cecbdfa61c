"""Daily journal mode: one Sage bank receipt per store, closed business day and tender."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from recon.clients.sitoo import SitooOrder
from recon.config import ConfigError
from recon.config.mappings import parse_mappings
from recon.erp.registry import PLUGINS
from recon.jobs import collect_job, reconcile_job
from recon.pos.rules import StoreDirectory
from recon.reconcile import to_records
from recon.simulators import sage200
from recon.sync.journal import closes_at
from recon.sync.protocol import Abilities, Ability
from recon.sync.run import run_sync
from recon.sync.takings import order_splits, store_day_journals
from recon.warehouse.mappings import import_mappings
from recon.warehouse.models import SyncPost
from recon.warehouse.runs import RunLog, record_run
from tests.sync.world import World, at, mappings_toml, order, served

MAPPINGS = parse_mappings(tomllib.loads(mappings_toml("daily_journal")))
D12, D13 = date(2026, 3, 12), date(2026, 3, 13)
SPLIT = [("Cash", "10.50"), ("Card", "21.00")]


def sitoo_order(raw: dict[str, Any]) -> SitooOrder:
    return SitooOrder.model_validate(raw)


def test_a_split_tender_shares_each_tax_code_to_the_penny() -> None:
    # Tee 24.00 (20%: net 20.00, VAT 4.00) + 2 books 15.00 (0%), paid 13.00 cash, 26.00 card.
    raw = order(
        5001, 1, at(D12, 10), [("TEE", 1), ("BOOK", 2)], [("Cash", "13.00"), ("Card", "26.00")]
    )
    got = order_splits(sitoo_order(raw), MAPPINGS)
    #            tender  amount       tax code: (net, VAT)
    expected = [
        ("Cash", D("13.00"), {"1": (D("6.67"), D("1.33")), "0": (D("5.00"), D("0.00"))}),
        ("Card", D("26.00"), {"1": (D("13.33"), D("2.67")), "0": (D("10.00"), D("0.00"))}),
    ]
    assert got == expected


def test_a_store_days_journals_add_sales_and_refunds_per_tender() -> None:
    orders = [
        order(5001, 1, at(D12, 9), [("TEE", 1)]),  # 24.00 card
        order(
            5002, 1, at(D12, 10), [("MUG", 2), ("BOOK", 1)], [("Cash", "10.50"), ("Card", "21.00")]
        ),
        order(5003, 1, at(D12, 11), [("TEE", -1)], refund_of=5001),  # -24.00 card
    ]
    journals = store_day_journals("1", D12, [sitoo_order(o) for o in orders], MAPPINGS)
    z = D("0.00")
    #   reference      tender  amount     tax code: (net, VAT)                    orders
    expected = [
        ("1-2026-03-12", "Card", D("21.00"), {"0": (D("5.00"), z), "1": (D("13.33"), D("2.67"))},
         ("5001", "5002", "5003")),
        ("1-2026-03-12", "Cash", D("10.50"), {"0": (D("2.50"), z), "1": (D("6.67"), D("1.33"))},
         ("5002",)),
    ]  # fmt: skip
    assert [(j.reference, j.tender, j.amount, j.splits, j.order_ids) for j in journals] == expected


@pytest.mark.parametrize(
    ("day", "store_tz", "closes"),
    [
        (D12, "Europe/London", datetime(2026, 3, 13, 2, 0, tzinfo=UTC)),  # GMT
        (date(2026, 6, 12), "Europe/London", datetime(2026, 6, 13, 1, 0, tzinfo=UTC)),  # BST
        (D12, "Europe/Amsterdam", datetime(2026, 3, 13, 1, 0, tzinfo=UTC)),  # CET
    ],
)
def test_a_store_day_closes_two_hours_after_its_local_midnight(
    day: date, store_tz: str, closes: datetime
) -> None:
    raw = order(5001, 1, at(day, 12), [("TEE", 1)])
    del raw["additionaldata"]["pos-timezone"]  # the store's zone from the mappings decides
    stores = StoreDirectory({101: "1"}, {"1": store_tz}, "Europe/London")
    assert closes_at(sitoo_order(raw), stores, "1", day) == closes


def journal_sync(world: World, abilities: Abilities = PLUGINS["sage200"].abilities) -> RunLog:
    mappings = parse_mappings(tomllib.loads(world.mappings_text))
    with (
        world.sitoo_client() as sitoo,
        world.sage_client() as sage,
        record_run(world.engine, "sync") as run,
    ):
        run_sync(
            world.engine,
            sitoo,
            world.poster(sage),
            mappings,
            "Europe/London",
            run,
            abilities=abilities,
        )
    return run


def bank_receipts(state: sage200.Sage200State) -> list[tuple[Any, ...]]:
    return sorted(
        (
            t["reference"],
            t["second_reference"],
            str(t["cheque_value"]),
            sorted(
                (str(i["code"]), str(i["goods_amount"]), str(i["tax_amount"]))
                for i in t["tax_analysis_items"]
            ),
        )
        for t in state.bank_posted
        if t["bank_transaction_type"] == sage200.BT_RECEIPT
    )


def statuses(world: World) -> dict[str, str]:
    with world.engine.connect() as conn:
        rows = conn.execute(select(SyncPost.post_key, SyncPost.status)).all()
    return {key: status for key, status in rows}


def test_journal_mode_posts_each_closed_store_day_tender_once(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    orders = [
        order(5001, 1, at(D12, 9), [("TEE", 1)]),
        order(5002, 1, at(D12, 10), [("MUG", 2), ("BOOK", 1)], SPLIT),
        order(5003, 1, at(D12, 11), [("TEE", -1)], refund_of=5001),
        order(5004, 2, at(D12, 12), [("TEE", 3)], [("Cash", "72.00")]),
        order(5005, 1, at(D13, 9), [("BOOK", 1)]),
        order(5006, 1, at(D12, 13), [("TEE", 1)], [("Voucher", "24.00")]),  # held
        order(5007, 2, now, [("MUG", 1)]),  # today: its day has not closed
    ]  # fmt: skip
    with served(orders, f"sqlite:///{tmp_path}/w.db", tmp_path, mode="daily_journal") as w:
        w.sage_faults.queue("POST", "/bank_receipt", "drop_after_commit", times=2)
        run = journal_sync(w)
        #    reference      tender   amount   tax code: goods, VAT
        expected = [
            ("1-2026-03-12", "Card", "21.00", [("0", "5.00", "0.00"), ("1", "13.33", "2.67")]),
            ("1-2026-03-12", "Cash", "10.50", [("0", "2.50", "0.00"), ("1", "6.67", "1.33")]),
            ("1-2026-03-13", "Card", "7.50", [("0", "7.50", "0.00")]),
            ("2-2026-03-12", "Cash", "72.00", [("1", "60.00", "12.00")]),
        ]
        assert bank_receipts(w.sage) == expected
        assert (w.sage.sop_orders, w.sage.sales_posted) == ([], [])  # no per-order documents
        assert w.sage_faults.pending() == 0 and run.problems == []
        got = statuses(w)
        assert {k: v for k, v in got.items() if k.startswith("journal:")} == {
            "journal:1-2026-03-12:Card": "exists",  # answers dropped: found, not reposted
            "journal:1-2026-03-12:Cash": "exists",
            "journal:1-2026-03-13:Card": "posted",
            "journal:2-2026-03-12:Cash": "posted",
        }
        assert {k: v for k, v in got.items() if not k.startswith("journal:")} == {
            "sale:5001": "journaled",
            "sale:5002": "journaled",
            "credit_note:5003": "journaled",
            "sale:5004": "journaled",
            "sale:5005": "journaled",
            "sale:5006": "held",
        }  # 5007 waits for its day to close

        again = journal_sync(w)
        assert bank_receipts(w.sage) == expected and again.counts["posted"] == 0

        # An offline register uploads a sale of the 12th after that day was journaled.
        w.sitoo.add_order(order(5008, 1, at(D12, 15), [("MUG", 1)]))
        late = journal_sync(w)
        assert bank_receipts(w.sage) == expected
        assert statuses(w)["sale:5008"] == "failed"
        assert late.problems and "5008" in late.problems[0]


def test_journal_mode_is_refused_when_the_plugin_does_not_declare_daily_journals(
    tmp_path: Path,
) -> None:
    # The declaration decides, not the object: Sage200Poster has post_journals, but a plug-in
    # that leaves DAILY_JOURNAL out gets no journal posted and one clear configuration error.
    orders = [order(5001, 1, at(D12, 9), [("TEE", 1)])]
    with served(orders, f"sqlite:///{tmp_path}/w.db", tmp_path, mode="daily_journal") as w:
        with pytest.raises(ConfigError) as refused:
            journal_sync(w, abilities=frozenset({Ability.PREFETCH}))
        assert str(refused.value) == (
            "posting_mode daily_journal is not available for sage200: use per_order"
        )
        assert (bank_receipts(w.sage), statuses(w)) == ([], {})


def test_collect_and_reconcile_after_a_journal_sync_find_nothing(tmp_path: Path) -> None:
    orders = [
        order(5001, 1, at(D12, 9), [("TEE", 1)]),
        order(5002, 1, at(D12, 10), [("MUG", 2), ("BOOK", 1)], SPLIT),
        order(5003, 1, at(D12, 11), [("TEE", -1)], refund_of=5001),
        order(5004, 2, at(D12, 12), [("TEE", 3)], [("Cash", "72.00")]),
        order(5005, 1, at(D13, 9), [("BOOK", 1)]),
        # Today's sale: its day is still open, so it is not journaled, and it sets the
        # engine's "now" (as_of = the newest order) past the journaled days' grace.
        order(5006, 2, datetime.now(UTC), [("MUG", 1)]),
    ]  # fmt: skip
    with served(orders, f"sqlite:///{tmp_path}/w.db", tmp_path, mode="daily_journal") as w:
        run = journal_sync(w)
        assert (run.counts["posted"], run.counts["journaled"], run.problems) == (4, 5, [])
        collect_job(w.settings)
        merged, findings = reconcile_job(w.settings)
        assert to_records(merged) == []
        assert findings.takings.height == 4  # store-day-accounts compared, all equal


def test_a_store_in_per_order_mode_beside_journal_stores_posts_its_own_documents(
    tmp_path: Path,
) -> None:
    orders = [
        order(5001, 1, at(D12, 9), [("TEE", 1)]),  # store 1: daily_journal (the default)
        order(5004, 2, at(D12, 12), [("TEE", 3)], [("Cash", "72.00")]),  # store 2: per_order
        order(5006, 2, datetime.now(UTC), [("MUG", 1)]),  # sets the engine's "now", as above
    ]  # fmt: skip
    with served(orders, f"sqlite:///{tmp_path}/w.db", tmp_path, mode="daily_journal") as w:
        text = w.mappings_text + '"posting_mode.2" = "per_order"\n'
        import_mappings(w.engine, parse_mappings(tomllib.loads(text)))
        w = replace(w, mappings_text=text)
        run = journal_sync(w)
        #                 reference      tender  amount
        assert [r[:3] for r in bank_receipts(w.sage)] == [("1-2026-03-12", "Card", "24.00")]
        assert sorted(o["customer_document_no"] for o in w.sage.sop_orders) == ["5004", "5006"]
        assert {k: v for k, v in statuses(w).items() if not k.startswith("journal:")} == {
            "sale:5001": "journaled",
            "sale:5004": "posted",
            "receipt:5004:1": "posted",
            "sale:5006": "posted",
            "receipt:5006:1": "posted",
        }
        assert run.problems == []
        again = journal_sync(w)  # each side leaves the other's orders alone, also on a re-run
        assert (again.counts["posted"], len(w.sage.sop_orders)) == (0, 2)
        collect_job(w.settings)
        merged, _ = reconcile_job(w.settings)
        assert to_records(merged) == []
