"""Sign-off actions from the dashboard: prepare, review (sign), reject or withdraw, with the
role of the person acting checked here, whatever the page shows.

Finance and admin may prepare and review a store-day or a whole day (a finance controller
closes the day; an admin is a finance lead here), never both on one sign-off (the four-eyes
rule lives in `recon.warehouse.signoff`, with the states and the evidence). Either may
reject a prepared sign-off; only an admin may withdraw a signed one. Ops may do none of it.
Every action writes its event in the same transaction as its change. A refusal is
`NotAllowed` (the role) or `WorkflowError` (the rules), and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine

from recon.app.auth import User
from recon.app.workflow import NotAllowed, WorkflowError
from recon.warehouse import signoff

__all__ = ["PREPARE_ROLES", "REVIEW_ROLES", "UNSIGN_ROLES", "prepare", "reject", "review"]

PREPARE_ROLES = ("finance", "admin")
REVIEW_ROLES = ("finance", "admin")
UNSIGN_ROLES = ("admin",)


def _may(actor: User, roles: tuple[str, ...], what: str) -> None:
    if actor.role not in roles:
        raise NotAllowed(
            f"{actor.name} ({actor.role}) may not {what}: that is for {' and '.join(roles)}"
        )


def prepare(engine: Engine, store: str, day: date, actor: User, comment: str = "") -> int:
    """Prepare the sign-off of `store` (or `signoff.ALL_STORES`) on `day`, keeping its
    evidence; the sign-off's id."""
    _may(actor, PREPARE_ROLES, "prepare a sign-off")
    try:
        with engine.begin() as conn:
            return signoff.prepare(conn, store, day, actor.name, comment, datetime.now(UTC))
    except signoff.SignoffError as exc:
        raise WorkflowError(str(exc)) from None


def review(engine: Engine, store: str, day: date, actor: User, comment: str = "") -> None:
    """Sign a prepared sign-off as its reviewer."""
    _may(actor, REVIEW_ROLES, "review a sign-off")
    try:
        with engine.begin() as conn:
            signoff.review(conn, store, day, actor.name, comment, datetime.now(UTC))
    except signoff.SignoffError as exc:
        raise WorkflowError(str(exc)) from None


def reject(engine: Engine, store: str, day: date, actor: User, reason: str) -> str:
    """Send a prepared sign-off back, or (admin) withdraw a signed one, with the reason;
    the event's action (`rejected` or `unsigned`)."""
    _may(actor, REVIEW_ROLES, "reject a sign-off")
    try:
        with engine.begin() as conn:
            state = signoff.state_of(conn, store, day)
            if state == signoff.SIGNED:
                _may(actor, UNSIGN_ROLES, "withdraw a signed sign-off")
            return signoff.reject(conn, store, day, actor.name, reason, datetime.now(UTC))
    except signoff.SignoffError as exc:
        raise WorkflowError(str(exc)) from None
