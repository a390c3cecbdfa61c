"""The paginators of `recon.clients._paging` against small paging servers (MockTransport):
pages in, records out, and a server that pages in a circle gives one clear error."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.clients import MalformedResponse, PagingLoop, RejectedError
from recon.clients._http import HttpCore
from recon.clients._paging import (
    KeyPaginator,
    NextLinkPaginator,
    OffsetPaginator,
    TotalCountPaginator,
    Window,
)
from tests.clients.fakes import Recorder, json_response, scripted

BASE = "https://api.example/v1"


def rows(n: int) -> list[dict[str, Any]]:
    return [{"id": i} for i in range(1, n + 1)]


def http(handler: Recorder) -> HttpCore:
    return HttpCore("fake", BASE, auth_hint="FAKE_TOKEN", transport=handler.transport())


def ids(records: list[Any]) -> list[int]:
    return [r["id"] for r in records]


# --------------------------------------------------------------------- total count (Sitoo)
def sitoo_like(data: list[dict[str, Any]], *, cap: int = 1000, total: bool = True) -> Recorder:
    """`start`/`num` with `{totalcount, items}`; serves at most `cap` a page."""

    def handler(request: httpx.Request) -> httpx.Response:
        start, num = int(request.url.params["start"]), int(request.url.params["num"])
        body: dict[str, Any] = {"items": data[start : start + min(num, cap)]}
        if total:
            body["totalcount"] = len(data)
        return json_response(200, body)

    return Recorder(handler)


def read_total_count(server: Recorder, page_size: int) -> list[Any]:
    core = http(server)
    pages = TotalCountPaginator("fake", core.url("/orders"), "id", page_size=page_size)

    def fetch(start: int) -> tuple[list[Any], Any]:
        body = core.request("GET", "/orders", params={"start": start, "num": page_size})
        return body["items"], body

    return list(pages.records(fetch))


@pytest.mark.parametrize(
    ("n", "page_size", "cap", "total", "starts"),
    [
        (0, 2, 1000, True, [0]),  # empty: one page asked
        (5, 2, 1000, True, [0, 2, 4]),
        (4, 2, 1000, True, [0, 2]),  # exact multiple: totalcount ends it, no empty page
        (7, 5, 2, True, [0, 2, 4, 6]),  # server caps num at 2: totalcount decides
        (5, 2, 1000, False, [0, 2, 4]),  # no totalcount: the short page is the last
        (4, 2, 1000, False, [0, 2, 4]),  # no totalcount, exact multiple: an empty page ends it
    ],
)
def test_total_count_pages(
    n: int, page_size: int, cap: int, total: bool, starts: list[int]
) -> None:
    server = sitoo_like(rows(n), cap=cap, total=total)
    assert ids(read_total_count(server, page_size)) == list(range(1, n + 1))
    assert [int(r.url.params["start"]) for r in server.requests] == starts


def test_total_count_server_ignoring_start_is_a_loop_naming_the_url() -> None:
    server = Recorder(lambda r: json_response(200, {"totalcount": 10, "items": rows(2)}))
    with pytest.raises(PagingLoop, match=f"{BASE}/orders: paging loops") as caught:
        read_total_count(server, 2)
    assert "repeats the previous page's keys" in str(caught.value)
    assert len(server.requests) == 2  # stops at the first repeat


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 30), page_size=st.integers(1, 8), cap=st.integers(1, 8))
def test_total_count_reads_every_record_once(n: int, page_size: int, cap: int) -> None:
    assert ids(read_total_count(sitoo_like(rows(n), cap=cap), page_size)) == list(range(1, n + 1))


# --------------------------------------------------------------------- offset + hasMore (NetSuite)
def netsuite_like(
    data: list[dict[str, Any]], *, ignore_offset: bool = False, ceiling: int | None = None
) -> Recorder:
    """`limit`/`offset` with `{hasMore, items}`, `q=id GREATER n` (alone or after `AND`),
    and, given a `ceiling`, `offset + limit` past it refused with a 400 as NetSuite does."""

    def handler(request: httpx.Request) -> httpx.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        if ceiling is not None and offset + limit > ceiling:
            return json_response(400, {"message": f"only the first {ceiling} can be paged"})
        offset = 0 if ignore_offset else offset
        after = re.search(r"id GREATER (\d+)\)?$", request.url.params.get("q", ""))
        matching = [r for r in data if after is None or r["id"] > int(after[1])]
        page = matching[offset : offset + limit]
        return json_response(200, {"items": page, "hasMore": offset + limit < len(matching)})

    return Recorder(handler)


def read_offset(server: Recorder, page_size: int, ceiling: int | None = None) -> list[Any]:
    core = http(server)
    pages = OffsetPaginator(
        "fake",
        core.url("/customer"),
        "id",
        page_size=page_size,
        ceiling=ceiling,
        key_of=lambda r: r.get("id") if isinstance(r.get("id"), int) else None,
    )

    def fetch(at: Window) -> tuple[list[Any], Any]:
        params: dict[str, str | int] = {"limit": page_size, "offset": at.offset}
        if at.after is not None:
            params["q"] = f"id GREATER {at.after}"
        body = core.request("GET", "/customer", params=params)
        return body["items"], body

    return list(pages.records(fetch))


def asked(server: Recorder) -> list[tuple[str | None, int]]:
    return [(r.url.params.get("q"), int(r.url.params["offset"])) for r in server.requests]


@pytest.mark.parametrize(
    ("n", "page_size", "offsets"),
    [
        (0, 2, [0]),
        (3, 2, [0, 2]),
        (4, 2, [0, 2]),  # hasMore false on the second page: no third request
        (1, 5, [0]),
    ],
)
def test_offset_pages(n: int, page_size: int, offsets: list[int]) -> None:
    server = netsuite_like(rows(n))
    assert ids(read_offset(server, page_size)) == list(range(1, n + 1))
    assert [int(r.url.params["offset"]) for r in server.requests] == offsets


@pytest.mark.parametrize(
    ("n", "page_size", "ceiling", "pages"),
    [
        (4, 2, 4, [(None, 0), (None, 2)]),  # the ceiling is not reached: offsets only
        (
            7,
            2,
            4,  # offsets 0 and 2 reach the first 4; then the records after id 4 from 0
            [(None, 0), (None, 2), ("id GREATER 4", 0), ("id GREATER 4", 2)],
        ),
        (
            9,
            2,
            5,  # offset 4 would pass 5: a new window after each 4 records
            [(None, 0), (None, 2), ("id GREATER 4", 0), ("id GREATER 4", 2), ("id GREATER 8", 0)],
        ),
        (3, 1, 1, [(None, 0), ("id GREATER 1", 0), ("id GREATER 2", 0)]),
    ],
)
def test_offset_pages_past_the_ceiling_by_key(
    n: int, page_size: int, ceiling: int, pages: list[tuple[str | None, int]]
) -> None:
    server = netsuite_like(rows(n), ceiling=ceiling)
    assert ids(read_offset(server, page_size, ceiling)) == list(range(1, n + 1))
    assert asked(server) == pages


def test_offset_paging_without_the_ceiling_fails_at_it() -> None:
    """What the ceiling is for: plain offsets reach the server's refusal (before the fix,
    NetSuite reads stopped there)."""
    with pytest.raises(RejectedError, match="only the first 4 can be paged"):
        read_offset(netsuite_like(rows(7), ceiling=4), 2)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 40), page_size=st.integers(1, 6), extra=st.integers(0, 8))
def test_offset_with_a_ceiling_reads_every_record_once(n: int, page_size: int, extra: int) -> None:
    ceiling = page_size + extra
    server = netsuite_like(rows(n), ceiling=ceiling)
    assert ids(read_offset(server, page_size, ceiling)) == list(range(1, n + 1))


def test_a_window_not_in_key_order_is_a_loop_and_a_keyless_one_is_malformed() -> None:
    backwards = [{"id": i} for i in (5, 6, 1, 2)]  # the second window ends below the first
    with pytest.raises(PagingLoop, match="the page ends with id 2, not after 6"):
        read_offset(scripted_pages(backwards), 2, 2)
    keyless = [{"id": "A-1"}, {"id": "A-2"}]
    with pytest.raises(MalformedResponse, match="ends with id 'A-2', not an integer key"):
        read_offset(scripted_pages(keyless), 2, 2)


def scripted_pages(data: list[dict[str, Any]]) -> Recorder:
    """Serves `data` two at a time, one page per request whatever is asked, `hasMore` on."""
    served = iter(range(0, len(data), 2))

    def handler(request: httpx.Request) -> httpx.Response:
        start = next(served)
        return json_response(200, {"items": data[start : start + 2], "hasMore": True})

    return Recorder(handler)


def test_offset_server_ignoring_offset_is_a_loop() -> None:
    server = netsuite_like(rows(6), ignore_offset=True)
    with pytest.raises(PagingLoop, match=f"{BASE}/customer: paging loops"):
        read_offset(server, 2)


# --------------------------------------------------------------------- key (Sage 200, SuiteQL)
def sage_like(data: list[dict[str, Any]]) -> Recorder:
    """`$filter=id gt N`, `$top`: the records after key N."""

    def handler(request: httpx.Request) -> httpx.Response:
        top = int(request.url.params["$top"])
        after = int(request.url.params.get("$filter", "id gt 0").split()[-1])
        return json_response(200, [r for r in data if r["id"] > after][:top])

    return Recorder(handler)


def read_key(server: Recorder, page_size: int) -> list[Any]:
    core = http(server)
    pages = KeyPaginator(
        "fake",
        core.url("/customers"),
        "id",
        key_of=lambda r: r.get("id") if isinstance(r.get("id"), int) else None,
        page_size=page_size,
    )

    def fetch(last: int | None) -> tuple[list[Any], Any]:
        params: dict[str, str | int] = {"$top": page_size}
        if last is not None:
            params["$filter"] = f"id gt {last}"
        body = core.request("GET", "/customers", params=params)
        return body, body

    return list(pages.records(fetch))


@pytest.mark.parametrize(
    ("n", "page_size", "filters"),
    [
        (0, 2, [None]),
        (5, 2, [None, "id gt 2", "id gt 4"]),
        (4, 2, [None, "id gt 2", "id gt 4"]),  # a full last page: an empty one ends it
        (1, 2, [None]),
    ],
)
def test_key_pages(n: int, page_size: int, filters: list[str | None]) -> None:
    server = sage_like(rows(n))
    assert ids(read_key(server, page_size)) == list(range(1, n + 1))
    assert [r.url.params.get("$filter") for r in server.requests] == filters


@pytest.mark.parametrize(
    ("second", "says"),
    [
        ([{"id": 3}, {"id": 2}], "the page ends with id 2, not after 2"),  # the key falls back
        ([{"id": 1}, {"id": 2}], "repeats the previous page's keys"),  # the filter is ignored
    ],
)
def test_key_that_does_not_rise_is_a_loop(second: list[dict[str, Any]], says: str) -> None:
    server = scripted(json_response(200, rows(2)), json_response(200, second))
    with pytest.raises(PagingLoop, match=f"{BASE}/customers: paging loops") as caught:
        read_key(server, 2)
    assert says in str(caught.value)


def test_key_missing_is_malformed_not_a_loop() -> None:
    server = Recorder(lambda r: json_response(200, [{"id": 1}, {"name": "no id"}]))
    with pytest.raises(MalformedResponse, match="cannot ask for the next page"):
        read_key(server, 2)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 30), page_size=st.integers(1, 8))
def test_key_reads_every_record_once(n: int, page_size: int) -> None:
    assert ids(read_key(sage_like(rows(n)), page_size)) == list(range(1, n + 1))


# --------------------------------------------------------------------- next link (SAP B1)
def b1_like(pages: list[list[int]], links: list[str | None]) -> Recorder:
    """Page i (from `?page=i`) holds `pages[i]` and links to `links[i]`."""

    def handler(request: httpx.Request) -> httpx.Response:
        i = int(request.url.params.get("page", "0"))
        body: dict[str, Any] = {"value": [{"id": k} for k in pages[i]]}
        if links[i] is not None:
            body["odata.nextLink"] = links[i]
        return json_response(200, body)

    return Recorder(handler)


def read_links(server: Recorder) -> list[Any]:
    core = http(server)
    pages = NextLinkPaginator(
        "fake", core.url("/Invoices"), "id", path="/Invoices", resolve=lambda link: "/" + link
    )

    def fetch(path: str) -> tuple[list[Any], Any]:
        body = core.request("GET", path)
        return body["value"], body

    return list(pages.records(fetch))


@pytest.mark.parametrize(
    ("pages", "links", "records"),
    [
        ([[]], [None], []),
        ([[1, 2]], [None], [1, 2]),
        ([[1, 2], [3, 4], [5]], ["Invoices?page=1", "Invoices?page=2", None], [1, 2, 3, 4, 5]),
    ],
)
def test_next_link_pages(
    pages: list[list[int]], links: list[str | None], records: list[int]
) -> None:
    assert ids(read_links(b1_like(pages, links))) == records


def test_next_link_back_to_a_page_read_is_a_loop() -> None:
    server = b1_like([[1, 2], [3, 4]], ["Invoices?page=1", "Invoices?page=1"])
    with pytest.raises(PagingLoop, match=r"Invoices: paging loops \(the next page"):
        read_links(server)
    assert len(server.requests) == 2
