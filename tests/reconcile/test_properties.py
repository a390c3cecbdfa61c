"""Property tests on generated snapshots where the ERP mirrors the POS."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.reconcile import reconcile
from tests.reconcile._build import LATER, Snap, later

PROFILE = settings(max_examples=12, deadline=None)


@dataclass(frozen=True)
class Order:
    order_id: str
    store: str
    day: int
    cents: int
    split: int  # cents paid in cash, the rest by card
    refund: bool


@st.composite
def orders(draw: st.DrawFn) -> list[Order]:
    n = draw(st.integers(1, 6))
    out: list[Order] = []
    for i in range(n):
        cents = draw(st.integers(1, 50_000))
        out.append(
            Order(
                order_id=str(100 + i),
                store=draw(st.sampled_from(["1", "2"])),
                day=draw(st.integers(0, 2)),
                cents=cents,
                split=draw(st.integers(0, cents)),
                refund=i > 0 and draw(st.booleans()),
            )
        )
    return out


def _money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def build(
    rows: list[Order], *, posted: set[str] | None = None, journal: frozenset[str] = frozenset()
) -> Snap:
    """Each order posted per order, or (stores in `journal`) in one daily journal line per
    store-day and account."""
    snap = Snap()
    daily: dict[tuple[str, int, str], int] = {}
    for o in rows:
        sign = -1 if o.refund else 1
        parts = [(t, c) for t, c in (("Cash", o.split), ("Card", o.cents - o.split)) if c]
        snap.sale(
            o.order_id,
            _money(sign * o.cents),
            store=o.store,
            day=later(o.day),
            tenders=tuple((t, _money(sign * c)) for t, c in parts),
            order_type="refund" if o.refund else "sale",
            original="100" if o.refund else None,
            posted=o.store not in journal and (posted is None or o.order_id in posted),
        )
        if o.store in journal and (posted is None or o.order_id in posted):
            for tender, c in parts:
                key = (o.store, o.day, ACCOUNT[tender])
                daily[key] = daily.get(key, 0) + sign * c
    for store in sorted(journal):
        snap.setting(f"posting_mode.{store}", "daily_journal")
    for (store, day, account), cents in sorted(daily.items()):
        ref = f"{store}-{later(day):%Y-%m-%d}"
        snap.receipt(ref, account, _money(cents), posting_date=later(day), journal_id=ref)
    return snap


ACCOUNT = {"Cash": "1210", "Card": "1220"}
JOURNAL = st.sampled_from([frozenset(), frozenset({"2"}), frozenset({"1", "2"})])


@PROFILE
@given(orders(), JOURNAL, st.booleans())
def test_consistent_snapshot_has_no_exceptions(
    rows: list[Order], journal: frozenset[str], now: bool
) -> None:
    # as_of: long after, or the newest sale itself (its store-day journaled or still open).
    findings = build(rows, journal=journal).run(as_of=None if now else LATER)
    assert findings.exceptions.is_empty()
    assert findings.waterfall.is_empty()


@PROFILE
@given(orders(), st.data())
def test_one_planted_break_yields_exactly_its_exception(
    rows: list[Order], data: st.DataObject
) -> None:
    target = data.draw(st.sampled_from(rows))
    snap = build(rows)
    doc = next(r for r in snap.rows["erp_documents"] if r["pos_ref"] == target.order_id)
    breaks = ["drop_doc", "duplicate", "amount", "stray_receipt", "orphan", "orphan_nowhere"]
    brk = data.draw(st.sampled_from(breaks))
    if brk == "drop_doc":
        snap.rows["erp_documents"].remove(doc)
        kind = "refund_without_credit_note" if target.refund else "missing_in_erp"
        want: set[tuple[str, str, str | None]] = {(kind, "not_posted", target.order_id)}
    elif brk == "duplicate":
        snap.add("erp_documents", **{**doc, "doc_no": "ZZ", "doc_id": "zz"})
        want = {("duplicate_in_erp", "posted_twice", target.order_id)}
    elif brk == "amount":
        doc["gross_total"] += Decimal(data.draw(st.integers(1, 999))) / 100
        want = {("amount_mismatch", "amount_differs", target.order_id)}
    elif brk == "stray_receipt":
        snap.receipt(None, "1220", "0.01", location="WH" + target.store, posting_date=later(9))
        want = {("tender_variance", "unexplained", None)}
    elif brk == "orphan":  # an invoice and its receipt for a sale the POS never had
        snap.doc("X9", "999", "3.00", location="WH" + target.store).receipt("999", "1220", "3.00")
        want = {
            ("missing_in_pos", "no_pos_order", "999"),
            ("tender_variance", "explained_by_missing_in_pos", None),
        }
    else:  # no POS id, no location: reported without a store
        snap.doc("X9", None, location=None)
        want = {("missing_in_pos", "no_pos_ref", None)}
    got = {tuple(r) for r in snap.run().exceptions.select("kind", "cause", "pos_ref").rows()}
    assert got == want


@PROFILE
@given(orders(), st.data())
def test_waterfall_sums_to_store_day_variance(rows: list[Order], data: st.DataObject) -> None:
    posted = {o.order_id for o in rows if data.draw(st.booleans())}
    snap = build(rows, posted=posted, journal=data.draw(JOURNAL))
    for n in range(data.draw(st.integers(0, 3))):
        cents = data.draw(st.integers(-5000, 5000))
        account = data.draw(st.sampled_from(["1210", "1220"]))
        location = data.draw(st.sampled_from(["WH1", "WH2", "WEB"]))
        if data.draw(st.booleans()):  # a stray receipt
            snap.receipt(None, account, _money(cents), location=location)
        else:  # an orphan invoice or credit note (store from its location, if any) and its money
            ref, doc_type = f"90{n}", data.draw(st.sampled_from(["invoice", "credit_note"]))
            snap.doc(f"X{n}", ref, _money(cents), doc_type=doc_type, location=location)
            snap.receipt(ref, account, _money(cents))
    findings = snap.run()
    keys = ["store", "business_day"]
    variance = findings.takings.group_by(keys).agg(pl.col("variance").sum())
    parts = findings.waterfall.group_by(keys).agg(pl.col("amount").sum())
    joined = variance.join(parts, on=keys, how="full", coalesce=True, nulls_equal=True)
    zero = pl.lit(Decimal(0))
    assert joined.select(
        (pl.col("variance").fill_null(zero) == pl.col("amount").fill_null(zero)).all()
    ).item()


@PROFILE
@given(orders(), st.integers(0, 2**32 - 1))
def test_ids_are_stable_and_independent_of_row_order(rows: list[Order], seed: int) -> None:
    snap = build(rows, posted={o.order_id for o in rows[::2]})
    snap.doc("X1", None).doc("X2", "999", location="WH2")
    first = snap.run().exceptions
    shuffled = Snap(rows={k: random.Random(seed).sample(v, len(v)) for k, v in snap.rows.items()})
    again = reconcile(shuffled.tables(), as_of=LATER).exceptions
    assert not first.is_empty()
    assert first.equals(again)
