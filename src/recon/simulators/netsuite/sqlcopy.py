"""The in-memory SQLite copy of the state that SuiteQL reads: its tables, the rows
built from the records, the Oracle functions registered on it, and SuiteQL value formatting.
"""

from __future__ import annotations

import calendar
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from recon.simulators.netsuite.records import CREDITS, ITEM_DOCUMENTS, TRANSACTIONS, _parse_instant

if TYPE_CHECKING:
    from recon.simulators.netsuite.state import NetSuiteState


# --------------------------------------------------------------------- SuiteQL tables
_DATE_MARK = "\x1d"  # prefixes dates inside the SuiteQL SQLite copy (never in TO_CHAR output)
_TABLES: dict[str, str] = {
    "transaction": "id INTEGER, tranid TEXT, type TEXT, recordtype TEXT, trandate TEXT, "
    "entity INTEGER, externalid TEXT, otherrefnum TEXT, memo TEXT, status TEXT, "
    "foreigntotal REAL, currency INTEGER, exchangerate REAL, postingperiod INTEGER, "
    "posting TEXT, voided TEXT, approvalstatus INTEGER, createddate TEXT, "
    "lastmodifieddate TEXT",
    "transactionline": "transaction INTEGER, id INTEGER, linesequencenumber INTEGER, "
    "uniquekey INTEGER, item INTEGER, itemtype TEXT, quantity REAL, rate REAL, "
    "netamount REAL, foreignamount REAL, location INTEGER, account INTEGER, entity INTEGER, "
    "mainline TEXT, taxline TEXT, isclosed TEXT, memo TEXT, createdfrom INTEGER, "
    "taxcode INTEGER, quantitybilled REAL, quantityshiprecv REAL",
    "transactionaccountingline": "transaction INTEGER, transactionline INTEGER, "
    "account INTEGER, debit REAL, credit REAL, amount REAL",
    "inventorybalance": "item INTEGER, location INTEGER, binnumber INTEGER, "
    "inventorynumber INTEGER, inventorystatus INTEGER, quantityonhand REAL, "
    "quantityavailable REAL, lastmodifieddate TEXT",
    "aggregateitemlocation": "item INTEGER, location INTEGER, quantityonhand REAL, "
    "quantityavailable REAL, quantitycommitted REAL, quantityonorder REAL, "
    "quantitybackordered REAL, averagecostmli REAL, onhandvaluemli REAL, "
    "lastquantityavailablechange TEXT",
    "item": "id INTEGER, itemid TEXT, displayname TEXT, itemtype TEXT, isinactive TEXT, "
    "totalquantityonhand REAL, externalid TEXT, lastmodifieddate TEXT",
    "location": "id INTEGER, name TEXT, isinactive TEXT, externalid TEXT",
    "account": "id INTEGER, acctnumber TEXT, accountsearchdisplayname TEXT, fullname TEXT, "
    "accttype TEXT, isinactive TEXT, externalid TEXT",
    "customer": "id INTEGER, entityid TEXT, companyname TEXT, email TEXT, isinactive TEXT, "
    "externalid TEXT, currency INTEGER",
    "currency": "id INTEGER, symbol TEXT, name TEXT, isinactive TEXT",
    "salestaxitem": "id INTEGER, itemid TEXT, rate REAL, isinactive TEXT",
}


# names a double-quoted identifier may take (SQLite reads any other as a string literal)
_IDENTIFIERS = frozenset(_TABLES) | {
    column.split()[0] for columns in _TABLES.values() for column in columns.split(",")
}


def _tf(value: Any) -> str:
    return "T" if value else "F"


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _i(ref: Any) -> int | None:
    if isinstance(ref, dict):
        ref = ref.get("id")
    return None if ref in (None, "") else int(ref)


def _sql_date(day: str) -> str:
    return f"{_DATE_MARK}{day[:10]} 00:00:00"


def _sql_instant(text: str | None) -> str | None:
    if not text:
        return None
    return _DATE_MARK + _parse_instant(text).strftime("%Y-%m-%d %H:%M:%S")


def _first(state: NetSuiteState, record_type: str, pred: Callable[[dict[str, Any]], bool]) -> Any:
    return next((_i(r["id"]) for r in state.table(record_type).values() if pred(r)), None)


def _acct_kind(acct: dict[str, Any]) -> Any:
    return (acct.get("acctType") or {}).get("id")


class _Rows:
    """Rows per SuiteQL table, as dicts keyed by column (missing columns are NULL)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLES}
        self.unique = 0

    def add(self, table: str, **values: Any) -> None:
        self.rows[table].append(values)

    def line(self, tid: int, n: int, **values: Any) -> None:
        """A transactionline row (+ its accounting line when it has an account)."""
        self.unique += 1
        amount = values.get("foreignamount")
        values.setdefault("mainline", "F")
        values.setdefault("taxline", "F")
        self.add(
            "transactionline",
            transaction=tid,
            id=n,
            linesequencenumber=n,
            uniquekey=self.unique,
            netamount=amount,
            isclosed="F",
            **values,
        )
        if amount is not None and values.get("account") is not None:
            self.add(
                "transactionaccountingline",
                transaction=tid,
                transactionline=n,
                account=values["account"],
                debit=amount if amount > 0 else None,
                credit=-amount if amount < 0 else None,
                amount=amount,
            )


def _build_sql(state: NetSuiteState) -> sqlite3.Connection:
    out = _Rows()
    ar = _first(state, "account", lambda a: _acct_kind(a) == "AcctRec")
    income = _first(state, "account", lambda a: _acct_kind(a) == "Income")
    for rtype, (tcode, _) in TRANSACTIONS.items():
        for rec in state.table(rtype).values():
            _transaction_rows(state, out, rtype, tcode, rec, ar, income)
    for item in state.table("inventoryItem").values():
        on_hand_total = Decimal(0)
        for ln in item["locations"]["items"]:
            qty = {
                "item": _i(item["id"]),
                "location": _i(ln["location"]),
                "quantityonhand": _f(ln.get("quantityOnHand")),
                "quantityavailable": _f(ln.get("quantityAvailable")),
            }
            changed = _sql_instant(ln.get("lastQuantityAvailableChange"))
            on_hand_total += Decimal(ln.get("quantityOnHand") or 0)
            out.add("inventorybalance", inventorystatus=1, lastmodifieddate=changed, **qty)
            out.add(
                "aggregateitemlocation",
                quantitycommitted=_f(ln.get("quantityCommitted")),
                quantityonorder=0.0,
                quantitybackordered=0.0,
                lastquantityavailablechange=changed,
                **qty,
            )
        out.add(
            "item",
            id=_i(item["id"]),
            itemid=item["itemId"],
            displayname=item.get("displayName"),
            itemtype=(item.get("itemType") or {}).get("id", "InvtPart"),
            isinactive=_tf(item.get("isInactive")),
            totalquantityonhand=_f(on_hand_total),
            externalid=item.get("externalId"),
            lastmodifieddate=_sql_instant(item.get("lastModifiedDate")),
        )
    for place in state.table("location").values():
        out.add(
            "location",
            id=_i(place["id"]),
            name=place["name"],
            isinactive=_tf(place.get("isInactive")),
            externalid=place.get("externalId"),
        )
    for acct in state.table("account").values():
        label = f"{acct['acctNumber']} {acct.get('acctName', '')}".strip()
        out.add(
            "account",
            id=_i(acct["id"]),
            acctnumber=acct["acctNumber"],
            accountsearchdisplayname=label,
            fullname=acct.get("acctName"),
            accttype=_acct_kind(acct),
            isinactive=_tf(acct.get("isInactive")),
            externalid=acct.get("externalId"),
        )
    for cust in state.table("customer").values():
        out.add(
            "customer",
            id=_i(cust["id"]),
            entityid=cust["entityId"],
            companyname=cust.get("companyName"),
            email=cust.get("email"),
            isinactive=_tf(cust.get("isInactive")),
            externalid=cust.get("externalId"),
            currency=_i(cust.get("currency")),
        )
    for cur in state.table("currency").values():
        out.add(
            "currency",
            id=_i(cur["id"]),
            symbol=cur["symbol"],
            name=cur["name"],
            isinactive=_tf(cur.get("isInactive")),
        )
    for tax in state.table("salesTaxItem").values():
        out.add(
            "salestaxitem",
            id=_i(tax["id"]),
            itemid=tax["itemId"],
            rate=_f(tax["rate"]),
            isinactive=_tf(tax.get("isInactive")),
        )
    db = sqlite3.connect(":memory:", check_same_thread=False)
    _register_functions(db, state)
    for name, columns in _TABLES.items():
        cols = [c.split() for c in columns.split(",")]
        db.execute(f'CREATE TABLE "{name}" ({", ".join(f"{n!r} {t}" for n, t in cols)})')
        names = [n for n, _ in cols]
        marks = ", ".join("?" * len(names))
        db.executemany(
            f'INSERT INTO "{name}" VALUES ({marks})',
            [tuple(row.get(n) for n in names) for row in out.rows[name]],
        )
    db.commit()
    return db


def _transaction_rows(
    state: NetSuiteState,
    out: _Rows,
    rtype: str,
    tcode: str,
    rec: dict[str, Any],
    ar: int | None,
    income: int | None,
) -> None:
    """One `transaction` row and its lines: item lines and tax lines carry the opposite
    sign of the document (a sale's lines are negative), the main line the document's."""
    tid = int(rec["id"])
    total = Decimal(rec.get("total") or 0)
    sign = Decimal(-1) if rtype in (*CREDITS, "customerRefund") else Decimal(1)
    entity = _i(rec.get("entity") or rec.get("customer"))
    out.add(
        "transaction",
        id=tid,
        tranid=rec.get("tranId"),
        type=tcode,
        recordtype=rtype.lower(),
        trandate=_sql_date(rec["tranDate"]),
        entity=entity,
        externalid=rec.get("externalId"),
        otherrefnum=rec.get("otherRefNum"),
        memo=rec.get("memo"),
        status=(rec.get("status") or {}).get("id"),
        foreigntotal=_f(total * sign),
        currency=_i(rec.get("currency")),
        exchangerate=_f(rec.get("exchangeRate")),
        posting="F" if rtype == "salesOrder" else "T",
        voided="F",
        createddate=_sql_instant(rec.get("createdDate")),
        lastmodifieddate=_sql_instant(rec.get("lastModifiedDate")),
    )
    head = {"entity": entity, "memo": rec.get("memo"), "mainline": "T"}
    if rtype in ITEM_DOCUMENTS:
        created_from = _i(rec.get("createdFrom"))
        out.line(
            tid,
            0,
            foreignamount=_f(total * sign),
            account=_i(rec.get("account")) or ar,
            location=_i(rec.get("location")),
            createdfrom=created_from,
            **head,
        )
        n = 0
        taxes: dict[str, Decimal] = {}
        for ln in rec["item"]["items"]:
            n += 1
            item = state.get("inventoryItem", ln["item"]["id"]) or {}
            out.line(
                tid,
                n,
                item=_i(ln["item"]),
                itemtype="InvtPart",
                quantity=_f(-sign * Decimal(ln["quantity"])),
                rate=_f(ln["rate"]),
                foreignamount=_f(-sign * Decimal(ln["amount"])),
                location=_i(ln.get("location")),
                account=_i(item.get("incomeAccount")) or income,
                entity=entity,
                memo=ln.get("description"),
                createdfrom=created_from,
                taxcode=_i(ln["taxCode"]),
            )
            code = ln["taxCode"]["id"]
            taxes[code] = taxes.get(code, Decimal(0)) + Decimal(ln["tax1Amt"])
        for code, amount in sorted(taxes.items()):
            n += 1
            tax = state.get("salesTaxItem", code) or {}
            out.line(
                tid,
                n,
                item=int(code),
                itemtype="TaxItem",
                taxline="T",
                foreignamount=_f(-sign * amount),
                account=_i(tax.get("taxAccount")),
                entity=entity,
                taxcode=int(code),
            )
    elif rtype in ("customerPayment", "customerRefund"):
        out.line(tid, 0, foreignamount=_f(total * sign), account=_i(rec.get("account")), **head)
        out.line(tid, 1, foreignamount=_f(-total * sign), account=ar, entity=entity)
    else:  # journalEntry: line 0 is the main line, as NetSuite shows it
        for n, ln in enumerate(rec["line"]["items"]):
            amount = Decimal(ln.get("debit") or 0) - Decimal(ln.get("credit") or 0)
            out.line(
                tid,
                n,
                mainline="T" if n == 0 else "F",
                foreignamount=_f(amount),
                account=_i(ln["account"]),
                entity=_i(ln.get("entity")),
                location=_i(ln.get("location")),
                memo=ln.get("memo"),
                taxcode=_i(ln.get("taxCode")),
            )


_ORACLE_FORMAT = [
    ("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("HH24", "%H"), ("HH", "%I"),
    ("MI", "%M"), ("SS", "%S"),
]  # fmt: skip


def _strftime_format(fmt: str) -> str:
    out = fmt
    for oracle, py in _ORACLE_FORMAT:
        out = re.sub(oracle, py, out, flags=re.I)
    return out


def _register_functions(db: sqlite3.Connection, state: NetSuiteState) -> None:
    def to_date(text: Any, fmt: Any = "YYYY-MM-DD") -> str | None:
        if text is None:
            return None
        if isinstance(text, str) and text.startswith(_DATE_MARK):
            return text
        parsed = datetime.strptime(str(text), _strftime_format(str(fmt)))
        return _DATE_MARK + parsed.strftime("%Y-%m-%d %H:%M:%S")

    def to_char(value: Any, fmt: Any = "YYYY-MM-DD") -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and value.startswith(_DATE_MARK):
            when = datetime.strptime(value[1:], "%Y-%m-%d %H:%M:%S")
            return when.strftime(_strftime_format(str(fmt)))
        return _out(value)

    def trunc(value: Any, fmt: Any = "DD") -> Any:
        if isinstance(value, str) and value.startswith(_DATE_MARK):
            unit = str(fmt).upper()
            day = _when(value).date()
            if unit in ("MM", "MON", "MONTH"):
                day = day.replace(day=1)
            elif unit in ("YYYY", "YEAR", "YY"):
                day = day.replace(month=1, day=1)
            elif unit not in ("DD", "DDD", "J"):
                raise ValueError(f"TRUNC format {fmt!r} is not supported")
            return _DATE_MARK + f"{day.isoformat()} 00:00:00"
        return int(value) if isinstance(value, float) else value

    def add_days(value: Any, days: Any) -> str | None:
        if value is None or days is None:
            return None
        return _mark(_when(value) + timedelta(days=float(days)))

    def days_between(later: Any, earlier: Any) -> float | None:
        if later is None or earlier is None:
            return None
        return (_when(later) - _when(earlier)).total_seconds() / 86400

    def add_months(value: Any, months: Any) -> str | None:
        if value is None or months is None:
            return None
        when = _when(value)
        total = when.year * 12 + when.month - 1 + int(months)
        year, month = divmod(total, 12)
        day = min(when.day, calendar.monthrange(year, month + 1)[1])
        return _mark(when.replace(year=year, month=month + 1, day=day))

    def decode(*args: Any) -> Any:
        value, rest = args[0], list(args[1:])
        while len(rest) >= 2:
            if rest[0] == value:
                return rest[1]
            rest = rest[2:]
        return rest[0] if rest else None

    def display(column: str, value: Any) -> str | None:
        if value is None:
            return None
        key = column.lower()
        rid = str(value)
        if key in ("entity", "customer"):
            c = state.get("customer", rid)
            return f"{c['entityId']} {c.get('companyName', '')}".strip() if c else rid
        if key == "item":
            found = state.get("inventoryItem", rid) or state.get("salesTaxItem", rid)
            return found["itemId"] if found else rid
        if key in ("location", "account", "currency", "taxcode"):
            rtype = {"taxcode": "salesTaxItem"}.get(key, key)
            found = state.get(rtype, rid)
            if not found:
                return rid
            if key == "account":
                return f"{found['acctNumber']} {found.get('acctName', '')}".strip()
            return str(found.get("name") or found.get("itemId") or rid)
        return rid

    db.create_function("TO_DATE", -1, to_date, deterministic=True)
    db.create_function("TO_CHAR", -1, to_char, deterministic=True)
    db.create_function("TO_NUMBER", 1, lambda v: None if v is None else float(v))
    db.create_function("NVL", 2, lambda a, b: b if a is None else a)
    db.create_function("NVL2", 3, lambda a, b, c: c if a is None else b)
    db.create_function("DECODE", -1, decode, deterministic=True)
    db.create_function("TRUNC", -1, trunc)
    db.create_function("NS_ADD_DAYS", 2, add_days, deterministic=True)
    db.create_function("NS_DAYS_BETWEEN", 2, days_between, deterministic=True)
    db.create_function("ADD_MONTHS", 2, add_months, deterministic=True)
    db.create_function("BUILTIN_DF", 2, display)
    db.create_function(
        "NS_SYSDATE", 0, lambda: _DATE_MARK + state.now().strftime("%Y-%m-%d %H:%M:%S")
    )


def _when(value: Any) -> datetime:
    """A date inside the SuiteQL copy (marked text) as a datetime."""
    if not (isinstance(value, str) and value.startswith(_DATE_MARK)):
        raise ValueError(f"{value!r} is not a date: use TO_DATE")
    return datetime.strptime(value[1:], "%Y-%m-%d %H:%M:%S")


def _mark(when: datetime) -> str:
    return _DATE_MARK + when.strftime("%Y-%m-%d %H:%M:%S")


def _out(value: Any) -> str:
    """SuiteQL values are strings: numbers without trailing zeros, dates as M/D/YYYY."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = format(Decimal(repr(value)).normalize(), "f")
        return "0" if text in ("-0", "0") else text
    text = str(value)
    if text.startswith(_DATE_MARK):
        when = datetime.strptime(text[1:], "%Y-%m-%d %H:%M:%S")
        return f"{when.month}/{when.day}/{when.year}"
    return text
