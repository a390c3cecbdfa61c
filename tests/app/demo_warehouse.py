"""Demo data for the dashboard tests: a temp SQLite warehouse and small row builders.

Rows go in through the models with only the fields a test cares about; the rest get
plain defaults. Test-only: never used by the app.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, insert

from recon.warehouse.db import open_warehouse, pack, upgrade
from recon.warehouse.models import (
    ErpDocument,
    ErpDocumentLine,
    ErpItem,
    ErpJournalLine,
    ExceptionEvent,
    ExceptionRow,
    PosOrder,
    PosOrderLine,
    PosPayment,
    RawPayload,
    Run,
    SyncPost,
    Takings,
    WaterfallPart,
)

T0 = datetime(2024, 6, 2, 6, 0, tzinfo=UTC)
P = ParamSpec("P")
R = TypeVar("R")


def read(
    url: str, query: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """A dashboard query run as a page runs it: on one read of the warehouse at `url`."""
    with open_warehouse(url).reading() as conn:
        return query(conn, *args, **kwargs)


FINANCE = "finance"


def D(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


@dataclass
class Warehouse:
    url: str
    engine: Engine

    def read(
        self, query: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """`query` on one read of this warehouse, as a page runs it."""
        return read(self.url, query, *args, **kwargs)

    def _insert(self, model: Any, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(model).values(**values))

    def exception(
        self,
        id: str,
        kind: str = "missing_in_erp",
        store: str | None = "1",
        day: str | None = "2024-06-01",
        pos: str | None = None,
        erp: str | None = None,
        diff: str | None = None,
        status: str = "new",
        *,
        cause: str = "not_posted",
        pos_ref: str | None = None,
        erp_ref: str | None = None,
        sku: str | None = None,
        tender: str | None = None,
        currency: str | None = "GBP",
        first_seen: datetime = T0,
        owner: str | None = None,
        assignee: str | None = None,
        resolved_at: datetime | None = None,
    ) -> None:
        from recon.app.filters import OPS_KINDS

        self._insert(
            ExceptionRow,
            id=id,
            kind=kind,
            cause=cause,
            store=store,
            business_day=None if day is None else date.fromisoformat(day),
            pos_ref=pos_ref,
            erp_ref=erp_ref,
            sku=sku,
            tender=tender,
            pos_value=D(pos),
            erp_value=D(erp),
            difference=D(diff),
            currency=currency,
            severity="error",
            owner=owner or ("ops" if kind in OPS_KINDS else FINANCE),
            status=status,
            first_seen=first_seen,
            last_seen=first_seen,
            resolved_at=resolved_at,
            assignee=assignee,
        )

    def raw(self, source: str, entity: str, vendor_id: str, payload: Any) -> int:
        blob, digest = pack(payload)
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(RawPayload).values(
                    source=source,
                    entity=entity,
                    vendor_id=vendor_id,
                    payload=blob,
                    payload_hash=digest,
                    fetched_at=T0,
                )
            )
            return int(result.inserted_primary_key[0])

    def order(
        self,
        order_id: str,
        store: str = "1",
        day: str = "2024-06-01",
        gross: str = "12.00",
        payload: Any = None,
        lines: Sequence[tuple[str, str, str]] = (),
        payments: Sequence[tuple[str, str]] = (),
        vat: str = "2.00",
        state: str = "completed",
    ) -> None:
        raw_id = self.raw("sitoo", "order", order_id, payload) if payload is not None else None
        self._insert(
            PosOrder,
            order_id=order_id,
            store_id=store,
            business_day=date.fromisoformat(day),
            created_at=T0,
            order_type="sale",
            state=state,
            paid=True,
            gross_total=Decimal(gross),
            vat_total=Decimal(vat),
            currency="GBP",
            raw_id=raw_id,
        )
        for no, (sku, qty, line_gross) in enumerate(lines, 1):
            self._insert(
                PosOrderLine,
                order_id=order_id,
                line_no=no,
                sku=sku,
                quantity=Decimal(qty),
                unit_price_gross=Decimal(line_gross),
                line_discount=Decimal("0"),
                line_gross=Decimal(line_gross),
                line_vat=Decimal("0"),
                vat_rate=Decimal("20"),
            )
        for no, (tender, amount) in enumerate(payments, 1):
            self._insert(
                PosPayment, order_id=order_id, payment_no=no, tender=tender, amount=Decimal(amount)
            )

    def document(
        self,
        doc_id: str,
        doc_no: str,
        pos_ref: str | None,
        gross: str = "12.00",
        payload: Any = None,
        lines: Sequence[tuple[str, str, str]] = (),
        doc_type: str = "sales_order",
        vat: str = "2.00",
        location: str | None = "WH-LON",
        original_pos_ref: str | None = None,
    ) -> None:
        raw_id = self.raw("sage200", "sop_order", doc_id, payload) if payload is not None else None
        self._insert(
            ErpDocument,
            doc_id=doc_id,
            doc_no=doc_no,
            doc_type=doc_type,
            pos_ref=pos_ref,
            original_pos_ref=original_pos_ref,
            location=location,
            posting_date=date(2024, 6, 1),
            gross_total=Decimal(gross),
            vat_total=Decimal(vat),
            currency="GBP",
            raw_id=raw_id,
        )
        for no, (sku, qty, net) in enumerate(lines, 1):
            self._insert(
                ErpDocumentLine,
                doc_id=doc_id,
                line_no=no,
                sku=sku,
                quantity=Decimal(qty),
                net=Decimal(net),
                vat=Decimal("0"),
                tax_code="1",
            )

    def journal_line(self, journal_id: str, line_no: int, pos_ref: str, amount: str) -> None:
        self._insert(
            ErpJournalLine,
            journal_id=journal_id,
            line_no=line_no,
            posting_date=date(2024, 6, 1),
            location=None,
            account="1220",
            tender="Card",
            amount=Decimal(amount),
            currency="GBP",
            pos_ref=pos_ref,
        )

    def run(
        self,
        job: str,
        started: datetime,
        finished: datetime | None,
        status: str = "ok",
        message: str | None = None,
    ) -> None:
        self._insert(
            Run,
            job=job,
            started_at=started,
            finished_at=finished,
            status=status,
            counts="{}",
            message=message,
        )

    def sync_post(
        self,
        key: str,
        status: str,
        order: str | None = None,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        self._insert(
            SyncPost,
            erp="sage200",
            post_key=key,
            pos_order_id=order,
            kind=key.split(":")[0],
            status=status,
            reason=reason,
            message=message,
            attempts=1,
            first_attempt_at=T0,
            last_attempt_at=T0,
        )

    def takings(
        self, store: str | None, day: str, account: str, pos: str, erp: str, currency: str = "GBP"
    ) -> None:
        self._insert(
            Takings,
            store=store,
            business_day=date.fromisoformat(day),
            account=account,
            tender={"1210": "Cash", "1220": "Card"}.get(account),
            pos_amount=Decimal(pos),
            erp_amount=Decimal(erp),
            variance=Decimal(erp) - Decimal(pos),
            currency=currency,
        )

    def waterfall(
        self, store: str | None, day: str, cause: str, amount: str, currency: str = "GBP"
    ) -> None:
        self._insert(
            WaterfallPart,
            store=store,
            business_day=date.fromisoformat(day),
            cause=cause,
            amount=Decimal(amount),
            currency=currency,
        )

    def item(self, sku: str, price_gross: str) -> None:
        self._insert(ErpItem, sku=sku, price_gross=Decimal(price_gross), tax_code="1", active=True)

    def event(self, exception_id: str, action: str, actor: str = "engine") -> None:
        self._insert(ExceptionEvent, exception_id=exception_id, at=T0, actor=actor, action=action)


def make_warehouse(directory: Path) -> Warehouse:
    """An empty, migrated SQLite warehouse under `directory` (a unique name per call)."""
    name = hashlib.sha1(str(directory).encode()).hexdigest()[:8]
    url = f"sqlite:///{directory / f'wh-{name}.db'}"
    upgrade(url)
    return Warehouse(url=url, engine=open_warehouse(url, create=False).engine)
