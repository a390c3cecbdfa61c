"""SuiteQL as Oracle SQL: translation onto SQLite (ROWNUM, TOP, SYSDATE arithmetic;
SQLite's own syntax refused), running a query against the state's copy, and the row shape.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from recon.simulators.netsuite.errors import NetSuiteError
from recon.simulators.netsuite.sqlcopy import _IDENTIFIERS, _out
from recon.simulators.netsuite.state import NetSuiteState

_DF = re.compile(r"BUILTIN\.DF\s*\(\s*((?:\w+\.)?(\w+))\s*\)", re.I)
_SYSDATE = re.compile(r"\b(SYSDATE|CURRENT_DATE)\b", re.I)
_UNSUPPORTED = re.compile(r"\b(FETCH\s+FIRST|FETCH\s+NEXT|CONNECT\s+BY|PRAGMA|ATTACH)\b", re.I)
# SQLite's own syntax, which SuiteQL (Oracle SQL) refuses: word -> what Oracle says instead
_SQLITE_ONLY: dict[str, str] = {
    "LIMIT": "use ROWNUM <= n (or TOP n, or the limit/offset query parameters)",
    "OFFSET": "use the offset query parameter",
    "IFNULL": "use NVL or COALESCE",
    "IIF": "use CASE WHEN",
    "GROUP_CONCAT": "use LISTAGG",
    "TOTAL": "use SUM",
    "TYPEOF": "SuiteQL has no TYPEOF",
    "PRINTF": "use TO_CHAR",
    "GLOB": "use LIKE",
    "DATE": "use TO_DATE, TRUNC or SYSDATE",
    "DATETIME": "use TO_DATE or SYSDATE",
    "TIME": "use TO_CHAR",
    "JULIANDAY": "subtract dates: d1 - d2 is a number of days",
    "STRFTIME": "use TO_CHAR",
    "UNIXEPOCH": "subtract dates: d1 - d2 is a number of days",
}
_SQLITE_WORD = re.compile(
    r"\b(LIMIT|OFFSET)\b|\b(IFNULL|IIF|GROUP_CONCAT|TOTAL|TYPEOF|PRINTF|GLOB|DATE|DATETIME|"
    r"TIME|JULIANDAY|STRFTIME|UNIXEPOCH)\s*\(|(==)",
    re.I,
)
_LITERAL = re.compile(r"'(?:[^']|'')*'")
_HOLE = re.compile("\x02(\\d+)\x02")
# date-valued expressions once literals are masked and SYSDATE translated
_DATE_EXPR = (
    r"(?:TRUNC\s*\(\s*NS_SYSDATE\(\)\s*\)|NS_SYSDATE\(\)|TO_DATE\s*\([^()]*\)|"
    r"ADD_MONTHS\s*\([^()]*\)|(?:\w+\.)?(?:\w*date|lastquantityavailablechange)\b)"
)
_DATE_MINUS_DATE = re.compile(rf"({_DATE_EXPR})\s*-\s*({_DATE_EXPR})", re.I)
_DATE_PLUS_DAYS = re.compile(rf"({_DATE_EXPR})\s*([+-])\s*(\d+(?:\.\d+)?)(?![\w.])", re.I)
_TOP = re.compile(r"^(\s*SELECT\s+(?:DISTINCT\s+)?)TOP\s+(\d+)\s+", re.I)
_WHERE = re.compile(r"\bWHERE\b", re.I)
_WHERE_END = re.compile(r"\b(GROUP\s+BY|ORDER\s+BY|HAVING)\b", re.I)
_SET_OP = re.compile(r"\b(UNION|INTERSECT|MINUS|EXCEPT)\b", re.I)
_ROWNUM = re.compile(r"\bROWNUM\b", re.I)
_ROWNUM_LEFT = re.compile(r"^\s*ROWNUM\s*(<=|<|=|>=|>)\s*(\d+)\s*$", re.I)
_ROWNUM_RIGHT = re.compile(r"^\s*(\d+)\s*(>=|>|=|<=|<)\s*ROWNUM\s*$", re.I)
_FLIP = {"<=": ">=", "<": ">", "=": "=", ">=": "<=", ">": "<"}


def _mask(sql: str) -> tuple[str, list[str]]:
    """`sql` with each '...' literal replaced by a numbered hole, and the literals."""
    literals: list[str] = []

    def hole(m: re.Match[str]) -> str:
        literals.append(m[0])
        return f"\x02{len(literals) - 1}\x02"

    return _LITERAL.sub(hole, sql), literals


def _unmask(sql: str, literals: list[str]) -> str:
    return _HOLE.sub(lambda m: literals[int(m[1])], sql)


def _refuse_sqlite(masked: str) -> None:
    m = _SQLITE_WORD.search(masked)
    if m is None:
        return
    word = (m[1] or m[2] or m[3]).upper()
    hint = _SQLITE_ONLY.get(word, "use =")
    raise _sql_error(f"{word} is not SuiteQL (Oracle SQL): {hint}")


def _translate(sql: str) -> str:
    """Oracle forms SQLite lacks, on masked SQL: BUILTIN.DF, SYSDATE, date arithmetic (date -
    date in days, date +/- days), and `transaction` (an SQLite keyword)."""
    sql = _DF.sub(lambda m: f"BUILTIN_DF('{m[2]}', {m[1]})", sql)
    sql = _SYSDATE.sub("NS_SYSDATE()", sql)
    sql = _DATE_MINUS_DATE.sub(lambda m: f"NS_DAYS_BETWEEN({m[1]}, {m[2]})", sql)
    sql = _DATE_PLUS_DAYS.sub(
        lambda m: f"NS_ADD_DAYS({m[1]}, {'-' if m[2] == '-' else ''}{m[3]})", sql
    )
    return re.sub(r'(?<!["\w])transaction\b(?!")', '"transaction"', sql, flags=re.I)


def _rownum_limit(op: str, n: int) -> int | None:
    """The row count Oracle's `ROWNUM op n` keeps (None: every row)."""
    if op == "<=":
        return max(n, 0)
    if op == "<":
        return max(n - 1, 0)
    if op == "=":
        return 1 if n == 1 else 0
    if op == ">":
        return None if n < 1 else 0
    return None if n <= 1 else 0  # >=


def _oracle_rows(sql: str) -> str:
    """ROWNUM and TOP n as SQLite can run them, block by block (each parenthesised SELECT
    and the statement itself): `ROWNUM <= n` (or `< n`, `= 1`, `n >= ROWNUM`) joined by
    AND to a block's WHERE becomes that block's LIMIT, as does `SELECT TOP n`; ROWNUM
    elsewhere (the select list) numbers the block's rows. `sql` is masked (no literals)."""
    out: list[str] = []
    holes: list[str] = []
    depth = start = 0
    for i, ch in enumerate(sql):
        if ch == "(":
            if depth == 0:
                out.append(sql[start : i + 1])
                start = i + 1
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _sql_error("unbalanced parentheses")
            if depth == 0:
                inner = sql[start:i]
                holes.append(_oracle_rows(inner))  # a query, or a call / list / condition
                out.append(f"\x03{len(holes) - 1}\x03")
                start = i
    if depth:
        raise _sql_error("unbalanced parentheses")
    out.append(sql[start:])
    flat = "".join(out)
    limit: int | None = None
    top = _TOP.match(flat)
    if top:
        flat = top[1] + flat[top.end() :]
        limit = int(top[2])
    where = _WHERE.search(flat)
    if where and _ROWNUM.search(flat, where.end()):
        if _SET_OP.search(flat):
            raise _sql_error("ROWNUM with UNION/INTERSECT/MINUS: put each part in a subquery")
        end_m = _WHERE_END.search(flat, where.end())
        end = end_m.start() if end_m else len(flat)
        kept: list[str] = []
        for part in re.split(r"\bAND\b", flat[where.end() : end], flags=re.I):
            m = _ROWNUM_LEFT.match(part)
            op, n = (m[1], m[2]) if m else (None, None)
            if m is None and (m2 := _ROWNUM_RIGHT.match(part)):
                op, n = _FLIP[m2[2]], m2[1]
            if op is None or n is None:
                kept.append(part)
                continue
            keep = _rownum_limit(op, int(n))
            if keep is not None:
                limit = keep if limit is None else min(limit, keep)
        if any(_ROWNUM.search(p) for p in kept):
            raise _sql_error(
                "ROWNUM in a WHERE clause is supported as ROWNUM <= n, ROWNUM < n or "
                "ROWNUM = 1 joined with AND"
            )
        body = " AND ".join(kept).strip()
        tail = flat[end:]
        flat = flat[: where.start()] + (f"WHERE {body} " if body else "") + tail.lstrip()
    flat = _ROWNUM.sub("ROW_NUMBER() OVER ()", flat)
    if limit is not None:
        flat = f"{flat.rstrip()} LIMIT {limit}"
    return _HOLE3.sub(lambda m: holes[int(m[1])], flat)


_HOLE3 = re.compile("\x03(\\d+)\x03")


def to_sqlite(query: str) -> str:
    """A SuiteQL (Oracle SQL) query as the SQLite copy runs it; refuses what SuiteQL does:
    anything but one SELECT, and SQLite's own syntax (LIMIT, IFNULL, date('now'), ...)."""
    text = query.strip().rstrip(";").strip()
    masked, literals = _mask(text)
    if not re.match(r"(?is)^(SELECT|WITH)\b", masked) or ";" in masked:
        raise _sql_error("only a single SELECT statement is supported")
    if m := _UNSUPPORTED.search(masked):
        raise _sql_error(f"{' '.join(m[1].upper().split())} is not supported")
    _refuse_sqlite(masked)
    for quoted in re.findall(r'"([^"]*)"', masked):
        if quoted.lower() not in _IDENTIFIERS:
            raise _sql_error(
                f'"{quoted}" is an identifier in SuiteQL (Oracle SQL), and no table or column '
                "has that name: quote strings with single quotes"
            )
    return _unmask(_oracle_rows(_translate(masked)), literals)


def run_suiteql(state: NetSuiteState, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names and every row of `query` (format a row with `suiteql_row`). A query
    may match any number of rows; only its first MAX_QUERY_ROWS can be paged (`_page`)."""
    text = to_sqlite(query)
    with state.lock:
        db = state.sql()
        try:
            cursor = db.execute(text)
            rows = cursor.fetchall()
        except (sqlite3.Error, ValueError, OverflowError) as exc:
            raise _sql_error(str(exc)) from None
        names: list[str] = []
        n_expr = 0
        for col in cursor.description:
            name = str(col[0]).lower()
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                n_expr += 1
                name = f"expr{n_expr}"
            names.append(name)
    return names, rows


def suiteql_row(names: list[str], row: tuple[Any, ...]) -> dict[str, str]:
    """A SuiteQL row as NetSuite sends it: every value a string, null columns left out."""
    return {n: _out(v) for n, v in zip(names, row, strict=True) if v is not None}


def _sql_error(message: str) -> NetSuiteError:
    return NetSuiteError(
        "Invalid search query. Detailed unprocessed description follows. Search error "
        f"occurred: {message}.",
        "INVALID_PARAMETER",
        query_param="q",
    )
