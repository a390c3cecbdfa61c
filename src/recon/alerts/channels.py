"""Delivery of one digest: JSON POST to a webhook, or plain-text e-mail over SMTP.

A failed delivery raises `DeliveryFailed` with one line that names the owner and channel
but never the webhook URL (it is a secret) or a credential. No retries here: the caller
marks nothing sent, so the next run tries again.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import httpx

from recon.clients import dumps_json

__all__ = ["DeliveryFailed", "post_webhook", "send_email"]

TIMEOUT = 10.0


class DeliveryFailed(Exception):
    """A digest that did not reach its receiver (one line, no secret)."""


def post_webhook(
    owner: str,
    url: str,
    payload: dict[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = TIMEOUT,
) -> None:
    try:
        with httpx.Client(transport=transport, timeout=timeout) as client:
            answer = client.post(
                url, content=dumps_json(payload), headers={"Content-Type": "application/json"}
            )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(
            f"webhook for {owner} unreachable ({type(exc).__name__}); check "
            f"RECON_ALERT_WEBHOOK_{owner.upper()}"
        ) from None
    if not answer.is_success:
        raise DeliveryFailed(f"webhook for {owner} answered HTTP {answer.status_code}")


def send_email(
    owner: str, host: str, port: int, message: EmailMessage, *, timeout: float = TIMEOUT
) -> None:
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(
            f"e-mail for {owner} via {host}:{port} failed ({type(exc).__name__}); check "
            "RECON_SMTP_HOST / RECON_SMTP_PORT"
        ) from None
