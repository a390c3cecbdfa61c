"""SAP B1 simulator: reading and answering OData v3 `$batch` bodies (multipart/mixed parts,
each an application/http request).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.responses import Response

from recon.simulators.sapb1.schema import (
    BASE_PATH,
    B1Error,
)


@dataclass
class _BatchRequest:
    """One `application/http` part of a `$batch`: its request line, headers and body."""

    method: str
    path: str  # relative to the service root, e.g. "Invoices(1201)" or "$1"
    query: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_STATUS_TEXT = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
                401: "Unauthorized", 404: "Not Found", 412: "Precondition Failed",
                500: "Internal Server Error"}  # fmt: skip


def _split_head(text: str) -> tuple[dict[str, str], str]:
    """MIME-style `Name: value` lines up to the first blank line, and the rest."""
    head, _, rest = text.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.split("\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _multipart(text: str, content_type: str) -> list[tuple[dict[str, str], str]]:
    """The parts of a multipart/mixed body (LF line ends): (part headers, part content)."""
    m = _BOUNDARY.search(content_type)
    if "multipart/mixed" not in content_type.lower() or m is None:
        raise B1Error("Batch request must be multipart/mixed with a boundary", -1000)
    delimiter = "--" + m[1]
    if delimiter + "--" not in text:
        raise B1Error(f"Batch request does not end with {delimiter}--", -1000)
    body = text.split(delimiter + "--", 1)[0]
    chunks = body.split(delimiter)[1:]  # the preamble goes
    parts = []
    for chunk in chunks:
        headers, content = _split_head(chunk.lstrip("\n").removesuffix("\n"))
        parts.append((headers, content))
    return parts


def _http_part(headers: dict[str, str], content: str) -> _BatchRequest:
    if "application/http" not in headers.get("content-type", "").lower():
        raise B1Error("Each batch part must be application/http", -1000)
    request_line, _, rest = content.lstrip("\n").partition("\n")
    bits = request_line.split()
    if len(bits) < 2:
        raise B1Error(f"Cannot read the batch request line {request_line!r}", -1000)
    inner_headers: dict[str, str] = {}
    body = rest
    if rest.strip() and not rest.startswith("\n"):  # headers, a blank line, the body
        inner_headers, body = _split_head(rest)
    url = bits[1]
    url = re.sub(r"^https?://[^/]+", "", url)
    url = url.removeprefix(BASE_PATH).lstrip("/")
    path, _, query = url.partition("?")
    return _BatchRequest(
        bits[0].upper(),
        path,
        query,
        inner_headers,
        body.strip().encode(),
        headers.get("content-id"),
    )


def _http_answer(response: Response, content_id: str | None) -> str:
    status = response.status_code
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Error')}"]
    for name, value in response.headers.items():
        if name.lower() not in ("content-length",):
            lines.append(f"{name.title()}: {value}")
    body = bytes(response.body).decode() if response.body else ""
    return "\r\n".join([*lines, "", body])
