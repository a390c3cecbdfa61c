"""NetSuite's error shape: the `type/title/status/o:errorDetails` body, its titles and
RFC sections, the fixed detail texts, and `NetSuiteError`, the refusal every layer raises.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from recon.simulators._wire import json_response

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
RFC_SECTIONS = {400: "4.1", 401: "4.2", 403: "4.4", 404: "4.5", 405: "4.6", 409: "4.10"}
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI "
    "at Setup > Users/Roles > User Management > View Login Audit Trail."
)
NOT_FOUND = "The record instance does not exist. Provide a valid record instance ID."
LOCK_DETAIL = "Record has been changed: it is locked by another user or process; retry."
CONCURRENCY_DETAIL = "Concurrent request limit exceeded. Request blocked."


class NetSuiteError(Exception):
    """A request NetSuite refuses; rendered as the `o:errorDetails` body."""

    def __init__(
        self,
        detail: str,
        code: str = "USER_ERROR",
        status: int = 400,
        path: str | None = None,
        query_param: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status
        self.path = path
        self.query_param = query_param


def error_body(
    status: int,
    detail: str,
    code: str,
    path: str | None = None,
    query_param: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    if query_param:
        entry["o:errorQueryParam"] = query_param
    section = RFC_SECTIONS.get(status, "4.1" if status < 500 else "5.1")
    return {
        "type": f"https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.{section}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [entry],
    }


def _error(exc: NetSuiteError) -> Response:
    body = error_body(exc.status, exc.detail, exc.code, exc.path, exc.query_param)
    return json_response(body, exc.status)
