"""Workflow actions on an exception: assign, comment, close with a reason, reopen, re-sync.

Each action changes the exception (where it changes anything) and writes one
`ExceptionEvent` in the same transaction, so the audit trail never misses a change.
It must not touch the engine's fields (kind, values, first/last seen) nor delete events.

Who may act is decided here, whatever the page shows: admin acts on every exception,
finance and ops on the exceptions their role owns (every action, re-sync included: it
posts to the ledger, and only finance-owned kinds have an order to re-sync). Mapping edits
are admin only. A refusal is `NotAllowed` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select, update

from recon.app.auth import User
from recon.app.filters import OPEN_STATUSES
from recon.warehouse.db import MAX_NOTE, text_problem
from recon.warehouse.models import ExceptionEvent, ExceptionRow, SyncPost

__all__ = [
    "Bulk",
    "NotAllowed",
    "WorkflowError",
    "allowed",
    "assign",
    "assignees",
    "bulk_assign",
    "bulk_close",
    "bulk_comment",
    "bulk_resync",
    "close",
    "comment",
    "map_held",
    "map_store",
    "map_tax",
    "map_tender",
    "reopen",
    "resync",
]

REOPENABLE = ("resolved", "closed")
DASHBOARD = "dashboard"  # the source of mapping edits made here, in their audit
REOPEN_STATUS = "persisting"


class WorkflowError(ValueError):
    """An action that cannot be done as asked; the message says why."""


class NotAllowed(WorkflowError):
    """The signed-in person's role may not do this."""


def allowed(role: str, owner: str | None) -> bool:
    """Whether `role` may act on an exception owned by `owner`: admin on all, finance and
    ops on their own."""
    return role == "admin" or (owner is not None and role == owner)


def _admin(actor: User, what: str) -> str:
    if actor.role != "admin":
        raise NotAllowed(f"only an admin may {what} ({actor.name} is {actor.role})")
    return _clean(actor.name, "actor")


def _now() -> datetime:
    return datetime.now(UTC)


def _clean(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise WorkflowError(f"{what} must not be empty")
    if (problem := text_problem(text, MAX_NOTE)) is not None:  # PostgreSQL refused a NUL
        raise WorkflowError(f"{what} holds {problem}")
    return text


def _status(conn: Connection, exception_id: str, actor: User, action: str) -> str:
    """The exception's status, once `actor` may `action` it (else NotAllowed)."""
    row = conn.execute(
        select(ExceptionRow.status, ExceptionRow.owner).where(ExceptionRow.id == exception_id)
    ).one_or_none()
    if row is None:
        raise WorkflowError(f"no exception with id {exception_id!r}")
    status, owner = row
    if not allowed(actor.role, owner):
        raise NotAllowed(
            f"{actor.name} ({actor.role}) may not {action} a {owner or 'unowned'} exception"
        )
    return str(status)


def _event(conn: Connection, exception_id: str, actor: str, action: str, note: str | None) -> None:
    conn.execute(
        insert(ExceptionEvent).values(
            exception_id=exception_id, at=_now(), actor=actor, action=action, note=note
        )
    )


def assignees(accounts: Mapping[str, str], owner: str | None) -> list[str]:
    """The accounts (name -> role) that may work an exception owned by `owner`, sorted:
    the only people it can be assigned to."""
    return sorted(name for name, role in accounts.items() if allowed(role, owner))


def assign(
    engine: Engine,
    exception_id: str,
    who: str,
    actor: User,
    *,
    accounts: Mapping[str, str],
) -> None:
    """Make `who` the assignee; event `assigned`. `who` must be one of `accounts` (name ->
    role, the dashboard's accounts) whose role may work the exception: an exception is
    never given to a name nobody signs in as, nor to someone who may not act on it."""
    name = _clean(actor.name, "actor")
    assignee = _clean(who, "assignee")
    with engine.begin() as conn:
        _status(conn, exception_id, actor, "assign")
        owner = conn.scalar(select(ExceptionRow.owner).where(ExceptionRow.id == exception_id))
        role = accounts.get(assignee)
        if role is None:
            raise WorkflowError(f"{assignee} has no dashboard account")
        if not allowed(role, owner):
            raise WorkflowError(f"{assignee} ({role}) may not work a {owner} exception")
        conn.execute(
            update(ExceptionRow).where(ExceptionRow.id == exception_id).values(assignee=assignee)
        )
        _event(conn, exception_id, name, "assigned", assignee)


def comment(engine: Engine, exception_id: str, text: str, actor: User) -> None:
    """Add a comment to the audit trail; event `commented`."""
    name, note = _clean(actor.name, "actor"), _clean(text, "comment")
    with engine.begin() as conn:
        _status(conn, exception_id, actor, "comment on")
        _event(conn, exception_id, name, "commented", note)


def close(engine: Engine, exception_id: str, reason: str, actor: User) -> None:
    """Close an open exception by hand, with the reason; event `closed`."""
    name, note = _clean(actor.name, "actor"), _clean(reason, "reason")
    with engine.begin() as conn:
        status = _status(conn, exception_id, actor, "close")
        if status not in OPEN_STATUSES:
            raise WorkflowError(f"exception {exception_id} is {status}, not open")
        conn.execute(
            update(ExceptionRow).where(ExceptionRow.id == exception_id).values(status="closed")
        )
        _event(conn, exception_id, name, "closed", note)


RESYNC_KINDS = ("missing_in_erp", "refund_without_credit_note")


def resync(
    engine: Engine,
    exception_id: str,
    actor: User,
    post_order: Callable[[str], tuple[bool, str]],
) -> tuple[bool, str]:
    """Post the exception's POS order again now. `post_order(order_id)` says whether the
    order's document is in the ERP now and the outcome in words (posted, still held and
    why); event `resynced` with that outcome, which is returned."""
    name = _clean(actor.name, "actor")
    with engine.connect() as conn:
        _status(conn, exception_id, actor, "re-sync")
        kind, order_id = conn.execute(
            select(ExceptionRow.kind, ExceptionRow.pos_ref).where(ExceptionRow.id == exception_id)
        ).one()
    if kind not in RESYNC_KINDS or not order_id:
        raise WorkflowError(f"a {kind} exception has no POS order to re-sync")
    in_erp, outcome = post_order(order_id)
    with engine.begin() as conn:
        _event(conn, exception_id, name, "resynced", outcome)
    return in_erp, outcome


@dataclass(frozen=True)
class Bulk:
    """What one action on many exceptions did: those it was done to, and each one skipped
    with why (not allowed, not open, nothing to re-sync), in the order they were given."""

    action: str  # the past tense: "assigned to ann", "closed", "re-synced"
    done: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    outcome: str | None = None  # a re-sync's outcome in words

    def summary(self) -> str:
        """One line: `closed 3 of 5; skipped 2: x (why); y (why)`, then any outcome."""
        total = len(self.done) + len(self.skipped)
        line = f"{self.action} {len(self.done)} of {total}"
        if self.skipped:
            why = "; ".join(f"{exc_id} ({reason})" for exc_id, reason in self.skipped)
            line += f"; skipped {len(self.skipped)}: {why}"
        return f"{line}. {self.outcome}" if self.outcome else line


def _each(ids: Sequence[str], action: str, one: Callable[[str], None], actor: User) -> Bulk:
    """`one(exception_id)` for each id (each its own transaction and audit event); a
    refusal skips that exception, naming why, and never stops the others."""
    _clean(actor.name, "actor")
    done: list[str] = []
    skipped: list[tuple[str, str]] = []
    for exception_id in dict.fromkeys(ids):
        try:
            one(exception_id)
        except WorkflowError as exc:
            skipped.append((exception_id, str(exc)))
        else:
            done.append(exception_id)
    return Bulk(action, tuple(done), tuple(skipped))


def bulk_assign(
    engine: Engine, ids: Sequence[str], who: str, actor: User, *, accounts: Mapping[str, str]
) -> Bulk:
    """`assign` each exception to `who`; those the actor may not touch, or `who` may not
    work, are skipped and named."""
    assignee = _clean(who, "assignee")
    return _each(
        ids,
        f"assigned to {assignee}",
        lambda i: assign(engine, i, assignee, actor, accounts=accounts),
        actor,
    )


def bulk_comment(engine: Engine, ids: Sequence[str], text: str, actor: User) -> Bulk:
    """The same comment on each exception; those the actor may not touch are skipped."""
    note = _clean(text, "comment")
    return _each(ids, "commented on", lambda i: comment(engine, i, note, actor), actor)


def bulk_close(engine: Engine, ids: Sequence[str], reason: str, actor: User) -> Bulk:
    """Close each open exception with the one reason; closed or resolved ones and those
    the actor may not touch are skipped."""
    note = _clean(reason, "reason")
    return _each(ids, "closed", lambda i: close(engine, i, note, actor), actor)


# order id -> (its document is in the ERP now, the outcome in words); and what followed
Reposter = Callable[[list[str]], tuple[Mapping[str, tuple[bool, str]], str | None]]


def bulk_resync(engine: Engine, ids: Sequence[str], actor: User, repost: Reposter) -> Bulk:
    """Post the POS orders of these exceptions again, all in one `repost(order_ids)` (one
    sync run, then one collect and reconcile), each order once however many exceptions
    name it. Skipped and named: an exception the actor may not touch, one not open, one
    whose kind has no order to post. Each re-synced exception gets its `resynced` event
    with its order's outcome."""
    name = _clean(actor.name, "actor")
    orders: dict[str, str] = {}  # exception id -> its POS order
    skipped: list[tuple[str, str]] = []
    with engine.connect() as conn:
        for exception_id in dict.fromkeys(ids):
            try:
                status = _status(conn, exception_id, actor, "re-sync")
            except WorkflowError as exc:
                skipped.append((exception_id, str(exc)))
                continue
            kind, order_id = conn.execute(
                select(ExceptionRow.kind, ExceptionRow.pos_ref).where(
                    ExceptionRow.id == exception_id
                )
            ).one()
            if status not in OPEN_STATUSES:
                skipped.append((exception_id, f"is {status}, not open"))
            elif kind not in RESYNC_KINDS or not order_id:
                skipped.append((exception_id, f"a {kind} exception has no POS order"))
            else:
                orders[exception_id] = str(order_id)
    if not orders:
        return Bulk("re-synced", (), tuple(skipped))
    wanted = sorted(set(orders.values()))
    outcomes, followed = repost(wanted)
    with engine.begin() as conn:
        for exception_id, order_id in orders.items():
            _, text = outcomes.get(order_id, (False, f"order {order_id}: no outcome"))
            _event(conn, exception_id, name, "resynced", text)
    posted = sum(1 for o in wanted if outcomes.get(o, (False, ""))[0])
    said = f"{posted} of {len(wanted)} orders in the ERP now"
    return Bulk(
        "re-synced",
        tuple(orders),
        tuple(skipped),
        f"{said}; {followed}" if followed else said,
    )


def reopen(engine: Engine, exception_id: str, actor: User, reason: str = "") -> None:
    """Reopen a closed or resolved exception (status persisting); event `reopened`."""
    name = _clean(actor.name, "actor")
    with engine.begin() as conn:
        status = _status(conn, exception_id, actor, "reopen")
        if status not in REOPENABLE:
            raise WorkflowError(f"exception {exception_id} is {status}, already open")
        conn.execute(
            update(ExceptionRow)
            .where(ExceptionRow.id == exception_id)
            .values(status=REOPEN_STATUS, resolved_at=None)
        )
        _event(conn, exception_id, name, "reopened", reason.strip() or None)


def map_tender(engine: Engine, tender: str, account: str, actor: User) -> None:
    """Map a POS tender to an ERP account (admin); the next sync and reconcile use it.
    Recorded in the mappings' audit (`mapping_changes`) under `actor`."""
    from dataclasses import replace

    from recon.warehouse.mappings import import_mappings, load_mappings

    name = _admin(actor, "edit mappings")
    tender, account = _clean(tender, "tender"), _clean(account, "account")
    current = load_mappings(engine)
    mapped = replace(current, tenders={**current.tenders, tender: account})
    import_mappings(engine, mapped, name, DASHBOARD)


def map_store(engine: Engine, store: str, location: str, actor: User) -> None:
    """Map a POS store to an ERP warehouse/location (admin), keeping its time zone;
    recorded in the mappings' audit under `actor`."""
    from dataclasses import replace

    from recon.config.mappings import StoreMapping
    from recon.warehouse.mappings import import_mappings, load_mappings

    name = _admin(actor, "edit mappings")
    store, location = _clean(store, "store"), _clean(location, "location")
    current = load_mappings(engine)
    old = current.stores.get(store)
    mapped = StoreMapping(store, location, old.timezone if old else None)
    stores = {**current.stores, store: mapped}
    import_mappings(engine, replace(current, stores=stores), name, DASHBOARD)


def map_tax(engine: Engine, vat_rate: str, tax_code: str, account: str, actor: User) -> None:
    """Map a POS VAT rate (e.g. `12.50`) to an ERP tax code and its account (admin);
    recorded in the mappings' audit under `actor`."""
    from dataclasses import replace
    from decimal import InvalidOperation

    from recon.config.mappings import TaxMapping, vat_key
    from recon.warehouse.mappings import import_mappings, load_mappings

    name = _admin(actor, "edit mappings")
    rate_text = _clean(vat_rate, "VAT rate")
    try:
        rate = vat_key(rate_text.removesuffix("%").strip())
    except InvalidOperation:
        raise WorkflowError(f"VAT rate {rate_text!r} is not a number (e.g. 20.00)") from None
    if not rate.is_finite() or not 0 <= rate < 100:
        raise WorkflowError(f"VAT rate {rate_text!r} must be from 0 to under 100")
    code, account = _clean(tax_code, "tax code"), _clean(account, "account")
    current = load_mappings(engine)
    taxes = {**current.tax, rate: TaxMapping(rate, code, account)}
    import_mappings(engine, replace(current, tax=taxes), name, DASHBOARD)


MAPPED_BY = {  # the hold a mapping fixes -> what it is called
    "held_unmapped_tender": "tender",
    "held_unmapped_location": "store",
    "held_unmapped_tax_code": "VAT rate",
}


def held_orders(engine: Engine, reason: str, message: str) -> list[str]:
    """The POS orders the sync holds for this reason and message (one mapping health row)."""
    s = SyncPost
    stmt = (
        select(s.pos_order_id)
        .where(s.status == "held", s.reason == reason, s.message == message)
        .where(s.pos_order_id.is_not(None))
        .distinct()
    )
    with engine.connect() as conn:
        return sorted(str(oid) for oid in conn.scalars(stmt))


def map_held(
    engine: Engine,
    reason: str,
    message: str,
    code: str,
    actor: User,
    repost: Callable[[list[str]], tuple[int, str]],
    *,
    tax_account: str = "",
) -> tuple[bool, str]:
    """Map what an unmapped-* hold names (tender -> account, store -> location, VAT rate ->
    tax code and `tax_account`) and re-post every order it held, in one action (admin).
    `repost(order_ids)` returns how many are in the ERP now and the outcome in words.
    Returns whether all of them are, and what was done."""
    from recon.sync.holds import unmapped_key

    _admin(actor, "edit mappings")
    what = MAPPED_BY.get(reason)
    key = unmapped_key(reason, message)
    if what is None or key is None:
        raise WorkflowError(f"{message!r} is not fixed by a mapping")
    orders = held_orders(engine, reason, message)  # before the mapping changes anything
    if reason == "held_unmapped_tender":
        map_tender(engine, key, code, actor)
    elif reason == "held_unmapped_location":
        map_store(engine, key, code, actor)
    else:
        map_tax(engine, key, code, tax_account, actor)
    mapped = f"{what} {key} mapped to {code.strip()}"
    if not orders:
        return True, f"{mapped}; no order was held by it"
    posted, outcome = repost(orders)
    return posted == len(
        orders
    ), f"{mapped}; {posted} of {len(orders)} held orders posted: {outcome}"
