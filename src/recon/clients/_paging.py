"""Paging, one piece: a paginator per style the four vendors use.

A paginator walks one collection. It names the first page to ask for (its *cursor*: an
offset, a start, the last key read, a path) and, from a page's records and body, the next
one, or that the last page came. The client only says how to fetch the page at a cursor.
The base refuses a loop, as dlt and the Singer SDK do: a page that repeats the previous
page's keys, or a next cursor that does not advance (an offset, a key or a next link asked
for already), is a `PagingLoop` naming the URL, never an endless read.

    KeyPaginator         Sage 200 (`id gt LAST`), NetSuite SuiteQL by key (`WHERE key > last`)
    OffsetPaginator      NetSuite record service and SuiteQL (`limit`/`offset`, `hasMore`;
                         past the 100,000-record ceiling by key: `id GREATER last`)
    TotalCountPaginator  Sitoo (`start`/`num`, `totalcount`)
    NextLinkPaginator    SAP B1 (`odata.nextLink`)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from recon.clients.errors import MalformedResponse, PagingLoop

__all__ = [
    "KeyPaginator",
    "NextLinkPaginator",
    "OffsetPaginator",
    "Paginator",
    "TotalCountPaginator",
    "Window",
]

C = TypeVar("C", bound=Hashable)
K = TypeVar("K", int, tuple[int, ...])


class Paginator(ABC, Generic[C]):
    """Reads every page of one collection at `url` (for messages), by `key_field` (one
    field or several, read from each raw record to notice a repeated page)."""

    def __init__(self, vendor: str, url: str, key_field: str | Sequence[str]) -> None:
        self.vendor = vendor
        self.url = url
        self._fields = (key_field,) if isinstance(key_field, str) else tuple(key_field)

    @abstractmethod
    def first(self) -> C:
        """The cursor of the first page."""

    @abstractmethod
    def next(self, cursor: C, records: list[Any], body: Any) -> C | None:
        """The cursor of the page after the one read at `cursor`; None after the last."""

    def records(self, fetch: Callable[[C], tuple[list[Any], Any]]) -> Iterator[Any]:
        """Every raw record, page by page; `fetch(cursor)` gives a page's (records, body)."""
        cursor = self.first()
        asked = {cursor}
        previous: tuple[Any, ...] = ()
        while True:
            records, body = fetch(cursor)
            keys = self._keys(records)
            if keys and keys == previous:
                raise self._loop(f"the page at {cursor!r} repeats the previous page's keys")
            previous = keys
            yield from records
            after = self.next(cursor, records, body)
            if after is None:
                return
            if after in asked:
                raise self._loop(f"the next page ({after!r}) was read already")
            asked.add(after)
            cursor = after

    def _keys(self, records: list[Any]) -> tuple[Any, ...]:
        """The records' keys; empty when no record carries one (nothing to compare)."""
        keys = tuple(
            tuple(r.get(f) for f in self._fields) if isinstance(r, dict) else None for r in records
        )
        return keys if any(k is not None and any(v is not None for v in k) for k in keys) else ()

    def _loop(self, problem: str) -> PagingLoop:
        return PagingLoop(
            self.vendor,
            200,
            problem,
            f"{self.url}: paging loops ({problem}): the server does not advance through its"
            " pages, so retrying will not help",
        )


class KeyPaginator(Paginator[K | None]):
    """By key: each page asks for the records after the last key read (`key_of` the last
    record, which must rise); the first page's cursor is None. Stops on a short page, or
    when `more(records, body)` says no more."""

    def __init__(
        self,
        vendor: str,
        url: str,
        key_field: str | Sequence[str],
        *,
        key_of: Callable[[Any], K | None],
        page_size: int,
        more: Callable[[list[Any], Any], bool] | None = None,
    ) -> None:
        super().__init__(vendor, url, key_field)
        self._key_of: Callable[[Any], K | None] = key_of
        self._more = more or (lambda records, _: len(records) >= page_size)

    def first(self) -> K | None:
        return None

    def next(self, cursor: K | None, records: list[Any], body: Any) -> K | None:
        if not records or not self._more(records, body):
            return None
        tail = records[-1]
        key = self._key_of(tail)
        fields = ", ".join(self._fields)
        if key is None:
            values = [tail.get(f) if isinstance(tail, dict) else None for f in self._fields]
            shown = values[0] if len(values) == 1 else values
            raise MalformedResponse(
                self.vendor,
                200,
                f"{fields} {shown!r} after {cursor!r}",
                f"{self.url}: the page ends with {fields} {shown!r} (after {cursor!r}), not an"
                " integer key: cannot ask for the next page; retry later",
            )
        if cursor is not None and key <= cursor:
            raise self._loop(f"the page ends with {fields} {key!r}, not after {cursor!r}")
        return key


class _FromZero(Paginator[int]):
    """Pages numbered by a record position that starts at 0, `page_size` records a page."""

    def __init__(self, vendor: str, url: str, key_field: str, *, page_size: int) -> None:
        super().__init__(vendor, url, key_field)
        self.page_size = page_size

    def first(self) -> int:
        return 0


class Window(NamedTuple):
    """An `OffsetPaginator` cursor: the page at `offset` among the records after key
    `after` (None: among all of them)."""

    after: int | None
    offset: int


class OffsetPaginator(Paginator[Window]):
    """`limit`/`offset` with `hasMore` (NetSuite): the next page is `page_size` further on,
    while the body says `hasMore` and the page was not empty.

    A server that pages only the first `ceiling` records of a query (NetSuite: 100,000;
    `offset + limit` past it is refused) is read past it by key, as the vendor advises: the
    page that would pass it is asked for as the first page (offset 0) of the records after
    the last key read (`key_of` the last record; records come in ascending key order), so
    `fetch` adds the filter `key > after` to its query."""

    def __init__(
        self,
        vendor: str,
        url: str,
        key_field: str,
        *,
        page_size: int,
        ceiling: int | None = None,
        key_of: Callable[[Any], int | None] | None = None,
    ) -> None:
        super().__init__(vendor, url, key_field)
        if ceiling is not None and key_of is None:
            raise ValueError("paging past a ceiling needs key_of")
        self.page_size = page_size
        self.ceiling = ceiling
        self._key_of = key_of

    def first(self) -> Window:
        return Window(None, 0)

    def next(self, cursor: Window, records: list[Any], body: Any) -> Window | None:
        if not records or not (isinstance(body, dict) and body.get("hasMore")):
            return None
        offset = cursor.offset + self.page_size
        if self.ceiling is None or self._key_of is None or offset + self.page_size <= self.ceiling:
            return Window(cursor.after, offset)
        key = self._key_of(records[-1])
        field = self._fields[0]
        if key is None:
            tail = records[-1]
            shown = tail.get(field) if isinstance(tail, dict) else None
            raise MalformedResponse(
                self.vendor,
                200,
                f"{field} {shown!r} at {cursor!r}",
                f"{self.url}: the page ends with {field} {shown!r}, not an integer key: cannot"
                f" read past the first {self.ceiling} records by key; retry later",
            )
        if cursor.after is not None and key <= cursor.after:
            raise self._loop(f"the page ends with {field} {key!r}, not after {cursor.after!r}")
        return Window(key, 0)


class TotalCountPaginator(_FromZero):
    """`start`/`num` with `totalcount` (Sitoo): the next page starts after the records
    read. `totalcount` decides the end when sent (a server may cap `num` below what was
    asked); without it a short page is the last."""

    def next(self, cursor: int, records: list[Any], body: Any) -> int | None:
        if not records:
            return None
        start = cursor + len(records)
        total = body.get("totalcount") if isinstance(body, dict) else None
        if isinstance(total, int) and not isinstance(total, bool):
            return None if start >= total else start
        return None if len(records) < self.page_size else start


class NextLinkPaginator(Paginator[str]):
    """OData server-side paging (SAP B1): follow `odata.nextLink` (or `@odata.nextLink`),
    turned into a path by `resolve`, until it is absent."""

    def __init__(
        self, vendor: str, url: str, key_field: str, *, path: str, resolve: Callable[[str], str]
    ) -> None:
        super().__init__(vendor, url, key_field)
        self._path = path
        self._resolve = resolve

    def first(self) -> str:
        return self._path

    def next(self, cursor: str, records: list[Any], body: Any) -> str | None:
        link = body.get("odata.nextLink") or body.get("@odata.nextLink")
        return self._resolve(str(link)) if link else None
