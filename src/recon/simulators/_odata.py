"""The OData subset Sage 200 accepts: $filter, $orderby, $top, $skip, $select, $expand.

Parses query strings and applies them to lists of plain dicts. Raises `ODataError`
(one line, naming the option) on anything it cannot read; must not touch HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "DEFAULT_TOP",
    "MAX_TOP",
    "ODataError",
    "Query",
    "apply_query",
    "parse_filter",
    "parse_query",
]

DEFAULT_TOP = 500
MAX_TOP = 5000

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]


class ODataError(ValueError):
    """A query option the simulated API refuses (answered with HTTP 400)."""


@dataclass(frozen=True)
class Query:
    top: int
    skip: int
    orderby: tuple[tuple[str, bool], ...]  # (field, descending)
    where: Predicate | None
    select: tuple[str, ...] | None
    expand: frozenset[str]


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<lp>\() | (?P<rp>\)) | (?P<comma>,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_./]*)
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"contains", "startswith", "endswith"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ODataError(f"$filter: cannot read {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _as_instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return False
    a: Any = left
    b: Any = right
    if isinstance(right, datetime | date):
        a, b = _as_instant(left), _as_instant(right)
        if a is None:
            return False
    elif isinstance(right, Decimal):
        if isinstance(left, bool):
            return False
        try:
            a = Decimal(str(left))
        except InvalidOperation:
            return False
    elif isinstance(right, bool):
        if not isinstance(left, bool):
            return False
    elif isinstance(right, str):
        a = str(left)
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if op == "gt":
        return bool(a > b)
    if op == "ge":
        return bool(a >= b)
    if op == "lt":
        return bool(a < b)
    return bool(a <= b)


def _field(row: Row, name: str) -> Any:
    value: Any = row
    for part in name.replace("/", ".").split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ODataError("$filter: ends too early")
        self.i += 1
        return tok

    def expect(self, kind: str) -> None:
        tok = self.take()
        if tok[0] != kind:
            raise ODataError(f"$filter: expected {kind} near {tok[1]!r}")

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek() is not None:
            raise ODataError(f"$filter: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return pred

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while (tok := self.peek()) and tok == ("name", "or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.unary()
        while (tok := self.peek()) and tok == ("name", "and"):
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def unary(self) -> Predicate:
        tok = self.peek()
        if tok == ("name", "not"):
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if tok is not None and tok[0] == "lp":
            self.take()
            inner = self.or_expr()
            self.expect("rp")
            return inner
        return self.comparison()

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "dt":
            parsed = _as_instant(text)
            if parsed is None:
                raise ODataError(f"$filter: bad date-time {text!r}")
            return parsed
        if kind == "date":
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ODataError(f"$filter: bad date {text!r}") from None
        if kind == "num":
            return Decimal(text)
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            return text  # an enum name written bare
        raise ODataError(f"$filter: expected a value near {text!r}")

    def comparison(self) -> Predicate:
        kind, name = self.take()
        if kind != "name":
            raise ODataError(f"$filter: expected a field name near {name!r}")
        if name in _FUNCS:
            self.expect("lp")
            fkind, fname = self.take()
            if fkind != "name":
                raise ODataError(f"$filter: {name}() needs a field first")
            self.expect("comma")
            needle = self.literal()
            self.expect("rp")
            if not isinstance(needle, str):
                raise ODataError(f"$filter: {name}() needs a quoted string")
            return _func(name, fname, needle)
        op_tok = self.take()
        if op_tok[0] != "name" or op_tok[1] not in _COMPARE:
            raise ODataError(f"$filter: unknown operator {op_tok[1]!r} after {name}")
        value = self.literal()
        op = op_tok[1]
        return lambda r: _compare(_field(r, name), op, value)


def _func(func: str, name: str, needle: str) -> Predicate:
    def pred(row: Row) -> bool:
        value = _field(row, name)
        if not isinstance(value, str):
            return False
        hay, low = value.lower(), needle.lower()
        if func == "contains":
            return low in hay
        if func == "startswith":
            return hay.startswith(low)
        return hay.endswith(low)

    return pred


def parse_filter(text: str) -> Predicate:
    return _Parser(text).parse()


def _int_option(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ODataError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ODataError(f"{name} must not be negative, got {value}")
    return value


def parse_query(params: Mapping[str, str]) -> Query:
    top = _int_option(params, "$top", DEFAULT_TOP)
    if top > MAX_TOP:
        raise ODataError(f"$top must not exceed {MAX_TOP}, got {top}")
    skip = _int_option(params, "$skip", 0)
    orderby: list[tuple[str, bool]] = []
    raw_order = params.get("$orderby", "").strip()
    if raw_order:
        for part in raw_order.split(","):
            bits = part.split()
            if (
                not bits
                or len(bits) > 2
                or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc"))
            ):
                raise ODataError(f"$orderby: cannot read {part.strip()!r}")
            orderby.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
    if "$skip" in params and not orderby:
        raise ODataError("$skip can only be used together with $orderby")
    raw_filter = params.get("$filter", "").strip()
    where = parse_filter(raw_filter) if raw_filter else None
    raw_select = params.get("$select", "").strip()
    select = tuple(s.strip() for s in raw_select.split(",") if s.strip()) or None
    expand = frozenset(s.strip() for s in params.get("$expand", "").split(",") if s.strip())
    return Query(top, skip, tuple(orderby), where, select, expand)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | Decimal | float):
        return (1, Decimal(str(value)))
    return (2, str(value))


def select_fields(row: Row, select: tuple[str, ...] | None) -> dict[str, Any]:
    if select is None:
        return dict(row)
    out: dict[str, Any] = {}
    for name in select:
        top = name.replace("/", ".").split(".")[0]
        if top in row:
            out[top] = row[top]
    return out


def apply_query(rows: list[dict[str, Any]], query: Query) -> list[dict[str, Any]]:
    """Filter, order, page and select; rows keep their stored (id) order otherwise."""
    result = [r for r in rows if query.where is None or query.where(r)]
    for name, desc in reversed(query.orderby):
        result.sort(key=lambda r, n=name: _sort_key(_field(r, n)), reverse=desc)  # type: ignore[misc]
    page = result[query.skip : query.skip + query.top]
    return [select_fields(r, query.select) for r in page]
