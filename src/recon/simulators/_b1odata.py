"""The OData v3 query subset the SAP Business One Service Layer accepts, over plain dicts.

`$filter` (eq ne gt ge lt le, and or not, brackets, startswith / endswith / contains /
substringof, strings in single quotes, dates as `'2024-06-01'`, `'20240601'` or
`datetime'2024-06-01'`, enums by name or value), `$select`, `$orderby`, `$top`, `$skip`.
No arithmetic. Raises `B1QueryError` (one line naming the option) on anything it cannot
read. It must not touch HTTP, sessions or paging (the simulator app pages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "ENUM_ALIASES",
    "B1Query",
    "B1QueryError",
    "apply_b1_query",
    "b1_day",
    "parse_b1_filter",
    "parse_b1_query",
    "select_b1",
]

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]

# Enum fields accept the value or the name on input (reference section 2 / 4).
ENUM_ALIASES: dict[str, dict[str, str]] = {
    "CardType": {"C": "cCustomer", "S": "cSupplier", "L": "cLid"},
    "DocumentStatus": {"O": "bost_Open", "C": "bost_Close"},
    "DocType": {"I": "dDocument_Items", "S": "dDocument_Service"},
    "CancelStatus": {"Y": "csYes", "N": "csNo", "C": "csCancellation"},
    "_yes_no": {"Y": "tYES", "N": "tNO"},
}
_YES_NO_VALUES = {"tYES", "tNO"}


class B1QueryError(ValueError):
    """A query option the Service Layer refuses (answered with 400)."""


@dataclass(frozen=True)
class B1Query:
    top: int | None
    skip: int
    orderby: tuple[tuple[str, bool], ...]  # (field, descending)
    where: Predicate | None
    select: tuple[str, ...] | None
    inlinecount: bool
    filter_names: tuple[str, ...] = ()  # the properties $filter names

    def properties(self) -> list[tuple[str, str]]:
        """(option, property) for every property the query names, in option order."""
        out = [("$filter", n) for n in self.filter_names]
        out += [("$select", n) for n in self.select or ()]
        return out + [("$orderby", n) for n, _ in self.orderby]


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<dtstr>datetime'[^']*')
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<lp>\() | (?P<rp>\)) | (?P<comma>,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_/]*)
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"contains", "startswith", "endswith", "substringof"}
_DAY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(?:[T ].*)?$")


def b1_day(value: Any) -> date | None:
    """A B1 date from `2024-06-01`, `20240601`, `2024-06-01T12:00:00(Z)`; the time is ignored."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    m = _DAY.match(value.strip())
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise B1QueryError(f"$filter: cannot read {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _field(row: Row, name: str) -> Any:
    value: Any = row
    for part in name.split("/"):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _canonical(name: str, value: Any) -> Any:
    """An enum literal written as its value (`'C'`, `'Y'`) becomes the name B1 stores."""
    if not isinstance(value, str):
        return value
    leaf = name.rsplit("/", 1)[-1]
    aliases = ENUM_ALIASES.get(leaf)
    if aliases and value in aliases:
        return aliases[value]
    return value


def _compare(left: Any, op: str, right: Any, fold: bool) -> bool:
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return False
    a: Any = left
    b: Any = right
    left_day = b1_day(left) if isinstance(left, str) and _DAY.match(left) else None
    if isinstance(right, date) or (left_day is not None and isinstance(right, str)):
        a, b = left_day if left_day is not None else b1_day(left), b1_day(right)
        if a is None or b is None:
            return False
    elif isinstance(right, Decimal):
        if isinstance(left, bool):
            return False
        try:
            a = Decimal(str(left))
        except InvalidOperation:
            return False
    elif isinstance(right, str):
        a = str(left)
        if left in _YES_NO_VALUES and right in ENUM_ALIASES["_yes_no"]:
            b = ENUM_ALIASES["_yes_no"][right]
        if fold:
            a, b = a.lower(), str(b).lower()
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


class _Parser:
    def __init__(self, text: str, fold: bool) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.fold = fold
        self.names: list[str] = []

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise B1QueryError("$filter: ends too early")
        self.i += 1
        return tok

    def expect(self, kind: str) -> None:
        tok = self.take()
        if tok[0] != kind:
            raise B1QueryError(f"$filter: expected {kind} near {tok[1]!r}")

    def parse(self) -> Predicate:
        pred = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise B1QueryError(f"$filter: unexpected {tok[1]!r}")
        return pred

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.peek() == ("name", "or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.unary()
        while self.peek() == ("name", "and"):
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
        if kind == "dtstr":
            day = b1_day(text[len("datetime'") : -1])
            if day is None:
                raise B1QueryError(f"$filter: bad date {text!r}")
            return day
        if kind == "num":
            return Decimal(text)
        if kind == "name" and text in ("true", "false", "null"):
            return None if text == "null" else text == "true"
        raise B1QueryError(f"$filter: expected a value near {text!r}")

    def comparison(self) -> Predicate:
        kind, name = self.take()
        if kind != "name":
            raise B1QueryError(f"$filter: expected a property name near {name!r}")
        if name in _FUNCS:
            return self.function(name)
        self.names.append(name)
        op_tok = self.take()
        if op_tok[0] != "name" or op_tok[1] not in _COMPARE:
            if op_tok[1] in ("add", "sub", "mul", "div", "mod"):
                raise B1QueryError("$filter: arithmetic operators are not supported")
            raise B1QueryError(f"$filter: unknown operator {op_tok[1]!r} after {name}")
        value = _canonical(name, self.literal())
        op, fold = op_tok[1], self.fold
        return lambda r: _compare(_field(r, name), op, value, fold)

    def function(self, func: str) -> Predicate:
        self.expect("lp")
        if func == "substringof":  # substringof('needle', Field)
            needle = self.literal()
            self.expect("comma")
            fkind, fname = self.take()
        else:
            fkind, fname = self.take()
            self.expect("comma")
            needle = self.literal()
        self.expect("rp")
        if fkind != "name" or not isinstance(needle, str):
            raise B1QueryError(f"$filter: {func}() needs a property and a quoted string")
        self.names.append(fname)
        fold = self.fold

        def pred(row: Row) -> bool:
            value = _field(row, fname)
            if not isinstance(value, str):
                return False
            hay, low = (value.lower(), needle.lower()) if fold else (value, needle)
            if func in ("contains", "substringof"):
                return low in hay
            if func == "startswith":
                return hay.startswith(low)
            return hay.endswith(low)

        return pred


def parse_b1_filter(text: str, case_insensitive: bool = False) -> Predicate:
    return _Parser(text, case_insensitive).parse()


def _parse_filter(text: str, case_insensitive: bool) -> tuple[Predicate, tuple[str, ...]]:
    parser = _Parser(text, case_insensitive)
    return parser.parse(), tuple(parser.names)


def _int_option(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise B1QueryError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise B1QueryError(f"{name} must not be negative, got {value}")
    return value


def parse_b1_query(params: Mapping[str, str], case_insensitive: bool = False) -> B1Query:
    top = _int_option(params, "$top")
    skip = _int_option(params, "$skip") or 0
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
                raise B1QueryError(f"$orderby: cannot read {part.strip()!r}")
            orderby.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
    raw_filter = params.get("$filter", "").strip()
    where, names = _parse_filter(raw_filter, case_insensitive) if raw_filter else (None, ())
    raw_select = params.get("$select", "").strip()
    select = tuple(s.strip() for s in raw_select.split(",") if s.strip()) or None
    inline = params.get("$inlinecount", "none").strip()
    if inline not in ("none", "allpages"):
        raise B1QueryError(f"$inlinecount must be allpages or none, got {inline!r}")
    return B1Query(top, skip, tuple(orderby), where, select, inline == "allpages", names)


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | Decimal | float):
        return (1, Decimal(str(value)))
    return (2, str(value))


def select_b1(row: Row, select: tuple[str, ...] | None) -> dict[str, Any]:
    if select is None:
        return dict(row)
    return {name: row[name] for name in select if name in row}


def apply_b1_query(
    rows: list[dict[str, Any]], query: B1Query, key: str
) -> tuple[list[dict[str, Any]], int]:
    """Filter and order (by `key` when no `$orderby`), then `$skip`/`$top`.

    Returns the rows left after `$skip` and `$top` (unselected: the app pages them) and the
    filtered count (for `$inlinecount`)."""
    result = [r for r in rows if query.where is None or query.where(r)]
    result.sort(key=lambda r: _sort_key(r.get(key)))
    for name, desc in reversed(query.orderby):
        result.sort(key=lambda r, n=name: _sort_key(_field(r, n)), reverse=desc)  # type: ignore[misc]
    count = len(result)
    end = None if query.top is None else query.skip + query.top
    return result[query.skip : end], count
