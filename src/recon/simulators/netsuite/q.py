"""The record service's `q` filter language: tokens, operators by field kind, and the
predicate a query string compiles to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from recon.simulators.netsuite.errors import NetSuiteError
from recon.simulators.netsuite.records import _CUSTOM, FIELDS, _field_error

# --------------------------------------------------------------------- record filters (q)
_Q_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|\[([^\]]*)\]|([^\s()"]+))')
_OPS_NUM = {"EQUAL", "GREATER", "GREATER_OR_EQUAL", "LESS", "LESS_OR_EQUAL", "BETWEEN", "ANY_OF"}
_OPS_STR = {"IS", "CONTAIN", "START_WITH", "END_WITH"}
_OPS_DATE = {"AFTER", "BEFORE", "ON", "ON_OR_AFTER", "ON_OR_BEFORE", "WITHIN"}
_OPS_ANY = {"EMPTY"}
_ALL_OPS = _OPS_NUM | _OPS_STR | _OPS_DATE | _OPS_ANY


def _q_error(message: str) -> NetSuiteError:
    return NetSuiteError(
        f"Invalid query parameter q: {message}", "INVALID_PARAMETER", query_param="q"
    )


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _Q_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _q_error(f"cannot read {text[pos:]!r}")
        pos = m.end()
        if m[1]:
            out.append(("(", "("))
        elif m[2]:
            out.append((")", ")"))
        elif m[3] is not None:
            out.append(("str", m[3].replace('\\"', '"')))
        elif m[4] is not None:
            out.append(("list", m[4]))
        else:
            out.append(("word", m[5]))
    return out


Predicate = Callable[[dict[str, Any]], bool]


def parse_q(text: str, record_type: str | None = None) -> Predicate:
    """`field OP value` joined with AND / OR and brackets (AND binds tighter); with
    `record_type`, a field that record type does not have is refused."""
    known = {f.lower() for f in FIELDS[record_type]} if record_type else None
    toks = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise _q_error("unexpected end")
        pos += 1
        return toks[pos - 1]

    def expr() -> Predicate:
        parts = [term()]
        while (t := peek()) and t[0] == "word" and t[1].upper() == "OR":
            take()
            parts.append(term())
        return parts[0] if len(parts) == 1 else lambda r: any(p(r) for p in parts)

    def term() -> Predicate:
        parts = [factor()]
        while (t := peek()) and t[0] == "word" and t[1].upper() == "AND":
            take()
            parts.append(factor())
        return parts[0] if len(parts) == 1 else lambda r: all(p(r) for p in parts)

    def value() -> str:
        kind, text_ = take()
        if kind not in ("str", "word", "list"):
            raise _q_error(f"expected a value, got {text_!r}")
        return text_

    def factor() -> Predicate:
        kind, text_ = take()
        if kind == "(":
            inner = expr()
            if take()[0] != ")":
                raise _q_error("missing )")
            return inner
        if kind != "word":
            raise _q_error(f"expected a field name, got {text_!r}")
        fld = text_
        if known is not None and fld.lower() not in known and not _CUSTOM.match(fld):
            assert record_type is not None
            raise _field_error(fld, record_type, query_param="q")
        op = take()[1].upper()
        negate = op.endswith("_NOT")
        base = op[:-4] if negate else op
        if base not in _ALL_OPS:
            raise _q_error(f"unknown operator {op}")
        args: list[str] = []
        if base != "EMPTY":
            args.append(value())
            if base in ("BETWEEN", "WITHIN"):
                nxt = peek()
                if nxt and nxt[0] == "word" and nxt[1].upper() == "AND":
                    take()
                args.append(value())
        pred = _condition(fld, base, args)
        return (lambda r: not pred(r)) if negate else pred

    result = expr()
    if pos != len(toks):
        raise _q_error(f"unexpected {toks[pos][1]!r}")
    return result


def _field(rec: dict[str, Any], name: str) -> Any:
    for key, value in rec.items():
        if key.lower() == name.lower():
            if isinstance(value, dict) and "id" in value:
                return value["id"]
            return value
    return None


def _as_date(text: str) -> datetime:
    t = text.strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", t)
    if m:
        return datetime(int(m[3]), int(m[1]), int(m[2]), tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise _q_error(f"not a date: {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _condition(name: str, op: str, args: list[str]) -> Predicate:
    def get(rec: dict[str, Any]) -> Any:
        return _field(rec, name)

    if op == "EMPTY":
        return lambda r: get(r) in (None, "", [])
    if op in _OPS_STR:
        want = args[0].lower()
        test: dict[str, Callable[[str], bool]] = {
            "IS": lambda v: v == want,
            "CONTAIN": lambda v: want in v,
            "START_WITH": lambda v: v.startswith(want),
            "END_WITH": lambda v: v.endswith(want),
        }
        check = test[op]

        def string_pred(r: dict[str, Any]) -> bool:
            v = get(r)
            if isinstance(v, bool):
                return str(v).lower() == want
            return v is not None and check(str(v).lower())

        return string_pred
    if op in _OPS_DATE:
        bounds = [_as_date(a) for a in args]
        day_only = [len(a.strip()) <= 10 for a in args]

        def date_pred(r: dict[str, Any]) -> bool:
            v = get(r)
            if v in (None, ""):
                return False
            when = _as_date(str(v))
            lo = bounds[0]
            hi = lo + timedelta(days=1) if day_only[0] else lo
            if op == "ON":
                return lo <= when < hi if day_only[0] else when == lo
            if op == "AFTER":
                return when >= hi if day_only[0] else when > lo
            if op == "ON_OR_AFTER":
                return when >= lo
            if op == "BEFORE":
                return when < lo
            if op == "ON_OR_BEFORE":
                return when < hi if day_only[0] else when <= lo
            end = bounds[1] + timedelta(days=1) if day_only[1] else bounds[1]
            return lo <= when < end  # WITHIN

        return date_pred
    try:
        if op == "ANY_OF":
            wanted = {Decimal(x.strip().strip('"')) for x in ",".join(args).split(",") if x.strip()}
        else:
            nums = [Decimal(a) for a in args]
    except InvalidOperation:
        raise _q_error(f"not a number: {args}") from None

    def num_pred(r: dict[str, Any]) -> bool:
        v = get(r)
        try:
            n = Decimal(str(v))
        except InvalidOperation:
            return False
        if op == "ANY_OF":
            return n in wanted
        a = nums[0]
        return {
            "EQUAL": n == a,
            "GREATER": n > a,
            "GREATER_OR_EQUAL": n >= a,
            "LESS": n < a,
            "LESS_OR_EQUAL": n <= a,
            "BETWEEN": len(nums) > 1 and a <= n <= nums[1],
        }[op]

    return num_pred
