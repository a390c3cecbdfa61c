"""Fault injection for the simulators: an ASGI middleware driven by a `Faults` dataclass.

Faults are off by default. Random faults use a seeded generator, so a run with the same
seed and request sequence fails the same way; `Faults.queue` injects one exact fault on
the next matching request. This module must not know any vendor's data, only the shape
of each vendor's error bodies.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "FAULT_KINDS",
    "ConnectionDropped",
    "FaultKind",
    "FaultMiddleware",
    "Faults",
    "Vendor",
]

FaultKind = Literal[
    "rate_limit",
    "server_error",
    "bad_gateway",
    "unavailable",
    "slow",
    "drop_after_commit",
    "record_lock",
    "html_error",
    "truncated_json",
]
FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",
    "server_error",
    "bad_gateway",
    "unavailable",
    "slow",
    "drop_after_commit",
    "record_lock",
    "html_error",
    "truncated_json",
)
Vendor = Literal["sitoo", "sage200"]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RECORD_LOCK_MESSAGE = (
    "The record is in use by another user. Please try again later."  # Sage 200 desktop wording
)
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


class ConnectionDropped(Exception):
    """Raised inside the server to abort a response after the write committed."""


@dataclass
class Faults:
    """Fault knobs. Probabilities are per request, checked in field order; 0 = never.

    `record_lock` applies to write requests only (Sage 200 answers it with a 400).
    `drop_after_commit` lets the request run (the write is stored), then aborts the
    connection before the body is sent.
    """

    seed: int = 0
    rate_limit: float = 0.0
    retry_after_seconds: int = 1
    server_error: float = 0.0
    slow: float = 0.0
    delay_seconds: float = 2.0
    drop_after_commit: float = 0.0
    record_lock: float = 0.0
    html_error: float = 0.0
    truncated_json: float = 0.0
    _queued: list[tuple[str, str, str]] = field(default_factory=list, repr=False)
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    injected: list[tuple[str, str, str]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def queue(self, method: str, path: str, kind: str, times: int = 1) -> None:
        """Inject `kind` on the next `times` requests whose method matches (or is "*")
        and whose path ends with `path` (e.g. "/sop_orders")."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(FAULT_KINDS)}")
        with self._lock:
            for _ in range(times):
                self._queued.append((method.upper(), path.rstrip("/"), kind))

    def pending(self) -> int:
        with self._lock:
            return len(self._queued)

    def pick(self, method: str, path: str) -> str | None:
        """The fault for this request, if any (queued first, then the dice)."""
        with self._lock:
            stripped = path.rstrip("/")
            for i, (m, suffix, kind) in enumerate(self._queued):
                if m in ("*", method) and stripped.endswith(suffix):
                    del self._queued[i]
                    self.injected.append((method, path, kind))
                    return kind
            rolled = self._roll(method)
            if rolled is not None:
                self.injected.append((method, path, rolled))
            return rolled

    def _roll(self, method: str) -> str | None:
        if self.rate_limit and self._rng.random() < self.rate_limit:
            return "rate_limit"
        if self.server_error and self._rng.random() < self.server_error:
            return self._rng.choice(("server_error", "bad_gateway", "unavailable"))
        if self.slow and self._rng.random() < self.slow:
            return "slow"
        if method in WRITE_METHODS:
            if self.record_lock and self._rng.random() < self.record_lock:
                return "record_lock"
            if self.drop_after_commit and self._rng.random() < self.drop_after_commit:
                return "drop_after_commit"
        if self.html_error and self._rng.random() < self.html_error:
            return "html_error"
        if self.truncated_json and self._rng.random() < self.truncated_json:
            return "truncated_json"
        return None


def _error_body(vendor: Vendor, status: int, text: str) -> bytes:
    if vendor == "sitoo":
        return json.dumps({"statuscode": status, "errortext": text}).encode()
    if status in (401, 429):  # Azure API Management gateway shape (sage200.md section 3)
        return json.dumps({"statusCode": status, "message": text}).encode()
    return json.dumps({"message": text}).encode()


_STATUS_TEXT = {
    "rate_limit": (429, "Rate limit is exceeded. Try again in {n} seconds."),
    "server_error": (500, "Internal server error"),
    "bad_gateway": (502, "Bad gateway"),
    "unavailable": (503, "Service unavailable"),
}


class FaultMiddleware:
    """Wraps a simulator app; consults `faults` on every HTTP request."""

    def __init__(self, app: ASGIApp, faults: Faults, vendor: Vendor) -> None:
        self.app = app
        self.faults = faults
        self.vendor = vendor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self.faults.pick(scope["method"], scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
        elif kind in _STATUS_TEXT:
            status, text = _STATUS_TEXT[kind]
            headers = [(b"content-type", b"application/json")]
            if kind == "rate_limit":
                n = self.faults.retry_after_seconds
                text = text.format(n=n)
                headers.append((b"retry-after", str(n).encode()))
            await _send_whole(send, status, headers, _error_body(self.vendor, status, text))
        elif kind == "slow":
            await asyncio.sleep(self.faults.delay_seconds)
            await self.app(scope, receive, send)
        elif kind == "record_lock":
            status = 400 if self.vendor == "sage200" else 500
            body = _error_body(self.vendor, status, RECORD_LOCK_MESSAGE)
            await _send_whole(send, status, [(b"content-type", b"application/json")], body)
        elif kind == "html_error":
            await _send_whole(send, 502, [(b"content-type", b"text/html")], HTML_502.encode())
        else:
            status, headers, body = await _capture(self.app, scope, receive)
            if kind == "truncated_json":
                cut = body[: max(1, len(body) // 2)]
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                await _send_whole(send, status, headers, cut)
            else:  # drop_after_commit: the write is stored, the answer never arrives
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": headers})
                raise ConnectionDropped(f"{scope['method']} {scope['path']}: dropped after commit")


async def _send_whole(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _capture(
    app: ASGIApp, scope: Scope, receive: Receive
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def capture_send(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture_send)
    return status, headers, b"".join(chunks)
