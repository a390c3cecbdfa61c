"""Small constructors for inline snapshot tables in the engine tests.

Builds frames only; holds no expected results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from recon.reconcile import EngineConfig, Findings, reconcile
from recon.snapshot import TABLES

DAY = date(2024, 5, 1)
LATER = datetime(2024, 6, 1, tzinfo=UTC)


def d(value: str | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass
class Snap:
    """Rows per snapshot table; mappings default to two stores, Cash/Card and 20% VAT."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in TABLES:
            self.rows.setdefault(name, [])
        if not self.rows["map_store"]:
            self.add("map_store", store_id="1", location="WH1")
            self.add("map_store", store_id="2", location="WH2")
        if not self.rows["map_tender"]:
            self.add("map_tender", tender="Cash", account="1210")
            self.add("map_tender", tender="Card", account="1220")
        if not self.rows["map_tax"]:
            self.add("map_tax", vat_rate=d("20.00"), tax_code="1", account="2200")

    def add(self, table: str, **row: Any) -> Snap:
        want = TABLES[table]
        unknown = set(row) - set(want)
        assert not unknown, f"{table}: unknown columns {unknown}"
        self.rows[table].append({c: row.get(c) for c in want})
        return self

    def setting(self, key: str, value: str) -> Snap:
        """A mappings [settings] entry, e.g. ("posting_mode.1", "daily_journal")."""
        return self.add("map_settings", key=key, value=value)

    def clear(self, table: str) -> Snap:
        self.rows[table] = []
        return self

    def order(
        self,
        order_id: str,
        gross: str = "12.00",
        *,
        store: str = "1",
        day: date = DAY,
        order_type: str = "sale",
        state: str = "completed",
        paid: bool = True,
        vat: str | None = None,
        original: str | None = None,
        created_at: datetime | None = None,
        currency: str = "GBP",
    ) -> Snap:
        g = Decimal(gross)
        return self.add(
            "pos_orders",
            order_id=order_id,
            store_id=store,
            business_day=day,
            created_at=created_at or datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
            order_type=order_type,
            state=state,
            paid=paid,
            original_order_id=original,
            gross_total=g,
            vat_total=d(vat) if vat is not None else (g / 6).quantize(Decimal("0.01")),
            currency=currency,
        )

    def line(
        self, order_id: str, sku: str, qty: str, gross: str, *, rate: str = "20.00", no: int = 1
    ) -> Snap:
        q, g = Decimal(qty), Decimal(gross)
        return self.add(
            "pos_order_lines",
            order_id=order_id,
            line_no=no,
            sku=sku,
            quantity=q,
            unit_price_gross=abs(g / q).quantize(Decimal("0.01")) if q else g,
            line_discount=Decimal("0.00"),
            line_gross=g,
            line_vat=(g / 6).quantize(Decimal("0.01")),
            vat_rate=Decimal(rate),
        )

    def pay(self, order_id: str, tender: str, amount: str, *, no: int = 1) -> Snap:
        return self.add(
            "pos_payments", order_id=order_id, payment_no=no, tender=tender, amount=Decimal(amount)
        )

    def doc(
        self,
        doc_no: str,
        pos_ref: str | None,
        gross: str = "12.00",
        *,
        doc_type: str = "invoice",
        location: str | None = "WH1",
        posting_date: date = DAY,
        vat: str | None = None,
        original: str | None = None,
        currency: str = "GBP",
    ) -> Snap:
        g = Decimal(gross)
        return self.add(
            "erp_documents",
            doc_id=f"id-{doc_no}",
            doc_no=doc_no,
            doc_type=doc_type,
            pos_ref=pos_ref,
            original_pos_ref=original,
            location=location,
            posting_date=posting_date,
            gross_total=g,
            vat_total=d(vat) if vat is not None else (g / 6).quantize(Decimal("0.01")),
            currency=currency,
        )

    def doc_line(self, doc_no: str, sku: str, qty: str, *, no: int = 1) -> Snap:
        return self.add(
            "erp_document_lines",
            doc_id=f"id-{doc_no}",
            line_no=no,
            sku=sku,
            quantity=Decimal(qty),
            net=Decimal("10.00"),
            vat=Decimal("2.00"),
            tax_code="1",
        )

    def receipt(
        self,
        pos_ref: str | None,
        account: str,
        amount: str,
        *,
        location: str | None = None,
        posting_date: date = DAY,
        journal_id: str | None = None,
    ) -> Snap:
        return self.add(
            "erp_journal_lines",
            journal_id=journal_id or f"J-{pos_ref}-{account}-{len(self.rows['erp_journal_lines'])}",
            posting_date=posting_date,
            location=location,
            account=account,
            tender=None,
            amount=Decimal(amount),
            currency="GBP",
            pos_ref=pos_ref,
        )

    def sale(
        self,
        order_id: str,
        gross: str = "12.00",
        *,
        store: str = "1",
        day: date = DAY,
        tenders: tuple[tuple[str, str], ...] | None = None,
        posted: bool = True,
        order_type: str = "sale",
        original: str | None = None,
    ) -> Snap:
        """A consistent sale (or refund): order, one line, payments, document and receipts."""
        tenders = tenders or (("Card", gross),)
        self.order(order_id, gross, store=store, day=day, order_type=order_type, original=original)
        sign = "-" if gross.startswith("-") else ""
        self.line(order_id, f"SKU-{order_id}", f"{sign}1", gross)
        accounts = {r["tender"]: r["account"] for r in self.rows["map_tender"]}
        for no, (tender, amount) in enumerate(tenders, start=1):
            self.pay(order_id, tender, amount, no=no)
        if posted:
            loc = {r["store_id"]: r["location"] for r in self.rows["map_store"]}.get(store)
            doc_type = "credit_note" if order_type == "refund" else "invoice"
            self.doc(
                f"D{order_id}",
                order_id,
                gross,
                doc_type=doc_type,
                location=loc,
                posting_date=day,
                original=original,
            )
            for tender, amount in tenders:
                if tender in accounts:
                    self.receipt(order_id, accounts[tender], amount, posting_date=day)
        return self

    def tables(self) -> dict[str, pl.LazyFrame]:
        return {
            name: pl.DataFrame(self.rows[name], schema=schema, orient="row").lazy()
            if self.rows[name]
            else pl.DataFrame(schema=schema).lazy()
            for name, schema in TABLES.items()
        }

    def run(self, config: EngineConfig | None = None, **kw: Any) -> Findings:
        kw.setdefault("as_of", LATER)
        return reconcile(self.tables(), config, **kw)


def found(findings: Findings, *cols: str) -> set[tuple[Any, ...]]:
    """The exceptions as a set of (kind, cause, *cols) tuples."""
    frame = findings.exceptions
    return {tuple(r) for r in frame.select("kind", "cause", *cols).iter_rows()}


def later(days: int) -> date:
    return DAY + timedelta(days=days)
