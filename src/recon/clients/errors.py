"""The one exception tree for every vendor client (Sitoo, Sage 200, and later ERPs).

Callers branch on two questions only: *terminal* (retrying will not help: fix credentials,
data or configuration) or *transient* (retry later). Every message names the vendor and the
fix, and never carries a secret. This module holds no I/O and classifies nothing itself;
`recon.clients._http` decides which class a response becomes.

    VendorError
    ├── TerminalError
    │   ├── AuthError          401/403: credentials or IP allow-list
    │   ├── NotFoundError      404: unknown URL, entity or id
    │   │   └── BaseUrlNotFound    404 before the vendor answered anything: wrong base URL
    │   ├── RejectedError      400/409/422 and other 4xx: the vendor refused the data
    │   ├── ResponseTooLarge   a body over RECON_MAX_RESPONSE_MB (as sent or decompressed)
    │   └── PagingLoop         paging that does not advance (a page or next link repeats)
    └── TransientError
        ├── RateLimited        429 (retry_after seconds when the vendor sent Retry-After)
        ├── ServerError        5xx (and 408)
        ├── RecordLocked       a write refused because a user holds the record open
        ├── Unreachable        connect error, DNS failure, timeout
        └── MalformedResponse  HTML error page, truncated JSON, wrong shape
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BaseUrlNotFound",
    "MalformedResponse",
    "NotFoundError",
    "PagingLoop",
    "RateLimited",
    "RecordLocked",
    "RejectedError",
    "ResponseTooLarge",
    "ServerError",
    "TerminalError",
    "TransientError",
    "Unreachable",
    "VendorError",
]


class VendorError(Exception):
    """A vendor call that did not give a usable answer.

    `vendor` is the short vendor name (`sitoo`, `sage200`), `status` the HTTP status when
    there was one, `detail` the vendor's own message (secrets removed, one line).
    """

    def __init__(self, vendor: str, status: int | None, detail: str, message: str) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.status = status
        self.detail = detail

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class TerminalError(VendorError):
    """Retrying will not help: credentials, URL or data must be fixed first."""


class AuthError(TerminalError):
    """401/403: the vendor rejected the credentials (or the caller's IP)."""


class NotFoundError(TerminalError):
    """404: the URL, the entity name or the id does not exist."""


class BaseUrlNotFound(NotFoundError):
    """A 404 before the session had any answer: the base URL (a configuration) is wrong."""


class RejectedError(TerminalError):
    """The vendor refused the request (validation); `detail` is its message."""


class ResponseTooLarge(TerminalError):
    """A body over the cap (RECON_MAX_RESPONSE_MB), as sent or once decompressed."""


class PagingLoop(TerminalError):
    """Paging that does not advance: a page repeats the previous page's keys, or the next
    page (offset, key, next link) was read already; `recon.clients._paging` raises it."""


class TransientError(VendorError):
    """Worth retrying later.

    `safe_to_repeat` is True when the vendor certainly did not act on the request (it was
    refused before processing or never arrived), so even a non-idempotent write may be sent
    again without looking first.
    """

    safe_to_repeat: bool = False


class RateLimited(TransientError):
    """429: too many requests; `retry_after` is the vendor's wait in seconds, if it gave one."""

    safe_to_repeat = True

    def __init__(
        self, vendor: str, status: int | None, detail: str, message: str, retry_after: float | None
    ) -> None:
        super().__init__(vendor, status, detail, message)
        self.retry_after = retry_after


class ServerError(TransientError):
    """5xx: the vendor (or its gateway / on-premises tunnel) failed."""


class RecordLocked(TransientError):
    """A write refused because the record is in use or locked by someone else."""

    safe_to_repeat = True


class Unreachable(TransientError):
    """No HTTP answer at all: connection refused, DNS failure or timeout."""

    def __init__(
        self, vendor: str, status: int | None, detail: str, message: str, *, sent: bool
    ) -> None:
        super().__init__(vendor, status, detail, message)
        self.safe_to_repeat = not sent


class MalformedResponse(TransientError):
    """An answer that is not the JSON promised: HTML page, truncated body, wrong shape."""
