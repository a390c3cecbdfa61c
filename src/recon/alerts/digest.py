"""One owner's digest of a run: the exceptions that are new to them or have aged.

Builds the webhook JSON (a Slack/Teams-friendly `text` summary plus structured `items`) and
the plain-text e-mail from exception records (`recon.reconcile.to_records` form). Text only: it
sends nothing, stores nothing, and carries only exception fields and the dashboard's own
texts (never a setting or a secret).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Literal

from recon.reconcile.describe import CAUSE_TEXT, KIND_TEXT, OWNER_FIX
from recon.warehouse.signoff import scope_label

__all__ = ["Alert", "Digest", "Reason", "Reopen", "ReopenDigest"]

Reason = Literal["new", "aged"]
TEXT_LINES = 20  # lines of the `text` summary; the items carry every alert


@dataclass(frozen=True)
class Alert:
    """One exception to tell its owner about, and why now."""

    reason: Reason
    record: dict[str, object]
    age: timedelta

    @property
    def exception_id(self) -> str:
        return str(self.record["id"])

    def item(self) -> dict[str, object]:
        kind, cause = str(self.record["kind"]), str(self.record["cause"])
        return {
            "reason": self.reason,
            **self.record,
            "age_hours": int(self.age.total_seconds() // 3600),
            "title": KIND_TEXT.get(kind, kind),
            "cause_text": CAUSE_TEXT.get(cause, cause),
            "fix": OWNER_FIX.get(kind, ""),
        }

    def line(self) -> str:
        r = self.record
        kind = str(r["kind"])
        where = " ".join(
            f"{label} {r[key]}"
            for label, key in [
                ("store", "store"),
                ("day", "business_day"),
                ("POS", "pos_ref"),
                ("ERP", "erp_ref"),
                ("sku", "sku"),
                ("tender", "tender"),
                ("account", "account"),
            ]
            if r.get(key) is not None
        )
        diff = r.get("difference")
        money = f", difference {diff} {r.get('currency') or ''}".rstrip() if diff else ""
        label = "NEW" if self.reason == "new" else f"AGED {self.age.days}d"
        head = f"[{label}] {KIND_TEXT.get(kind, kind)} ({kind}, {r['cause']})"
        return f"{head}: {where or 'no key'}{money}"


@dataclass(frozen=True)
class Digest:
    owner: str
    alerts: list[Alert]
    at: datetime

    def counts(self) -> dict[str, int]:
        out = {"new": 0, "aged": 0}
        for a in self.alerts:
            out[a.reason] += 1
        return out

    @property
    def subject(self) -> str:
        n = self.counts()
        return (
            f"recon: {n['new']} new and {n['aged']} ageing exceptions for {self.owner} "
            f"({self.at:%Y-%m-%d %H:%M} UTC)"
        )

    def text(self) -> str:
        return _text(self.subject, [a.line() for a in self.alerts])

    def payload(self) -> dict[str, Any]:
        """The webhook body: Slack/Teams show `text`; tools read `items`."""
        return {
            "text": self.text(),
            "owner": self.owner,
            "at": self.at.isoformat(),
            "counts": self.counts(),
            "items": [a.item() for a in self.alerts],
        }

    def email(self, sender: str, to: list[str]) -> EmailMessage:
        body = [self.subject, ""]
        for a in self.alerts:
            item = a.item()
            body.append(a.line())
            body.append(f"    what: {item['cause_text']}")
            if item["fix"]:
                body.append(f"    fix:  {item['fix']}")
            body.append(f"    id:   {a.exception_id}, first seen {a.record['first_seen']}")
            body.append("")
        return _email(self.subject, sender, to, body)


@dataclass(frozen=True)
class Reopen:
    """A sign-off a reconcile run reopened: the store-day (store `*`: every store of the
    day), what it was (`signed`, `prepared`), when and why (the run's reason)."""

    signoff_id: int
    store: str
    business_day: date
    was: str
    at: datetime
    reason: str

    def line(self) -> str:
        return f"[REOPENED, was {self.was}] {scope_label(self.store, self.business_day)}: " + (
            self.reason
        )

    def item(self) -> dict[str, object]:
        return {
            "signoff_id": self.signoff_id,
            "store": self.store,
            "business_day": self.business_day.isoformat(),
            "was": self.was,
            "reopened_at": self.at.isoformat(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ReopenDigest:
    """One message to finance per run: the sign-offs reconcile runs reopened since the
    last one sent, and why."""

    owner: str
    reopens: list[Reopen]
    at: datetime

    def counts(self) -> dict[str, int]:
        return {"reopened": len(self.reopens)}

    @property
    def subject(self) -> str:
        signed = sum(r.was == "signed" for r in self.reopens)
        return (
            f"recon: {len(self.reopens)} sign-offs reopened ({signed} signed) for {self.owner} "
            f"({self.at:%Y-%m-%d %H:%M} UTC)"
        )

    def text(self) -> str:
        return _text(self.subject, [r.line() for r in self.reopens])

    def payload(self) -> dict[str, Any]:
        """The webhook body, as a digest's: `text` for people, `reopens` for tools."""
        return {
            "text": self.text(),
            "owner": self.owner,
            "at": self.at.isoformat(),
            "counts": self.counts(),
            "reopens": [r.item() for r in self.reopens],
        }

    def email(self, sender: str, to: list[str]) -> EmailMessage:
        body = [self.subject, ""]
        for r in self.reopens:
            body += [r.line(), f"    reopened at {r.at:%Y-%m-%d %H:%M} UTC; prepare it again", ""]
        return _email(self.subject, sender, to, body)


def _text(subject: str, lines: list[str]) -> str:
    """A message for chat: the subject, then a line an item up to TEXT_LINES."""
    out = [subject, *(f"- {line}" for line in lines[:TEXT_LINES])]
    if len(lines) > TEXT_LINES:
        out.append(f"... and {len(lines) - TEXT_LINES} more (see items / dashboard)")
    return "\n".join(out)


def _email(subject: str, sender: str, to: list[str], body: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content("\n".join(body))
    return msg
