"""SAP B1 simulator: the Starlette app under `/b1s/v1` (login, collections, entities, writes,
actions, `$batch`) and the middleware giving fault-layer errors B1's body shape.
"""

from __future__ import annotations

import copy
import json
import math
import re
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recon.simulators._b1odata import (
    B1QueryError,
    apply_b1_query,
    parse_b1_query,
    select_b1,
)
from recon.simulators._wire import dumps, json_response
from recon.simulators.faults import RECORD_LOCK_MESSAGE, FaultMiddleware, Faults
from recon.simulators.sapb1.batch import _BatchRequest, _http_answer, _http_part, _multipart
from recon.simulators.sapb1.schema import (
    BASE_PATH,
    CODE_LOGIN,
    CODE_MODIFIED,
    CODE_NOT_FOUND,
    CODE_NOT_SUPPORTED,
    CODE_SESSION,
    CREATABLE,
    DOCUMENT_SETS,
    ENTITY_SETS,
    ETAG_SETS,
    MSG_LOGIN,
    MSG_MODIFIED,
    MSG_NOT_FOUND,
    MSG_SESSION,
    PAYMENT_SETS,
    ROUTE_ID,
    SESSION_VERSION,
    B1Error,
    SapB1Credentials,
    _names,
    check_query,
    error_body,
)
from recon.simulators.sapb1.state import SapB1State

# --------------------------------------------------------------------- HTTP layer
_KEY = re.compile(r"^(?P<set>[A-Za-z]+)\((?P<key>.*)\)$")


def _parse_key(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    try:
        return int(text)
    except ValueError:
        raise B1Error(f"Invalid key value '{text}'", -1000) from None


def _page_size(request: Request, default: int) -> tuple[int, bool]:
    """(page size, whether a Prefer header asked for it); 0 turns paging off."""
    for pref in request.headers.get("prefer", "").split(","):
        name, _, value = pref.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return int(value.strip()), True
    header = request.headers.get("b1s-pagesize", "").strip()
    if header.isdigit():
        return int(header), False
    return default, False


def _b1_error(exc: B1Error) -> Response:
    return json_response(error_body(exc.code, str(exc)), exc.status)


class _B1ErrorShape:
    """Gives error answers from the shared fault layer the B1 body shape.

    The fault middleware speaks Sage's `{"message": ...}`; the Service Layer answers
    `{"error": {"code", "message": {"lang", "value"}}}`. Its record-lock text becomes B1's
    -2039 "another user modified data" (inferred for desktop locks). Success answers and
    HTML pages pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def shaped_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                types = [v for k, v in message.get("headers", []) if k.lower() == b"content-type"]
                is_json = any(b"json" in v for v in types)
                if message["status"] >= 400 and is_json:
                    start = message
                    return
                await send(message)
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = _reshape(b"".join(chunks), start["status"])
            kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            kept.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": start["status"], "headers": kept})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, shaped_send)


def _reshape(body: bytes, status: int) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or "error" in data:
        return body
    text = str(data.get("message") or data.get("errortext") or "Internal error")
    if text == RECORD_LOCK_MESSAGE:
        return dumps(error_body(CODE_MODIFIED, MSG_MODIFIED)).encode()
    return dumps(error_body(-1 if status >= 500 else -10, text)).encode()


# --------------------------------------------------------------------- $batch (OData v3)


_TABLES = _names(  # what a failed change set restores
    "items warehouses business_partners invoices credit_notes incoming_payments "
    "vendor_payments journal_entries accounts vat_groups credit_cards versions next_entry "
    "next_num"
)


def create_app(
    state: SapB1State, creds: SapB1Credentials, faults: Faults | None = None
) -> Starlette:
    """The Starlette app serving `state` under `/b1s/v1`."""

    def root_url(request: Request) -> str:
        return str(request.base_url).rstrip("/") + BASE_PATH

    def session_ok(request: Request) -> bool:
        if request.cookies.get("ROUTEID") != ROUTE_ID:
            return False  # landed on another node, which does not know the session
        return state.touch(request.cookies.get("B1SESSION"))

    def denied() -> Response:
        return json_response(error_body(CODE_SESSION, MSG_SESSION), 401)

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise B1Error("Invalid JSON in the request body", -1000) from None
        if not isinstance(body, dict):
            raise B1Error("The request body must be a JSON object", -1000)
        return body

    async def login(request: Request) -> Response:
        try:
            body = await body_of(request)
        except B1Error as exc:
            return _b1_error(exc)
        if (
            body.get("CompanyDB") != creds.company_db
            or body.get("UserName") != creds.user
            or body.get("Password") != creds.password
        ):
            return json_response(error_body(CODE_LOGIN, MSG_LOGIN), 401)
        sid = state.new_session()
        minutes = max(1, math.ceil(state.session_timeout_seconds / 60))
        response = json_response(
            {
                "odata.metadata": f"{root_url(request)}/$metadata#B1Sessions/@Element",
                "SessionId": sid,
                "Version": SESSION_VERSION,
                "SessionTimeout": minutes,
            }
        )
        response.set_cookie("B1SESSION", sid, httponly=True, path=BASE_PATH)
        response.set_cookie("ROUTEID", ROUTE_ID, path="/b1s")
        return response

    async def logout(request: Request) -> Response:
        if not session_ok(request):
            return denied()
        state.end_session(request.cookies.get("B1SESSION", ""))
        return Response(status_code=204)

    def collection(request: Request, name: str, count_only: bool) -> Response:
        key = ENTITY_SETS[name][1]
        fold = request.headers.get("b1s-caseinsensitive", "").lower() == "true"
        query = parse_b1_query(request.query_params, fold)
        check_query(name, query)
        with state.lock:
            rows, total = apply_b1_query(state.table(name), query, key)
            if count_only:
                return Response(str(total), media_type="text/plain")
            size, preferred = _page_size(request, state.page_size)
            page = rows if size == 0 else rows[:size]
            out: dict[str, Any] = {"odata.metadata": f"{root_url(request)}/$metadata#{name}"}
            if query.inlinecount:
                out["odata.count"] = str(total)
            out["value"] = [select_b1(r, query.select) for r in page]
        if size and len(rows) > size:
            params = {
                k: v
                for k, v in request.query_params.items()
                if k in ("$filter", "$select", "$orderby", "$inlinecount")
            }
            params["$skip"] = str(query.skip + size)
            if query.top is not None:
                params["$top"] = str(query.top - size)
            encoded = "&".join(
                f"{k}={quote(v, safe=chr(36) + chr(39) + ',()=:')}" for k, v in params.items()
            )
            out["odata.nextLink"] = f"{BASE_PATH}/{name}?{encoded}"
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if preferred else None
        return json_response(out, headers=headers)

    def etag_headers(name: str, key: Any) -> dict[str, str] | None:
        return {"ETag": state.etag(name, key)} if name in ETAG_SETS else None

    async def dispatch(request: Request) -> Response:
        rest = request.path_params["rest"].strip("/")
        method = request.method
        if rest == "Login" and method == "POST":
            return await login(request)
        if not session_ok(request):
            return denied()
        if rest == "Logout" and method == "POST":
            return await logout(request)
        if rest == "$batch" and method == "POST":
            try:
                return await batch(request)
            except B1Error as exc:
                return _b1_error(exc)
        return await answer(request, rest, method)

    async def answer(request: Request, rest: str, method: str) -> Response:
        try:
            return await route(request, rest, method)
        except B1QueryError as exc:
            return json_response(error_body(-1000, str(exc)), 400)
        except B1Error as exc:
            return _b1_error(exc)

    async def run_part(outer: Request, part: _BatchRequest, created: dict[str, str]) -> Response:
        """One batch part, answered as if it came alone (`$n` names what Content-ID n
        created earlier in the same change set)."""
        path = part.path
        ref = re.match(r"^\$(\w+)", path)
        if ref is not None:
            if ref[1] not in created:
                return _b1_error(B1Error(f"Content-ID reference ${ref[1]} is not defined", -1000))
            path = created[ref[1]] + path[ref.end() :]
        headers = [(k.encode(), v.encode()) for k, v in part.headers.items()]
        scope = {
            **outer.scope,
            "method": part.method,
            "path": f"{BASE_PATH}/{path}",
            "raw_path": f"{BASE_PATH}/{path}".encode(),
            "query_string": part.query.encode(),
            "headers": [*headers, *[(k, v) for k, v in outer.scope["headers"]
                                    if k == b"cookie"]],
        }  # fmt: skip
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": part.body, "more_body": False}

        response = await answer(Request(scope, receive), path, part.method)
        location = response.headers.get("location")
        if part.content_id is not None and location:
            created[part.content_id] = location.rsplit("/", 1)[-1]
        return response

    async def change_set(outer: Request, parts: list[_BatchRequest]) -> tuple[bool, list[str]]:
        """All of a change set or none of it: any failure restores the company as it was
        and the change set answers with that one failure (False)."""
        created: dict[str, str] = {}
        with state.lock:
            saved = {name: copy.deepcopy(getattr(state, name)) for name in _TABLES}
            answers: list[str] = []
            for part in parts:
                response = await run_part(outer, part, created)
                if response.status_code >= 400:
                    for name, value in saved.items():
                        setattr(state, name, value)
                    return False, [_http_answer(response, part.content_id)]
                answers.append(_http_answer(response, part.content_id))
            return True, answers

    async def batch(request: Request) -> Response:
        """`POST /$batch`: multipart/mixed, each part a request or a change set (atomic).
        Answers 202 with one response part per request / change set, in order."""
        text = (await request.body()).decode("utf-8", "replace").replace("\r\n", "\n")
        outer_parts = _multipart(text, request.headers.get("content-type", ""))
        mark = uuid.uuid4().hex
        out: list[str] = []
        for headers, content in outer_parts:
            kind = headers.get("content-type", "")
            if kind.lower().startswith("multipart/mixed"):
                inner = [_http_part(h, c) for h, c in _multipart(content, kind)]
                ok, answers = await change_set(request, inner)
                if not ok:
                    out.append(answers[0])
                    continue
                sub = f"changesetresponse_{mark}"
                body = "".join(f"--{sub}\r\n{a}\r\n" for a in answers) + f"--{sub}--"
                out.append(f"Content-Type: multipart/mixed; boundary={sub}\r\n\r\n{body}")
            else:
                part = _http_part(headers, content)
                with state.lock:
                    response = await run_part(request, part, {})
                out.append(_http_answer(response, part.content_id))
        top = f"batchresponse_{mark}"
        body = "".join(f"--{top}\r\n{p}\r\n" for p in out) + f"--{top}--\r\n"
        return Response(body, status_code=202, media_type=f"multipart/mixed; boundary={top}")

    async def route(request: Request, rest: str, method: str) -> Response:
        parts = rest.split("/")
        head = parts[0]
        m = _KEY.match(head)
        name = m.group("set") if m else head
        if name not in ENTITY_SETS:
            return json_response(
                error_body(-1, f"Resource not found for the segment '{name}'."), 404
            )
        if m is None:
            if len(parts) == 2 and parts[1] == "$count" and method == "GET":
                return collection(request, name, True)
            if len(parts) > 1:
                raise B1Error(f"Resource not found for the segment '{parts[1]}'.", -1, 404)
            if method == "GET":
                return collection(request, name, False)
            if method == "POST":
                return await create(request, name)
            raise B1Error("Action not supported for this object", CODE_NOT_SUPPORTED)
        key = _parse_key(m.group("key"))
        if len(parts) == 2 and method == "POST":
            state.action(name, key, parts[1])
            return Response(status_code=204)
        if len(parts) > 1:
            raise B1Error(f"Resource not found for the segment '{parts[1]}'.", -1, 404)
        if method == "GET":
            query = parse_b1_query(
                {k: v for k, v in request.query_params.items() if k == "$select"}
            )
            check_query(name, query)
            with state.lock:
                row = state.find(name, key)
                if row is None:
                    raise B1Error(MSG_NOT_FOUND, CODE_NOT_FOUND, 404)
                out = {
                    "odata.metadata": f"{root_url(request)}/$metadata#{name}/@Element",
                    **select_b1(row, query.select),
                }
                return json_response(out, headers=etag_headers(name, key))
        if method in ("PATCH", "MERGE") or (
            method == "POST" and request.headers.get("x-http-method-override") == "PATCH"
        ):
            match = request.headers.get("if-match")
            with state.lock:
                if (
                    name in ETAG_SETS
                    and match
                    and match != "*"
                    and state.find(name, key) is not None
                    and match != state.etag(name, key)
                ):
                    raise B1Error(MSG_MODIFIED, CODE_MODIFIED, 412)
                state.update(name, key, await body_of(request))
                return Response(status_code=204, headers=etag_headers(name, key))
        if method == "DELETE":
            state.delete(name, key)
            return Response(status_code=204)
        raise B1Error("Action not supported for this object", CODE_NOT_SUPPORTED)

    async def create(request: Request, name: str) -> Response:
        if name not in CREATABLE:
            raise B1Error("Action not supported for this object", CODE_NOT_SUPPORTED)
        body = await body_of(request)
        if name in DOCUMENT_SETS:
            row = state.create_document(name, body)
        elif name in PAYMENT_SETS:
            row = state.create_payment(name, body)
        elif name == "JournalEntries":
            row = state.create_journal_entry(body)
        else:
            row = state.create_business_partner(body)
        key = row[ENTITY_SETS[name][1]]
        shown = f"'{key}'" if isinstance(key, str) else str(key)
        headers = {"Location": f"{root_url(request)}/{name}({shown})"}
        headers.update(etag_headers(name, key) or {})
        if "return-no-content" in request.headers.get("prefer", ""):
            headers["Preference-Applied"] = "return-no-content"
            return Response(status_code=204, headers=headers)
        out = {"odata.metadata": f"{root_url(request)}/$metadata#{name}/@Element", **row}
        return json_response(out, 201, headers=headers)

    async def outside(request: Request) -> Response:
        return json_response(error_body(-1, "Resource not found."), 404)

    methods = ["GET", "POST", "PATCH", "MERGE", "PUT", "DELETE"]
    routes = [
        Route(BASE_PATH + "/{rest:path}", dispatch, methods=methods),
        Route("/{path:path}", outside, methods=methods),
    ]
    app = Starlette(routes=routes)
    if faults is not None:
        # The shared fault layer speaks Sage's error shape; `_B1ErrorShape` (added last, so
        # outermost) rewrites it into B1's.
        app.add_middleware(FaultMiddleware, faults=faults, vendor="sage200")
        app.add_middleware(_B1ErrorShape)
    return app
