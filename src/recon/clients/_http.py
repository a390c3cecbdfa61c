"""The one request path every vendor client uses: send, classify, retry, log, parse.

Wraps an `httpx.Client`; turns each answer into parsed JSON (floats as `Decimal`) or into
one exception from `recon.clients.errors`; retries transient failures with bounded exponential
backoff (honouring `Retry-After`); logs every attempt as one line on logger `recon.http`.
It must not know vendor paths or models, and must never log or raise a header, token or
password: secrets given to it are scrubbed from any vendor text it repeats.

Over 600 lines, kept as one module because it holds one concern: the one request path (send,
cap, classify, retry, log, parse).
"""

from __future__ import annotations

import json
import logging
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote, quote_plus

import httpx
import jiter
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from recon.clients.errors import (
    AuthError,
    BaseUrlNotFound,
    MalformedResponse,
    NotFoundError,
    RateLimited,
    RecordLocked,
    RejectedError,
    ResponseTooLarge,
    ServerError,
    TransientError,
    Unreachable,
)
from recon.config.settings import DEFAULT_MAX_RESPONSE_MB

__all__ = [
    "Fetched",
    "HttpCore",
    "Params",
    "Unparsed",
    "dumps_json",
    "loads_json",
    "safe_key",
    "scrub",
    "secret_forms",
    "validate_record",
]

T = TypeVar("T", bound=BaseModel)
Params = Mapping[str, str | int]

log = logging.getLogger("recon.http")

# A 400 whose text says the record is held open by someone: worth retrying later.
_LOCK_TEXT = re.compile(r"\bin use\b|\blocked\b|\block(ed)? by\b|being edited|is open by", re.I)
_DETAIL_MAX = 300
_LARGE_HINT = "ask for smaller pages, or raise RECON_MAX_RESPONSE_MB if it is genuine"

# Decoded here, in bounded steps; an encoding we did not ask for is refused.
_ZLIB_WBITS = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Every way a vendor (or a log line) may repeat each secret, longest first: as it is,
    JSON-escaped (with and without `\\u` escapes, with `\\/`) and URL-encoded (path or form
    style, upper or lower case hex)."""
    forms: set[str] = set()
    for secret in filter(None, secrets):
        escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
        encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
        forms |= {secret, *escaped, *(e.replace("/", "\\/") for e in escaped), *encoded}
        forms |= {re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), e) for e in encoded}
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, forms: Iterable[str]) -> str:
    """`text` with every form of every secret (`secret_forms`) replaced by `***`."""
    for form in forms:
        text = text.replace(form, "***")
    return text


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """One record as the vendor sent it (`raw`) and as we understood it (`item`).

    A record that fails validation has `item=None` and `error` = one line naming the field
    and the problem; the caller quarantines it and the rest of the page still comes through.
    """

    key: str
    raw: dict[str, Any]
    item: T | None
    error: str | None


def loads_json(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as an exact `Decimal` (jiter, in Rust: a
    page of 1,000 Sitoo orders is 2 MB of JSON).

    A page that jiter refuses as a whole although its outline is sound (a record nested
    deeper than jiter's 200 levels, a lone surrogate `\\ud800`, bytes that are not UTF-8)
    is parsed again record by record (`_by_record`): each record that still fails becomes
    an `Unparsed` in its place, and the others come through. A body whose outline is broken
    (truncated) raises `ValueError` as before."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    try:
        return jiter.from_json(data, float_mode="decimal")
    except ValueError:
        try:
            return _by_record(data)
        except ValueError:
            pass
        raise


class Unparsed(dict[str, Any]):
    """A record jiter could not parse, in place of the record: its top-level members that
    do parse (so its id is known), the whole text under `"unparsed"` (nothing is lost),
    and `problem`, one line naming the member and what is wrong with it."""

    def __init__(self, members: dict[str, Any], problem: str) -> None:
        super().__init__(members)
        self.problem = problem


_WS = b" \t\r\n"
_OPEN, _CLOSE = b"[{", b"]}"
_UNPARSED_MAX = 1_000_000  # characters of an unparsed record's text kept with it
_RECORD_LISTS = ("items", "value")  # the record list of Sitoo / NetSuite and OData envelopes


def _skip_ws(data: bytes, i: int) -> int:
    while i < len(data) and data[i] in _WS:
        i += 1
    return i


def _value_end(data: bytes, i: int) -> int:
    """The index after the JSON value starting at `i` (its outline only: strings and
    brackets, no recursion, so any depth); `ValueError` when the text ends first."""
    depth = 0
    n = len(data)
    while i < n:
        c = data[i]
        if c == 0x22:  # a string: skip to its closing quote
            i += 1
            while True:
                j = data.find(b'"', i)
                if j < 0:
                    raise ValueError("unterminated string")
                k = j - 1
                while data[k] == 0x5C:  # count the backslashes before the quote
                    k -= 1
                i = j + 1
                if (j - 1 - k) % 2 == 0:
                    break
            if depth == 0:
                return i
            continue
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            if depth == 0:  # a scalar's end: the bracket closes its parent
                return i
            depth -= 1
            if depth == 0:
                return i + 1
        elif depth == 0 and c in _WS + b",:":
            return i
        i += 1
    if depth == 0:
        return i
    raise ValueError("the text ends inside a value")


def _members(data: bytes, start: int, end: int) -> Iterator[tuple[str | None, int, int]]:
    """(name, value start, value end) of each member of the object or array at
    data[start:end] (name None for array elements)."""
    is_object = data[start] == ord("{")
    i = _skip_ws(data, start + 1)
    if i < end - 1 and data[i] in b"]}":
        return
    while i < end - 1:
        name: str | None = None
        if is_object:
            name_end = _value_end(data, i)
            parsed = jiter.from_json(data[i:name_end])
            name = parsed if isinstance(parsed, str) else str(parsed)
            i = _skip_ws(data, name_end)
            if data[i] != ord(":"):
                raise ValueError("a member without ':'")
            i = _skip_ws(data, i + 1)
        value_end = _value_end(data, i)
        yield name, i, value_end
        i = _skip_ws(data, value_end)
        if data[i] == ord(","):
            i = _skip_ws(data, i + 1)
        elif data[i] not in b"]}":
            raise ValueError("members not separated by ','")


def _parse(data: bytes) -> Any:
    return jiter.from_json(data, float_mode="decimal")


def _reason(exc: ValueError) -> str:
    text = str(exc)
    if "recursion limit" in text:
        return "nested deeper than the JSON parser's 200 levels"
    return f"does not parse as JSON ({text.split(' at line ')[0]})"


def _unparsed(data: bytes, start: int, end: int, exc: ValueError) -> Any:
    """The record at data[start:end] that did not parse, as an `Unparsed`."""
    members: dict[str, Any] = {}
    problem = f"record: {_reason(exc)}"
    found = data[start] != ord("{")
    for name, i, j in [] if found else _members(data, start, end):
        try:
            members[name or ""] = _parse(data[i:j])
        except ValueError as err:
            if not found:
                problem, found = f"{name}: {_reason(err)}", True
    text = data[start:end].decode("utf-8", "backslashreplace")
    members["unparsed"] = text[:_UNPARSED_MAX]
    return Unparsed(members, problem)


def _records(data: bytes, start: int, end: int) -> list[Any]:
    out: list[Any] = []
    for _, i, j in _members(data, start, end):
        try:
            out.append(_parse(data[i:j]))
        except ValueError as exc:
            out.append(_unparsed(data, i, j, exc))
    return out


def _by_record(data: bytes) -> Any:
    """Parse a page jiter refused, one record at a time: the records of a top-level array,
    of the record list of an envelope (`{"totalcount", "items": [...]}`, `{"value":
    [...]}`), or else the top-level object as one record."""
    start = _skip_ws(data, 0)
    end = _value_end(data, start)
    if _skip_ws(data, end) != len(data) or data[start] not in _OPEN:
        raise ValueError("not a page of records")
    if data[start] == ord("["):
        return _records(data, start, end)
    page: dict[str, Any] = {}
    for name, i, j in _members(data, start, end):
        try:
            page[name or ""] = _parse(data[i:j])
        except ValueError as exc:
            if name not in _RECORD_LISTS or data[i] != ord("["):  # the object is a record
                return _unparsed(data, start, end, exc)
            page[name or ""] = _records(data, i, j)
    return page


def dumps_json(value: Any) -> str:
    """JSON text where `Decimal` becomes a number written exactly (no float rounding)."""
    parts: list[str] = []
    _dump(value, parts)
    return "".join(parts)


def _dump(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool | int | str):
        out.append(json.dumps(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send {value} as a JSON number")
        out.append(format(value, "f"))
    elif isinstance(value, float):
        raise TypeError(f"money must be Decimal, got float {value!r}")
    elif isinstance(value, datetime | date):
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(k)))
            out.append(":")
            _dump(v, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _dump(v, out)
        out.append("]")
    else:
        raise TypeError(f"cannot send {type(value).__name__} as JSON")


_BOM = b"\xef\xbb\xbf"


def _utf8(response: httpx.Response) -> bytes:
    """The body as UTF-8 bytes for the parser: as sent when it is UTF-8 (JSON's encoding;
    a leading byte-order mark dropped), else decoded by the charset the vendor declared."""
    charset = (response.charset_encoding or "utf-8").lower().replace("_", "-")
    if charset in ("utf-8", "utf8", "us-ascii", "ascii"):
        body = response.content
        return body[len(_BOM) :] if body.startswith(_BOM) else body
    return response.text.encode()


KEY_MAX = 80  # characters of a vendor id the warehouse keeps (raw_payloads.vendor_id)


def validate_record(model: type[T], raw: Any, key_field: str) -> Fetched[T]:
    """Validate one vendor record; failures become `Fetched(item=None, error=...)`.

    The key is the record's `key_field` as text, made safe to store: NUL characters and
    lone surrogates escaped, cut to KEY_MAX characters (a record whose key needed that is
    refused: its key would not be its own)."""
    if not isinstance(raw, dict):
        return Fetched(key="", raw={"value": raw}, item=None, error="record is not an object")
    key_value = raw.get(key_field)
    key = "" if key_value is None else str(key_value)
    safe = safe_key(key)
    if isinstance(raw, Unparsed):
        return Fetched(key=safe, raw=raw, item=None, error=raw.problem)
    if safe != key:
        why = "longer than 80 characters" if len(key) > KEY_MAX else "with a NUL or a surrogate"
        return Fetched(key=safe, raw=raw, item=None, error=f"{key_field}: a key {why}")
    try:
        item = model.model_validate(raw)
    except ValidationError as exc:
        return Fetched(key=key, raw=raw, item=None, error=_one_line(exc))
    except (ArithmeticError, ValueError, TypeError, LookupError, OSError) as exc:
        # a parser that raised what pydantic does not catch: still this record's problem
        why = f"record: cannot be read ({type(exc).__name__}: {exc})"
        return Fetched(key=key, raw=raw, item=None, error=why)
    return Fetched(key=key, raw=raw, item=item, error=None)


def safe_key(key: str) -> str:
    """`key` as the warehouse can keep it: NUL and lone surrogates escaped, at most KEY_MAX
    characters (unchanged for a short plain id)."""
    if len(key) <= KEY_MAX and key.isprintable():  # the usual case: a short plain id
        return key
    safe = key.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode()
    return safe[:KEY_MAX]


def _one_line(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    where = where.removeprefix(".") or "record"
    value = first.get("input")
    shown = str(value) if isinstance(value, Decimal) else repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']} (got {shown}){more}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpCore:
    """One vendor's HTTP session: base URL, auth, headers, retries and classification."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        auth_hint: str,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        secrets: Iterable[str] = (),
        transport: httpx.BaseTransport | None = None,
        max_attempts: int = 5,
        max_wait: float = 30.0,
        min_wait: float = 0.5,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_MB * 2**20,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.vendor = vendor
        self.auth_hint = auth_hint
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.min_wait = min_wait
        self.sleep = sleep
        self._secrets = secret_forms(secrets)
        # The cap on a body's bytes, as read and as decompressed (RECON_MAX_RESPONSE_MB).
        self.max_response_bytes = max_response_bytes
        # No 2xx yet on this session: a 404 now means the base URL is wrong, not the id.
        self._answered = False
        url = httpx.URL(base_url)
        self.host = (f"{url.host}:{url.port}" if url.port else url.host) or base_url
        self._client = httpx.Client(
            base_url=base_url,
            headers={
                "Accept": "application/json",
                "Accept-Encoding": "gzip, deflate",
                **(headers or {}),
            },
            auth=auth,
            transport=transport,
            timeout=timeout,
        )

    def url(self, path: str) -> str:
        """The full URL of `path` on this session (for messages)."""
        return str(self._client.base_url).rstrip("/") + "/" + path.lstrip("/")

    # ----------------------------------------------------------------- lifecycle
    def close(self) -> None:
        self._client.close()

    # ----------------------------------------------------------------- requests
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """Send one request, retrying transient failures; return the parsed JSON body.

        `idempotent` defaults to True for GET/PUT/DELETE. A non-idempotent request (POST) is
        repeated only when the vendor surely did not act on it (429, record locked, connect
        refused); after a 5xx or a timeout the caller must look before posting again.
        `check` inspects the parsed body and returns a problem text for a wrong shape, which
        is raised (and retried) as `MalformedResponse`.
        """
        repeatable = method.upper() in {"GET", "PUT", "DELETE", "HEAD"}
        if idempotent is not None:
            repeatable = idempotent
        attempt_no = 0

        def attempt() -> Any:
            nonlocal attempt_no
            attempt_no += 1
            return self._once(method, path, params, body, attempt_no, check)

        def should_retry(exc: BaseException) -> bool:
            if not isinstance(exc, TransientError):
                return False
            return repeatable or exc.safe_to_repeat

        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            reraise=True,
            sleep=self.sleep,
        )
        return retrying(attempt)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait)
        backoff = wait_exponential_jitter(
            multiplier=self.min_wait, max=self.max_wait, jitter=self.min_wait
        )
        return float(backoff(state))

    def _once(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: Any,
        attempt: int,
        check: Callable[[Any], str | None] | None,
    ) -> Any:
        started = time.monotonic()
        content = None if body is None else dumps_json(body).encode()
        headers = {"Content-Type": "application/json"} if content is not None else None
        status: int | None = None
        try:
            request = self._client.build_request(
                method, path, params=params, content=content, headers=headers
            )
            try:
                streamed = self._client.send(request, stream=True)
                try:
                    response = self._read(streamed)
                finally:
                    streamed.close()
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from None
            status = response.status_code
            return self._classify(response, check)
        finally:
            elapsed_ms = round((time.monotonic() - started) * 1000)
            log.info(
                "vendor=%s method=%s path=%s status=%s attempt=%d elapsed_ms=%d",
                self.vendor,
                method.upper(),
                path,
                status if status is not None else "-",
                attempt,
                elapsed_ms,
                extra={
                    "vendor": self.vendor,
                    "method": method.upper(),
                    "path": path,
                    "status": status,
                    "attempt": attempt,
                    "elapsed_ms": elapsed_ms,
                },
            )

    def _read(self, response: httpx.Response) -> httpx.Response:
        """The streamed `response` read whole under `max_response_bytes` (`read_capped`),
        as a plain response carrying the decoded body."""
        if response.is_stream_consumed:  # read already by an auth flow that needed it
            self.read_capped(response)
            return response
        content = self.read_capped(response)
        kept = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=kept, content=content, request=response.request
        )

    def read_capped(
        self, response: httpx.Response, cap: int | None = None, *, hint: str = _LARGE_HINT
    ) -> bytes:
        """The body of the streamed `response`, decompressed here in bounded steps: reading
        stops (`ResponseTooLarge`, ending with `hint`) as soon as the bytes read or the
        bytes they decompress to pass `cap` (default `max_response_bytes`), so a small gzip
        bomb never inflates in memory. The body is kept on `response` as `read()` keeps it,
        so an auth flow may read an answer here that httpx reads again after it."""
        cap = self.max_response_bytes if cap is None else cap
        if response.is_stream_consumed:
            if len(response.content) > cap:
                raise self._too_large(response, "decompressed", cap, hint)
            return response.content
        coding = response.headers.get("content-encoding", "").strip().lower()
        decoder = None
        if coding not in ("", "identity"):
            if coding not in _ZLIB_WBITS:
                raise self._malformed(response, f"a body in the {coding!r} encoding (not asked)")
            decoder = zlib.decompressobj(_ZLIB_WBITS[coding])
        parts: list[bytes] = []
        read = size = 0
        raw_deflate = False
        for raw in response.iter_raw():
            read += len(raw)
            if read > cap:
                raise self._too_large(response, "as sent", cap, hint)
            if decoder is None:
                parts.append(raw)
                size = read
                continue
            data = raw
            while data:
                try:
                    out = decoder.decompress(data, cap + 1 - size)
                except zlib.error:
                    if coding != "deflate" or size or raw_deflate:
                        bad = "a compressed body that does not inflate"
                        raise self._malformed(response, bad) from None
                    decoder = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, no zlib header
                    raw_deflate = True
                    continue
                size += len(out)
                if size > cap:
                    raise self._too_large(response, "decompressed", cap, hint)
                parts.append(out)
                data = decoder.unconsumed_tail
        if decoder is not None:
            parts.append(decoder.flush())
            if size + len(parts[-1]) > cap:
                raise self._too_large(response, "decompressed", cap, hint)
        body = b"".join(parts)
        response._content = body  # what `Response.read()` keeps: later reads return it
        return body

    def _too_large(
        self, response: httpx.Response, how: str, cap: int, hint: str
    ) -> ResponseTooLarge:
        # RECON_MAX_RESPONSE_MB in its own unit; a fixed cap of a small answer in KB
        mb = cap == self.max_response_bytes
        limit = f"{cap / 2**20:g} MB" if mb else f"{cap / 2**10:g} KB"
        url = self._scrub(str(response.request.url.copy_with(query=None)))  # the query: long
        return ResponseTooLarge(
            self.vendor,
            response.status_code,
            f"body over {limit} {how}",
            f"{self._name} answered {url} with a body over {limit} ({how}); stopped reading "
            f"it: {hint}",
        )

    # ----------------------------------------------------------------- classification
    def _unreachable(self, exc: httpx.TransportError) -> Unreachable:
        sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not connect"
        detail = self._scrub(type(exc).__name__ + (f": {exc}" if str(exc) else ""))
        return Unreachable(
            self.vendor,
            None,
            detail,
            f"{self._name} unreachable at {self.host} ({kind}: {detail}): check the "
            f"{self.vendor.upper()}_BASE_URL and that the service is up",
            sent=sent,
        )

    @property
    def _name(self) -> str:
        return {"sitoo": "Sitoo", "sage200": "Sage 200"}.get(self.vendor, self.vendor)

    def _classify(self, response: httpx.Response, check: Callable[[Any], str | None] | None) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            self._answered = True
            return self._parse_ok(response, check)
        detail = self._detail(response)
        name = self._name
        said = f": {detail}" if detail else ""
        if status in (401, 403):
            raise AuthError(
                self.vendor,
                status,
                detail,
                f"{name} rejected the credentials ({status}): check {self.auth_hint}",
            )
        if status == 404 and not self._answered:
            raise BaseUrlNotFound(
                self.vendor,
                status,
                detail,
                f"{name} has no {response.request.url.path} (404 on the first call){said}: "
                f"check {self.vendor.upper()}_BASE_URL is the root the API's paths hang from",
            )
        if status == 404:
            raise NotFoundError(
                self.vendor,
                status,
                detail,
                f"{name} has no {response.request.url.path} (404){said}: check the "
                f"{self.vendor.upper()}_BASE_URL and the id",
            )
        if status == 429:
            wait = _retry_after(response)
            raise RateLimited(
                self.vendor,
                status,
                detail,
                f"{name} is rate limiting requests (429); retry later",
                wait,
            )
        if status == 423 or (400 <= status < 500 and _LOCK_TEXT.search(detail)):
            raise RecordLocked(
                self.vendor,
                status,
                detail,
                f"{name} record is in use or locked ({status}){said}; retry when released",
            )
        if status == 408 or status >= 500:
            raise ServerError(
                self.vendor,
                status,
                detail,
                f"{name} server error ({status}){said}; retry later",
            )
        raise RejectedError(
            self.vendor,
            status,
            detail,
            f"{name} rejected the request ({status}){said}: fix the data named above",
        )

    def _parse_ok(self, response: httpx.Response, check: Callable[[Any], str | None] | None) -> Any:
        body = _utf8(response)
        if not body.strip():
            parsed: Any = None
        else:
            ctype = response.headers.get("content-type", "")
            if "html" in ctype or body.lstrip().startswith(b"<"):
                raise self._malformed(response, "an HTML page instead of JSON")
            try:
                parsed = loads_json(body)
            except ValueError:
                raise self._malformed(response, "JSON that does not parse (truncated?)") from None
        if check is not None:
            problem = check(parsed)
            if problem:
                raise self._malformed(response, problem)
        return parsed

    def _malformed(self, response: httpx.Response, what: str) -> MalformedResponse:
        return MalformedResponse(
            self.vendor,
            response.status_code,
            what,
            f"{self._name} answered {response.request.url.path} with {what}; retry later "
            f"or check {self.vendor.upper()}_BASE_URL points at the API",
        )

    def _detail(self, response: httpx.Response) -> str:
        text = response.text
        detail = ""
        try:
            data = loads_json(text) if text.strip() else None
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("errortext", "message", "Message", "error_description", "error", "detail"):
                value = data.get(key)
                if isinstance(value, str) and value:
                    detail = value
                    break
                if isinstance(value, dict) and isinstance(value.get("message"), str):
                    detail = value["message"]
                    break
            if not detail:
                detail = json.dumps(data, default=str)
        elif isinstance(data, list) and data:
            detail = json.dumps(data[0], default=str)
        elif isinstance(data, str):
            detail = data
        elif text.strip() and not text.lstrip().startswith("<"):
            detail = text
        elif text.strip():
            detail = "HTML error page"
        return self._scrub(detail)

    def _scrub(self, text: str) -> str:
        text = " ".join(scrub(text, self._secrets).split())
        if len(text) > _DETAIL_MAX:
            text = text[: _DETAIL_MAX - 3] + "..."
        return text
