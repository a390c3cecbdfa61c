"""SapB1Client against a small fake Service Layer router (httpx.MockTransport)."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from recon.clients import (
    AuthError,
    MalformedResponse,
    PagingLoop,
    RecordLocked,
    RejectedError,
    ResponseTooLarge,
    ServerError,
)
from recon.config import ConfigError, Settings
from recon.erp.sapb1.client import (
    LOGIN_MAX_BYTES,
    Document,
    Item,
    SapB1Client,
    VatGroup,
    _B1Session,
    b1_date,
    b1_key,
    b1_string,
)
from tests.clients.fakes import Recorder, json_response

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "https://erp01:50000/b1s/v1"
PASSWORD = "s3cret-pa55"


def b1_error(status: int, code: int, value: str) -> httpx.Response:
    body = {"error": {"code": code, "message": {"lang": "en-us", "value": value}}}
    return json_response(status, body)


class FakeB1:
    """Sessions by cookie, `value` pages, errors in the v1 shape; `script` overrides answers."""

    def __init__(self, rows: list[dict[str, Any]], link_style: str = "host") -> None:
        self.rows = rows
        self.link_style = link_style
        self.sessions: set[str] = set()
        self.logins = 0
        self.script: list[Callable[[httpx.Request], httpx.Response | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/Login"):
            body = json.loads(request.content)
            if body != {"CompanyDB": "SBODEMOGB", "UserName": "recon", "Password": PASSWORD}:
                return b1_error(401, 100000027, "Login failed")
            self.logins += 1
            sid = f"sess-{self.logins}"
            self.sessions.add(sid)
            return httpx.Response(
                200,
                json={"SessionId": sid, "Version": "1000190", "SessionTimeout": 30},
                headers=[
                    ("set-cookie", f"B1SESSION={sid}; HttpOnly"),
                    ("set-cookie", "ROUTEID=.node2; path=/b1s"),
                ],
            )
        cookie = request.headers.get("cookie", "")
        jar = dict(part.strip().split("=", 1) for part in cookie.split(";") if "=" in part)
        if jar.get("B1SESSION") not in self.sessions or jar.get("ROUTEID") != ".node2":
            return b1_error(401, 301, "Invalid session or session already timeout.")
        for step in list(self.script):
            answer = step(request)
            if answer is not None:
                self.script.remove(step)
                return answer
        if request.method == "POST":
            body = json.loads(request.content)
            return json_response(201, {"DocEntry": 1201, "DocNum": 30015, **body})
        params = request.url.params
        size = int(request.headers.get("prefer", "odata.maxpagesize=20").split("=")[1])
        skip = int(params.get("$skip", "0"))
        rows = self.rows
        if "$filter" in params:
            wanted = params["$filter"].split("'")[1]
            rows = [r for r in rows if r.get("NumAtCard") == wanted]
        page: dict[str, Any] = {"value": rows[skip : skip + size]}
        if skip + size < len(rows):
            query = f"$orderby=DocEntry&$skip={skip + size}"
            page["odata.nextLink"] = {
                "host": f"/b1s/v1/Invoices?{query}",
                "root": f"Invoices?{query}",
                "absolute": f"https://erp01.internal:50000/b1s/v1/Invoices?{query}",
            }[self.link_style]
        return json_response(200, page)


def docs(n: int) -> list[dict[str, Any]]:
    return [
        {"DocEntry": 1200 + i, "DocNum": 30000 + i, "NumAtCard": str(5000 + i), "DocTotal": 25.0}
        for i in range(n)
    ]


def make(fake: Handler, **kw: Any) -> tuple[SapB1Client, Recorder]:
    rec = Recorder(fake)
    client = SapB1Client(
        BASE,
        "SBODEMOGB",
        "recon",
        kw.pop("password", PASSWORD),
        transport=rec.transport(),
        min_wait=0.001,
        max_wait=0.01,
        **kw,
    )
    return client, rec


# ----------------------------------------------------------------- session
def test_logs_in_lazily_once_and_sends_both_cookies() -> None:
    fake = FakeB1(docs(3))
    client, rec = make(fake)
    assert rec.requests == []  # nothing until the first call
    first = [f.item.DocNum for f in client.iter_invoices() if f.item]
    second = [f.item.DocNum for f in client.iter_invoices() if f.item]
    assert first == second == [30000, 30001, 30002]
    assert fake.logins == 1
    reads = [r for r in rec.requests if not r.url.path.endswith("/Login")]
    assert {r.headers["cookie"] for r in reads} == {"B1SESSION=sess-1; ROUTEID=.node2"}
    assert {r.headers["prefer"] for r in reads} == {"odata.maxpagesize=500"}


def test_expired_session_logs_in_again_and_replays_once() -> None:
    fake = FakeB1(docs(1))
    client, rec = make(fake)
    client.iter_invoices().__next__()
    fake.sessions.clear()  # the 30 idle minutes passed
    created = client.create_invoice({"CardCode": "CASH01", "NumAtCard": "5120"})
    assert created.DocEntry == 1201
    assert fake.logins == 2
    posts = [r for r in rec.requests if r.url.path.endswith("/Invoices") and r.method == "POST"]
    assert len(posts) == 2  # the first got 401, the replay went through
    assert posts[1].headers["cookie"] == "B1SESSION=sess-2; ROUTEID=.node2"


def test_a_worker_meeting_the_expiry_keeps_the_session_another_just_opened() -> None:
    """Sync workers share one session. When it expires, each of them meets a 401; the one
    that comes second must replay on the session the first one just opened, not drop it
    (dropping it sent another worker's request with no session: a second 401, AuthError,
    and the sync's other orders cancelled)."""
    login_url = "https://b1.test/b1s/v1/Login"
    session = _B1Session(
        login_url, "SBODEMOGB", "manager", PASSWORD, read=lambda login: login.read()
    )

    def answer(request: httpx.Request, status: int, body: dict[str, Any]) -> httpx.Response:
        return httpx.Response(status, json=body, request=request)

    def logged_in(request: httpx.Request, sid: str) -> httpx.Response:
        return answer(request, 200, {"SessionId": sid, "SessionTimeout": 30})

    expired = {"error": {"code": 301, "message": {"value": "Invalid session"}}}
    a = session.auth_flow(httpx.Request("POST", "https://b1.test/b1s/v1/Invoices"))
    b = session.auth_flow(httpx.Request("GET", "https://b1.test/b1s/v1/Items"))
    sent_a = a.send(logged_in(next(a), "s1"))  # worker A opens the session
    sent_b = next(b)  # worker B uses it
    assert sent_a.headers["cookie"] == sent_b.headers["cookie"] == "B1SESSION=s1"

    login_a = a.send(answer(sent_a, 401, expired))  # the session expired: A logs in again
    replay_a = a.send(logged_in(login_a, "s2"))
    replay_b = b.send(answer(sent_b, 401, expired))  # B met the expiry too, a moment later

    assert str(login_a.url) == login_url
    assert replay_a.headers["cookie"] == replay_b.headers["cookie"] == "B1SESSION=s2"
    assert (session.cookie, session.logins) == ("B1SESSION=s2", 2)


def test_second_401_after_a_fresh_login_is_an_auth_error() -> None:
    fake = FakeB1(docs(1))
    fake.script.append(lambda r: b1_error(401, 301, "Invalid session or session already timeout."))
    fake.script.append(lambda r: b1_error(401, 301, "Invalid session or session already timeout."))
    client, _ = make(fake)
    with pytest.raises(AuthError) as caught:
        list(client.iter_invoices())
    assert fake.logins == 2
    assert "SAPB1_PASSWORD" in caught.value.message


def test_bad_password_is_auth_error_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="recon.http")
    client, rec = make(FakeB1([]), password="wrong-" + PASSWORD)
    with pytest.raises(AuthError) as caught:
        list(client.iter_invoices())
    assert caught.value.status == 401
    assert "100000027: Login failed" in caught.value.detail
    assert len(rec.requests) == 1  # the login only; no request sent without a session
    assert PASSWORD not in str(caught.value) + caplog.text


class Trickle:
    """A body the transport hands over 16 KB at a time, counting what was pulled."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), 16384):
            chunk = self.body[start : start + 16384]
            self.pulled += len(chunk)
            yield chunk


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


SESSION = json.dumps({"SessionId": "s1", "SessionTimeout": 30}).encode()


@pytest.mark.parametrize(
    ("body", "encoding", "how"),
    [
        (gzipped(b" " * 64 * 2**20 + SESSION), "gzip", "decompressed"),  # 64 KB -> 64 MB
        (b" " * 2**20 + SESSION, "identity", "as sent"),
    ],
)
def test_a_login_answer_is_read_under_a_tight_cap(body: bytes, encoding: str, how: str) -> None:
    """The /Login answer is read inside the auth flow, before HttpCore sees it: it is read
    under LOGIN_MAX_BYTES all the same (a gzip bomb stops after a chunk)."""
    sent = Trickle(body)

    def login(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": encoding}
        return httpx.Response(200, content=iter(sent), headers=headers)

    client, rec = make(login)
    with pytest.raises(ResponseTooLarge) as caught:
        list(client.iter_invoices())
    assert str(caught.value) == (
        f"SAP B1 answered {BASE}/Login with a body over 64 KB ({how}); stopped reading it: "
        "a login answer is a few hundred bytes: check SAPB1_BASE_URL is the Service Layer"
    )
    assert sent.pulled <= LOGIN_MAX_BYTES + 16384
    assert [r.url.path for r in rec.requests] == ["/b1s/v1/Login"]  # not retried


def test_a_compressed_login_answer_opens_the_session() -> None:
    fake = FakeB1(docs(3))

    def compressed(request: httpx.Request) -> httpx.Response:
        answer = fake(request)
        if not request.url.path.endswith("/Login"):
            return answer
        headers = [(k, v) for k, v in answer.headers.multi_items() if k != "content-length"]
        packed = gzipped(answer.content)
        return httpx.Response(200, content=packed, headers=[*headers, ("content-encoding", "gzip")])

    client, _ = make(compressed)
    assert [f.key for f in client.iter_invoices()] == ["1200", "1201", "1202"]
    assert (client.logins, client._session.timeout_minutes) == (1, 30)


# ----------------------------------------------------------------- paging
@pytest.mark.parametrize("style", ["host", "root", "absolute"])
def test_follows_next_links_in_every_form(style: str) -> None:
    fake = FakeB1(docs(7), link_style=style)
    client, rec = make(fake, page_size=3)
    got = [f.item.DocEntry for f in client.iter_invoices() if f.item]
    assert got == [1200 + i for i in range(7)]
    reads = [r for r in rec.requests if r.url.path.endswith("/Invoices")]
    assert [r.url.params.get("$skip") for r in reads] == [None, "3", "6"]
    assert {r.url.host for r in rec.requests} == {"erp01"}  # never the link's own host


def test_next_link_outside_the_root_is_malformed_and_a_looping_one_terminal() -> None:
    outside = FakeB1(docs(5))
    outside.script.append(
        lambda r: json_response(200, {"value": [], "odata.nextLink": "/other/Invoices?$skip=3"})
    )
    client, _ = make(outside)
    with pytest.raises(MalformedResponse):
        list(client.iter_invoices())
    loop = FakeB1([])
    for _ in range(3):
        loop.script.append(
            lambda r: json_response(200, {"value": [], "odata.nextLink": "Invoices?$skip=3"})
        )
    client, _ = make(loop, max_attempts=1)
    with pytest.raises(PagingLoop, match="Invoices"):  # terminal: retrying loops again
        list(client.iter_invoices())


def test_filters_are_encoded_with_percent_20_and_quoted() -> None:
    fake = FakeB1(docs(3))
    client, rec = make(fake)
    found = client.find_by_num_at_card("Invoices", "5001")
    assert [d.DocNum for d in found] == [30001]
    raw = rec.requests[-1].url.raw_path.decode()
    assert "$filter=NumAtCard%20eq%20'5001'" in raw
    assert "+" not in raw


def test_a_record_that_does_not_fit_is_quarantined_in_listings_fatal_in_lookups() -> None:
    bad = {"DocEntry": 1, "NumAtCard": "5120", "DocTotal": "abc"}
    fake = FakeB1([bad, {"DocEntry": 2, "NumAtCard": "5121", "DocTotal": 5}])
    client, _ = make(fake)
    fetched = list(client.iter_invoices())
    assert [(f.key, f.item is None) for f in fetched] == [("1", True), ("2", False)]
    assert fetched[0].error and "DocTotal" in fetched[0].error
    with pytest.raises(MalformedResponse):  # a lookup before posting must see every match
        client.find_by_num_at_card("Invoices", "5120")


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("answer", "error", "attempts"),
    [
        (lambda: b1_error(400, -10, "Invalid item code 'X'  [INV1.ItemCode]"), RejectedError, 1),
        (
            lambda: b1_error(412, -2039, "Another user or another operation modified data"),
            RecordLocked,
            1,
        ),  # stale ETag: repeating cannot help
        (
            lambda: b1_error(400, -2039, "Another user or another operation modified data"),
            RecordLocked,
            3,
        ),  # refused before acting: repeated even for a POST
        (lambda: b1_error(500, -1, "Internal error"), ServerError, 1),  # POST: look first
    ],
)
def test_write_errors_are_classified(
    answer: Callable[[], httpx.Response], error: type[Exception], attempts: int
) -> None:
    fake = FakeB1([])

    def on_post(request: httpx.Request) -> httpx.Response | None:
        return answer() if request.method == "POST" else None

    fake.script.extend([on_post] * 5)
    client, rec = make(fake, max_attempts=3)
    with pytest.raises(error) as caught:
        client.create("Invoices", {"CardCode": "CASH01"})
    posts = [r for r in rec.requests if r.method == "POST" and r.url.path.endswith("/Invoices")]
    assert len(posts) == attempts
    assert str(caught.value).startswith("SAP B1 ")


def test_v2_flat_error_body_is_read_too() -> None:
    fake = FakeB1([])
    fake.script.append(
        lambda r: json_response(400, {"error": {"code": "-5006", "message": "Not supported"}})
    )
    client, _ = make(fake)
    with pytest.raises(RejectedError) as caught:
        client.cancel("Invoices", 1201)
    assert caught.value.detail == "-5006: Not supported"


def test_5xx_on_reads_is_retried() -> None:
    fake = FakeB1(docs(2))
    fake.script.append(lambda r: b1_error(502, -1, "Bad gateway"))
    client, _ = make(fake)
    assert len(list(client.iter_invoices())) == 2


def test_from_settings_needs_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SAPB1_BASE_URL", "SAPB1_COMPANY_DB", "SAPB1_USER", "SAPB1_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None, sapb1_base_url=BASE, sapb1_company_db="SBODEMOGB")
    with pytest.raises(ConfigError, match="SAPB1_USER"):
        SapB1Client.from_settings(settings)
    full = Settings(
        _env_file=None,
        sapb1_base_url=BASE,
        sapb1_company_db="SBODEMOGB",
        sapb1_user="recon",
        sapb1_password=PASSWORD,
    )
    client = SapB1Client.from_settings(full, transport=Recorder(FakeB1(docs(1))).transport())
    assert [f.key for f in client.iter_invoices()] == ["1200"]


# ----------------------------------------------------------------- wire values
@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2024-06-01", date(2024, 6, 1)),
        ("2024-06-01T00:00:00Z", date(2024, 6, 1)),
        ("20240601", date(2024, 6, 1)),
        ("", None),
        (None, None),
    ],
)
def test_b1_dates(wire: Any, expected: date | None) -> None:
    doc = Document.model_validate({"DocEntry": 1, "DocDate": wire})
    assert doc.DocDate == expected


def test_models_keep_money_exact() -> None:
    doc = Document.model_validate(
        {
            "DocEntry": 1,
            "DocTotal": Decimal("25.0"),
            "VatSum": "4.17",
            "DocumentLines": [{"LineNum": 0, "LineTotal": 20.83, "Quantity": "100"}],
        }
    )
    assert (doc.DocTotal, doc.VatSum) == (Decimal("25.0"), Decimal("4.17"))
    assert doc.DocumentLines[0].LineTotal == Decimal("20.83")
    assert doc.DocumentLines[0].Quantity == Decimal("100")
    item = Item.model_validate(
        {
            "ItemCode": "TEE",
            "Valid": "tYES",
            "Frozen": "tYES",
            "ItemPrices": [{"PriceList": 1, "Price": 20.83}],
            "ItemWarehouseInfoCollection": [
                {"WarehouseCode": "WH-LON", "InStock": 10, "Committed": 2.5}
            ],
        }
    )
    assert item.active is False
    assert item.price(1) == Decimal("20.83")
    assert item.ItemWarehouseInfoCollection[0].available == Decimal("7.5")
    vat = VatGroup.model_validate(
        {
            "Code": "1",
            "VatGroups_Lines": [
                {"Effectivefrom": "2011-01-04", "Rate": 20.0},
                {"Effectivefrom": "2008-12-01", "Rate": 15.0},
            ],
        }
    )
    assert (vat.rate(), vat.rate(date(2010, 1, 1))) == (Decimal("20.0"), Decimal("15.0"))


@pytest.mark.parametrize(
    ("fn", "value", "expected"),
    [
        (b1_string, "O'Brien", "'O''Brien'"),
        (b1_date, date(2024, 6, 1), "'2024-06-01'"),
        (b1_key, 1201, "(1201)"),
        (b1_key, "TEE-BLK-M", "('TEE-BLK-M')"),
    ],
)
def test_odata_literals(fn: Callable[[Any], str], value: Any, expected: str) -> None:
    assert fn(value) == expected
