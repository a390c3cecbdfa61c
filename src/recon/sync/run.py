"""The sync run: read POS orders from Sitoo, post the eligible ones, record every outcome.

Only completed, paid orders post. An order held by a mapping or master-data problem, or
refused by the ERP, is recorded in `sync_posts` with its reason and tried again on every
later run, so it posts once the cause is fixed. An order whose Sitoo data does not validate,
or that no rule can turn into a document (an amount past what the ERP takes), is held the
same way with `held_bad_data` and the one-line reason; the others of its batch post. New
orders are read from a watermark that never passes a recent unsettled order. Credentials or
an unreachable vendor stop the run; a single order's failure does not.

Exactly once: before its look-up and writes an order is claimed in `sync_posts`
(`recon.sync.claims`), so two workers, or a re-run after a crash, never post one order twice;
an order whose document row is `posted` / `exists` is skipped without calling the ERP.

Throughput: a batch's claimed orders are looked up together (`poster.prefetch`), then post
in a small thread pool (`[settings] sync_workers`, default 4) while the next batch is
claimed and looked up (a refund of a sale in the same batch posts after it, so its credit
note can link to the sale's document); the watermark moves only once a whole batch has
posted. Claims an
outage leaves unfinished are given back (`retrying`) before the run stops.

The stores in `daily_journal` mode (`[settings] posting_mode`, or `posting_mode.STORE_ID`
for one store) are `recon.sync.journal`'s: this run leaves their orders alone, and a journal run
leaves the per-order stores' orders alone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from recon.clients import (
    AuthError,
    BaseUrlNotFound,
    Fetched,
    TerminalError,
    TransientError,
    Unreachable,
    VendorError,
)
from recon.clients.sitoo import SitooClient, SitooOrder
from recon.collectors._landing import batched, get_watermark, set_watermark
from recon.config.mappings import Mappings
from recon.pos.rules import (
    UNSETTLED_HORIZON,
    StoreDirectory,
    is_postable,
    is_refund,
    order_state,
    original_order_id,
    store_directory,
)
from recon.sync.claims import (
    POSTING,
    Lease,
    LostClaim,
    Worker,
    claim_many,
    holding,
    release_unfinished,
)
from recon.sync.holds import hold_reason
from recon.sync.journal import run_journals
from recon.sync.posts import BAD_DATA, BATCH, hold_bad_orders, post_row, record, record_rows
from recon.sync.protocol import Abilities, Poster, prefetcher
from recon.warehouse.db import table
from recon.warehouse.models import SyncPost
from recon.warehouse.runs import RunLog

RETRY_STATUSES = ("held", "failed", "retrying", POSTING)
DEFAULT_WORKERS = 4
# What a rule raises on data it cannot post (Decimal overflow, a price it refuses): the
# order is held as bad data; anything else (the warehouse gone, a bug) still stops the run.
DATA_ERRORS = (ArithmeticError, ValueError, TypeError, LookupError)


def sync_workers(mappings: Mappings) -> int:
    return mappings.options.sync_workers or DEFAULT_WORKERS


@dataclass(frozen=True)
class Claim:
    order: SitooOrder
    oid: str
    kind: str
    doc_key: str


class SyncRun:
    def __init__(
        self,
        engine: Engine,
        sitoo: SitooClient,
        poster: Poster,
        mappings: Mappings,
        stores: StoreDirectory,
        run: RunLog,
        *,
        abilities: Abilities,
        workers: int | None = None,
    ) -> None:
        self.engine, self.sitoo, self.poster = engine, sitoo, poster
        self.prefetcher = prefetcher(poster, abilities)
        self.mappings, self.stores, self.run = mappings, stores, run
        self.workers = workers if workers is not None else sync_workers(mappings)
        self.worker = Worker.new()
        self._count_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="sync")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def count(self, status: str, n: int = 1) -> None:
        with self._count_lock:
            self.run.counts[status] += n

    def claim(self, orders: list[SitooOrder]) -> list[Claim]:
        """Claim the postable `orders` for this worker, in one transaction; those that are
        not ours to post (not eligible, posted already, another worker's) are counted."""
        wanted: list[Claim] = []
        for order in orders:
            oid = str(order.orderid)
            if not is_postable(order):
                self.count("not_eligible")
                continue
            if self.mappings.mode_of(self.stores.store_id(order.warehouseid)) != "per_order":
                self.count("daily_journal")  # its store-day posts as a journal
                continue
            kind = "refund" if is_refund(order) else "sale"
            doc_key = f"{'credit_note' if kind == 'refund' else 'sale'}:{oid}"
            wanted.append(Claim(order, oid, kind, doc_key))
        got = claim_many(
            self.engine,
            self.poster.erp,
            [(c.doc_key, c.oid, c.kind) for c in wanted],
            self.worker,
        )
        for c in wanted:
            if got[c.doc_key] != "claimed":
                self.count("already_posted" if got[c.doc_key] == "done" else "claimed_elsewhere")
        return [c for c in wanted if got[c.doc_key] == "claimed"]

    def process(self, order: SitooOrder) -> None:
        """Claim, look up and post one order."""
        self.process_all([order])

    def post_claimed(self, c: Claim) -> None:
        try:
            self._claimed(c.order, c.oid, c.kind, c.doc_key)
        except LostClaim as exc:
            self.count("lost_claim")
            self.run.problem(f"order {c.oid}: {exc}")
        except DATA_ERRORS as exc:
            detail = "a value past exact arithmetic" if isinstance(exc, ArithmeticError) else exc
            why = f"cannot be posted ({type(exc).__name__}: {detail})"
            self._failed(c.doc_key, c.oid, c.kind, "held", BAD_DATA, why)
        except BaseException as exc:  # outage, Ctrl-C: give the claim back before leaving
            self._failed(c.doc_key, c.oid, c.kind, "retrying", "vendor_unavailable", str(exc))
            raise

    def _claimed(self, order: SitooOrder, oid: str, kind: str, doc_key: str) -> None:
        erp = self.poster.erp
        store_id = self.stores.store_id(order.warehouseid)
        day = self.stores.business_day(order, store_id)
        hold = hold_reason(
            order, store_id, self.mappings, self.poster.known_skus, self.poster.active_accounts
        )
        if hold:
            with self.engine.begin() as conn:
                record(
                    conn,
                    erp,
                    doc_key,
                    oid,
                    kind,
                    "held",
                    reason=hold.reason,
                    message=hold.message,
                    holder=self.worker,
                )
            self.count("held")
            return
        location = self.mappings.stores[store_id].location
        post = self.poster.post_refund if kind == "refund" else self.poster.post_sale
        try:
            with holding(Lease(self.engine, erp, [doc_key], self.worker)):
                outcomes = post(order, day, location)
        except (AuthError, Unreachable, BaseUrlNotFound):
            raise
        except TransientError as exc:
            self._failed(doc_key, oid, kind, "retrying", "vendor_unavailable", str(exc))
            return
        except TerminalError as exc:
            self._failed(doc_key, oid, kind, "failed", "rejected", str(exc))
            return
        rows = [post_row(erp, o.post_key, oid, o.kind, o.status, o.erp_ref) for o in outcomes]
        with self.engine.begin() as conn:  # one transaction: the document row ends the claim
            record_rows(conn, rows, self.worker)
        for o in outcomes:
            self.count(o.status)

    def _failed(
        self, key: str, oid: str, kind: str, status: str, reason: str, message: str
    ) -> None:
        with self.engine.begin() as conn:
            record(
                conn,
                self.poster.erp,
                key,
                oid,
                kind,
                status,
                reason=reason,
                message=message,
                holder=self.worker,
            )
        self.count(status)
        self.run.problem(f"order {oid}: {message}")

    def hold_bad(self, bad: Sequence[Fetched[SitooOrder]]) -> None:
        """See `hold_bad_orders`."""
        hold_bad_orders(self.engine, self.poster.erp, self.worker, self.run, bad, self.count)

    def prepare(self, orders: list[SitooOrder]) -> list[Claim]:
        """Claim the postable `orders`, then look them up together (`Ability.PREFETCH`, when
        the ERP has it; a failed prefetch only means each order looks itself up)."""
        claimed = self.claim(orders)
        if self.prefetcher is not None and claimed:
            try:
                self.prefetcher.prefetch([c.oid for c in claimed])
            except (AuthError, Unreachable, BaseUrlNotFound):
                raise
            except VendorError:
                pass
        return claimed

    def post_batch(self, claimed: list[Claim]) -> None:
        """Post claimed orders in the pool, refunds of a sale in the same batch after it
        (their credit note links to its document). The first outage (credentials refused,
        vendor unreachable) stops the orders not yet started, each recorded `retrying` with
        the reason; the ones under way finish; then the outage is raised."""
        sales = {c.oid for c in claimed if c.kind == "sale"}
        later = [c for c in claimed if c.kind == "refund" and original_order_id(c.order) in sales]
        if later:
            ids = {id(c) for c in later}
            try:
                self.post_batch([c for c in claimed if id(c) not in ids])
            except BaseException as exc:
                self._not_started(later, exc)
                raise
            self.post_batch(later)  # none of these is a sale: one more wave at most
            return
        if self.workers <= 1 or len(claimed) <= 1:
            for i, c in enumerate(claimed):
                try:
                    self.post_claimed(c)
                except BaseException as exc:
                    self._not_started(claimed[i + 1 :], exc)
                    raise
            return
        futures = [(self._pool.submit(self.post_claimed, c), c) for c in claimed]
        error: BaseException | None = None
        for f, c in futures:
            if f.cancelled():  # never started (the outage below): say so, retry next run
                self._not_started([c], error)
                continue
            raised = f.exception()  # waits for an order already under way to finish
            if raised is not None and error is None:
                error = raised
                for rest, _ in futures:
                    rest.cancel()
        if error is not None:
            raise error

    def _not_started(self, claims: list[Claim], error: BaseException | None) -> None:
        """Record claimed orders an outage kept from posting as `retrying`, with why."""
        for c in claims:
            why = f"not posted: the run stopped at {error}"
            self._failed(c.doc_key, c.oid, c.kind, "retrying", "vendor_unavailable", why)

    def process_all(self, orders: list[SitooOrder]) -> None:
        """Claim, look up and post `orders`; claims left unfinished by an outage are given
        back (`retrying`)."""
        try:
            self.post_batch(self.prepare(orders))
        finally:
            release_unfinished(self.engine, self.poster.erp, self.worker)

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
        orders, bad = [], []
        for oid in sorted({i for i in ids if i and i.isdigit()}, key=int):
            fetched = self.sitoo.get_order(oid)
            if fetched.item is not None:
                orders.append(fetched.item)
            else:
                bad.append(fetched)
        self.hold_bad(bad)
        self.process_all(orders)

    def new_orders(self, since: int | None) -> None:
        """Orders from the watermark, batch by batch: while one batch posts, the next is
        claimed and looked up; the watermark moves once a batch has posted."""
        entity = f"{self.poster.erp}:orders"
        mark = get_watermark(self.engine, "sync", entity)
        start = since if since is not None else (int(mark) if mark else None)
        high, pinned = start or 0, None
        horizon = datetime.now(UTC) - UNSETTLED_HORIZON
        posting: tuple[Future[None], str] | None = None

        def finish(job: tuple[Future[None], str] | None) -> None:
            if job is not None:
                job[0].result()
                with self.engine.begin() as conn:
                    set_watermark(conn, "sync", entity, job[1])

        with ThreadPoolExecutor(1, thread_name_prefix="sync-batch") as ahead:
            try:
                for batch in batched(self.sitoo.iter_orders(orderid_from=start), BATCH):
                    orders, bad = [], []
                    for f in batch:
                        if f.item is None:
                            bad.append(f)
                            if f.key.isascii() and f.key.isdigit():
                                high = max(high, int(f.key) + 1)
                            continue
                        order = f.item
                        high = max(high, order.orderid + 1)
                        unsettled = order_state(order) == "open" or (
                            order_state(order) == "completed" and order.paymentstateid != 20
                        )
                        if unsettled and (order.orderdate is None or order.orderdate >= horizon):
                            pinned = order.orderid if pinned is None else min(pinned, order.orderid)
                        orders.append(order)
                    self.hold_bad(bad)
                    claimed = self.prepare(orders)
                    self.stores.take_notes()  # a zone fallback is the collect's to report
                    finish(posting)
                    mark_after = str(high if pinned is None else min(high, pinned))
                    posting = (ahead.submit(self.post_batch, claimed), mark_after)
                finish(posting)
            finally:
                release_unfinished(self.engine, self.poster.erp, self.worker)


def run_sync(
    engine: Engine,
    sitoo: SitooClient,
    poster: Poster,
    mappings: Mappings,
    default_tz: str,
    run: RunLog,
    *,
    abilities: Abilities,
    since: int | None = None,
    workers: int | None = None,
) -> None:
    """Post what Sitoo has that the ERP lacks: the daily_journal stores' closed store-days
    (`recon.sync.journal`), then the per_order stores' orders. `abilities` are what the
    ERP's plug-in declares (`recon.erp.plugin.ErpPlugin.abilities`)."""
    stores = store_directory(sitoo, mappings, default_tz)
    modes = mappings.modes()
    if "daily_journal" in modes:
        run_journals(engine, sitoo, poster, mappings, stores, run, abilities, since=since)
    if "per_order" not in modes:
        return
    sync = SyncRun(
        engine, sitoo, poster, mappings, stores, run, abilities=abilities, workers=workers
    )
    try:
        sync.retry_earlier()
        sync.new_orders(since)
    finally:
        sync.close()


def resync_orders(
    engine: Engine,
    sitoo: SitooClient,
    poster: Poster,
    mappings: Mappings,
    default_tz: str,
    run: RunLog,
    order_ids: Sequence[str],
    *,
    abilities: Abilities,
) -> None:
    """Post these POS orders now: the same claim, hold checks, look-up and bookkeeping as a
    full run. An order recorded as posted is asked of the ERP again rather than trusted
    (its document may have been deleted there since): the poster's look-up finds it
    (`exists`, nothing posted) or posts it anew."""
    stores = store_directory(sitoo, mappings, default_tz)
    sync = SyncRun(engine, sitoo, poster, mappings, stores, run, abilities=abilities, workers=1)
    try:
        for order_id in order_ids:
            fetched = sitoo.get_order(order_id)
            if fetched.item is None:
                sync.hold_bad([fetched])
                continue
            _ask_the_erp_again(engine, poster.erp, order_id)
            sync.process(fetched.item)
    finally:
        sync.close()


DONE_STATUSES = ("posted", "exists")


def _ask_the_erp_again(engine: Engine, erp: str, order_id: str) -> None:
    """Make the order's posted document claimable again (`retrying`), so the claim succeeds
    and the poster looks it up in the ERP first. A crash before the post leaves it
    `retrying`: the next run looks it up too, so nothing posts twice."""
    tbl = table("sync_posts")
    keys = (f"sale:{order_id}", f"credit_note:{order_id}")
    with engine.begin() as conn:
        conn.execute(
            tbl.update()
            .where(tbl.c.erp == erp, tbl.c.post_key.in_(keys), tbl.c.status.in_(DONE_STATUSES))
            .values(status="retrying", reason="resync_lookup", message=None)
        )


@dataclass(frozen=True)
class OrderOutcome:
    """Where one POS order stands after a sync: `in_erp` when its document is there."""

    order_id: str
    in_erp: bool
    text: str


def order_outcomes(engine: Engine, erp: str, order_ids: Sequence[str]) -> list[OrderOutcome]:
    """Each order's document post as recorded, in words: posted (with the ERP's number),
    found already in the ERP, still held and why, refused or waiting for a retry; an order
    with no record was not postable (not a completed, paid sale or refund) or not found."""
    s = SyncPost
    keys = [f"{k}:{o}" for o in order_ids for k in ("sale", "credit_note")]
    with engine.connect() as conn:
        rows = {
            r.pos_order_id: r
            for r in conn.execute(
                select(s.pos_order_id, s.status, s.erp_ref, s.message).where(
                    s.erp == erp, s.post_key.in_(keys)
                )
            )
        }
    out: list[OrderOutcome] = []
    for oid in order_ids:
        row = rows.get(oid)
        if row is None:
            out.append(
                OrderOutcome(
                    oid,
                    False,
                    f"order {oid}: not posted (not a completed, "
                    "paid sale or refund, or not found in the POS)",
                )
            )
        elif row.status == "posted":
            out.append(OrderOutcome(oid, True, f"order {oid}: posted as {row.erp_ref}"))
        elif row.status == "exists":
            out.append(
                OrderOutcome(
                    oid, True, f"order {oid}: already in the ERP as {row.erp_ref}; nothing posted"
                )
            )
        elif row.status == "held":
            out.append(OrderOutcome(oid, False, f"order {oid}: still held: {row.message}"))
        else:
            out.append(
                OrderOutcome(oid, False, f"order {oid}: not posted ({row.status}): {row.message}")
            )
    return out
