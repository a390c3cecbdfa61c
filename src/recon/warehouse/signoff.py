"""Sign-off of a store-day, or of every store of a day, with its evidence; reopened by a run
that changes it.

The rules:

- A sign-off covers one store on one business day, or every store of that day (`store` is
  `ALL_STORES`, `*`: every store's takings and open exceptions of the day, the unattributed
  money too). There is at most one sign-off per (store, day); its history is its events.
- The evidence is what the day looks like when it is prepared: every open exception (new
  or persisting) of the store-day (any kind, any owner) with its money or quantity, and
  every takings row of the store-day (POS vs ERP by tender account, as the last reconcile
  wrote them; a balanced row too, so a late sale that changes both sides still counts).
  It is kept line by line (`signoff_evidence`) and as one fingerprint (SHA-256 of the
  lines, values at three decimals).
- Preparing (state `prepared`) records the evidence; a day with no evidence at all (no
  takings, no open exception) is refused, as is one that is signed already. Preparing a
  prepared or reopened day again replaces its evidence.
- Reviewing certifies it (state `signed`): only a prepared sign-off, only by someone other
  than its preparer (four eyes), and only while the evidence still matches its
  fingerprint; otherwise it is refused with a line saying what changed.
- Rejecting a prepared sign-off, or withdrawing a signed one (`unsigned`), needs a reason
  and sends it to `reopened` (to be prepared again).
- After each reconcile run, every prepared or signed sign-off in the run's scope is
  compared with the evidence now: any exception new, gone (closed, resolved) or with other
  money, any takings row new, gone or with other money, reopens it (state `reopened`) with
  the reason (which exceptions, what money) in its events and in the audit trail of each
  exception concerned (`exception_events`, action `signoff_reopened`). An unchanged day
  stays as it is; a reopened one is not looked at again, so the check is idempotent.
- A whole (unscoped) run compares only the days it could have changed (`days_to_check`):
  those of an exception it opened, closed or gave other values, those whose takings rows
  changed, and those where a person closed or reopened an exception since the last
  unscoped run that checked; every prepared or signed day when a reconcile run since then
  failed (it may have written without checking). So it reopens exactly what comparing
  every day would, at the cost of what the run changed.

Who may act (roles) is the dashboard's business (`recon.app.signoff`); this module keeps
the states, the evidence and the four-eyes rule. Functions take a `Connection`; the caller
owns the transaction. A refusal is `SignoffError` and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, insert, or_, select, update

from recon.warehouse.db import CHUNK, MAX_NOTE, text_problem
from recon.warehouse.models import (
    ExceptionEvent,
    ExceptionRow,
    Run,
    Signoff,
    SignoffEvent,
    SignoffEvidence,
    Takings,
)
from recon.warehouse.runs import RunLog

__all__ = [
    "ALL_STORES",
    "CHECKED",
    "PREPARED",
    "REOPENED",
    "SIGNED",
    "Change",
    "Evidence",
    "Reopened",
    "SignoffError",
    "changed_days",
    "changes",
    "current_evidence",
    "days_to_check",
    "events_frame",
    "evidence_frame",
    "fingerprint",
    "kept_evidence",
    "prepare",
    "records",
    "reject",
    "reopen_after_run",
    "reopen_changed",
    "review",
    "scope_label",
    "signoffs_frame",
    "state_of",
    "unsigned_frame",
]

ALL_STORES = "*"
PREPARED, SIGNED, REOPENED = "prepared", "signed", "reopened"
ACTIVE = (PREPARED, SIGNED)  # what a run compares with its evidence
OPEN = ("new", "persisting")
TAKINGS = "takings"  # the evidence kind of a takings row
ENGINE = "engine"  # the actor of a reopen
PERSON_ACTIONS = ("closed", "reopened")  # a person closing or reopening an exception by hand
CHECKED = "signoff_days_checked"  # the run count an unscoped run's check leaves
SHOWN = 10  # changes spelt out in a reason; the rest are counted (all are in `detail`)
_PLACES = Decimal("0.001")
_CENT = Decimal("0.01")


class SignoffError(ValueError):
    """A sign-off action that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class Evidence:
    """One line of evidence: an open exception or a takings row, and its money."""

    item: str
    kind: str
    store: str | None
    ref: str | None
    currency: str | None
    pos_value: Decimal | None
    erp_value: Decimal | None
    difference: Decimal | None

    @property
    def values(self) -> tuple[str, str | None, Decimal | None, Decimal | None, Decimal | None]:
        return (self.kind, self.currency, self.pos_value, self.erp_value, self.difference)

    def line(self) -> str:
        return "|".join([self.item, *(_text(v) for v in self.values)])


@dataclass(frozen=True)
class Change:
    """How one line of evidence differs now: `new`, `gone` or `changed`."""

    what: str
    before: Evidence | None
    after: Evidence | None

    @property
    def evidence(self) -> Evidence:
        found = self.after or self.before
        assert found is not None
        return found

    def text(self, *, with_store: bool = False) -> str:
        """The change in words; `with_store` names the store (a whole day's sign-off)."""
        e = self.evidence
        name = f"{e.kind} {e.ref or e.item}"
        if with_store:
            name += f" at store {e.store}" if e.store else " (unattributed)"
        diff = "variance" if e.kind == TAKINGS else "difference"
        if self.what == "new":
            return f"new {name}: {diff} {_amount(e.difference, e.currency)}"
        if self.what == "gone":
            gone = "no longer in the takings" if e.kind == TAKINGS else "no longer open"
            return f"{name} {gone} ({diff} was {_amount(e.difference, e.currency)})"
        assert self.before is not None and self.after is not None
        moved = [
            f"{label} {_amount(getattr(self.before, field), None)} -> "
            f"{_amount(getattr(self.after, field), None)}"
            for field, label in (("pos_value", "POS"), ("erp_value", "ERP"), ("difference", diff))
            if getattr(self.before, field) != getattr(self.after, field)
        ]
        if self.before.currency != self.after.currency:
            moved.append(f"currency {self.before.currency} -> {self.after.currency}")
        unit = (
            f" {e.currency}" if e.currency and self.before.currency == self.after.currency else ""
        )
        return f"{name}: {', '.join(moved)}{unit}"

    def record(self) -> dict[str, Any]:
        e = self.evidence
        return {
            "change": self.what,
            "item": e.item,
            "kind": e.kind,
            "ref": e.ref,
            "currency": e.currency,
            "before": None if self.before is None else _values(self.before),
            "after": None if self.after is None else _values(self.after),
        }


@dataclass(frozen=True)
class Reopened:
    """A sign-off a run reopened, and why."""

    signoff_id: int
    store: str
    business_day: date
    changes: list[Change]
    reason: str


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value.quantize(_PLACES))
    return "" if value is None else str(value)


def _amount(value: Decimal | None, currency: str | None) -> str:
    if value is None:
        return "none"
    money = f"{value.quantize(_CENT)}" if value == value.quantize(_CENT) else f"{value:f}"
    return f"{money} {currency}" if currency else money


def _values(e: Evidence) -> dict[str, str | None]:
    return {
        "pos_value": None if e.pos_value is None else _text(e.pos_value),
        "erp_value": None if e.erp_value is None else _text(e.erp_value),
        "difference": None if e.difference is None else _text(e.difference),
    }


def _exact(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(_PLACES)


def scope_label(store: str, day: date) -> str:
    """`store 1 on 2024-06-01`, or `all stores on 2024-06-01`."""
    where = "all stores" if store == ALL_STORES else f"store {store}"
    return f"{where} on {day:%Y-%m-%d}"


def fingerprint(items: Iterable[Evidence]) -> str:
    """SHA-256 of the evidence lines in item order (values at three decimals)."""
    digest = hashlib.sha256()
    for line in sorted(e.line() for e in items):
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()


def changes(before: Iterable[Evidence], after: Iterable[Evidence]) -> list[Change]:
    """Every line new, gone or with other values, in item order (a full outer join on
    `item`)."""
    old = {e.item: e for e in before}
    new = {e.item: e for e in after}
    found: list[Change] = []
    for item in sorted(old.keys() | new.keys()):
        a, b = old.get(item), new.get(item)
        if a is None:
            found.append(Change("new", None, b))
        elif b is None:
            found.append(Change("gone", a, None))
        elif a.values != b.values:
            found.append(Change("changed", a, b))
    return found


def _summary(found: Sequence[Change], store: str) -> str:
    lines = [c.text(with_store=store == ALL_STORES) for c in found[:SHOWN]]
    if len(found) > SHOWN:
        lines.append(f"and {len(found) - SHOWN} more")
    return "; ".join(lines)


# --- evidence --------------------------------------------------------------------------


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _day_evidence(conn: Connection, days: Sequence[date]) -> dict[date, list[Evidence]]:
    """Each day's evidence over every store (the open exceptions, the takings rows)."""
    found: dict[date, list[Evidence]] = defaultdict(list)
    x, t = ExceptionRow, Takings
    for part in _chunks(sorted(set(days))):
        rows = conn.execute(
            select(
                x.id, x.kind, x.store, x.business_day, x.pos_ref, x.erp_ref, x.sku, x.tender,
                x.account, x.currency, x.pos_value, x.erp_value, x.difference,
            ).where(x.business_day.in_(part), x.status.in_(OPEN))
        )  # fmt: skip
        for r in rows:
            ref = next((v for v in (r.pos_ref, r.erp_ref, r.sku, r.tender, r.account) if v), None)
            found[r.business_day].append(
                Evidence(
                    r.id,
                    r.kind,
                    r.store,
                    ref,
                    r.currency,
                    _exact(r.pos_value),
                    _exact(r.erp_value),
                    _exact(r.difference),
                )
            )
        takings = conn.execute(
            select(
                t.store, t.business_day, t.account, t.tender, t.currency,
                t.pos_amount, t.erp_amount, t.variance,
            ).where(t.business_day.in_(part))
        )  # fmt: skip
        for k in takings:
            ref = f"{k.account} ({k.tender})" if k.tender else k.account
            found[k.business_day].append(
                Evidence(
                    f"{TAKINGS}:{k.store or ''}:{k.account}",
                    TAKINGS,
                    k.store,
                    ref,
                    k.currency,
                    _exact(k.pos_amount),
                    _exact(k.erp_amount),
                    _exact(k.variance),
                )
            )
    return found


def _of_store(items: Iterable[Evidence], store: str) -> list[Evidence]:
    return sorted(
        (e for e in items if store == ALL_STORES or e.store == store), key=lambda e: e.item
    )


def current_evidence(conn: Connection, store: str, day: date) -> list[Evidence]:
    """The evidence of a store-day (or, for `ALL_STORES`, of the whole day) now."""
    return _of_store(_day_evidence(conn, [day]).get(day, []), store)


def _kept(conn: Connection, ids: Sequence[int]) -> dict[int, list[Evidence]]:
    e = SignoffEvidence
    found: dict[int, list[Evidence]] = defaultdict(list)
    for part in _chunks(sorted(set(ids))):
        rows = conn.execute(
            select(
                e.signoff_id, e.item, e.kind, e.store, e.ref, e.currency,
                e.pos_value, e.erp_value, e.difference,
            ).where(e.signoff_id.in_(part))
        )  # fmt: skip
        for r in rows:
            found[r.signoff_id].append(Evidence(*r[1:]))
    return found


def kept_evidence(conn: Connection, signoff_id: int) -> list[Evidence]:
    """The evidence a sign-off kept when it was prepared."""
    return sorted(_kept(conn, [signoff_id]).get(signoff_id, []), key=lambda e: e.item)


# --- actions ---------------------------------------------------------------------------


def _row(conn: Connection, store: str, day: date) -> Any:
    s = Signoff
    return conn.execute(
        select(s.id, s.state, s.preparer, s.fingerprint)
        .where(s.store == store, s.business_day == day)
        .with_for_update()
    ).one_or_none()


def state_of(conn: Connection, store: str, day: date) -> str | None:
    """The state of the sign-off of `store` on `day` (None: never prepared)."""
    row = _row(conn, store, day)
    return None if row is None else str(row.state)


def _event(
    conn: Connection,
    signoff_id: int,
    at: datetime,
    actor: str,
    action: str,
    note: str | None,
    detail: Any = None,
) -> None:
    conn.execute(
        insert(SignoffEvent).values(
            signoff_id=signoff_id,
            at=at,
            actor=actor,
            action=action,
            note=note,
            detail=None if detail is None else json.dumps(detail, sort_keys=True),
        )
    )


def _clean(text: str, what: str) -> str:
    value = _note(text, what)
    if value is None:
        raise SignoffError(f"{what} must not be empty")
    return value


def _note(text: str, what: str) -> str | None:
    """`text` stripped (None when empty), or SignoffError when no backend could keep it."""
    value = text.strip()
    if (problem := text_problem(value, MAX_NOTE)) is not None:  # PostgreSQL refused a NUL
        raise SignoffError(f"{what} holds {problem}")
    return value or None


def prepare(
    conn: Connection, store: str, day: date, actor: str, comment: str, now: datetime
) -> int:
    """Prepare the sign-off of `store` (or `ALL_STORES`) on `day`: its evidence now is kept;
    event `prepared`. Returns the sign-off's id."""
    name, store = _clean(actor, "preparer"), _clean(store, "store")
    note = _note(comment, "comment")
    label = scope_label(store, day)
    row = _row(conn, store, day)
    if row is not None and row.state == SIGNED:
        raise SignoffError(
            f"{label} is signed already; a run that changes it reopens it (or an admin "
            "withdraws the sign-off)"
        )
    items = current_evidence(conn, store, day)
    if not items:
        raise SignoffError(
            f"{label} has no takings and no open exception: nothing to sign off (a reconcile "
            "run writes them)"
        )
    fp = fingerprint(items)
    values = {
        "state": PREPARED,
        "preparer": name,
        "prepared_at": now,
        "reviewer": None,
        "reviewed_at": None,
        "comment": note,
        "fingerprint": fp,
        "reason": None,
    }
    if row is None:
        signoff_id = int(
            conn.execute(
                insert(Signoff).values(store=store, business_day=day, **values)
            ).inserted_primary_key[0]  # type: ignore[index]
        )
    else:
        signoff_id = int(row.id)
        conn.execute(update(Signoff).where(Signoff.id == signoff_id).values(**values))
        conn.execute(delete(SignoffEvidence).where(SignoffEvidence.signoff_id == signoff_id))
    conn.execute(
        insert(SignoffEvidence),
        [
            {
                "signoff_id": signoff_id,
                "item": e.item,
                "kind": e.kind,
                "store": e.store,
                "ref": e.ref,
                "currency": e.currency,
                "pos_value": e.pos_value,
                "erp_value": e.erp_value,
                "difference": e.difference,
            }
            for e in items
        ],
    )
    exceptions = sum(e.kind != TAKINGS for e in items)
    detail = {"fingerprint": fp, "exceptions": exceptions, "takings": len(items) - exceptions}
    _event(conn, signoff_id, now, name, "prepared", note, detail)
    return signoff_id


def review(
    conn: Connection, store: str, day: date, actor: str, comment: str, now: datetime
) -> None:
    """Certify a prepared sign-off (state `signed`; event `signed`): by someone other than
    its preparer, while its evidence still matches."""
    name, note = _clean(actor, "reviewer"), _note(comment, "comment")
    label = scope_label(store, day)
    row = _row(conn, store, day)
    if row is None or row.state != PREPARED:
        state = "not prepared" if row is None else row.state
        raise SignoffError(f"{label} is {state}: only a prepared sign-off can be reviewed")
    if row.preparer == name:
        raise SignoffError(f"{name} prepared {label}: someone else must review it (four eyes)")
    now_items = current_evidence(conn, store, day)
    if fingerprint(now_items) != row.fingerprint:
        found = changes(kept_evidence(conn, row.id), now_items)
        raise SignoffError(
            f"the evidence of {label} changed since it was prepared: {_summary(found, store)}; "
            "prepare it again"
        )
    conn.execute(
        update(Signoff)
        .where(Signoff.id == row.id)
        .values(state=SIGNED, reviewer=name, reviewed_at=now)
    )
    _event(conn, row.id, now, name, "signed", note)


def reject(conn: Connection, store: str, day: date, actor: str, reason: str, now: datetime) -> str:
    """Send a prepared sign-off back (event `rejected`), or withdraw a signed one (event
    `unsigned`), with the reason; either is `reopened` then. Returns the event's action."""
    name, why = _clean(actor, "actor"), _clean(reason, "reason")
    label = scope_label(store, day)
    row = _row(conn, store, day)
    if row is None or row.state not in ACTIVE:
        state = "not prepared" if row is None else row.state
        raise SignoffError(f"{label} is {state}: there is nothing to reject or withdraw")
    action = "rejected" if row.state == PREPARED else "unsigned"
    conn.execute(
        update(Signoff)
        .where(Signoff.id == row.id)
        .values(state=REOPENED, reason=f"{action}: {why}")
    )
    _event(conn, row.id, now, name, action, why)
    return action


_EVIDENCE_COLUMNS = (
    "store", "business_day", "kind", "currency", "pos_value", "erp_value", "difference",
)  # fmt: skip


def changed_days(previous: pl.DataFrame, merged: pl.DataFrame) -> set[date]:
    """The business days whose evidence a run's exceptions may have changed: of every
    exception open before or now that is new, or whose being open (new, persisting), store,
    day, kind, currency or values differ from `previous` (the table before the run), its
    day before and now. Both frames have the exceptions' schema; an id absent from `merged`
    is unchanged."""

    def view(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(
            "id", pl.col("status").is_in(list(OPEN)).alias("open"), *_EVIDENCE_COLUMNS
        )

    now, before = view(merged), view(previous)
    joined = now.join(before, on="id", how="left", suffix="_was", nulls_equal=True)
    differs = pl.col("open_was").is_null()  # not there before
    for column in ("open", *_EVIDENCE_COLUMNS):
        differs |= pl.col(column).ne_missing(pl.col(f"{column}_was"))
    found = joined.filter(differs & (pl.col("open") | pl.col("open_was").fill_null(False)))
    return set(found["business_day"].drop_nulls()) | set(found["business_day_was"].drop_nulls())


def days_to_check(conn: Connection, changed: Iterable[date]) -> set[date]:
    """The days an unscoped run compares with their sign-offs: the days it `changed` and
    those of the exceptions a person closed or reopened since the last unscoped run that
    checked (its `signoff_days_checked` count). With no such run, or a reconcile run since
    then that failed or did not finish (it may have written and not checked), every day with
    a prepared or signed sign-off."""
    r = Run
    runs = conn.execute(
        select(r.started_at, r.status, r.counts)
        .where(r.job == "reconcile", r.status != "running")
        .order_by(r.started_at.desc(), r.id.desc())
    )
    since: datetime | None = None
    for started, status, counts in runs:
        if status not in ("ok", "partial"):
            break
        if CHECKED in json.loads(counts or "{}"):
            since = started
            break
    if since is None:
        s = Signoff
        active = select(s.business_day).where(s.state.in_(ACTIVE)).distinct()
        return {d for (d,) in conn.execute(active)}
    x, v = ExceptionRow, ExceptionEvent
    by_people = (
        select(x.business_day)
        .join(v, v.exception_id == x.id)
        .where(v.at >= since, v.action.in_(PERSON_ACTIONS))
        .distinct()
    )
    return set(changed) | {d for (d,) in conn.execute(by_people) if d is not None}


def reopen_after_run(
    conn: Connection,
    now: datetime,
    run: RunLog,
    previous: pl.DataFrame,
    merged: pl.DataFrame,
    takings_changed: Iterable[date],
    *,
    day: date | None = None,
    store: str | None = None,
) -> list[Reopened]:
    """The check after a reconcile run that read the exceptions `previous`, wrote `merged`
    and changed the takings of the days `takings_changed`: a scoped run checks its scope; an
    unscoped run the days it changed (`days_to_check`), counted as `signoff_days_checked`."""
    days = None
    if day is None and store is None:
        days = days_to_check(conn, {*takings_changed, *changed_days(previous, merged)})
        run.counts[CHECKED] = len(days)
    return reopen_changed(conn, now, run_id=run.id, day=day, store=store, days=days)


def reopen_changed(
    conn: Connection,
    now: datetime,
    *,
    run_id: int | None = None,
    day: date | None = None,
    store: str | None = None,
    days: Iterable[date] | None = None,
) -> list[Reopened]:
    """Reopen every prepared or signed sign-off (of `day`, of `store` and the all-stores
    ones, when a run was scoped; of `days` when given) whose evidence differs now; the
    reasons in their events and in the audit trail of the exceptions concerned."""
    s = Signoff
    stmt = select(s.id, s.store, s.business_day, s.fingerprint).where(s.state.in_(ACTIVE))
    if day is not None:
        stmt = stmt.where(s.business_day == day)
    if store is not None:
        stmt = stmt.where(or_(s.store == store, s.store == ALL_STORES))
    if days is None:
        active = conn.execute(stmt.order_by(s.business_day, s.store)).all()
    else:
        active = []
        for part in _chunks(sorted(set(days))):
            active += conn.execute(stmt.where(s.business_day.in_(part))).all()
        active.sort(key=lambda r: (r.business_day, r.store))
    if not active:
        return []
    by_day = _day_evidence(conn, [r.business_day for r in active])
    kept = _kept(conn, [r.id for r in active])
    run = f"reconcile run {run_id}" if run_id is not None else "a reconcile run"
    reopened: list[Reopened] = []
    for r in active:
        now_items = _of_store(by_day.get(r.business_day, []), r.store)
        if fingerprint(now_items) == r.fingerprint:
            continue
        found = changes(kept.get(r.id, []), now_items)
        label = scope_label(r.store, r.business_day)
        reason = f"{run} changed {label}: {_summary(found, r.store)}"
        conn.execute(
            update(Signoff).where(Signoff.id == r.id).values(state=REOPENED, reason=reason)
        )
        _event(conn, r.id, now, ENGINE, "reopened", reason, [c.record() for c in found])
        touched = [c for c in found if c.evidence.kind != TAKINGS]
        if touched:
            conn.execute(
                insert(ExceptionEvent),
                [
                    {
                        "exception_id": c.evidence.item,
                        "at": now,
                        "actor": ENGINE,
                        "action": "signoff_reopened",
                        "note": f"{run} reopened the sign-off of {label}: "
                        f"{c.text(with_store=r.store == ALL_STORES)}",
                    }
                    for c in touched
                ],
            )
        reopened.append(Reopened(r.id, r.store, r.business_day, found, reason))
    return reopened


# --- reading ---------------------------------------------------------------------------

QTY = pl.Decimal(18, 3)
SIGNOFF_SCHEMA: dict[str, Any] = {
    "id": pl.Int64(),
    "store": pl.String(),
    "business_day": pl.Date(),
    "state": pl.String(),
    "preparer": pl.String(),
    "prepared_at": pl.Datetime("us", "UTC"),
    "reviewer": pl.String(),
    "reviewed_at": pl.Datetime("us", "UTC"),
    "comment": pl.String(),
    "reason": pl.String(),
    "fingerprint": pl.String(),
}
EVIDENCE_SCHEMA: dict[str, Any] = {
    "signoff_id": pl.Int64(),
    "item": pl.String(),
    "kind": pl.String(),
    "store": pl.String(),
    "ref": pl.String(),
    "currency": pl.String(),
    "pos_value": QTY,
    "erp_value": QTY,
    "difference": QTY,
}
EVENT_SCHEMA: dict[str, Any] = {
    "signoff_id": pl.Int64(),
    "at": pl.Datetime("us", "UTC"),
    "actor": pl.String(),
    "action": pl.String(),
    "note": pl.String(),
    "detail": pl.String(),
}


def signoffs_frame(
    conn: Connection,
    *,
    day_from: date | None = None,
    day_to: date | None = None,
    store: str | None = None,
) -> pl.DataFrame:
    """The sign-offs (newest day first, then store), of these days and of `store` (its own
    and the all-stores ones) when given."""
    s = Signoff
    stmt = select(*(getattr(s, c) for c in SIGNOFF_SCHEMA))
    if day_from is not None:
        stmt = stmt.where(s.business_day >= day_from)
    if day_to is not None:
        stmt = stmt.where(s.business_day <= day_to)
    if store is not None:
        stmt = stmt.where(or_(s.store == store, s.store == ALL_STORES))
    rows = conn.execute(stmt.order_by(s.business_day.desc(), s.store)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=SIGNOFF_SCHEMA, orient="row")


def evidence_frame(conn: Connection, ids: Sequence[int]) -> pl.DataFrame:
    """The evidence kept by these sign-offs, by sign-off then item."""
    e = SignoffEvidence
    rows: list[tuple[Any, ...]] = []
    for part in _chunks(sorted(set(ids))):
        stmt = select(*(getattr(e, c) for c in EVIDENCE_SCHEMA)).where(e.signoff_id.in_(part))
        rows += [tuple(r) for r in conn.execute(stmt.order_by(e.signoff_id, e.item))]
    return pl.DataFrame(rows, schema=EVIDENCE_SCHEMA, orient="row")


def events_frame(conn: Connection, ids: Sequence[int]) -> pl.DataFrame:
    """The events of these sign-offs, oldest first."""
    v = SignoffEvent
    rows: list[tuple[Any, ...]] = []
    for part in _chunks(sorted(set(ids))):
        stmt = select(*(getattr(v, c) for c in EVENT_SCHEMA)).where(v.signoff_id.in_(part))
        rows += [tuple(r) for r in conn.execute(stmt.order_by(v.id))]
    return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")


def unsigned_frame(conn: Connection, day_from: date | None, day_to: date | None) -> pl.DataFrame:
    """The days with takings in this range not signed yet: a row per store-day whose own
    sign-off is not signed and whose day's all-stores sign-off is not signed either, and a
    row (`store` `*`) per day whose all-stores sign-off is not signed; `state` is
    `not prepared`, `prepared` or `reopened`. Newest day first."""
    t = Takings
    stmt = select(t.store, t.business_day).where(t.store.is_not(None)).distinct()
    if day_from is not None:
        stmt = stmt.where(t.business_day >= day_from)
    if day_to is not None:
        stmt = stmt.where(t.business_day <= day_to)
    store_days = {(str(st), d) for st, d in conn.execute(stmt)}
    days = {d for _, d in store_days}
    states = {
        (r.store, r.business_day): r.state
        for r in conn.execute(
            select(Signoff.store, Signoff.business_day, Signoff.state).where(
                Signoff.business_day.in_(sorted(days))
            )
        )
    } if days else {}  # fmt: skip
    rows = []
    for store, day in sorted(
        store_days | {(ALL_STORES, d) for d in days}, key=lambda k: (-k[1].toordinal(), k[0])
    ):
        if SIGNED in (states.get((store, day)), states.get((ALL_STORES, day))):
            continue
        rows.append((day, store, states.get((store, day), "not prepared")))
    schema = {"business_day": pl.Date(), "store": pl.String(), "state": pl.String()}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def records(
    conn: Connection, *, day: date | None = None, store: str | None = None
) -> list[dict[str, Any]]:
    """The sign-offs as JSON-ready records, each with its `evidence` and its `events`
    (money as strings: two decimals where a currency is named, else three)."""
    signoffs = signoffs_frame(conn, day_from=day, day_to=day, store=store)
    ids = signoffs["id"].to_list()
    evidence: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in evidence_frame(conn, ids).iter_rows(named=True):
        money = {
            k: None if e[k] is None else _amount(e[k], None) if e["currency"] else _text(e[k])
            for k in ("pos_value", "erp_value", "difference")
        }
        evidence[e.pop("signoff_id")].append(e | money)
    events: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for v in events_frame(conn, ids).iter_rows(named=True):
        detail = json.loads(v["detail"]) if v["detail"] else None
        events[v.pop("signoff_id")].append(v | {"at": _iso(v["at"]), "detail": detail})
    out = []
    for s in signoffs.iter_rows(named=True):
        out.append(
            s
            | {
                "business_day": s["business_day"].isoformat(),
                "prepared_at": _iso(s["prepared_at"]),
                "reviewed_at": _iso(s["reviewed_at"]),
                "evidence": evidence.get(s["id"], []),
                "events": events.get(s["id"], []),
            }
        )
    return out
