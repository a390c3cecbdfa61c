"""After a reconcile run: send each owner one digest per channel of the exceptions that are
new to them or have aged past their kind's threshold, and remember what was sent.

What was sent is an `exception_events` row per exception, reason and channel (actor
`alerts`, action `alerted_new` / `alerted_aged`, note = the channel), written only after the
receiver took the digest, so an exception is never sent twice for the same reason on the
same channel, and a receiver that is down is a problem of this run and gets everything
again next run. An exception first alerted when already aged goes once, as aged (both
events are written). Only open exceptions (new, persisting) are alerted. At most
`MAX_ITEMS` per digest; the rest follow next run. It must not change exception statuses.

The sign-offs reconcile runs reopened go to finance (who signs days off) the same way: one
message per channel listing each reopened store-day, what it was (signed, prepared) and the
run's reason, remembered as a `signoff_events` row per sign-off and channel (actor
`alerts`, action `alerted_reopen`, note = the channel) after the receiver took it; a reopen
is due on a channel until such a row follows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import polars as pl
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import aliased

from recon.alerts.channels import DeliveryFailed, post_webhook, send_email
from recon.alerts.digest import Alert, Digest, Reopen, ReopenDigest
from recon.alerts.settings import OWNERS, AgeThresholds
from recon.config import Settings
from recon.kinds import FINANCE
from recon.reconcile.history import OPEN_STATUSES, to_records
from recon.warehouse.exceptions import read_exceptions
from recon.warehouse.models import ExceptionEvent, Signoff, SignoffEvent
from recon.warehouse.runs import RunLog
from recon.warehouse.signoff import ENGINE, PREPARED, SIGNED

__all__ = ["ACTOR", "MAX_ITEMS", "send_alerts"]

log = logging.getLogger("recon.alerts")

ACTOR = "alerts"
ACTIONS = {"new": "alerted_new", "aged": "alerted_aged"}
REOPEN_ACTION = "alerted_reopen"
MAX_ITEMS = 500
_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _already_sent(engine: Engine) -> set[tuple[str, str, str]]:
    """(exception id, action, channel) of every alert sent so far."""
    query = select(ExceptionEvent.exception_id, ExceptionEvent.action, ExceptionEvent.note).where(
        ExceptionEvent.actor == ACTOR, ExceptionEvent.action.in_(list(ACTIONS.values()))
    )
    with engine.connect() as conn:
        return {(i, a, n or "") for i, a, n in conn.execute(query)}


def _due(
    records: list[tuple[dict[str, object], datetime]],
    channel: str,
    sent: set[tuple[str, str, str]],
    thresholds: AgeThresholds,
    now: datetime,
) -> list[tuple[Alert, list[str]]]:
    """The alerts due on `channel`, each with the actions to record once it is delivered."""
    out: list[tuple[Alert, list[str]]] = []
    for record, first_seen in records:
        exc_id, kind = str(record["id"]), str(record["kind"])
        age = now - first_seen
        new_due = (exc_id, ACTIONS["new"], channel) not in sent
        limit = thresholds.of(kind)
        aged_due = (
            limit is not None and age >= limit and (exc_id, ACTIONS["aged"], channel) not in sent
        )
        if aged_due:
            actions = [ACTIONS["aged"]] + ([ACTIONS["new"]] if new_due else [])
            out.append((Alert("aged", record, age), actions))
        elif new_due:
            out.append((Alert("new", record, age), [ACTIONS["new"]]))
    out.sort(
        key=lambda pair: (
            pair[0].reason != "new",
            _SEVERITY_ORDER.get(str(pair[0].record["severity"]), 3),
            str(pair[0].record["kind"]),
            str(pair[0].record["store"] or ""),
            str(pair[0].record["business_day"] or ""),
            pair[0].exception_id,
        )
    )
    return out[:MAX_ITEMS]


def _reopens_due(engine: Engine, channel: str) -> list[Reopen]:
    """The run reopens not yet sent on `channel` (oldest first, at most MAX_ITEMS), each with
    what the sign-off was before (its last `prepared` or `signed` event)."""
    v, s, sent = SignoffEvent, Signoff, aliased(SignoffEvent)
    later = (
        select(sent.id)
        .where(
            sent.signoff_id == v.signoff_id,
            sent.actor == ACTOR,
            sent.action == REOPEN_ACTION,
            sent.note == channel,
            sent.id > v.id,
        )
        .exists()
    )
    due = (
        select(v.id, v.signoff_id, v.at, v.note, s.store, s.business_day)
        .join(s, s.id == v.signoff_id)
        .where(v.actor == ENGINE, v.action == "reopened", ~later)
        .order_by(v.id)
        .limit(MAX_ITEMS)
    )
    with engine.connect() as conn:
        rows = conn.execute(due).all()
        ids = sorted({r.signoff_id for r in rows})
        states = conn.execute(
            select(v.signoff_id, v.id, v.action)
            .where(v.signoff_id.in_(ids), v.action.in_((PREPARED, SIGNED)))
            .order_by(v.id)
        ).all()
    out = []
    for r in rows:
        was = [a for sid, i, a in states if sid == r.signoff_id and i < r.id]
        at = r.at if r.at.tzinfo is not None else r.at.replace(tzinfo=UTC)
        out.append(
            Reopen(r.signoff_id, r.store, r.business_day, was[-1] if was else PREPARED, at,
                   r.note or "")
        )  # fmt: skip
    return out


def _send_reopens(
    engine: Engine,
    settings: Settings,
    run: RunLog,
    now: datetime,
    webhook_transport: Any,
    unrouted: list[str],
) -> None:
    """One message per finance channel of the sign-offs runs reopened since the last."""
    channels = settings.alert_channels(FINANCE)
    if not channels:
        if due := _reopens_due(engine, "webhook"):
            unrouted.append(
                f"{len(due)} reopened sign-offs are not alerted: set "
                f"RECON_ALERT_WEBHOOK_{FINANCE.upper()} or RECON_ALERT_EMAIL_{FINANCE.upper()}"
            )
        return
    for channel in channels:
        due = _reopens_due(engine, channel)
        if not due:
            continue
        try:
            _deliverer(settings, FINANCE, channel, webhook_transport)(
                ReopenDigest(FINANCE, due, now)
            )
        except DeliveryFailed as exc:
            run.problem(f"alerts: {exc}; {len(due)} reopened sign-offs will be sent next run")
            run.counts[f"{FINANCE}_{channel}_failed"] += len(due)
            continue
        events = [
            {"signoff_id": r.signoff_id, "at": now, "actor": ACTOR, "action": REOPEN_ACTION,
             "note": channel}
            for r in {r.signoff_id: r for r in due}.values()
        ]  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(SignoffEvent), events)
        run.counts[f"{FINANCE}_{channel}_reopened"] += len(due)
        log.info("alerts owner=%s channel=%s reopened=%d", FINANCE, channel, len(due))


def _deliverer(
    settings: Settings, owner: str, channel: str, webhook_transport: Any
) -> Callable[[Digest | ReopenDigest], None]:
    if channel == "webhook":
        url = settings.alert_webhook(owner) or ""

        def webhook(digest: Digest | ReopenDigest) -> None:
            post_webhook(owner, url, digest.payload(), transport=webhook_transport)

        return webhook
    host, port, to = (
        settings.recon_smtp_host or "",
        settings.recon_smtp_port,
        settings.alert_emails(owner),
    )

    def email(digest: Digest | ReopenDigest) -> None:
        message: EmailMessage = digest.email(settings.recon_smtp_from, to)
        send_email(owner, host, port, message)

    return email


def send_alerts(
    engine: Engine,
    settings: Settings,
    thresholds: AgeThresholds,
    run: RunLog,
    *,
    now: datetime | None = None,
    webhook_transport: Any = None,
) -> list[str]:
    """Send this run's digests; counts and delivery problems go to `run`.

    Returns one line per owner that has due exceptions but no channel configured.
    """
    settings.check_alerts()
    now = now or datetime.now(UTC)
    frame = read_exceptions(engine).filter(pl.col("status").is_in(list(OPEN_STATUSES)))
    records = to_records(frame)
    firsts = [f if f.tzinfo is not None else f.replace(tzinfo=UTC) for f in frame["first_seen"]]
    sent = _already_sent(engine)
    unrouted: list[str] = []
    for owner in OWNERS:
        mine = [(r, f) for r, f in zip(records, firsts, strict=True) if r["owner"] == owner]
        channels = settings.alert_channels(owner)
        if not channels:
            if mine:
                unrouted.append(
                    f"{len(mine)} open {owner} exceptions are not alerted: set "
                    f"RECON_ALERT_WEBHOOK_{owner.upper()} or RECON_ALERT_EMAIL_{owner.upper()}"
                )
            continue
        for channel in channels:
            due = _due(mine, channel, sent, thresholds, now)
            if not due:
                continue
            digest = Digest(owner, [alert for alert, _ in due], now)
            try:
                _deliverer(settings, owner, channel, webhook_transport)(digest)
            except DeliveryFailed as exc:
                run.problem(f"alerts: {exc}; {len(due)} alerts will be sent next run")
                run.counts[f"{owner}_{channel}_failed"] += len(due)
                continue
            events = [
                {
                    "exception_id": alert.exception_id,
                    "at": now,
                    "actor": ACTOR,
                    "action": action,
                    "note": channel,
                }
                for alert, actions in due
                for action in actions
            ]
            with engine.begin() as conn:
                conn.execute(insert(ExceptionEvent), events)
            for reason, n in digest.counts().items():
                if n:
                    run.counts[f"{owner}_{channel}_{reason}"] += n
            log.info("alerts owner=%s channel=%s sent=%d", owner, channel, len(due))
    _send_reopens(engine, settings, run, now, webhook_transport, unrouted)
    for line in unrouted:
        log.warning("alerts: %s", line)
    return unrouted
