"""The sync run: read POS orders from Sitoo, post the eligible ones, record every outcome.

Only completed, paid orders post. An order held by a mapping or master-data problem, or
refused by the ERP, is recorded in `sync_posts` with its reason and tried again on every
later run, so it posts once the cause is fixed. New orders are read from a watermark that
never passes a recent unsettled order. Credentials or an unreachable vendor stop the run;
a single order's failure does not.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from clients import AuthError, TerminalError, TransientError, Unreachable
from clients.sitoo import SitooClient, SitooOrder
from collectors._landing import batched, get_watermark, set_watermark
from collectors.sitoo import StoreDirectory, is_postable, is_refund, order_state, store_directory
from config.mappings import Mappings
from sync._outcome import Outcome
from sync.holds import hold_reason
from warehouse.db import table
from warehouse.models import SyncPost
from warehouse.runs import RunLog

RETRY_STATUSES = ("held", "failed", "retrying")
BATCH = 200


class Poster(Protocol):
    """What the run loop needs of an ERP: its name, what it knows, and the two posts."""

    @property
    def erp(self) -> str: ...
    @property
    def known_skus(self) -> Collection[str]: ...
    @property
    def active_accounts(self) -> Collection[str]: ...

    def post_sale(self, order: SitooOrder, day: date, location: str) -> list[Outcome]: ...
    def post_refund(self, order: SitooOrder, day: date, location: str) -> list[Outcome]: ...


def record(
    conn: Connection,
    erp: str,
    post_key: str,
    order_id: str,
    kind: str,
    status: str,
    *,
    erp_ref: str | None = None,
    reason: str | None = None,
    message: str | None = None,
) -> None:
    """Upsert one sync_posts row, counting the attempt."""
    now = datetime.now(UTC)
    tbl = table("sync_posts")
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(tbl).values(
        erp=erp,
        post_key=post_key,
        pos_order_id=order_id,
        kind=kind,
        status=status,
        erp_ref=erp_ref,
        reason=reason,
        message=message,
        attempts=1,
        first_attempt_at=now,
        last_attempt_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["erp", "post_key"],
        set_={
            "status": status,
            "erp_ref": erp_ref,
            "reason": reason,
            "message": message,
            "attempts": tbl.c.attempts + 1,
            "last_attempt_at": now,
        },
    )
    conn.execute(stmt)


class SyncRun:
    def __init__(
        self,
        engine: Engine,
        sitoo: SitooClient,
        poster: Poster,
        mappings: Mappings,
        stores: StoreDirectory,
        run: RunLog,
    ) -> None:
        self.engine, self.sitoo, self.poster = engine, sitoo, poster
        self.mappings, self.stores, self.run = mappings, stores, run

    def process(self, order: SitooOrder) -> None:
        oid = str(order.orderid)
        if not is_postable(order):
            self.run.counts["not_eligible"] += 1
            return
        kind = "refund" if is_refund(order) else "sale"
        doc_key = f"{'credit_note' if kind == 'refund' else 'sale'}:{oid}"
        store_id = self.stores.store_id(order.warehouseid)
        day = self.stores.business_day(order, store_id)
        erp = self.poster.erp
        hold = hold_reason(
            order, store_id, self.mappings, self.poster.known_skus, self.poster.active_accounts
        )
        if hold:
            with self.engine.begin() as conn:
                record(
                    conn, erp, doc_key, oid, kind, "held", reason=hold.reason, message=hold.message
                )
            self.run.counts["held"] += 1
            return
        location = self.mappings.stores[store_id].location
        try:
            post = self.poster.post_refund if kind == "refund" else self.poster.post_sale
            outcomes = post(order, day, location)
        except (AuthError, Unreachable):
            raise
        except TransientError as exc:
            self._failed(doc_key, oid, kind, "retrying", "vendor_unavailable", str(exc))
            return
        except TerminalError as exc:
            self._failed(doc_key, oid, kind, "failed", "rejected", str(exc))
            return
        with self.engine.begin() as conn:
            for o in outcomes:
                record(conn, erp, o.post_key, oid, o.kind, o.status, erp_ref=o.erp_ref)
                self.run.counts[o.status] += 1

    def _failed(
        self, key: str, oid: str, kind: str, status: str, reason: str, message: str
    ) -> None:
        with self.engine.begin() as conn:
            record(conn, self.poster.erp, key, oid, kind, status, reason=reason, message=message)
        self.run.counts[status] += 1
        self.run.problem(f"order {oid}: {message}")

    def retry_earlier(self) -> None:
        """Orders held, refused or interrupted on an earlier run get another go."""
        with self.engine.connect() as conn:
            ids = (
                conn.execute(
                    select(SyncPost.pos_order_id).where(
                        SyncPost.erp == self.poster.erp,
                        SyncPost.status.in_(RETRY_STATUSES),
                        SyncPost.kind.in_(("sale", "refund")),
                    )
                )
                .scalars()
                .all()
            )
        for oid in sorted({i for i in ids if i}, key=int):
            fetched = self.sitoo.get_order(oid)
            if fetched.item is not None:
                self.process(fetched.item)

    def new_orders(self, since: int | None) -> None:
        entity = f"{self.poster.erp}:orders"
        mark = get_watermark(self.engine, "sync", entity)
        start = since if since is not None else (int(mark) if mark else None)
        high = start or 0
        for batch in batched(self.sitoo.iter_orders(orderid_from=start), BATCH):
            pinned: int | None = None
            for f in batch:
                if f.item is None:
                    self.run.problem(f"sitoo order {f.key}: {f.error}")
                    continue
                order = f.item
                high = max(high, order.orderid + 1)
                if order_state(order) == "open" or (
                    order_state(order) == "completed" and order.paymentstateid != 20
                ):
                    pinned = order.orderid if pinned is None else min(pinned, order.orderid)
                self.process(order)
            with self.engine.begin() as conn:
                set_watermark(
                    conn, "sync", entity, str(high if pinned is None else min(high, pinned))
                )


def run_sync(
    engine: Engine,
    sitoo: SitooClient,
    poster: Poster,
    mappings: Mappings,
    default_tz: str,
    run: RunLog,
    *,
    since: int | None = None,
) -> None:
    stores = store_directory(sitoo, mappings, default_tz)
    sync = SyncRun(engine, sitoo, poster, mappings, stores, run)
    sync.retry_earlier()
    sync.new_orders(since)
