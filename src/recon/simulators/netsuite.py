"""A NetSuite SuiteTalk REST simulator (Starlette), per /work/shared/reference/netsuite.md.

Serves the record service `/services/rest/record/v1/{recordType}` (bearer auth, `{"id"}`
references, `{"items": [...]}` sublists, `expandSubResources`, `fields`, collection paging
with `limit`/`offset`/`links`/`hasMore`, `q` filters, POST -> 204 + `Location`, upsert and
read by `eid:{externalId}`, PATCH, DELETE), SuiteQL `POST /services/rest/query/v1/suiteql`
as Oracle SQL (ROWNUM, TOP, SYSDATE arithmetic, TO_DATE/TO_CHAR, NVL; SQLite's own syntax
refused) translated onto an in-memory SQLite copy of the state, and
`GET /services/rest/system/v1/serverTime`, from an in-memory `NetSuiteState`. Fields a record
type does not have are refused in bodies, `q` and `fields` (400). Errors use NetSuite's
`type/title/status/o:errorDetails` body; an optional account concurrency limit answers
429. `seed_from_scenario` builds the state from a scenario's Sage 200 state. This module
must not know recon's posting rules or talk to a real NetSuite; the base URL is the root
before `/services/...`.

Invented or inferred (documented in docs/simulators.md): error codes and wording beyond
`INVALID_LOGIN` / `INVALID_CONTENT`, the 429 body, SuiteQL value formatting (strings,
`M/D/YYYY` dates, nulls left out), line signs and ids in `transactionline`, tranId numbers.
"""

from __future__ import annotations

import calendar
import json
import re
import sqlite3
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recon.simulators._wire import Clock, json_response, round2
from recon.simulators.faults import ConnectionDropped, FaultMiddleware, Faults

if TYPE_CHECKING:
    from recon.simulators.scenario import Scenario

__all__ = [
    "BASE_PATH",
    "MAX_LIMIT",
    "QUERY_PATH",
    "RECORD_PATH",
    "NetSuiteCredentials",
    "NetSuiteError",
    "NetSuiteState",
    "create_app",
    "mappings_toml",
    "seed_from_scenario",
]

BASE_PATH = ""  # the base URL is the root before /services/rest/...
RECORD_PATH = "/services/rest/record/v1"
QUERY_PATH = "/services/rest/query/v1/suiteql"
TIME_PATH = "/services/rest/system/v1/serverTime"
MAX_LIMIT = 1000
MAX_QUERY_ROWS = 100_000

# recordType -> (SuiteQL transaction.type, tranId prefix)
TRANSACTIONS: dict[str, tuple[str, str]] = {
    "invoice": ("CustInvc", "INV"),
    "cashSale": ("CashSale", "CS"),
    "salesOrder": ("SalesOrd", "SO"),
    "creditMemo": ("CustCred", "CM"),
    "cashRefund": ("CashRfnd", "CR"),
    "customerPayment": ("CustPymt", "PYMT"),
    "customerRefund": ("CustRfnd", "RFND"),
    "journalEntry": ("Journal", "JE"),
}
ITEM_DOCUMENTS = ("invoice", "cashSale", "salesOrder", "creditMemo", "cashRefund")
CREDITS = ("creditMemo", "cashRefund")  # item documents that give money back
MASTERS = ("customer", "inventoryItem", "location", "account", "salesTaxItem", "currency")
READ_ONLY = frozenset({"salesTaxItem", "currency"})
ALIASES = {"taxCode": "salesTaxItem"}  # accepted as a path alias of salesTaxItem
RECORD_TYPES = (*TRANSACTIONS, *MASTERS)

# Which record types a reference field may point at (first match wins for refName).
REF_TARGETS: dict[str, tuple[str, ...]] = {
    "entity": ("customer",),
    "customer": ("customer",),
    "location": ("location",),
    "item": ("inventoryItem",),
    "taxCode": ("salesTaxItem",),
    "salesTaxCode": ("salesTaxItem",),
    "account": ("account",),
    "taxAccount": ("account",),
    "incomeAccount": ("account",),
    "currency": ("currency",),
    "createdFrom": ("invoice", "cashSale", "salesOrder"),
    "doc": ("invoice", "creditMemo", "cashSale", "cashRefund"),
}
STATUS_NAMES = {
    "invoice": {"A": "Open", "B": "Paid In Full"},
    "creditMemo": {"A": "Open", "B": "Fully Applied"},
    "cashSale": {"B": "Not Deposited"},
    "cashRefund": {"A": "Not Deposited"},
    "salesOrder": {"B": "Pending Fulfillment"},
    "customerPayment": {"B": "Not Deposited", "C": "Deposited"},
    "customerRefund": {"A": "Voided", "B": "Issued"},
    "journalEntry": {"B": "Approved for Posting"},
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The fields each record type has (reference section 5; computed fields included, so `q`,
# `fields` and bodies that name them are accepted). Custom fields (custbody_*, custcol_*,
# custentity_*, custitem_*, custrecord_*) are always accepted.
_HEADER = _words(
    "links id externalId tranId tranDate entity subsidiary location currency exchangeRate "
    "postingPeriod department class memo otherRefNum createdFrom subtotal discountItem "
    "discountRate discountTotal total status createdDate lastModifiedDate taxTotal taxRate "
    "taxItem taxDetailsOverride customForm approvalStatus salesRep terms email"
)
_ITEM_LINE = _words(
    "links item quantity rate amount description location line price taxCode department "
    "class isClosed quantityOnHand quantityAvailable grossAmt tax1Amt taxRate1 units"
)
_APPLY_LINE = _words("links doc apply amount line total due refNum applyDate type currency")
_JOURNAL_LINE = _words(
    "links account debit credit memo entity location department class taxCode line"
)
_MONEY = _words("customer account undepFunds paymentMethod paymentOption apply applied unapplied")
FIELDS: dict[str, frozenset[str]] = {
    "invoice": _HEADER | _words("item account dueDate amountPaid amountRemaining"),
    "cashSale": _HEADER | _words("item account undepFunds paymentMethod paymentOption"),
    "salesOrder": _HEADER | _words("item orderStatus shipDate"),
    "creditMemo": _HEADER | _words("item account apply applied unapplied"),
    "cashRefund": _HEADER | _words("item account paymentMethod paymentOption"),
    "customerPayment": _HEADER | _MONEY | _words("payment"),
    "customerRefund": _HEADER | _MONEY,
    "journalEntry": _HEADER | _words("line approved"),
    "customer": _words(
        "links id externalId entityId companyName firstName lastName email phone isPerson "
        "isInactive currency subsidiary createdDate lastModifiedDate"
    ),
    "inventoryItem": _words(
        "links id externalId itemId displayName upcCode itemType isInactive basePrice "
        "salesTaxCode taxSchedule locations incomeAccount createdDate lastModifiedDate"
    ),
    "location": _words(
        "links id externalId name isInactive parent subsidiary createdDate lastModifiedDate"
    ),
    "account": _words(
        "links id externalId acctNumber acctName acctType isInactive subsidiary createdDate "
        "lastModifiedDate"
    ),
    "salesTaxItem": _words(
        "links id externalId itemId description rate taxAccount isInactive createdDate "
        "lastModifiedDate"
    ),
    "currency": _words("links id symbol name isInactive createdDate lastModifiedDate"),
}
SUBLIST_FIELDS: dict[str, frozenset[str]] = {
    "item": _ITEM_LINE,
    "apply": _APPLY_LINE,
    "line": _JOURNAL_LINE,
    "locations": _words(
        "links location quantityOnHand quantityCommitted quantityAvailable "
        "lastQuantityAvailableChange"
    ),
}
_CUSTOM = re.compile(r"^cust(body|col|entity|item|record)_\w+$")


def _known(name: str, fields: frozenset[str]) -> bool:
    return name in fields or _CUSTOM.match(name) is not None


def unknown_fields(record_type: str, body: dict[str, Any]) -> list[str]:
    """The JSON paths of the body's fields `record_type` does not have (sublist lines too)."""
    out = [name for name in body if not _known(name, FIELDS[record_type])]
    for name, value in body.items():
        lines = value.get("items") if isinstance(value, dict) else None
        if name in SUBLIST_FIELDS and isinstance(lines, list):
            for i, line in enumerate(lines):
                if isinstance(line, dict):
                    out += [
                        f"{name}.items[{i}].{k}"
                        for k in line
                        if not _known(k, SUBLIST_FIELDS[name])
                    ]
    return out


def _field_error(path: str, record_type: str, query_param: str | None = None) -> NetSuiteError:
    """Refusal of a field the record type does not have (wording invented)."""
    return NetSuiteError(
        f"Invalid field {path}: the record type {record_type} has no field "
        f"{path.rsplit('.', 1)[-1]}.",
        "INVALID_CONTENT" if query_param is None else "INVALID_PARAMETER",
        path=None if query_param else path,
        query_param=query_param,
    )


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
RFC_SECTIONS = {400: "4.1", 401: "4.2", 403: "4.4", 404: "4.5", 405: "4.6", 409: "4.10"}
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI "
    "at Setup > Users/Roles > User Management > View Login Audit Trail."
)
NOT_FOUND = "The record instance does not exist. Provide a valid record instance ID."
LOCK_DETAIL = "Record has been changed: it is locked by another user or process; retry."
CONCURRENCY_DETAIL = "Concurrent request limit exceeded. Request blocked."
_DATE_MARK = "\x1d"  # prefixes dates inside the SuiteQL SQLite copy (never in TO_CHAR output)


@dataclass(frozen=True)
class NetSuiteCredentials:
    token: str = "sim-netsuite-token"
    account_id: str = "1234567-sb1"

    def env(self, base_url: str) -> dict[str, str]:
        return {"NETSUITE_BASE_URL": base_url, "NETSUITE_TOKEN": self.token}


class NetSuiteError(Exception):
    """A request NetSuite refuses; rendered as the `o:errorDetails` body."""

    def __init__(
        self,
        detail: str,
        code: str = "USER_ERROR",
        status: int = 400,
        path: str | None = None,
        query_param: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status
        self.path = path
        self.query_param = query_param


def error_body(
    status: int,
    detail: str,
    code: str,
    path: str | None = None,
    query_param: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    if query_param:
        entry["o:errorQueryParam"] = query_param
    section = RFC_SECTIONS.get(status, "4.1" if status < 500 else "5.1")
    return {
        "type": f"https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.{section}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [entry],
    }


def _error(exc: NetSuiteError) -> Response:
    body = error_body(exc.status, exc.detail, exc.code, exc.path, exc.query_param)
    return json_response(body, exc.status)


# --------------------------------------------------------------------- value checks
def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise NetSuiteError(
            f"Invalid Field Value {value} for the following field: {where.rsplit('.', 1)[-1]}",
            "INVALID_CONTENT",
            path=where,
        )
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise NetSuiteError(
            f"Invalid Field Value {value} for the following field: {where.rsplit('.', 1)[-1]}",
            "INVALID_CONTENT",
            path=where,
        ) from None
    if not out.is_finite():
        raise NetSuiteError(f"Invalid Field Value {value}", "INVALID_CONTENT", path=where)
    return out


def _day(value: Any, where: str) -> date:
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            pass
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if m:
            return date(int(m[3]), int(m[1]), int(m[2]))
    raise NetSuiteError(
        f"Invalid Field Value {value} for the following field: {where}. Use the format yyyy-MM-dd.",
        "INVALID_CONTENT",
        path=where,
    )


def _ref_id(value: Any, where: str) -> str:
    """`{"id": "42"}` (or a bare id) -> "42"."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip().isdigit():
        raise NetSuiteError(
            f'Invalid Field Value {value} for the following field: {where}. Send {{"id": "..."}}.',
            "INVALID_CONTENT",
            path=where,
        )
    return value.strip()


def _sublist(body: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("items"), list):
        raise NetSuiteError(
            f'The sublist {name} must be an object {{"items": [...]}}.',
            "INVALID_CONTENT",
            path=name,
        )
    out = []
    for i, line in enumerate(value["items"]):
        if not isinstance(line, dict):
            raise NetSuiteError(
                f"{name}.items[{i}] must be an object.",
                "INVALID_CONTENT",
                path=f"{name}.items[{i}]",
            )
        out.append(dict(line))
    return out


def ns_instant(instant: datetime) -> str:
    """Record datetime fields: ISO-8601 UTC with `Z`, whole seconds."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# --------------------------------------------------------------------- state
@dataclass
class NetSuiteState:
    """Everything the simulated account holds. Seed with `add_*`, write with `create`/`upsert`.

    Records are stored in request form with computed fields filled in: references as
    `{"id": ...}`, sublists as `{"items": [...]}`, money as Decimal, `tranDate` as
    `YYYY-MM-DD`, `createdDate`/`lastModifiedDate` as ISO UTC with `Z`.
    """

    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {t: {} for t in RECORD_TYPES}
    )
    clock: Clock = field(default_factory=Clock, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    next_id: int = 100_000
    next_tran: dict[str, int] = field(default_factory=dict)
    frozen_now: datetime | None = None  # seeding: stamp records with this instant
    concurrency_limit: int | None = None  # None = unlimited; else 429 above it
    version: int = 0  # bumped on every write (SuiteQL copy cache)

    # -- helpers ---------------------------------------------------------------------
    def now(self) -> datetime:
        return self.frozen_now or self.clock.now()

    def new_id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def table(self, record_type: str) -> dict[str, dict[str, Any]]:
        return self.records[record_type]

    def get(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        return self.records.get(record_type, {}).get(record_id)

    def by_external_id(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        for rec in self.records.get(record_type, {}).values():
            if rec.get("externalId") == external_id:
                return rec
        return None

    def _put(self, record_type: str, rec: dict[str, Any], created: bool) -> dict[str, Any]:
        stamp = ns_instant(self.now())
        if created:
            rec["createdDate"] = stamp
        rec["lastModifiedDate"] = stamp
        self.records[record_type][rec["id"]] = rec
        self.version += 1
        return rec

    def _need(self, record_type: str | tuple[str, ...], value: Any, where: str) -> dict[str, Any]:
        rid = _ref_id(value, where)
        for t in (record_type,) if isinstance(record_type, str) else record_type:
            rec = self.get(t, rid)
            if rec is not None:
                return rec
        raise NetSuiteError(
            f"Invalid {where.rsplit('.', 1)[-1]} reference key {rid}.",
            "INVALID_KEY_OR_REF",
            path=where,
        )

    def _active_account(self, value: Any, where: str) -> dict[str, Any]:
        acct = self._need("account", value, where)
        if acct.get("isInactive"):
            raise NetSuiteError(
                f"Invalid account reference key {acct['id']}: account {acct['acctNumber']} "
                "is inactive.",
                "INVALID_KEY_OR_REF",
                path=where,
            )
        return acct

    # -- master data (seeding) -------------------------------------------------------------
    def _add(self, record_type: str, rec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return self._put(record_type, rec, created=True)

    def add_currency(self, id: str, symbol: str, name: str) -> dict[str, Any]:
        return self._add(
            "currency", {"id": id, "symbol": symbol, "name": name, "isInactive": False}
        )

    def add_customer(
        self, id: str, entity_id: str, name: str, currency: str = "1", email: str = ""
    ) -> dict[str, Any]:
        return self._add(
            "customer",
            {
                "id": id,
                "entityId": entity_id,
                "companyName": name,
                "email": email,
                "isPerson": False,
                "isInactive": False,
                "currency": {"id": currency},
            },
        )

    def add_location(self, id: str, name: str, inactive: bool = False) -> dict[str, Any]:
        return self._add("location", {"id": id, "name": name, "isInactive": inactive})

    def add_account(
        self, id: str, number: str, name: str, acct_type: str, inactive: bool = False
    ) -> dict[str, Any]:
        return self._add(
            "account",
            {
                "id": id,
                "acctNumber": number,
                "acctName": name,
                "acctType": {"id": acct_type},
                "isInactive": inactive,
            },
        )

    def add_tax_code(
        self, id: str, item_id: str, rate: Decimal, tax_account: str | None = None
    ) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "id": id,
            "itemId": item_id,
            "description": f"VAT {rate.normalize():f}%",
            "rate": rate,
            "isInactive": False,
        }
        if tax_account:
            rec["taxAccount"] = {"id": tax_account}
        return self._add("salesTaxItem", rec)

    def add_item(
        self,
        id: str,
        sku: str,
        name: str,
        tax_code: str,
        base_price: Decimal,
        active: bool = True,
        income_account: str | None = None,
    ) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "id": id,
            "itemId": sku,
            "displayName": name,
            "itemType": {"id": "InvtPart"},
            "isInactive": not active,
            "basePrice": base_price,
            "salesTaxCode": {"id": tax_code},
            "locations": {"items": []},
        }
        if income_account:
            rec["incomeAccount"] = {"id": income_account}
        return self._add("inventoryItem", rec)

    def set_stock(
        self, item_id: str, location_id: str, on_hand: Decimal, committed: Decimal = Decimal(0)
    ) -> None:
        """Per-location quantities (the `locations` sublist; SuiteQL `InventoryBalance`)."""
        with self.lock:
            item = self.records["inventoryItem"][item_id]
            lines = [ln for ln in item["locations"]["items"] if ln["location"]["id"] != location_id]
            lines.append(
                {
                    "location": {"id": location_id},
                    "quantityOnHand": on_hand,
                    "quantityCommitted": committed,
                    "quantityAvailable": on_hand - committed,
                    "lastQuantityAvailableChange": ns_instant(self.now()),
                }
            )
            item["locations"]["items"] = sorted(lines, key=lambda ln: int(ln["location"]["id"]))
            self._put("inventoryItem", item, created=False)

    # -- writes ------------------------------------------------------------------------------
    def create(self, record_type: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST: a new record; an `externalId` already used by this record type is refused."""
        with self.lock:
            self._writable(record_type)
            if "id" in body:
                raise NetSuiteError(
                    "Internal id is not allowed in the body of a create request.",
                    "INVALID_CONTENT",
                    path="id",
                )
            eid = body.get("externalId")
            if eid is not None:
                self._check_eid(record_type, eid)
            rec = self._build(record_type, dict(body), None)
            rec["id"] = self.new_id()
            return self._put(record_type, rec, created=True)

    def upsert(self, record_type: str, external_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT .../eid:{externalId}: update the record with that external id, else create it."""
        with self.lock:
            self._writable(record_type)
            if "id" in body:
                raise NetSuiteError(
                    "The upsert operation does not allow internal ids in the request body.",
                    "INVALID_CONTENT",
                    path="id",
                )
            if "externalId" in body and body["externalId"] != external_id:
                raise NetSuiteError(
                    "The externalId in the body does not match the external id in the URL.",
                    "INVALID_CONTENT",
                    path="externalId",
                )
            existing = self.by_external_id(record_type, external_id)
            merged = {**(existing or {}), **body, "externalId": external_id}
            rec = self._build(record_type, merged, existing)
            rec["id"] = existing["id"] if existing else self.new_id()
            return self._put(record_type, rec, created=existing is None)

    def update(self, record_type: str, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH: the fields sent replace the stored ones (a sent sublist replaces the old)."""
        with self.lock:
            self._writable(record_type)
            existing = self.get(record_type, record_id)
            if existing is None:
                raise NetSuiteError(NOT_FOUND, "NONEXISTENT_ID", 404)
            if "id" in body and str(body["id"]) != record_id:
                raise NetSuiteError("The internal id cannot be changed.", "INVALID_CONTENT")
            eid = body.get("externalId")
            if eid is not None and eid != existing.get("externalId"):
                self._check_eid(record_type, eid)
            rec = self._build(record_type, {**existing, **body}, existing)
            rec["id"] = record_id
            return self._put(record_type, rec, created=False)

    def delete(self, record_type: str, record_id: str) -> None:
        with self.lock:
            self._writable(record_type)
            if self.records[record_type].pop(record_id, None) is None:
                raise NetSuiteError(NOT_FOUND, "NONEXISTENT_ID", 404)
            self.version += 1

    def _writable(self, record_type: str) -> None:
        if record_type in READ_ONLY:
            raise NetSuiteError(
                f"The record type {record_type} is read-only in this account.",
                "INSUFFICIENT_PERMISSION",
                403,
            )

    def _check_eid(self, record_type: str, eid: Any) -> None:
        if not isinstance(eid, str) or not eid.strip():
            raise NetSuiteError(
                "externalId must be a non-empty string.", "INVALID_CONTENT", path="externalId"
            )
        other = self.by_external_id(record_type, eid)
        if other is not None:
            raise NetSuiteError(
                f"This record already exists: {record_type} {other['id']} has externalId "
                f"{eid}. Use PUT .../eid:{eid} to update it.",
                "DUP_RCRD",
                path="externalId",
            )

    def _build(
        self, record_type: str, body: dict[str, Any], existing: dict[str, Any] | None
    ) -> dict[str, Any]:
        body.pop("links", None)
        for name in ("externalId", "otherRefNum", "memo", "tranId"):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                raise NetSuiteError(
                    f"Invalid Field Value {body[name]} for the following field: {name}",
                    "INVALID_CONTENT",
                    path=name,
                )
        if record_type in ITEM_DOCUMENTS:
            rec = self._item_document(record_type, body)
        elif record_type == "customerPayment":
            rec = self._payment(body)
        elif record_type == "customerRefund":
            rec = self._refund(body)
        elif record_type == "journalEntry":
            rec = self._journal(body)
        else:
            rec = self._master(record_type, body)
        if record_type in TRANSACTIONS:
            if existing is not None and existing.get("tranId") and not body.get("tranId"):
                rec["tranId"] = existing["tranId"]
            if not rec.get("tranId"):
                prefix = TRANSACTIONS[record_type][1]
                n = self.next_tran.get(record_type, 10000) + 1
                self.next_tran[record_type] = n
                rec["tranId"] = f"{prefix}{n}"
        return rec

    def _header(self, body: dict[str, Any], entity_field: str) -> dict[str, Any]:
        if entity_field not in body:
            raise NetSuiteError(
                f"Please enter value(s) for: {entity_field}.", "USER_ERROR", path=entity_field
            )
        customer = self._need("customer", body[entity_field], entity_field)
        body[entity_field] = {"id": customer["id"]}
        body["tranDate"] = (
            _day(body["tranDate"], "tranDate").isoformat()
            if body.get("tranDate")
            else self.now().date().isoformat()
        )
        if body.get("location") is not None:
            body["location"] = {"id": self._need("location", body["location"], "location")["id"]}
        currency = body.get("currency") or customer.get("currency") or {"id": "1"}
        body["currency"] = {"id": self._need("currency", currency, "currency")["id"]}
        body.setdefault("exchangeRate", Decimal("1.0"))
        return customer

    def _item_document(self, record_type: str, body: dict[str, Any]) -> dict[str, Any]:
        self._header(body, "entity")
        lines = _sublist(body, "item")
        if not lines:
            raise NetSuiteError(
                "You must enter at least one line item for this transaction.",
                "USER_ERROR",
                path="item",
            )
        if body.get("createdFrom") is not None:
            src = self._need(REF_TARGETS["createdFrom"], body["createdFrom"], "createdFrom")
            body["createdFrom"] = {"id": src["id"]}
        if body.get("account") is not None:
            body["account"] = {"id": self._active_account(body["account"], "account")["id"]}
        subtotal = tax_total = Decimal("0.00")
        out = []
        for i, raw in enumerate(lines):
            where = f"item.items[{i}]"
            if "item" not in raw:
                raise NetSuiteError(
                    "Please enter value(s) for: Item.", "USER_ERROR", path=f"{where}.item"
                )
            item = self._need("inventoryItem", raw["item"], f"{where}.item")
            if "quantity" not in raw:
                raise NetSuiteError(
                    "Please enter value(s) for: Quantity.", "USER_ERROR", path=f"{where}.quantity"
                )
            qty = _dec(raw["quantity"], f"{where}.quantity")
            rate = (
                _dec(raw["rate"], f"{where}.rate")
                if raw.get("rate") is not None
                else Decimal(item.get("basePrice") or 0)
            )
            amount = (
                round2(_dec(raw["amount"], f"{where}.amount"))
                if raw.get("amount") is not None
                else round2(qty * rate)
            )
            tax_ref = raw.get("taxCode") or item.get("salesTaxCode")
            if tax_ref is None:
                raise NetSuiteError(
                    "Please enter value(s) for: Tax Code.", "USER_ERROR", path=f"{where}.taxCode"
                )
            tax = self._need("salesTaxItem", tax_ref, f"{where}.taxCode")
            tax_amt = (
                round2(_dec(raw["tax1Amt"], f"{where}.tax1Amt"))
                if raw.get("tax1Amt") is not None
                else round2(amount * Decimal(tax["rate"]) / 100)
            )
            line_loc = raw.get("location") or body.get("location")
            line = {
                **raw,
                "line": i + 1,
                "item": {"id": item["id"]},
                "quantity": qty,
                "rate": rate,
                "amount": amount,
                "taxCode": {"id": tax["id"]},
                "taxRate1": Decimal(tax["rate"]),
                "tax1Amt": tax_amt,
                "grossAmt": amount + tax_amt,
                "description": str(raw.get("description") or item.get("displayName") or ""),
            }
            if line_loc is not None:
                line["location"] = {
                    "id": self._need("location", line_loc, f"{where}.location")["id"]
                }
            out.append(line)
            subtotal += amount
            tax_total += tax_amt
        total = subtotal + tax_total
        body["item"] = {"items": out}
        body.update({"subtotal": subtotal, "taxTotal": tax_total, "total": total})
        if record_type == "invoice":
            body.update(
                {"status": {"id": "A"}, "amountPaid": Decimal("0.00"), "amountRemaining": total}
            )
        elif record_type == "creditMemo":
            body.update({"status": {"id": "A"}, "applied": Decimal("0.00"), "unapplied": total})
        else:
            body["status"] = {"id": next(iter(STATUS_NAMES[record_type]))}
        return body

    def _apply(self, body: dict[str, Any], targets: tuple[str, ...]) -> Decimal:
        lines = _sublist(body, "apply") or []
        applied = Decimal("0.00")
        out = []
        for i, raw in enumerate(lines):
            where = f"apply.items[{i}]"
            doc = self._need(targets, raw.get("doc"), f"{where}.doc")
            amount = _dec(raw.get("amount", 0), f"{where}.amount")
            on = raw.get("apply", True) is not False
            if on:
                applied += amount
            out.append({**raw, "doc": {"id": doc["id"]}, "apply": on, "amount": amount})
        if lines:
            body["apply"] = {"items": out}
        return applied

    def _money_account(self, body: dict[str, Any]) -> None:
        if body.get("account") is not None:
            body["account"] = {"id": self._active_account(body["account"], "account")["id"]}
            body["undepFunds"] = False
        elif body.get("undepFunds") is True:
            body["account"] = None
        else:
            raise NetSuiteError("Please enter value(s) for: Account.", "USER_ERROR", path="account")

    def _payment(self, body: dict[str, Any]) -> dict[str, Any]:
        self._header(body, "customer")
        self._money_account(body)
        if body.get("payment") is None:
            raise NetSuiteError("Please enter value(s) for: Payment Amount.", path="payment")
        payment = round2(_dec(body["payment"], "payment"))
        if payment <= 0:
            raise NetSuiteError(
                "The payment amount must be greater than zero.", "INVALID_CONTENT", path="payment"
            )
        applied = self._apply(body, ("invoice",))
        body.update(
            {
                "payment": payment,
                "total": payment,
                "applied": applied,
                "unapplied": payment - applied,
                "status": {"id": "B" if body.get("undepFunds") else "C"},
            }
        )
        return body

    def _refund(self, body: dict[str, Any]) -> dict[str, Any]:
        self._header(body, "customer")
        self._money_account(body)
        applied = self._apply(body, ("creditMemo",))
        total = round2(_dec(body["total"], "total")) if body.get("total") is not None else applied
        if total <= 0:
            raise NetSuiteError(
                "The refund amount must be greater than zero: send total or apply lines.",
                "INVALID_CONTENT",
                path="total",
            )
        body.update({"total": total, "status": {"id": "B"}})
        return body

    def _journal(self, body: dict[str, Any]) -> dict[str, Any]:
        body["tranDate"] = (
            _day(body["tranDate"], "tranDate").isoformat()
            if body.get("tranDate")
            else self.now().date().isoformat()
        )
        currency = body.get("currency") or {"id": "1"}
        body["currency"] = {"id": self._need("currency", currency, "currency")["id"]}
        lines = _sublist(body, "line")
        if not lines or len(lines) < 2:
            raise NetSuiteError(
                "A journal entry needs at least two lines.", "USER_ERROR", path="line"
            )
        debit_total = credit_total = Decimal("0.00")
        out = []
        for i, raw in enumerate(lines):
            where = f"line.items[{i}]"
            acct = self._active_account(raw.get("account"), f"{where}.account")
            debit = round2(_dec(raw["debit"], f"{where}.debit")) if raw.get("debit") else None
            credit = round2(_dec(raw["credit"], f"{where}.credit")) if raw.get("credit") else None
            if (debit is None) == (credit is None) or (debit or credit or 0) < 0:
                raise NetSuiteError(
                    "Each journal line needs one positive debit or credit amount.",
                    "INVALID_CONTENT",
                    path=where,
                )
            line = {**raw, "line": i, "account": {"id": acct["id"]}}
            line["debit"], line["credit"] = debit, credit
            for ref in ("location", "entity"):
                if raw.get(ref) is not None:
                    target = REF_TARGETS[ref]
                    line[ref] = {"id": self._need(target, raw[ref], f"{where}.{ref}")["id"]}
            if raw.get("taxCode") is not None:
                line["taxCode"] = {
                    "id": self._need("salesTaxItem", raw["taxCode"], f"{where}.taxCode")["id"]
                }
            debit_total += debit or 0
            credit_total += credit or 0
            out.append(line)
        if debit_total != credit_total:
            raise NetSuiteError(
                f"The transaction is not in balance: debits {debit_total}, credits {credit_total}.",
                "USER_ERROR",
                path="line",
            )
        body["line"] = {"items": out}
        body.update({"total": debit_total, "approved": body.get("approved", True)})
        body["status"] = {"id": "B"}
        return body

    def _master(self, record_type: str, body: dict[str, Any]) -> dict[str, Any]:
        required = {
            "customer": "entityId",
            "inventoryItem": "itemId",
            "location": "name",
            "account": "acctNumber",
        }[record_type]
        if not isinstance(body.get(required), str) or not body[required]:
            raise NetSuiteError(f"Please enter value(s) for: {required}.", path=required)
        body.setdefault("isInactive", False)
        if record_type == "inventoryItem":
            body.setdefault("locations", {"items": []})
        return body

    # -- SuiteQL copy ------------------------------------------------------------------------
    _sql: sqlite3.Connection | None = field(default=None, init=False, repr=False)
    _sql_version: int = field(default=-1, init=False, repr=False)

    def sql(self) -> sqlite3.Connection:
        """An SQLite copy of the account for SuiteQL, rebuilt after any write."""
        with self.lock:
            if self._sql is None or self._sql_version != self.version:
                if self._sql is not None:
                    self._sql.close()
                self._sql = _build_sql(self)
                self._sql_version = self.version
            return self._sql


# --------------------------------------------------------------------- SuiteQL tables
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


# --------------------------------------------------------------------- middleware
class _ErrorShape:
    """Gives every JSON error answer (e.g. an injected fault) NetSuite's error body and drops
    `Retry-After`, which NetSuite does not document. Bodies already in NetSuite shape and
    non-JSON answers (HTML pages) pass unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        rewrite = False
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            # The start is held until the body comes, so a connection dropped in between
            # (fault `drop_after_commit`) loses even a bodiless 204 and its Location.
            nonlocal start, rewrite
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                is_json = b"json" in headers.get(b"content-type", b"")
                start, rewrite = message, message["status"] >= 400 and is_json
            elif message["type"] == "http.response.body" and start is not None and rewrite:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._rewrite(send, start, b"".join(chunks))
            elif message["type"] == "http.response.body" and start is not None:
                await send(start)
                start = None
                await send(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, wrapped)
        except ConnectionDropped:
            if start is not None:  # promise a body that never comes: the client sees a cut
                cut = [(b"content-type", b"application/json"), (b"content-length", b"1")]
                await send({"type": "http.response.start", "status": 200, "headers": cut})
            raise

    @staticmethod
    async def _rewrite(send: Send, start: Message, body: bytes) -> None:
        status = int(start["status"])
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not (isinstance(data, dict) and "o:errorDetails" in data):
            text = ""
            if isinstance(data, dict):
                text = str(data.get("message") or data.get("errortext") or "")
            code = {429: "CONCURRENCY_LIMIT_EXCEEDED"}.get(status, "UNEXPECTED_ERROR")
            if status == 400 and ("in use" in text or "locked" in text):
                code, text = "RCRD_HAS_BEEN_CHANGED", LOCK_DETAIL
            elif status == 429:
                text = CONCURRENCY_DETAIL
            body = json.dumps(
                error_body(status, text or TITLES.get(status, "Error"), code)
            ).encode()
        skip = (b"content-length", b"retry-after")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in skip]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _ConcurrencyLimit:
    """Account-wide concurrency governance: above `state.concurrency_limit` requests in
    flight, answer 429 (reference section 3: status inferred)."""

    def __init__(self, app: ASGIApp, state: NetSuiteState) -> None:
        self.app = app
        self.state = state
        self.in_flight = 0
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.state.concurrency_limit
        if scope["type"] != "http" or limit is None:
            await self.app(scope, receive, send)
            return
        with self._lock:
            refused = self.in_flight >= limit
            if not refused:
                self.in_flight += 1
        if refused:
            await _error(NetSuiteError(CONCURRENCY_DETAIL, "CONCURRENCY_LIMIT_EXCEEDED", 429))(
                scope, receive, send
            )
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                self.in_flight -= 1


# --------------------------------------------------------------------- app
def _record_type(name: str) -> str:
    canonical = ALIASES.get(name, name)
    if canonical not in RECORD_TYPES:
        raise NetSuiteError(f"Record type '{name}' does not exist.", "NONEXISTENT_ID", 404)
    return canonical


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise NetSuiteError(
            f"Invalid value {raw} for query parameter {name}: use a whole number between "
            f"{low} and {high}.",
            "INVALID_PARAMETER",
            query_param=name,
        )
    return value


def _page(request: Request, rows: list[Any], path: str) -> tuple[dict[str, Any], list[Any]]:
    limit = _int_param(request, "limit", MAX_LIMIT, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, MAX_QUERY_ROWS)
    if offset + limit > MAX_QUERY_ROWS:
        raise NetSuiteError(
            f"Invalid value for query parameter offset: at most the first {MAX_QUERY_ROWS} "
            "results of a query can be paged (offset + limit); narrow the query.",
            "INVALID_PARAMETER",
            query_param="offset",
        )
    if offset % limit:
        raise NetSuiteError(
            "Invalid value for query parameter offset: the offset must be a multiple of the limit.",
            "INVALID_PARAMETER",
            query_param="offset",
        )
    page = rows[offset : offset + limit]
    has_more = offset + len(page) < len(rows)
    keep = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}

    def href(off: int) -> str:
        params = "&".join(
            [f"{k}={v}" for k, v in keep.items()] + [f"limit={limit}", f"offset={off}"]
        )
        return f"{str(request.base_url).rstrip('/')}{path}?{params}"

    links = [{"rel": "self", "href": href(offset)}]
    if has_more:
        links.append({"rel": "next", "href": href(offset + limit)})
    if offset > 0:
        links.append({"rel": "previous", "href": href(max(0, offset - limit))})
    links.append({"rel": "first", "href": href(0)})
    last = max(0, (len(rows) - 1) // limit * limit)
    links.append({"rel": "last", "href": href(last)})
    envelope = {
        "links": links,
        "count": len(page),
        "hasMore": has_more,
        "offset": offset,
        "totalResults": len(rows),
    }
    return envelope, page


def create_app(
    state: NetSuiteState, creds: NetSuiteCredentials, faults: Faults | None = None
) -> ASGIApp:
    """The ASGI app serving `state` under `/services/rest/...`."""

    def root(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def check(request: Request) -> None:
        if request.headers.get("authorization", "") != f"Bearer {creds.token}":
            raise NetSuiteError(INVALID_LOGIN, "INVALID_LOGIN", 401)

    def record_href(request: Request, record_type: str, rid: str) -> str:
        return f"{root(request)}{RECORD_PATH}/{record_type}/{rid}"

    def ref_name(field_name: str, rid: str) -> str | None:
        for rtype in REF_TARGETS.get(field_name, ()):
            rec = state.get(rtype, rid)
            if rec is None:
                continue
            if rtype == "customer":
                return f"{rec['entityId']} {rec.get('companyName', '')}".strip()
            if rtype == "account":
                return f"{rec['acctNumber']} {rec.get('acctName', '')}".strip()
            if rtype in TRANSACTIONS:
                return f"{rtype} #{rec.get('tranId', rid)}"
            return str(rec.get("name") or rec.get("itemId") or rec.get("symbol") or rid)
        return None

    def render_value(request: Request, key: str, value: Any, simple_enum: bool) -> Any:
        if isinstance(value, dict) and set(value) <= {"id", "refName"} and "id" in value:
            rid = str(value["id"])
            if key in ("status", "acctType", "itemType"):
                if simple_enum:
                    return rid
                names = STATUS_NAMES.get(request.path_params["type"], {})
                return {"id": rid, "refName": names.get(rid, rid)}
            out: dict[str, Any] = {"id": rid}
            name = ref_name(key, rid)
            if name is not None:
                out["refName"] = name
            targets = REF_TARGETS.get(key)
            if targets:
                out["links"] = [{"rel": "self", "href": record_href(request, targets[0], rid)}]
            return out
        return value

    def render(
        request: Request, record_type: str, rec: dict[str, Any], expand: bool
    ) -> dict[str, Any]:
        simple_enum = request.query_params.get("simpleEnumFormat", "").lower() == "true"
        rid = rec["id"]
        out: dict[str, Any] = {
            "links": [{"rel": "self", "href": record_href(request, record_type, rid)}]
        }
        for key, value in rec.items():
            if value is None:
                continue
            if isinstance(value, dict) and "items" in value:
                link = [{"rel": "self", "href": f"{record_href(request, record_type, rid)}/{key}"}]
                if not expand:
                    out[key] = {"links": link}
                    continue
                lines = [
                    {
                        "links": [],
                        **{
                            k: render_value(request, k, v, simple_enum)
                            for k, v in ln.items()
                            if v is not None
                        },
                    }
                    for ln in value["items"]
                ]
                out[key] = {
                    "links": link,
                    "count": len(lines),
                    "hasMore": False,
                    "items": lines,
                    "offset": 0,
                    "totalResults": len(lines),
                }
            else:
                out[key] = render_value(request, key, value, simple_enum)
        fields = request.query_params.get("fields")
        if fields:
            keep = {f.strip() for f in fields.split(",")} | {"links", "id"}
            for name in sorted(keep):
                if not _known(name, FIELDS[record_type]):
                    raise _field_error(name, record_type, query_param="fields")
            out = {k: v for k, v in out.items() if k in keep}
        return out

    def locate(record_type: str, key: str) -> dict[str, Any]:
        if key.startswith("eid:"):
            rec = state.by_external_id(record_type, key[4:])
        elif key.isdigit():
            rec = state.get(record_type, key)
        else:
            raise NetSuiteError(
                f"Invalid record instance id {key}: use digits or eid:{{externalId}}.",
                "INVALID_ID",
                404,
            )
        if rec is None:
            raise NetSuiteError(NOT_FOUND, "NONEXISTENT_ID", 404)
        return rec

    async def record_body(request: Request, record_type: str) -> dict[str, Any]:
        """The body, its unknown fields refused (or, as the request's
        X-NetSuite-PropertyNameValidation asks, dropped: Ignore, or Warning)."""
        body = await body_of(request)
        unknown = unknown_fields(record_type, body)
        mode = request.headers.get("x-netsuite-propertynamevalidation", "Error").lower()
        if unknown and mode not in ("warning", "ignore"):
            raise _field_error(unknown[0], record_type)
        for path in unknown:
            parts = re.fullmatch(r"(\w+)\.items\[(\d+)\]\.(\w+)", path)
            if parts is None:
                body.pop(path, None)
            else:
                body[parts[1]]["items"][int(parts[2])].pop(parts[3], None)
        return body

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise NetSuiteError("The request body is not valid JSON.", "INVALID_CONTENT") from None
        if not isinstance(body, dict):
            raise NetSuiteError("The request body must be a JSON object.", "INVALID_CONTENT")
        return body

    def endpoint(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def wrapped(request: Request) -> Response:
            try:
                check(request)
                result: Response = await handler(request)
                return result
            except NetSuiteError as exc:
                return _error(exc)

        return wrapped

    async def collection(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        q = request.query_params.get("q")
        pred = parse_q(q, record_type) if q else None
        with state.lock:
            recs = sorted(state.table(record_type).values(), key=lambda r: int(r["id"]))
            ids = [r["id"] for r in recs if pred is None or pred(r)]
        envelope, page = _page(request, ids, f"{RECORD_PATH}/{request.path_params['type']}")
        envelope["items"] = [
            {"links": [{"rel": "self", "href": record_href(request, record_type, i)}], "id": i}
            for i in page
        ]
        return json_response(envelope)

    async def single(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        expand = request.query_params.get("expandSubResources", "").lower() == "true"
        with state.lock:
            rec = locate(record_type, request.path_params["key"])
            return json_response(render(request, record_type, rec, expand))

    async def sublist(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        name = request.path_params["sublist"]
        with state.lock:
            rec = locate(record_type, request.path_params["key"])
            rendered = render(request, record_type, rec, True)
        value = rendered.get(name)
        if not isinstance(value, dict) or "items" not in value:
            raise NetSuiteError(f"The sublist {name} does not exist.", "NONEXISTENT_ID", 404)
        return json_response(value)

    def written(request: Request, record_type: str, rec: dict[str, Any]) -> Response:
        return Response(
            status_code=204,
            headers={"Location": record_href(request, request.path_params["type"], rec["id"])},
        )

    async def create(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        body = await record_body(request, record_type)
        return written(request, record_type, state.create(record_type, body))

    async def put(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        key = request.path_params["key"]
        if not key.startswith("eid:") or len(key) < 5:
            raise NetSuiteError(
                "PUT is the upsert operation: address the record as eid:{externalId}.",
                "INVALID_REQUEST",
                405,
            )
        body = await record_body(request, record_type)
        return written(request, record_type, state.upsert(record_type, key[4:], body))

    async def patch(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        body = await record_body(request, record_type)
        with state.lock:
            rec = locate(record_type, request.path_params["key"])
            state.update(record_type, rec["id"], body)
        return Response(status_code=204)

    async def delete(request: Request) -> Response:
        record_type = _record_type(request.path_params["type"])
        with state.lock:
            rec = locate(record_type, request.path_params["key"])
            state.delete(record_type, rec["id"])
        return Response(status_code=204)

    async def suiteql(request: Request) -> Response:
        if "transient" not in request.headers.get("prefer", "").lower():
            raise NetSuiteError(
                "SuiteQL requests need the header Prefer: transient.",
                "INVALID_HEADER",
                path=None,
            )
        body = await body_of(request)
        query = body.get("q")
        if not isinstance(query, str) or not query.strip():
            raise NetSuiteError('The body must be {"q": "<SuiteQL query>"}.', "INVALID_CONTENT")
        names, rows = run_suiteql(state, query)
        envelope, page = _page(request, rows, QUERY_PATH)
        envelope["items"] = [{"links": [], **suiteql_row(names, row)} for row in page]
        return json_response(envelope)

    async def server_time(request: Request) -> Response:
        stamp = state.clock.now()
        text = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
        return json_response({"serverTime": text})

    async def not_found(request: Request) -> Response:
        raise NetSuiteError(
            f"The requested resource {request.url.path} does not exist.", "NONEXISTENT_ID", 404
        )

    r = RECORD_PATH
    routes = [
        Route(TIME_PATH, endpoint(server_time), methods=["GET"]),
        Route(QUERY_PATH, endpoint(suiteql), methods=["POST"]),
        Route(r + "/{type}", endpoint(collection), methods=["GET"]),
        Route(r + "/{type}", endpoint(create), methods=["POST"]),
        Route(r + "/{type}/{key}", endpoint(single), methods=["GET"]),
        Route(r + "/{type}/{key}", endpoint(put), methods=["PUT"]),
        Route(r + "/{type}/{key}", endpoint(patch), methods=["PATCH"]),
        Route(r + "/{type}/{key}", endpoint(delete), methods=["DELETE"]),
        Route(r + "/{type}/{key}/{sublist}", endpoint(sublist), methods=["GET"]),
        Route(
            "/{path:path}", endpoint(not_found), methods=["GET", "POST", "PUT", "DELETE", "PATCH"]
        ),
    ]
    app = Starlette(routes=routes)
    if faults is not None:
        # Faults speak the Sage body shape; _ErrorShape turns them into NetSuite's.
        app.add_middleware(FaultMiddleware, faults=faults, vendor="sage200")
    app.add_middleware(_ConcurrencyLimit, state=state)
    # Outside Starlette's own error handler, so a dropped connection stays dropped.
    return _ErrorShape(app)


# --------------------------------------------------------------------- scenario seeding
_TAX_NAMES = {Decimal("20"): "S-GB", Decimal("5"): "R-GB", Decimal("0"): "Z-GB"}
_ACCT_TYPES = {"1100": "AcctRec", "2200": "OthCurrLiab"}
_RECEIPT = "TradingAccountEntryTypePurchasePaymentSalesReceipt"
_PAYMENT = "TradingAccountEntryTypePurchaseReceiptSalesPayment"
_CREDIT_NOTE = "TradingAccountEntryTypeCreditNote"


def _acct_type(number: str, banks: set[str]) -> str:
    if number in banks:
        return "Bank"
    if number in _ACCT_TYPES:
        return _ACCT_TYPES[number]
    return "Income" if number.startswith("4") else "OthCurrAsset"


def seed_from_scenario(scenario: Scenario) -> NetSuiteState:
    """The NetSuite account that matches `scenario` (see docs/simulators.md "NetSuite").

    Internal ids are the Sage ids: location = Sage warehouse id, inventory item = Sage
    product id, customer = Sage customer id, tax code (salesTaxItem) = Sage tax code id,
    account = Sage nominal code id (acctNumber = the nominal / bank code). Planted documents
    come from the Sage SOP orders: the first per `customer_document_no` is an invoice with
    `externalId` and `otherRefNum` = the POS order id, a second one only `otherRefNum`; each
    keeps the Sage `document_no` as `tranId`, so `scenario.truth` holds unchanged. Sage
    sales receipts become customer payments with `externalId` `{order id}-{n}`.
    """
    sage = scenario.sage200
    state = NetSuiteState()
    with sage.lock:
        first_stamp = min(
            (_parse_instant(c["date_time_created"]) for c in sage.customers),
            default=datetime(2024, 1, 1, tzinfo=UTC),
        )
        state.frozen_now = first_stamp
        state.add_currency("1", "GBP", "British pound")
        state.add_currency("4", "EUR", "Euro")
        banks = {b["code"] for b in sage.banks}
        by_number: dict[str, str] = {}
        for n in sage.nominal_codes:
            number = str(n["reference"])
            active = n["account_status_type"] == "AccountStatusActive"
            state.add_account(
                str(n["id"]), number, n["name"], _acct_type(number, banks), not active
            )
            by_number[number] = str(n["id"])
        for b in sage.banks:
            if b["code"] not in by_number:
                active = b["account_status_type"] == "AccountStatusActive"
                state.add_account(str(b["id"]), b["code"], b["description"], "Bank", not active)
                by_number[b["code"]] = str(b["id"])
        for c in sage.customers:
            state.add_customer(str(c["id"]), c["reference"], c["name"])
        for t in sage.tax_codes:
            rate = Decimal(str(t["tax_rate"]))
            name = _TAX_NAMES.get(rate.normalize() if rate else Decimal("0"), f"VAT-{t['code']}")
            state.add_tax_code(str(t["id"]), name, rate, by_number.get("2200"))
        for w in sage.warehouses:
            state.add_location(str(w["id"]), w["name"])
        prices = {v["product_id"]: Decimal(str(v["product_price_price"])) for v in sage.price_views}
        for p in sage.products:
            state.add_item(
                str(p["id"]),
                p["code"],
                p["name"],
                str(p["tax_code_id"]),
                prices.get(p["id"], Decimal("0.00")),
                p["product_status_type"] == "EnumStockItemStatusTypeActive",
                by_number.get("4000"),
            )
        for h in sage.holdings:
            state.set_stock(
                str(h["product_id"]),
                str(h["warehouse_id"]),
                Decimal(str(h["quantity_in_stock"])),
                Decimal(str(h["quantity_allocated"])),
            )
        seen: set[str] = set()
        for order in sorted(sage.sop_orders, key=lambda o: o["id"]):
            state.frozen_now = _parse_instant(order["date_time_created"])
            cdn = str(order["customer_document_no"])
            lines = order["lines"]
            body: dict[str, Any] = {
                "entity": {"id": str(order["customer_id"])},
                "tranId": order["document_no"],
                "tranDate": str(order["document_date"])[:10],
                "otherRefNum": cdn,
                "location": {"id": str(lines[0]["warehouse_id"])},
                "memo": "keyed by hand",
                "item": {
                    "items": [
                        {
                            "item": {"id": str(ln["product_id"])},
                            "quantity": Decimal(str(ln["line_quantity"])),
                            "rate": Decimal(str(ln["selling_unit_price"])),
                            "taxCode": {"id": str(ln["tax_code_id"])},
                            "location": {"id": str(ln["warehouse_id"])},
                        }
                        for ln in lines
                    ]
                },
            }
            if cdn not in seen:
                body["externalId"] = cdn
                seen.add(cdn)
            state.create("invoice", body)
        numbers: dict[str, int] = {}
        for tx in sorted(sage.sales_posted, key=lambda t: t["id"]):
            state.frozen_now = _parse_instant(tx["date_time_created"])
            kind = tx["trader_transaction_type"]
            if kind == _CREDIT_NOTE:
                _seed_credit_memo(state, tx)
                continue
            if kind not in (_RECEIPT, _PAYMENT):
                continue
            ref = str(tx["reference"])
            numbers[ref] = numbers.get(ref, 0) + 1
            bank = tx["bank_items"][0]["bank_code"] if tx["bank_items"] else None
            amount = abs(Decimal(str(tx["document_gross_value"])))
            body = {
                "customer": {"id": str(tx["customer_id"])},
                "externalId": f"{ref}-{numbers[ref]}",
                "tranDate": str(tx["transaction_date"])[:10],
                "account": {"id": by_number[bank]} if bank else None,
                "undepFunds": bank is None,
                "memo": str(tx["second_reference"]),
            }
            if kind == _RECEIPT:
                state.create("customerPayment", {**body, "payment": amount})
            else:
                state.create("customerRefund", {**body, "total": amount})
        state.frozen_now = None
    return state


def _seed_credit_memo(state: NetSuiteState, tx: dict[str, Any]) -> None:
    """A Sage ledger credit note as a credit memo keyed by hand: `tranId` = the Sage URN,
    `otherRefNum` = its reference, no `createdFrom`; one line per tax code (goods as the
    amount, the Sage tax as `tax1Amt`) on the first item with that tax code."""
    lines = []
    for t in tx["tax_analysis_items"]:
        code = str(t["id"])
        item = next(
            (i for i in state.table("inventoryItem").values() if i["salesTaxCode"]["id"] == code),
            None,
        )
        if item is None:
            continue
        goods = abs(Decimal(str(t["goods_amount"])))
        lines.append(
            {
                "item": {"id": item["id"]},
                "quantity": Decimal(1),
                "rate": goods,
                "taxCode": {"id": code},
                "tax1Amt": abs(Decimal(str(t["tax_amount"]))),
                "description": "Return keyed by hand",
            }
        )
    if lines:
        state.create(
            "creditMemo",
            {
                "entity": {"id": str(tx["customer_id"])},
                "tranId": str(tx["urn"]),
                "tranDate": str(tx["transaction_date"])[:10],
                "otherRefNum": str(tx["reference"]),
                "memo": f"return of POS order {tx['second_reference']}",
                "item": {"items": lines},
            },
        )


def mappings_toml(scenario: Scenario, state: NetSuiteState) -> str:
    """The scenario's mappings file with NetSuite values (CONTRACT mapping table): store ->
    location internal id, VAT rate -> tax code internal id; tender accounts (acctNumber),
    the VAT account and the guest customer (entityId) keep their codes."""
    doc = tomllib.loads(scenario.mappings_toml)
    loc_ids = {rec["name"]: rec["id"] for rec in state.table("location").values()}
    sage_tax = {str(t["code"]): str(t["id"]) for t in scenario.sage200.tax_codes}
    out = ["[stores]            # Sitoo store id -> NetSuite location internal id"]
    for store, value in doc.get("stores", {}).items():
        if isinstance(value, str):
            out.append(f'"{store}" = "{loc_ids[value]}"')
        else:
            loc, tz = loc_ids[value["location"]], value["timezone"]
            out.append(f'"{store}" = {{ location = "{loc}", timezone = "{tz}" }}')
    out += ["", "[tenders]           # Sitoo payment name -> NetSuite account number"]
    out += [f'"{t}" = "{a}"' for t, a in doc.get("tenders", {}).items()]
    out += ["", "[tax]               # POS VAT rate -> NetSuite tax code internal id, account"]
    for rate, value in doc.get("tax", {}).items():
        out.append(
            f'"{rate}" = {{ code = "{sage_tax[value["code"]]}", account = "{value["account"]}" }}'
        )
    out += ["", "[settings]"]
    out += [f'{k} = "{v}"' for k, v in doc.get("settings", {}).items()]
    out.append("")
    return "\n".join(out)
