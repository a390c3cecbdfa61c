"""Property tests on generated snapshots where the ERP mirrors the POS."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import reconcile
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


def build(rows: list[Order], *, posted: set[str] | None = None) -> Snap:
    snap = Snap()
    for o in rows:
        sign = -1 if o.refund else 1
        tenders = tuple(
            (t, _money(sign * c)) for t, c in (("Cash", o.split), ("Card", o.cents - o.split)) if c
        )
        snap.sale(
            o.order_id,
            _money(sign * o.cents),
            store=o.store,
            day=later(o.day),
            tenders=tenders,
            order_type="refund" if o.refund else "sale",
            original="100" if o.refund else None,
            posted=posted is None or o.order_id in posted,
        )
    return snap


@PROFILE
@given(orders())
def test_consistent_snapshot_has_no_exceptions(rows: list[Order]) -> None:
    findings = build(rows).run()
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
    brk = data.draw(st.sampled_from(["drop_doc", "duplicate", "amount", "stray_receipt"]))
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
    else:
        snap.receipt(None, "1220", "0.01", location="WH" + target.store, posting_date=later(9))
        want = {("tender_variance", "unexplained", None)}
    got = {tuple(r) for r in snap.run().exceptions.select("kind", "cause", "pos_ref").rows()}
    assert got == want


@PROFILE
@given(orders(), st.data())
def test_waterfall_sums_to_store_day_variance(rows: list[Order], data: st.DataObject) -> None:
    posted = {o.order_id for o in rows if data.draw(st.booleans())}
    snap = build(rows, posted=posted)
    for _ in range(data.draw(st.integers(0, 2))):
        cents = data.draw(st.integers(-5000, 5000))
        snap.receipt(None, data.draw(st.sampled_from(["1210", "1220"])), _money(cents),
                     location=data.draw(st.sampled_from(["WH1", "WH2"])))  # fmt: skip
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
