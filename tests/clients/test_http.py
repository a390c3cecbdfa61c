"""The shared request path: classification, retries, waits, logging, exact JSON numbers."""

from __future__ import annotations

import logging
import socket
import tracemalloc
import zlib
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.clients import (
    AuthError,
    BaseUrlNotFound,
    MalformedResponse,
    NotFoundError,
    RateLimited,
    RecordLocked,
    RejectedError,
    ResponseTooLarge,
    ServerError,
    TerminalError,
    TransientError,
    Unreachable,
    dumps_json,
    loads_json,
)
from recon.clients._http import HttpCore
from tests.clients.fakes import Recorder, json_response, scripted

SECRET = "s3cr3t-PASSWORD"


def core(recorder: Recorder, *, max_attempts: int = 3, max_wait: float = 30.0) -> HttpCore:
    sleeps: list[float] = []
    http = HttpCore(
        "sitoo",
        "https://api.example.test",
        auth_hint="SITOO_API_ID / SITOO_API_PASSWORD",
        auth=httpx.BasicAuth("90210-7", SECRET),
        secrets=(SECRET,),
        transport=recorder.transport(),
        max_attempts=max_attempts,
        max_wait=max_wait,
        min_wait=0.001,
        sleep=sleeps.append,
    )
    http.sleeps = sleeps  # type: ignore[attr-defined]
    return http


@pytest.mark.parametrize(
    ("status", "body", "expected", "terminal"),
    [
        (401, {"statuscode": 401, "errortext": "Authorization failed"}, AuthError, True),
        (403, {"message": "Forbidden"}, AuthError, True),
        (404, {"statuscode": 404, "errortext": "Not found"}, NotFoundError, True),
        (400, {"statuscode": 400, "errortext": "Invalid value"}, RejectedError, True),
        (409, {"message": "Conflict"}, RejectedError, True),
        (422, {"message": "Bad field"}, RejectedError, True),
        (400, {"message": "The record is in use by another user"}, RecordLocked, False),
        (500, {"statuscode": 500, "errortext": "boom"}, ServerError, False),
        (504, "Gateway Timeout", ServerError, False),
        (429, {"message": "slow down"}, RateLimited, False),
    ],
)
def test_status_is_classified(
    status: int, body: object, expected: type[Exception], terminal: bool
) -> None:
    rec = scripted(json_response(status, body))
    with pytest.raises(expected) as info:
        core(rec, max_attempts=2).request("GET", "/v2/x.json")
    assert isinstance(info.value, TerminalError if terminal else TransientError)
    assert info.value.status == status
    # terminal errors are not retried, transient ones are (up to max_attempts)
    assert len(rec.requests) == (1 if terminal else 2)


def test_auth_error_names_the_variables_and_hides_the_password() -> None:
    rec = scripted(json_response(401, {"errortext": f"bad password {SECRET}"}))
    with pytest.raises(AuthError) as info:
        core(rec).request("GET", "/v2/accounts/1/orders.json")
    text = str(info.value)
    assert text == ("Sitoo rejected the credentials (401): check SITOO_API_ID / SITOO_API_PASSWORD")
    assert SECRET not in info.value.detail
    assert "***" in info.value.detail


ODD_SECRET = 'p/ss"w+rd é&x'


@pytest.mark.parametrize(
    ("echoed", "as_what"),
    [
        ('p/ss"w+rd é&x', "as it is"),
        ('p/ss\\"w+rd \\u00e9&x', "JSON-escaped"),
        ('p/ss\\"w+rd é&x', "JSON-escaped, non-ASCII kept"),
        ('p\\/ss\\"w+rd \\u00e9&x', "JSON-escaped with \\/ (PHP)"),
        ("p%2Fss%22w%2Brd%20%C3%A9%26x", "URL-encoded"),
        ("p/ss%22w%2Brd%20%C3%A9%26x", "URL-encoded path"),
        ("p%2Fss%22w%2Brd+%C3%A9%26x", "form-encoded"),
        ("p%2fss%22w%2brd%20%c3%a9%26x", "URL-encoded, lower-case hex"),
    ],
)
def test_a_secret_echoed_in_any_encoding_is_scrubbed(echoed: str, as_what: str) -> None:
    http = HttpCore(
        "sitoo",
        "https://api.example.test",
        auth_hint="SITOO_API_PASSWORD",
        secrets=(ODD_SECRET,),
        transport=scripted(json_response(400, {"message": f"bad login {echoed}!"})).transport(),
        sleep=lambda _: None,
    )
    with pytest.raises(RejectedError) as info:
        http.request("GET", "/v2/x.json")
    assert info.value.detail == "bad login ***!", as_what


def test_rejected_keeps_the_vendor_message() -> None:
    rec = scripted(json_response(400, {"statuscode": 400, "errortext": "Invalid field: sku"}))
    with pytest.raises(RejectedError) as info:
        core(rec).request("PUT", "/v2/x.json", body=[])
    assert info.value.detail == "Invalid field: sku"
    assert "Invalid field: sku" in str(info.value)


def test_429_honours_retry_after_then_succeeds() -> None:
    rec = scripted(
        json_response(429, {"message": "slow"}, {"Retry-After": "2"}),
        json_response(200, {"ok": True}),
    )
    http = core(rec)
    assert http.request("GET", "/v2/x.json") == {"ok": True}
    assert http.sleeps == [2.0]  # type: ignore[attr-defined]
    assert len(rec.requests) == 2


def test_retry_after_is_capped_by_max_wait() -> None:
    rec = scripted(json_response(429, {}, {"Retry-After": "120"}), json_response(200, []))
    http = core(rec, max_wait=5.0)
    http.request("GET", "/v2/x.json")
    assert http.sleeps == [5.0]  # type: ignore[attr-defined]


def test_5xx_gives_up_with_server_error_after_max_attempts() -> None:
    rec = scripted(json_response(503, {"message": "down"}))
    http = core(rec, max_attempts=4)
    with pytest.raises(ServerError) as info:
        http.request("GET", "/v2/x.json")
    assert len(rec.requests) == 4
    assert len(http.sleeps) == 3  # type: ignore[attr-defined]
    assert all(0 < s <= 30.0 for s in http.sleeps)  # type: ignore[attr-defined]
    assert info.value.detail == "down"


def test_5xx_on_post_is_not_repeated_but_429_is() -> None:
    # A POST that may have been acted on must be looked up, not blindly re-sent.
    rec = scripted(json_response(500, {"message": "boom"}))
    with pytest.raises(ServerError):
        core(rec).request("POST", "/sop_orders", body={})
    assert len(rec.requests) == 1

    rec = scripted(json_response(429, {}), json_response(200, {"urn": "1"}))
    assert core(rec).request("POST", "/sales_receipts", body={}) == {"urn": "1"}
    assert len(rec.requests) == 2


def test_record_locked_post_is_retried_until_released() -> None:
    rec = scripted(
        json_response(400, {"message": "Customer account is locked by another user"}),
        json_response(200, {"urn": "77"}),
    )
    assert core(rec).request("POST", "/sales_receipts", body={}) == {"urn": "77"}
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
        (b'{"totalcount": 3, "items": [{"orderid": 1', "application/json"),
    ],
)
def test_html_page_or_truncated_json_is_malformed(content: bytes, ctype: str) -> None:
    rec = scripted(httpx.Response(200, content=content, headers={"content-type": ctype}))
    with pytest.raises(MalformedResponse):
        core(rec, max_attempts=2).request("GET", "/v2/x.json")
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    ("content", "ctype", "expected"),
    [
        (
            b'{"name": "\xc3\x85sa", "v": 1.50}',
            "application/json",
            {"name": "Åsa", "v": Decimal("1.50")},
        ),
        (b'\xef\xbb\xbf{"name": "BOM"}', "application/json; charset=utf-8", {"name": "BOM"}),
        (b'{"name": "\xc5sa"}', "application/json; charset=iso-8859-1", {"name": "Åsa"}),
        (b"", "application/json", None),
    ],
)
def test_json_bodies_parse_in_their_declared_encoding(
    content: bytes, ctype: str, expected: object
) -> None:
    rec = scripted(httpx.Response(200, content=content, headers={"content-type": ctype}))
    assert core(rec).request("GET", "/v2/x.json") == expected


def test_wrong_shape_is_malformed() -> None:
    rec = scripted(json_response(200, {"unexpected": True}))
    with pytest.raises(MalformedResponse) as info:
        core(rec, max_attempts=1).request(
            "GET", "/x", check=lambda b: None if isinstance(b, list) else "not an array"
        )
    assert "not an array" in str(info.value)


def test_connect_error_is_unreachable_naming_the_host() -> None:
    rec = scripted(httpx.ConnectError("Connection refused"))
    with pytest.raises(Unreachable) as info:
        core(rec, max_attempts=2).request("POST", "/x", body={})
    assert "api.example.test" in str(info.value)
    assert info.value.safe_to_repeat  # never arrived: even a POST may be re-sent
    assert len(rec.requests) == 2


def test_read_timeout_on_post_is_not_repeated() -> None:
    rec = scripted(httpx.ReadTimeout("timed out"))
    with pytest.raises(Unreachable) as info:
        core(rec).request("POST", "/x", body={})
    assert not info.value.safe_to_repeat
    assert len(rec.requests) == 1


def test_real_connection_refused_is_unreachable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    http = HttpCore(
        "sage200",
        f"http://127.0.0.1:{port}/accounts/v1",
        auth_hint="SAGE200_TOKEN",
        max_attempts=1,
        timeout=2.0,
    )
    with pytest.raises(Unreachable) as info:
        http.request("GET", "/customers")
    assert "Sage 200 unreachable at 127.0.0.1" in str(info.value)


def test_each_attempt_logs_one_line_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    rec = scripted(json_response(500, {"message": f"echo {SECRET}"}), json_response(200, []))
    with caplog.at_level(logging.INFO, logger="recon.http"):
        core(rec).request("GET", "/v2/accounts/1/orders.json", params={"num": 5})
    lines = [r.getMessage() for r in caplog.records if r.name == "recon.http"]
    assert len(lines) == 2
    assert lines[0].startswith("vendor=sitoo method=GET path=/v2/accounts/1/orders.json status=500")
    assert "attempt=1" in lines[0] and "attempt=2" in lines[1] and "status=200" in lines[1]
    assert caplog.records[0].elapsed_ms >= 0  # type: ignore[attr-defined]
    everything = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert SECRET not in everything
    assert "Authorization" not in everything


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"v": 125.5}', {"v": Decimal("125.5")}),
        ('{"v": 0.10}', {"v": Decimal("0.10")}),
        ('{"v": 3}', {"v": 3}),
        ('{"v": -0.000001}', {"v": Decimal("-0.000001")}),
        ('{"v": 123456789012345678901234567890}', {"v": 123456789012345678901234567890}),
    ],
)
def test_json_numbers_parse_exactly(text: str, expected: object) -> None:
    assert loads_json(text) == expected
    assert str(loads_json(text)["v"]) == text.split(": ")[1].rstrip("}")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": Decimal("0.10")}, '{"a":0.10}'),
        ({"a": [Decimal("125.5"), Decimal("-20.83")]}, '{"a":[125.5,-20.83]}'),
        ({"a": Decimal("1E+2")}, '{"a":100}'),
        ({"s": "O'Brien", "n": None, "b": True}, '{"s":"O\'Brien","n":null,"b":true}'),
    ],
)
def test_dumps_json_writes_decimals_exactly(value: object, expected: str) -> None:
    assert dumps_json(value) == expected


def test_dumps_json_refuses_float_money() -> None:
    with pytest.raises(TypeError, match="Decimal"):
        dumps_json({"a": 0.1})


# ----------------------------------------------------------------- bounded bodies
MB = 2**20


def _gzip(data: bytes, *, blocks: int = 1) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join([packer.compress(data) for _ in range(blocks)] + [packer.flush()])


BOMB = _gzip(b"\0" * MB, blocks=64)  # about 64 KB that inflate to 64 MB


class Dribble:
    """A body the transport hands over 16 KB at a time, counting what was pulled."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.body), 16384):
            chunk = self.body[start : start + 16384]
            self.pulled += len(chunk)
            yield chunk


def capped(body: Dribble, headers: dict[str, str], cap: int = MB) -> HttpCore:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter(body), headers=headers)

    return HttpCore(
        "sitoo",
        "https://api.example.test",
        auth_hint="SITOO_API_ID",
        transport=httpx.MockTransport(handler),
        secrets=(SECRET,),
        sleep=lambda _: None,
        max_response_bytes=cap,
    )


def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    body = Dribble(BOMB)
    http = capped(body, {"content-encoding": "gzip", "content-type": "application/json"})
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as caught:
            http.request("GET", "/v2/orders.json", params={"key": SECRET})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(caught.value) == (
        "Sitoo answered https://api.example.test/v2/orders.json with a body over 1 MB "
        "(decompressed); stopped reading it: ask for smaller pages, or raise "
        "RECON_MAX_RESPONSE_MB if it is genuine"
    )
    assert isinstance(caught.value, TerminalError)
    assert body.pulled <= 16384  # one chunk of the 64 KB read, not the whole body
    assert peak < 4 * MB  # never the 64 MB it inflates to


def test_a_plain_body_over_the_cap_is_refused_after_reading_the_cap() -> None:
    body = Dribble(b" " * (3 * MB))
    http = capped(body, {"content-type": "application/json"})
    with pytest.raises(ResponseTooLarge, match=r"with a body over 1 MB \(as sent\)"):
        http.request("GET", "/v2/orders.json")
    assert MB < body.pulled <= MB + 16384


JSON_50K = b'{"n": 1.10, "s": "' + b"x" * 50000 + b'"}'
RAW_DEFLATE = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)


@pytest.mark.parametrize(
    ("encoding", "packed"),
    [
        ("gzip", _gzip(JSON_50K)),
        ("deflate", zlib.compress(JSON_50K)),
        ("deflate", RAW_DEFLATE.compress(JSON_50K) + RAW_DEFLATE.flush()),  # no zlib header
        ("identity", JSON_50K),
    ],
)
def test_bodies_under_the_cap_parse_in_each_encoding(encoding: str, packed: bytes) -> None:
    http = capped(Dribble(packed), {"content-encoding": encoding})
    assert http.request("GET", "/v2/orders.json") == {"n": Decimal("1.10"), "s": "x" * 50000}


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_body_that_does_not_inflate_is_malformed(encoding: str) -> None:
    http = capped(Dribble(b"not compressed at all " * 10), {"content-encoding": encoding})
    with pytest.raises(MalformedResponse, match="a compressed body that does not inflate"):
        http.request("GET", "/v2/orders.json")


def test_an_encoding_not_asked_for_is_malformed() -> None:
    http = capped(Dribble(b"\x28\xb5\x2f\xfd..."), {"content-encoding": "zstd"})
    with pytest.raises(MalformedResponse, match="'zstd' encoding"):
        http.request("GET", "/v2/orders.json")
    assert http._client.headers["accept-encoding"] == "gzip, deflate"


def test_a_404_before_any_answer_is_the_base_url_after_one_it_is_the_id() -> None:
    recorder = scripted(
        json_response(404, {"message": "Resource not found"}),
        json_response(200, {"ok": True}),
        json_response(404, {"message": "Resource not found"}),
    )
    http = core(recorder)
    with pytest.raises(BaseUrlNotFound, match="check SITOO_BASE_URL is the root"):
        http.request("GET", "/v2/accounts/1/sites/1/warehouses.json")
    assert http.request("GET", "/v2/accounts/1/sites/1/warehouses.json") == {"ok": True}
    with pytest.raises(NotFoundError) as caught:
        http.request("GET", "/v2/accounts/1/orders/99.json")
    assert type(caught.value) is NotFoundError


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=4000).map(lambda b: b * 8),
    cap=st.integers(min_value=1, max_value=40000),
    chunk=st.integers(min_value=1, max_value=5000),
    encoding=st.sampled_from(["identity", "gzip", "deflate"]),
)
def test_a_body_comes_back_whole_exactly_when_it_fits_the_cap(
    body: bytes, cap: int, chunk: int, encoding: str
) -> None:
    packed = {"identity": body, "gzip": _gzip(body), "deflate": zlib.compress(body)}[encoding]

    def handler(request: httpx.Request) -> httpx.Response:
        pieces = (packed[i : i + chunk] for i in range(0, len(packed), chunk))
        return httpx.Response(200, content=pieces, headers={"content-encoding": encoding})

    http = HttpCore(
        "sitoo",
        "https://api.example.test",
        auth_hint="SITOO_API_ID",
        transport=httpx.MockTransport(handler),
        max_response_bytes=cap,
    )
    request = httpx.Request("GET", "https://api.example.test/v2/x.json")
    streamed = http._client.send(request, stream=True)
    if len(packed) > cap or len(body) > cap:
        with pytest.raises(ResponseTooLarge):
            http._read(streamed)
    else:
        assert http._read(streamed).content == body
