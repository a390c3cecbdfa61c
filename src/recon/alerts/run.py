"""After a reconcile run: send each owner one digest per channel of the exceptions that are
new to them or have aged past their kind's threshold, and remember what was sent.

What was sent is an `exception_events` row per exception, reason and channel (actor
`alerts`, action `alerted_new` / `alerted_aged`, note = the channel), written only after the
receiver took the digest, so an exception is never sent twice for the same reason on the
same channel, and a receiver that is down is a problem of this run and gets everything
again next run. An exception first alerted when already aged goes once, as aged (both
events are written). Only open exceptions (new, persisting) are alerted. At most
`MAX_ITEMS` per digest; the rest follow next run. It must not change exception statuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import polars as pl
from sqlalchemy import Engine, insert, select

from recon.alerts.channels import DeliveryFailed, post_webhook, send_email
from recon.alerts.digest import Alert, Digest
from recon.alerts.settings import OWNERS, AgeThresholds
from recon.config import Settings
from recon.reconcile.history import OPEN_STATUSES, to_records
from recon.warehouse.exceptions import read_exceptions
from recon.warehouse.models import ExceptionEvent
from recon.warehouse.runs import RunLog

__all__ = ["ACTOR", "MAX_ITEMS", "send_alerts"]

log = logging.getLogger("recon.alerts")

ACTOR = "alerts"
ACTIONS = {"new": "alerted_new", "aged": "alerted_aged"}
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


def _deliverer(
    settings: Settings, owner: str, channel: str, webhook_transport: Any
) -> Callable[[Digest], None]:
    if channel == "webhook":
        url = settings.alert_webhook(owner) or ""

        def webhook(digest: Digest) -> None:
            post_webhook(owner, url, digest.payload(), transport=webhook_transport)

        return webhook
    host, port, to = (
        settings.recon_smtp_host or "",
        settings.recon_smtp_port,
        settings.alert_emails(owner),
    )

    def email(digest: Digest) -> None:
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
    for line in unrouted:
        log.warning("alerts: %s", line)
    return unrouted
