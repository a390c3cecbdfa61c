"""Daily journal mode: a store-day's takings per tender, posted to the ERP once the day closed.

`[settings] posting_mode = "daily_journal"`. Orders are read from their own watermark and
grouped by store-day (the business day of `StoreDirectory.business_day`). A store-day posts
only when it is closed: its local day has ended plus `GRACE` (the engine's pending grace,
2 h), so offline registers have uploaded. Then: claim
`journal:{store}-{day}:{tender}` for each tender, in tender order, and hand the store-day's
journals to the poster, which looks each up in the ERP (Sage 200: bank posted transactions by
`reference` + `second_reference`; SAP B1: `Reference` + `Reference2`; NetSuite: the one
`journalEntry` at `eid:{store}-{day}`) and posts what is absent. Once all its tenders
are in, one transaction records the journals and marks each order `journaled` (erp_ref =
`{store}-{day}`); until then the watermark stays before the store-day, so a crash or an
outage repeats it, and the look-up finds what was already posted.

Decisions and limits:
- A held order (unmapped tender, SKU, ...) does not hold its store-day back: the rest posts,
  the order is recorded `held` and the engine reports it as `missing_in_erp` with its cause.
- An order that turns up, or is released from its hold, after its store-day was journaled
  is not added to the posted journal: it is recorded `failed` / `late_for_journal` and named
  in the run's problems; the engine shows the difference as a tender variance.
- An order still open or unpaid when its store-day closes is left out the same way.
- A journal found in the ERP with another amount than the orders now give is kept (never
  posted twice) and named in the run's problems.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from recon.clients import (
    AuthError,
    BaseUrlNotFound,
    Fetched,
    TerminalError,
    TransientError,
    Unreachable,
)
from recon.clients.sitoo import SitooClient, SitooOrder
from recon.collectors._landing import batched, get_watermark, set_watermark
from recon.config import ConfigError
from recon.config.mappings import Mappings
from recon.pos.rules import StoreDirectory, is_postable, is_refund, order_state
from recon.reconcile import store_day_ref
from recon.sync._outcome import Outcome
from recon.sync.claims import Lease, LostClaim, Worker, claim, holding
from recon.sync.holds import hold_reason
from recon.sync.posts import BATCH, hold_bad_orders, record
from recon.sync.protocol import Abilities, JournalPoster, Poster, journal_poster
from recon.sync.takings import StoreDayJournal, store_day_journals
from recon.warehouse.db import table, upsert_statement
from recon.warehouse.models import SyncPost
from recon.warehouse.runs import RunLog

GRACE = timedelta(hours=2)  # reconcile.EngineConfig.grace
DONE = ("journaled", "failed")  # an order in one of these is not read into a journal again
CHUNK = 500
StoreDay = tuple[str, date]


def closes_at(order: SitooOrder, stores: StoreDirectory, store_id: str, day: date) -> datetime:
    """When the store-day of `order` may post: local midnight after `day`, plus GRACE."""
    zone = stores.zone(order, store_id, note=False)  # noted once, by its business day
    midnight = datetime.combine(day + timedelta(days=1), time(0), zone)
    return midnight.astimezone(UTC) + GRACE


def doc_key(order: SitooOrder) -> str:
    return f"{'credit_note' if is_refund(order) else 'sale'}:{order.orderid}"


class JournalRun:
    def __init__(
        self,
        engine: Engine,
        sitoo: SitooClient,
        poster: JournalPoster,
        mappings: Mappings,
        stores: StoreDirectory,
        run: RunLog,
        now: datetime,
    ) -> None:
        self.engine, self.sitoo, self.poster = engine, sitoo, poster
        self.mappings, self.stores, self.run, self.now = mappings, stores, run, now
        self.worker = Worker.new()
        self.groups: dict[StoreDay, list[SitooOrder]] = defaultdict(list)
        self.closes: dict[StoreDay, datetime] = {}
        self.pins: dict[StoreDay, int] = {}

    # ------------------------------------------------------------ reading
    def add(self, order: SitooOrder) -> None:
        store_id = self.stores.store_id(order.warehouseid)
        if self.mappings.mode_of(store_id) != "daily_journal":
            self.run.counts["per_order"] += 1  # the per-order run posts it
            return
        day = self.stores.business_day(order, store_id)
        key = (store_id, day)
        closes = closes_at(order, self.stores, store_id, day)
        if not is_postable(order):
            self.run.counts["not_eligible"] += 1
            unsettled = order_state(order) == "open" or order_state(order) == "completed"
            if unsettled and closes > self.now:  # may still be paid before the day closes
                self._pin(key, order.orderid)
            return
        self.closes[key] = max(self.closes.get(key, closes), closes)
        self._pin(key, order.orderid)
        self.groups[key].append(order)

    def _pin(self, key: StoreDay, orderid: int) -> None:
        self.pins[key] = min(self.pins.get(key, orderid), orderid)

    def retry_held(self) -> None:
        with self.engine.connect() as conn:
            ids = conn.execute(
                select(SyncPost.pos_order_id).where(
                    SyncPost.erp == self.poster.erp,
                    SyncPost.status == "held",
                    SyncPost.kind.in_(("sale", "refund")),
                )
            ).scalars()
            wanted = sorted({i for i in ids if i}, key=int)
        bad = []
        for oid in wanted:
            fetched = self.sitoo.get_order(oid)
            if fetched.item is not None:
                self.add(fetched.item)
            else:
                bad.append(fetched)
        self.hold_bad(bad)

    def hold_bad(self, bad: Sequence[Fetched[SitooOrder]]) -> None:
        """Orders that do not validate are held like any held order (`held_bad_data`):
        their store-day posts without them, and the engine reports them."""

        def count(status: str) -> None:
            self.run.counts[status] += 1

        hold_bad_orders(self.engine, self.poster.erp, self.worker, self.run, bad, count)

    def _done_keys(self, keys: Sequence[str]) -> set[str]:
        done: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(keys), CHUNK):
                done.update(
                    conn.execute(
                        select(SyncPost.post_key).where(
                            SyncPost.erp == self.poster.erp,
                            SyncPost.post_key.in_(keys[i : i + CHUNK]),
                            SyncPost.status.in_(DONE),
                        )
                    ).scalars()
                )
        return done

    def _journals_done(self, reference: str) -> bool:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(SyncPost.id)
                .where(
                    SyncPost.erp == self.poster.erp,
                    SyncPost.kind == "journal",
                    SyncPost.post_key.startswith(f"journal:{reference}:", autoescape=True),
                    SyncPost.status.in_(("posted", "exists", "empty")),
                )
                .limit(1)
            ).first()
        return found is not None

    # ------------------------------------------------------------ posting
    def post_closed_days(self) -> None:
        for key in sorted(self.groups, key=lambda k: (k[1], k[0])):
            if self.closes[key] > self.now:
                self.run.counts["store_days_open"] += 1
                continue
            orders = self.groups[key]
            done = self._done_keys([doc_key(o) for o in orders])
            todo = [o for o in orders if doc_key(o) not in done]
            if not todo or self.post_store_day(key, todo):
                self.pins.pop(key, None)

    def post_store_day(self, key: StoreDay, orders: list[SitooOrder]) -> bool:
        """Post one closed store-day; True when it is settled (posted, found or late)."""
        store_id, day = key
        erp = self.poster.erp
        ready: list[SitooOrder] = []
        for order in orders:
            hold = hold_reason(
                order, store_id, self.mappings, self.poster.known_skus, self.poster.active_accounts
            )
            if hold is None:
                ready.append(order)
                continue
            kind = "refund" if is_refund(order) else "sale"
            with self.engine.begin() as conn:
                record(
                    conn, erp, doc_key(order), str(order.orderid), kind, "held",
                    reason=hold.reason, message=hold.message,
                )  # fmt: skip
            self.run.counts["held"] += 1
        if not ready:
            return True
        reference = store_day_ref(store_id, day)
        if self._journals_done(reference):
            self._mark_orders(ready, "failed", reference, late=True)
            self.run.counts["late"] += len(ready)
            self.run.problem(
                f"store-day {reference} was journaled before orders "
                f"{', '.join(str(o.orderid) for o in ready[:10])}"
                f"{' ...' if len(ready) > 10 else ''} arrived or were released: post them by hand"
            )
            return True
        journals = store_day_journals(store_id, day, ready, self.mappings)
        claimed: list[StoreDayJournal] = []
        for j in journals:  # in tender order, so two workers collide on the first one
            if claim(self.engine, erp, j.post_key, None, "journal", self.worker) != "claimed":
                self._release(claimed, "retrying", "store_day_busy", "another worker has it")
                self.run.counts["claimed_elsewhere"] += 1
                return False
            claimed.append(j)
        try:
            with holding(Lease(self.engine, erp, [j.post_key for j in journals], self.worker)):
                posted = iter(self.poster.post_journals([j for j in journals if not _empty(j)]))
                outcomes = [
                    Outcome(j.post_key, "journal", "empty", None, j.amount)
                    if _empty(j)
                    else next(posted)
                    for j in journals
                ]
        except LostClaim as exc:
            self.run.problem(f"store-day {reference}: {exc}")
            return False
        except (AuthError, Unreachable, BaseUrlNotFound) as exc:
            self._release(journals, "retrying", "vendor_unavailable", str(exc))
            raise
        except TransientError as exc:
            self._release(journals, "retrying", "vendor_unavailable", str(exc))
            self.run.problem(f"store-day {reference}: {exc}")
            return False
        except TerminalError as exc:
            self._release(journals, "failed", "rejected", str(exc))
            self.run.problem(f"store-day {reference}: {exc}")
            return False
        except BaseException as exc:
            self._release(journals, "retrying", "interrupted", str(exc))
            raise
        for j, o in zip(journals, outcomes, strict=True):
            if o.status == "exists" and o.amount is not None and o.amount != j.amount:
                self.run.problem(
                    f"journal {reference} {j.tender} is in {erp} with {o.amount}, "
                    f"the orders now give {j.amount}: check for late or changed orders"
                )
        with self.engine.begin() as conn:
            for o in outcomes:
                record(
                    conn, erp, o.post_key, None, "journal", o.status, erp_ref=o.erp_ref,
                    holder=self.worker,
                )  # fmt: skip
                self.run.counts[o.status] += 1
            _mark(conn, erp, ready, "journaled", reference, None, None)
        self.run.counts["journaled"] += len(ready)
        return True

    def _release(
        self, journals: Sequence[StoreDayJournal], status: str, reason: str, message: str
    ) -> None:
        with self.engine.begin() as conn:
            for j in journals:
                record(
                    conn, self.poster.erp, j.post_key, None, "journal", status,
                    reason=reason, message=message, holder=self.worker,
                )  # fmt: skip

    def _mark_orders(
        self, orders: Sequence[SitooOrder], status: str, reference: str, *, late: bool
    ) -> None:
        reason = "late_for_journal" if late else None
        message = f"store-day {reference} was journaled before this order" if late else None
        with self.engine.begin() as conn:
            _mark(conn, self.poster.erp, orders, status, reference, reason, message)

    def watermark(self, high: int) -> int:
        return min([high, *self.pins.values()])


def _empty(j: StoreDayJournal) -> bool:
    return j.amount == 0 and not j.splits


def _mark(
    conn: Connection,
    erp: str,
    orders: Sequence[SitooOrder],
    status: str,
    reference: str,
    reason: str | None,
    message: str | None,
) -> None:
    """One upsert for many order rows (executemany)."""
    if not orders:
        return
    now = datetime.now(UTC)
    tbl = table("sync_posts")
    rows: list[dict[str, Any]] = [
        {
            "erp": erp,
            "post_key": doc_key(o),
            "pos_order_id": str(o.orderid),
            "kind": "refund" if is_refund(o) else "sale",
            "status": status,
            "erp_ref": reference,
            "reason": reason,
            "message": message,
            "attempts": 1,
            "first_attempt_at": now,
            "last_attempt_at": now,
        }
        for o in orders
    ]
    stmt = upsert_statement(
        conn.dialect.name,
        tbl,
        ["erp", "post_key"],
        ["status", "erp_ref", "reason", "message", "last_attempt_at"],
        also={"attempts": tbl.c.attempts + 1},
    )
    conn.execute(stmt, rows)


def run_journals(
    engine: Engine,
    sitoo: SitooClient,
    poster: Poster,
    mappings: Mappings,
    stores: StoreDirectory,
    run: RunLog,
    abilities: Abilities,
    *,
    since: int | None = None,
    now: datetime | None = None,
) -> None:
    """Post every closed store-day not yet journaled; move the journal watermark."""
    journals = journal_poster(poster, abilities)
    if journals is None:
        raise ConfigError(
            f"posting_mode daily_journal is not available for {poster.erp}: use per_order"
        )
    jr = JournalRun(engine, sitoo, journals, mappings, stores, run, now or datetime.now(UTC))
    entity = f"{poster.erp}:journal_orders"
    mark = get_watermark(engine, "sync", entity)
    start = since if since is not None else (int(mark) if mark else None)
    high = start or 0
    jr.retry_held()
    for batch in batched(sitoo.iter_orders(orderid_from=start), BATCH):
        jr.hold_bad([f for f in batch if f.item is None])
        for f in batch:
            if f.item is not None:
                high = max(high, f.item.orderid + 1)
                jr.add(f.item)
            elif f.key.isascii() and f.key.isdigit():
                high = max(high, int(f.key) + 1)  # held: retried by its id
        stores.take_notes()  # a zone fallback is the collect's to report
    jr.post_closed_days()
    with engine.begin() as conn:
        set_watermark(conn, "sync", entity, str(jr.watermark(high)))
