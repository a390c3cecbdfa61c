"""The HTTP face: credentials, the error-shape and concurrency-limit middleware,
paging, and `create_app`, the Starlette app serving the record, SuiteQL and serverTime routes.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recon.simulators._wire import json_response
from recon.simulators.faults import ConnectionDropped, FaultMiddleware, Faults
from recon.simulators.netsuite.errors import (
    CONCURRENCY_DETAIL,
    INVALID_LOGIN,
    LOCK_DETAIL,
    NOT_FOUND,
    TITLES,
    NetSuiteError,
    _error,
    error_body,
)
from recon.simulators.netsuite.q import parse_q
from recon.simulators.netsuite.records import (
    ALIASES,
    FIELDS,
    MAX_LIMIT,
    QUERY_PATH,
    RECORD_PATH,
    RECORD_TYPES,
    REF_TARGETS,
    STATUS_NAMES,
    TIME_PATH,
    TRANSACTIONS,
    _field_error,
    _known,
    ignored_warning,
    unknown_fields,
)
from recon.simulators.netsuite.state import NetSuiteState
from recon.simulators.netsuite.suiteql import run_suiteql, suiteql_row


@dataclass(frozen=True)
class NetSuiteCredentials:
    token: str = "sim-netsuite-token"
    account_id: str = "1234567-sb1"

    def env(self, base_url: str) -> dict[str, str]:
        return {"NETSUITE_BASE_URL": base_url, "NETSUITE_TOKEN": self.token}


# --------------------------------------------------------------------- middleware
class _ErrorShape:
    """Gives every JSON error answer (e.g. an injected fault) NetSuite's error body and drops
    `Retry-After`, which NetSuite does not document. Bodies already in NetSuite shape and
    non-JSON answers (HTML pages) pass unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        rewrite = False
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            # The start is held until the body comes, so a connection dropped in between
            # (fault `drop_after_commit`) loses even a bodiless 204 and its Location.
            nonlocal start, rewrite
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                is_json = b"json" in headers.get(b"content-type", b"")
                start, rewrite = message, message["status"] >= 400 and is_json
            elif message["type"] == "http.response.body" and start is not None and rewrite:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._rewrite(send, start, b"".join(chunks))
            elif message["type"] == "http.response.body" and start is not None:
                await send(start)
                start = None
                await send(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, wrapped)
        except ConnectionDropped:
            if start is not None:  # promise a body that never comes: the client sees a cut
                cut = [(b"content-type", b"application/json"), (b"content-length", b"1")]
                await send({"type": "http.response.start", "status": 200, "headers": cut})
            raise

    @staticmethod
    async def _rewrite(send: Send, start: Message, body: bytes) -> None:
        status = int(start["status"])
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not (isinstance(data, dict) and "o:errorDetails" in data):
            text = ""
            if isinstance(data, dict):
                text = str(data.get("message") or data.get("errortext") or "")
            code = {429: "CONCURRENCY_LIMIT_EXCEEDED"}.get(status, "UNEXPECTED_ERROR")
            if status == 400 and ("in use" in text or "locked" in text):
                code, text = "RCRD_HAS_BEEN_CHANGED", LOCK_DETAIL
            elif status == 429:
                text = CONCURRENCY_DETAIL
            body = json.dumps(
                error_body(status, text or TITLES.get(status, "Error"), code)
            ).encode()
        skip = (b"content-length", b"retry-after")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in skip]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _ConcurrencyLimit:
    """Account-wide concurrency governance: above `state.concurrency_limit` requests in
    flight, answer 429 (reference section 3: status inferred)."""

    def __init__(self, app: ASGIApp, state: NetSuiteState) -> None:
        self.app = app
        self.state = state
        self.in_flight = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.state.concurrency_limit
        if scope["type"] != "http" or limit is None:
            await self.app(scope, receive, send)
            return
        with self._lock:
            refused = self.in_flight >= limit
            if not refused:
                self.in_flight += 1
        if refused:
            await _error(NetSuiteError(CONCURRENCY_DETAIL, "CONCURRENCY_LIMIT_EXCEEDED", 429))(
                scope, receive, send
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1


# --------------------------------------------------------------------- app
def _record_type(name: str) -> str:
    canonical = ALIASES.get(name, name)
    if canonical not in RECORD_TYPES:
        raise NetSuiteError(f"Record type '{name}' does not exist.", "NONEXISTENT_ID", 404)
    return canonical


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise NetSuiteError(
            f"Invalid value {raw} for query parameter {name}: use a whole number between "
            f"{low} and {high}.",
            "INVALID_PARAMETER",
            query_param=name,
        )
    return value


def _page(
    request: Request, rows: list[Any], path: str, ceiling: int
) -> tuple[dict[str, Any], list[Any]]:
    """The page `limit`/`offset` ask for, among the first `ceiling` rows only."""
    limit = _int_param(request, "limit", MAX_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, ceiling)
    if offset + limit > ceiling:
        raise NetSuiteError(
            f"Invalid value for query parameter offset: at most the first {ceiling} "
            "results of a query can be paged (offset + limit); narrow the query.",
            "INVALID_PARAMETER",
            query_param="offset",
        )
    if offset % limit:
        raise NetSuiteError(
            "Invalid value for query parameter offset: the offset must be a multiple of the limit.",
            "INVALID_PARAMETER",
            query_param="offset",
        )
    page = rows[offset : offset + limit]
    has_more = offset + len(page) < len(rows)
    keep = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}

    def href(off: int) -> str:
        params = "&".join(
            [f"{k}={v}" for k, v in keep.items()] + [f"limit={limit}", f"offset={off}"]
        )
        return f"{str(request.base_url).rstrip('/')}{path}?{params}"

    links = [{"rel": "self", "href": href(offset)}]
    if has_more:
        links.append({"rel": "next", "href": href(offset + limit)})
    if offset > 0:
        links.append({"rel": "previous", "href": href(max(0, offset - limit))})
    links.append({"rel": "first", "href": href(0)})
    last = max(0, (len(rows) - 1) // limit * limit)
    links.append({"rel": "last", "href": href(last)})
    envelope = {
        "links": links,
        "count": len(page),
        "hasMore": has_more,
        "offset": offset,
        "totalResults": len(rows),
    }
    return envelope, page


def _warned(headers: dict[str, str], warning: str) -> dict[str, str]:
    """`headers` with `X-NetSuite-Warning: warning` when there is one."""
    return {**headers, "X-NetSuite-Warning": warning} if warning else headers


def create_app(
    state: NetSuiteState, creds: NetSuiteCredentials, faults: Faults | None = None
) -> ASGIApp:
    """The ASGI app serving `state` under `/services/rest/...`."""

    def root(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def check(request: Request) -> None:
        if request.headers.get("authorization", "") != f"Bearer {creds.token}":
            raise NetSuiteError(INVALID_LOGIN, "INVALID_LOGIN", 401)

    def record_href(request: Request, record_type: str, rid: str) -> str:
        return f"{root(request)}{RECORD_PATH}/{record_type}/{rid}"

    def ref_name(field_name: str, rid: str) -> str | None:
        for rtype in REF_TARGETS.get(field_name, ()):
            rec = state.get(rtype, rid)
            if rec is None:
                continue
            if rtype == "customer":
                return f"{rec['entityId']} {rec.get('companyName', '')}".strip()
            if rtype == "account":
                return f"{rec['acctNumber']} {rec.get('acctName', '')}".strip()
            if rtype in TRANSACTIONS:
                return f"{rtype} #{rec.get('tranId', rid)}"
            return str(rec.get("name") or rec.get("itemId") or rec.get("symbol") or rid)
        return None

    def render_value(request: Request, key: str, value: Any, simple_enum: bool) -> Any:
        if isinstance(value, dict) and set(value) <= {"id", "refName"} and "id" in value:
            rid = str(value["id"])
            if key in ("status", "acctType", "itemType"):
                if simple_enum:
                    return rid
                names = STATUS_NAMES.get(request.path_params["type"], {})
                return {"id": rid, "refName": names.get(rid, rid)}
            out: dict[str, Any] = {"id": rid}
            name = ref_name(key, rid)
            if name is not None:
                out["refName"] = name
            targets = REF_TARGETS.get(key)
            if targets:
                out["links"] = [{"rel": "self", "href": record_href(request, targets[0], rid)}]
            return out
        return value

    def render(
        request: Request, record_type: str, rec: dict[str, Any], expand: bool
    ) -> dict[str, Any]:
        simple_enum = request.query_params.get("simpleEnumFormat", "").lower() == "true"
        rid = rec["id"]
        out: dict[str, Any] = {
            "links": [{"rel": "self", "href": record_href(request, record_type, rid)}]
        }
        for key, value in rec.items():
            if value is None:
                continue
            if isinstance(value, dict) and "items" in value:
                link = [{"rel": "self", "href": f"{record_href(request, record_type, rid)}/{key}"}]
                if not expand:
                    out[key] = {"links": link}
                    continue
                lines = [
                    {
                        "links": [],
                        **{
                            k: render_value(request, k, v, simple_enum)
                            for k, v in ln.items()
                            if v is not None
                        },
                    }
                    for ln in value["items"]
                ]
                out[key] = {
                    "links": link,
                    "count": len(lines),
                    "hasMore": False,
                    "items": lines,
                    "offset": 0,
                    "totalResults": len(lines),
                }
            else:
                out[key] = render_value(request, key, value, simple_enum)
        fields = request.query_params.get("fields")
        if fields:
            keep = {f.strip() for f in fields.split(",")} | {"links", "id"}
            for name in sorted(keep):
                if not _known(name, FIELDS[record_type]):
                    raise _field_error(name, record_type, query_param="fields")
            out = {k: v for k, v in out.items() if k in keep}
        return out

    def locate(record_type: str, key: str) -> dict[str, Any]:
        if key.startswith("eid:"):
            rec = state.by_external_id(record_type, key[4:])
        elif key.isdigit():
            rec = state.get(record_type, key)
        else:
            raise NetSuiteError(
                f"Invalid record instance id {key}: use digits or eid:{{externalId}}.",
                "INVALID_ID",
                404,
            )
        if rec is None:
            raise NetSuiteError(NOT_FOUND, "NONEXISTENT_ID", 404)
        return rec

    async def record_body(request: Request, record_type: str) -> tuple[dict[str, Any], str]:
        """The body, its unknown fields refused (or, as the request's
        X-NetSuite-PropertyNameValidation asks, dropped: Ignore, or Warning), and the
        X-NetSuite-Warning text naming the fields dropped under Warning ("" for none)."""
        body = await body_of(request)
        unknown = unknown_fields(record_type, body)
        mode = request.headers.get("x-netsuite-propertynamevalidation", "Error").lower()
        if unknown and mode not in ("warning", "ignore"):
            raise _field_error(unknown[0], record_type)
        for path in unknown:
            parts = re.fullmatch(r"(\w+)\.items\[(\d+)\]\.(\w+)", path)
            if parts is None:
                body.pop(path, None)
            else:
                body[parts[1]]["items"][int(parts[2])].pop(parts[3], None)
        warning = ignored_warning(unknown, record_type) if mode == "warning" else ""
        return body, warning

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise NetSuiteError("The request body is not valid JSON.", "INVALID_CONTENT") from None
        if not isinstance(body, dict):
            raise NetSuiteError("The request body must be a JSON object.", "INVALID_CONTENT")
        return body

    def endpoint(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def wrapped(request: Request) -> Response:
            try:
                check(request)
                result: Response = await handler(request)
                return result
            except NetSuiteError as exc:
                return _error(exc)

        return wrapped

    async def collection(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        q = request.query_params.get("q")
        pred = parse_q(q, record_type) if q else None
        with state.lock:
            recs = sorted(state.table(record_type).values(), key=lambda r: int(r["id"]))
            ids = [r["id"] for r in recs if pred is None or pred(r)]
        envelope, page = _page(
            request, ids, f"{RECORD_PATH}/{request.path_params['type']}", state.max_query_rows
        )
        envelope["items"] = [
            {"links": [{"rel": "self", "href": record_href(request, record_type, i)}], "id": i}
            for i in page
        ]
        return json_response(envelope)

    async def single(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        expand = request.query_params.get("expandSubResources", "").lower() == "true"
        with state.lock:
            rec = locate(record_type, request.path_params["key"])
            return json_response(render(request, record_type, rec, expand))

    async def sublist(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        name = request.path_params["sublist"]
        with state.lock:
            rec = locate(record_type, request.path_params["key"])
            rendered = render(request, record_type, rec, True)
        value = rendered.get(name)
        if not isinstance(value, dict) or "items" not in value:
            raise NetSuiteError(f"The sublist {name} does not exist.", "NONEXISTENT_ID", 404)
        return json_response(value)

    def written(request: Request, rec: dict[str, Any], warning: str) -> Response:
        headers = {"Location": record_href(request, request.path_params["type"], rec["id"])}
        return Response(status_code=204, headers=_warned(headers, warning))

    async def create(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        body, warning = await record_body(request, record_type)
        return written(request, state.create(record_type, body), warning)

    async def put(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        key = request.path_params["key"]
        if not key.startswith("eid:") or len(key) < 5:
            raise NetSuiteError(
                "PUT is the upsert operation: address the record as eid:{externalId}.",
                "INVALID_REQUEST",
                405,
            )
        body, warning = await record_body(request, record_type)
        return written(request, state.upsert(record_type, key[4:], body), warning)

    async def patch(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        body, warning = await record_body(request, record_type)
        with state.lock:
            rec = locate(record_type, request.path_params["key"])
            state.update(record_type, rec["id"], body)
        return Response(status_code=204, headers=_warned({}, warning))

    async def delete(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        with state.lock:
            rec = locate(record_type, request.path_params["key"])
            state.delete(record_type, rec["id"])
        return Response(status_code=204)

    async def suiteql(request: Request) -> Response:
        if "transient" not in request.headers.get("prefer", "").lower():
            raise NetSuiteError(
                "SuiteQL requests need the header Prefer: transient.",
                "INVALID_HEADER",
                path=None,
            )
        body = await body_of(request)
        query = body.get("q")
        if not isinstance(query, str) or not query.strip():
            raise NetSuiteError('The body must be {"q": "<SuiteQL query>"}.', "INVALID_CONTENT")
        names, rows = run_suiteql(state, query)
        envelope, page = _page(request, rows, QUERY_PATH, state.max_query_rows)
        envelope["items"] = [{"links": [], **suiteql_row(names, row)} for row in page]
        return json_response(envelope)

    async def server_time(request: Request) -> Response:
        stamp = state.clock.now()
        text = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        return json_response({"serverTime": text})

    async def not_found(request: Request) -> Response:
        raise NetSuiteError(
            f"The requested resource {request.url.path} does not exist.", "NONEXISTENT_ID", 404
        )

    r = RECORD_PATH
    routes = [
        Route(TIME_PATH, endpoint(server_time), methods=["GET"]),
        Route(QUERY_PATH, endpoint(suiteql), methods=["POST"]),
        Route(r + "/{type}", endpoint(collection), methods=["GET"]),
        Route(r + "/{type}", endpoint(create), methods=["POST"]),
        Route(r + "/{type}/{key}", endpoint(single), methods=["GET"]),
        Route(r + "/{type}/{key}", endpoint(put), methods=["PUT"]),
        Route(r + "/{type}/{key}", endpoint(patch), methods=["PATCH"]),
        Route(r + "/{type}/{key}", endpoint(delete), methods=["DELETE"]),
        Route(r + "/{type}/{key}/{sublist}", endpoint(sublist), methods=["GET"]),
        Route(
            "/{path:path}", endpoint(not_found), methods=["GET", "POST", "PUT", "DELETE", "PATCH"]
        ),
    ]
    app = Starlette(routes=routes)
    if faults is not None:
        # Faults speak the Sage body shape; _ErrorShape turns them into NetSuite's.
        app.add_middleware(FaultMiddleware, faults=faults, vendor="sage200")
    app.add_middleware(_ConcurrencyLimit, state=state)
    # Outside Starlette's own error handler, so a dropped connection stays dropped.
    return _ErrorShape(app)
