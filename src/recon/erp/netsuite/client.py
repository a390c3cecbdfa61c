"""Typed client for NetSuite SuiteTalk REST: record service and SuiteQL (bearer token).

Knows the record JSON conventions (`{"id"}` references, `{"items": [...]}` sublists,
`expandSubResources`), collection paging (`limit`/`offset`, `hasMore`, at most 1000 a page),
`q` filters, creates that answer 204 with the new record's URL in `Location`, upserts and
reads by `eid:{externalId}`, SuiteQL paging with `Prefer: transient` (whole tables by
key: the query again for the rows after the last key read), and NetSuite's
`o:errorDetails` error body. It must not decide what to post or how to map POS data (the
sync workers do), and must not store anything. `base_url` is the root before `/services`.

SuiteQL returns every value as a string and leaves null columns out; `transactionline`
amounts carry the opposite sign of the document (sales lines are negative). The typed row
models here parse the strings but keep the vendor's signs: the collectors normalise them.

Over 600 lines, kept as one module because it holds one concern: the NetSuite REST and SuiteQL
client and its payload models.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar, overload

import httpx
from pydantic import BeforeValidator, ConfigDict, Field

from recon.clients._base import VendorClient
from recon.clients._http import Fetched, HttpCore, validate_record
from recon.clients._paging import KeyPaginator, OffsetPaginator, Window
from recon.clients._types import (
    Day,
    Money,
    OptDecimal,
    Quantity,
    Text,
    UtcDateTime,
    VatRate,
    VendorModel,
)
from recon.clients.errors import MalformedResponse, NotFoundError, RateLimited, RecordLocked

__all__ = [
    "ApplyLine",
    "ItemLocation",
    "JournalLine",
    "NetSuiteAccount",
    "NetSuiteClient",
    "NetSuiteCreditMemo",
    "NetSuiteCustomer",
    "NetSuiteCustomerPayment",
    "NetSuiteCustomerRefund",
    "NetSuiteInventoryItem",
    "NetSuiteInvoice",
    "NetSuiteItemLine",
    "NetSuiteJournalEntry",
    "NetSuiteLocation",
    "NetSuiteTaxCode",
    "Ref",
    "StockRow",
    "SuiteQLRow",
    "TransactionLineRow",
    "TransactionRow",
    "ns_date",
    "suiteql_string",
]

M = TypeVar("M", bound=VendorModel)
log = logging.getLogger("recon.http")
MAX_LIMIT = 1000
MAX_QUERY_ROWS = 100_000  # results of one query that offset paging reaches (reference 2)
RECORD = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"
SERVER_TIME = "/services/rest/system/v1/serverTime"

# transaction.type codes per record type (reference section 2)
TYPE_CODES = {
    "invoice": "CustInvc",
    "creditMemo": "CustCred",
    "customerPayment": "CustPymt",
    "customerRefund": "CustRfnd",
    "journalEntry": "Journal",
    "cashSale": "CashSale",
    "cashRefund": "CashRfnd",
    "salesOrder": "SalesOrd",
}
# 400s that mean "try again" rather than "fix the data" (reference section 3)
_TRANSIENT_CODES = {"RCRD_HAS_BEEN_CHANGED"}
_LIMIT_CODES = {"SSS_REQUEST_LIMIT_EXCEEDED", "CONCURRENCY_LIMIT_EXCEEDED"}


# --------------------------------------------------------------------- wire values
def _ref(value: Any) -> Any:
    """A reference `{"id": "42", "refName": ...}`; a bare id (simpleEnumFormat) is accepted."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return {"id": str(value)}
    return value


def _sublist(value: Any) -> Any:
    """`{"items": [...]}` -> the list; an unexpanded sublist (links only) -> []."""
    if value is None:
        return []
    if isinstance(value, dict):
        items = value.get("items")
        return [] if items is None else items
    return value


def ns_date(value: Any) -> Any:
    """A NetSuite date: `2024-06-01` (records), `6/1/2024` (SuiteQL), or a date-time."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        m = re.match(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if m:
            return date(int(m[3]), int(m[1]), int(m[2]))
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            raise ValueError(f"not a date: {value!r}") from None
    return value


def _ns_instant(value: Any) -> Any:
    """A date-time: ISO (records), or SuiteQL text `6/1/2024`, `6/1/2024 9:15 am`,
    `2024-06-01 09:15:00`; values without an offset are UTC."""
    if isinstance(value, str):
        text = value.strip()
        m = re.fullmatch(
            r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]m)?)?",
            text,
            re.I,
        )
        if m:
            hour = int(m[4] or 0)
            if m[7]:
                hour = hour % 12 + (12 if m[7].lower() == "pm" else 0)
            return datetime(
                int(m[3]), int(m[1]), int(m[2]), hour, int(m[5] or 0), int(m[6] or 0), tzinfo=UTC
            )
        if text.endswith("Z"):
            value = text[:-1] + "+00:00"
    return value


NsDate = Annotated[Day, BeforeValidator(ns_date)]
NsInstant = Annotated[UtcDateTime, BeforeValidator(_ns_instant)]


def _bool(value: Any) -> Any:
    """SuiteQL booleans are "T"/"F"."""
    if isinstance(value, str) and value in ("T", "F"):
        return value == "T"
    return value


TFBool = Annotated[bool | None, BeforeValidator(_bool)]


def suiteql_string(value: str) -> str:
    """A quoted SuiteQL string literal (`'O''Brien'`)."""
    return "'" + value.replace("'", "''") + "'"


def _to_date_sql(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("a NetSuite timestamp filter needs a UTC-aware datetime")
    text = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"TO_DATE('{text}', 'YYYY-MM-DD HH24:MI:SS')"


# --------------------------------------------------------------------- models
class Ref(VendorModel):
    """A reference to another record (`refName` is its display text, when sent)."""

    id: Text
    refName: Text | None = None


RefField = Annotated[Ref | None, BeforeValidator(_ref)]


class NetSuiteItemLine(VendorModel):
    """An `item` sublist line of an invoice / credit memo (legacy tax: `taxCode` per line)."""

    line: int | None = None
    item: RefField = None
    quantity: Quantity = None
    rate: Money = None
    amount: Money = None
    tax1Amt: Money = None
    grossAmt: Money = None
    taxRate1: VatRate = None
    taxCode: RefField = None
    location: RefField = None
    description: Text | None = None


class ApplyLine(VendorModel):
    doc: RefField = None
    apply: bool | None = None
    amount: Money = None


class JournalLine(VendorModel):
    line: int | None = None
    account: RefField = None
    debit: Money = None
    credit: Money = None
    memo: Text | None = None
    entity: RefField = None
    location: RefField = None
    taxCode: RefField = None


class _Transaction(VendorModel):
    id: Text
    externalId: Text | None = None
    tranId: Text | None = None
    tranDate: NsDate = None
    memo: Text | None = None
    currency: RefField = None
    exchangeRate: OptDecimal = None
    status: RefField = None
    total: Money = None
    createdDate: NsInstant = None
    lastModifiedDate: NsInstant = None

    @property
    def pos_ref(self) -> str | None:
        """The POS order id: `externalId`, else `otherRefNum` (CONTRACT)."""
        other = getattr(self, "otherRefNum", None)
        return self.externalId or (other if isinstance(other, str) and other else None)


class NetSuiteInvoice(_Transaction):
    """A sale per order: `externalId` and `otherRefNum` = POS order id."""

    entity: RefField = None
    location: RefField = None
    otherRefNum: Text | None = None
    subtotal: Money = None
    taxTotal: Money = None
    amountPaid: Money = None
    amountRemaining: Money = None
    item: Annotated[list[NetSuiteItemLine], BeforeValidator(_sublist)] = Field(default_factory=list)


class NetSuiteCreditMemo(NetSuiteInvoice):
    """A refund: `createdFrom` = the original invoice's internal id."""

    createdFrom: RefField = None
    applied: Money = None
    unapplied: Money = None


class NetSuiteCustomerPayment(_Transaction):
    """One POS payment: `externalId` = `{order id}-{payment no}`, `account` = mapped account."""

    customer: RefField = None
    account: RefField = None
    payment: Money = None
    undepFunds: bool | None = None
    applied: Money = None
    unapplied: Money = None
    apply: Annotated[list[ApplyLine], BeforeValidator(_sublist)] = Field(default_factory=list)


class NetSuiteCustomerRefund(_Transaction):
    """Money paid back for a POS refund tender (same ids as a customer payment)."""

    customer: RefField = None
    account: RefField = None
    apply: Annotated[list[ApplyLine], BeforeValidator(_sublist)] = Field(default_factory=list)


class NetSuiteJournalEntry(_Transaction):
    """Daily journal mode: `externalId` = `{store id}-{YYYY-MM-DD}`."""

    subsidiary: RefField = None
    approved: bool | None = None
    line: Annotated[list[JournalLine], BeforeValidator(_sublist)] = Field(default_factory=list)


class NetSuiteCustomer(VendorModel):
    id: Text
    entityId: Text | None = None
    companyName: Text | None = None
    email: Text | None = None
    isInactive: bool | None = None
    externalId: Text | None = None
    currency: RefField = None


class ItemLocation(VendorModel):
    location: RefField = None
    quantityOnHand: Quantity = None
    quantityAvailable: Quantity = None
    quantityCommitted: Quantity = None


class NetSuiteInventoryItem(VendorModel):
    """`itemId` is the SKU; `basePrice` is the net master price (legacy tax)."""

    id: Text
    itemId: Text | None = None
    displayName: Text | None = None
    upcCode: Text | None = None
    isInactive: bool | None = None
    basePrice: Money = None
    salesTaxCode: RefField = None
    externalId: Text | None = None
    lastModifiedDate: NsInstant = None
    locations: Annotated[list[ItemLocation], BeforeValidator(_sublist)] = Field(
        default_factory=list
    )


class NetSuiteLocation(VendorModel):
    id: Text
    name: Text | None = None
    isInactive: bool | None = None
    externalId: Text | None = None


class NetSuiteAccount(VendorModel):
    id: Text
    acctNumber: Text | None = None
    acctName: Text | None = None
    acctType: RefField = None
    isInactive: bool | None = None
    externalId: Text | None = None


def _percent(value: Any) -> Any:
    """Tax rates may come as `20`, `"20"` or `"20.00%"`."""
    if isinstance(value, str):
        return value.strip().rstrip("%").strip()
    return value


class NetSuiteTaxCode(VendorModel):
    """A legacy tax code (record `salesTaxItem`): the mapping names its internal id."""

    id: Text
    itemId: Text | None = None
    description: Text | None = None
    rate: Annotated[VatRate, BeforeValidator(_percent)] = None
    isInactive: bool | None = None
    taxAccount: RefField = None


class SuiteQLRow(VendorModel):
    """Any SuiteQL row: lower-case column names, every value a string, nulls absent; the
    columns are its extra fields (`model_extra`)."""

    model_config = ConfigDict(extra="allow", frozen=True)


class TransactionRow(VendorModel):
    """`transaction` header as SuiteQL gives it; `foreigntotal` keeps NetSuite's sign."""

    id: Text
    tranid: Text | None = None
    type: Text | None = None
    trandate: NsDate = None
    entity: Text | None = None
    externalid: Text | None = None
    otherrefnum: Text | None = None
    memo: Text | None = None
    status: Text | None = None
    foreigntotal: Money = None
    currency: Text | None = None
    voided: TFBool = None
    lastmodifieddate: NsInstant = None

    @property
    def pos_ref(self) -> str | None:
        """The POS order id: `externalid`, else `otherrefnum` (CONTRACT)."""
        return self.externalid or self.otherrefnum or None


class TransactionLineRow(VendorModel):
    """`transactionline` as SuiteQL gives it: amounts with the opposite sign of the
    document (a sale's item lines are negative); `mainline`/`taxline` as booleans."""

    transaction: Text
    id: Text
    linesequencenumber: int | None = None
    item: Text | None = None
    itemtype: Text | None = None
    quantity: Quantity = None
    rate: Money = None
    netamount: Money = None
    foreignamount: Money = None
    location: Text | None = None
    account: Text | None = None
    mainline: TFBool = None
    taxline: TFBool = None
    createdfrom: Text | None = None
    memo: Text | None = None


class StockRow(VendorModel):
    """`AggregateItemLocation` joined to `item`: one row per item and location."""

    item: Text
    itemid: Text | None = None
    location: Text
    quantityonhand: Quantity = None
    quantityavailable: Quantity = None
    quantitycommitted: Quantity = None

    @property
    def available(self) -> Decimal:
        """Available to sell: `quantityavailable`, else on hand - committed (DOMAIN)."""
        if self.quantityavailable is not None:
            return self.quantityavailable
        return (self.quantityonhand or Decimal(0)) - (self.quantitycommitted or Decimal(0))


# --------------------------------------------------------------------- SuiteQL paging
def _after(keys: Sequence[tuple[str, str]], last: tuple[int, ...] | None) -> str | None:
    """`k1 > a OR (k1 = a AND k2 > b)`: the rows after key `last` in key order."""
    if last is None:
        return None
    ors = []
    for i, (column, _) in enumerate(keys):
        same = [f"{c} = {v}" for (c, _), v in zip(keys[:i], last, strict=False)]
        ors.append(" AND ".join([*same, f"{column} > {last[i]}"]))
    return " OR ".join(f"({o})" if " AND " in o else o for o in ors)


def _int_keys(row: Any, keys: Sequence[tuple[str, str]]) -> tuple[int, ...] | None:
    """A row's key as integers (SuiteQL sends them as strings), None if it has none."""
    values = [row.get(field) if isinstance(row, dict) else None for _, field in keys]
    if all(str(v).isdigit() for v in values):
        return tuple(int(str(v)) for v in values)
    return None


def _int_id(ref: Any) -> int | None:
    """A collection item's internal id as an integer, None if it has none."""
    value = ref.get("id") if isinstance(ref, dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _has_more(rows: list[Any], body: Any) -> bool:
    return bool(body.get("hasMore")) and bool(rows)


# --------------------------------------------------------------------- HTTP core
class _Written:
    """A 2xx answer without a body (creates, upserts): carries the `Location` header."""

    def __init__(self, location: str | None) -> None:
        self.location = location


class _NetSuiteHttp(HttpCore):
    """HttpCore that reads NetSuite's `o:errorDetails`, keeps `Location` of bodiless writes,
    logs `X-NetSuite-Warning` (fields NetSuite ignored), and treats "record has been
    changed" / request-limit 400s as transient."""

    @property
    def _name(self) -> str:
        return "NetSuite"

    def _parse_ok(self, response: httpx.Response, check: Any) -> Any:
        warnings = response.headers.get_list("x-netsuite-warning")
        if warnings:  # one line per request: only its successful answer gets here
            method, path = response.request.method, response.request.url.path
            text = self._scrub("; ".join(warnings))
            log.warning(
                "vendor=netsuite method=%s path=%s warning=%s",
                method,
                path,
                text,
                extra={"vendor": "netsuite", "method": method, "path": path, "warning": text},
            )
        if not response.text.strip():
            return _Written(response.headers.get("location"))
        return super()._parse_ok(response, check)

    def _codes(self, response: httpx.Response) -> list[str]:
        try:
            data = json.loads(response.text)
        except ValueError:
            return []
        details = data.get("o:errorDetails") if isinstance(data, dict) else None
        if not isinstance(details, list):
            return []
        return [str(d.get("o:errorCode", "")) for d in details if isinstance(d, dict)]

    def _detail(self, response: httpx.Response) -> str:
        try:
            data = json.loads(response.text) if response.text.strip() else None
        except ValueError:
            data = None
        details = data.get("o:errorDetails") if isinstance(data, dict) else None
        if isinstance(details, list) and details:
            parts = []
            for d in details:
                if not isinstance(d, dict):
                    continue
                text = str(d.get("detail", "")).strip()
                code = d.get("o:errorCode")
                where = d.get("o:errorPath") or d.get("o:errorQueryParam")
                parts.append(
                    text + (f" [{code}]" if code else "") + (f" at {where}" if where else "")
                )
            return self._scrub("; ".join(parts))
        return super()._detail(response)

    def _classify(self, response: httpx.Response, check: Any) -> Any:
        if response.status_code == 400:
            codes = set(self._codes(response))
            detail = self._detail(response)
            if codes & _LIMIT_CODES:
                raise RateLimited(
                    self.vendor,
                    400,
                    detail,
                    "NetSuite refused the request: concurrency limit exceeded; retry later",
                    None,
                )
            if codes & _TRANSIENT_CODES:
                raise RecordLocked(
                    self.vendor,
                    400,
                    detail,
                    f"NetSuite record changed or locked meanwhile (400): {detail}; retry",
                )
        return super()._classify(response, check)


def _envelope(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return None
    return 'a body without {"items": [...]}'


def _object(body: Any) -> str | None:
    return None if isinstance(body, dict) else "a body that is not a JSON object"


def _id_from_location(location: str | None) -> str | None:
    if not location:
        return None
    m = re.search(r"/(\d+)/?$", location.split("?", 1)[0])
    return m[1] if m else None


# --------------------------------------------------------------------- client
class NetSuiteClient(VendorClient):
    """NetSuite REST web services for one account (bearer token)."""

    vendor = "netsuite"

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int = MAX_LIMIT,
        max_query_rows: int = MAX_QUERY_ROWS,
        max_attempts: int = 5,
        max_wait: float = 30.0,
        min_wait: float = 0.5,
        timeout: float = 30.0,
    ) -> None:
        if not 1 <= page_size <= MAX_LIMIT:
            raise ValueError(f"page_size must be between 1 and {MAX_LIMIT}")
        if max_query_rows < page_size:
            raise ValueError("max_query_rows must be at least page_size")
        self.page_size = page_size
        self.max_query_rows = max_query_rows
        self._http = _NetSuiteHttp(
            "netsuite",
            base_url.rstrip("/"),
            auth_hint="NETSUITE_TOKEN (a current OAuth 2.0 access token) and NETSUITE_BASE_URL",
            headers={"Authorization": f"Bearer {token}", "Prefer": "transient"},
            secrets=(token,),
            transport=transport,
            max_attempts=max_attempts,
            max_wait=max_wait,
            min_wait=min_wait,
            timeout=timeout,
        )

    # ----------------------------------------------------------------- lifecycle

    # ----------------------------------------------------------------- records: reads
    def iter_ids(self, record_type: str, q: str | None = None) -> Iterator[str]:
        """Internal ids of `record_type` (collection GET, `limit`/`offset` until no `hasMore`).

        NetSuite pages only the first `max_query_rows` (100,000) results of a query; past
        them the ids are read by key, the query again for the ids after the last one read
        (`q=(q) AND id GREATER last`), in windows of that many."""
        path = f"{RECORD}/{record_type}"
        pages = OffsetPaginator(
            self.vendor,
            self._http.url(path),
            "id",
            page_size=self.page_size,
            ceiling=self.max_query_rows,
            key_of=_int_id,
        )

        def fetch(at: Window) -> tuple[list[Any], Any]:
            params: dict[str, str | int] = {"limit": self.page_size, "offset": at.offset}
            where = [c for c in (q, None if at.after is None else f"id GREATER {at.after}") if c]
            if where:
                params["q"] = where[0] if len(where) == 1 else " AND ".join(f"({c})" for c in where)
            page = self._http.request("GET", path, params=params, check=_envelope)
            return page["items"], page

        for ref in pages.records(fetch):
            if isinstance(ref, dict) and ref.get("id") is not None:
                yield str(ref["id"])

    def get_raw(
        self, record_type: str, key: str, *, expand: bool = True, fields: Sequence[str] = ()
    ) -> dict[str, Any]:
        """One record as JSON; `key` is an internal id or `eid:{externalId}`."""
        params: dict[str, str | int] = {}
        if expand:
            params["expandSubResources"] = "true"
        if fields:
            params["fields"] = ",".join(fields)
        path = f"{RECORD}/{record_type}/{key}"
        body: dict[str, Any] = self._http.request("GET", path, params=params, check=_object)
        return body

    def get(self, record_type: str, record_id: str, model: type[M]) -> M:
        """One record, typed; a record that does not fit raises `MalformedResponse`."""
        return self._fit(record_type, self.get_raw(record_type, record_id), model)

    def get_by_external_id(self, record_type: str, external_id: str, model: type[M]) -> M | None:
        """The record whose `externalId` is `external_id`, or None when NetSuite has none."""
        try:
            raw = self.get_raw(record_type, f"eid:{external_id}")
        except NotFoundError:
            return None
        return self._fit(record_type, raw, model)

    def iter_records(
        self, record_type: str, model: type[M], q: str | None = None
    ) -> Iterator[Fetched[M]]:
        """Every record of the type (each fetched by id, sublists expanded)."""
        for record_id in self.iter_ids(record_type, q):
            try:
                raw = self.get_raw(record_type, record_id)
            except NotFoundError:
                continue  # deleted between the listing and the read
            yield validate_record(model, raw, "id")

    def _fit(self, record_type: str, raw: Any, model: type[M]) -> M:
        fetched = validate_record(model, raw, "id")
        if fetched.item is None:
            raise MalformedResponse(
                "netsuite",
                200,
                fetched.error or "invalid record",
                f"NetSuite {record_type} {fetched.key or '?'} does not fit: {fetched.error}",
            )
        return fetched.item

    # ----------------------------------------------------------------- typed listings
    def iter_customers(self, q: str | None = None) -> Iterator[Fetched[NetSuiteCustomer]]:
        return self.iter_records("customer", NetSuiteCustomer, q)

    def iter_inventory_items(
        self, q: str | None = None
    ) -> Iterator[Fetched[NetSuiteInventoryItem]]:
        return self.iter_records("inventoryItem", NetSuiteInventoryItem, q)

    def iter_locations(self) -> Iterator[Fetched[NetSuiteLocation]]:
        return self.iter_records("location", NetSuiteLocation)

    def iter_accounts(self) -> Iterator[Fetched[NetSuiteAccount]]:
        return self.iter_records("account", NetSuiteAccount)

    def iter_tax_codes(self) -> Iterator[Fetched[NetSuiteTaxCode]]:
        """Legacy tax codes: record `salesTaxItem` (falls back to `taxCode` where absent)."""
        try:
            ids = list(self.iter_ids("salesTaxItem"))
            record_type = "salesTaxItem"
        except NotFoundError:
            ids = list(self.iter_ids("taxCode"))
            record_type = "taxCode"
        for record_id in ids:
            yield validate_record(NetSuiteTaxCode, self.get_raw(record_type, record_id), "id")

    def find_customer(self, entity_id: str) -> NetSuiteCustomer | None:
        """The customer whose `entityId` is `entity_id` (e.g. the guest customer)."""
        found = [f for f in self.iter_customers(q=f'entityId IS "{entity_id}"')]
        for f in found:
            if f.item is not None and f.item.entityId == entity_id:
                return f.item
        return None

    def find_customers_by_email(self, email: str) -> list[NetSuiteCustomer]:
        """The customers whose `email` is `email` (compared without case)."""
        found = self.iter_customers(q=f'email IS "{email}"')
        wanted = email.casefold()
        customers = (f.item for f in found if f.item is not None)
        return [c for c in customers if (c.email or "").casefold() == wanted]

    # ----------------------------------------------------------------- records: writes
    def create(self, record_type: str, body: Mapping[str, Any]) -> str:
        """POST a new record; returns its internal id from `Location`. Not repeated after a
        5xx or timeout: look it up by external id before posting again."""
        answer = self._http.request("POST", f"{RECORD}/{record_type}", body=dict(body))
        record_id = _id_from_location(answer.location if isinstance(answer, _Written) else None)
        if record_id is None:
            raise MalformedResponse(
                "netsuite",
                204,
                "no Location header",
                f"NetSuite created a {record_type} but did not say where (no Location); look "
                "it up by externalId before posting again",
            )
        return record_id

    def upsert_by_external_id(
        self, record_type: str, external_id: str, body: Mapping[str, Any]
    ) -> str:
        """PUT .../eid:{externalId}: create or update; returns the internal id (from
        `Location`, else read back by external id). Safe to repeat."""
        payload = {k: v for k, v in body.items() if k not in ("id", "externalId")}
        path = f"{RECORD}/{record_type}/eid:{external_id}"
        answer = self._http.request("PUT", path, body=payload)
        record_id = _id_from_location(answer.location if isinstance(answer, _Written) else None)
        if record_id is None:
            raw = self.get_raw(record_type, f"eid:{external_id}", expand=False, fields=("id",))
            record_id = str(raw.get("id") or "")
            if not record_id:
                raise MalformedResponse(
                    "netsuite",
                    200,
                    "no id",
                    f"NetSuite stored {record_type} eid:{external_id} but shows no id",
                )
        return record_id

    def update(self, record_type: str, record_id: str, body: Mapping[str, Any]) -> None:
        """PATCH a record (fields sent replace the stored ones)."""
        self._http.request(
            "PATCH", f"{RECORD}/{record_type}/{record_id}", body=dict(body), idempotent=True
        )

    def delete(self, record_type: str, record_id: str) -> None:
        self._http.request("DELETE", f"{RECORD}/{record_type}/{record_id}")

    # ----------------------------------------------------------------- SuiteQL
    @overload
    def suiteql(self, query: str) -> Iterator[Fetched[SuiteQLRow]]: ...

    @overload
    def suiteql(
        self, query: str, model: type[M], *, key_field: str = "id"
    ) -> Iterator[Fetched[M]]: ...

    def suiteql(
        self, query: str, model: type[VendorModel] = SuiteQLRow, *, key_field: str = "id"
    ) -> Iterator[Fetched[Any]]:
        """Every row of a SuiteQL query, page by page (`limit`/`offset`, `hasMore`).

        The query must `ORDER BY` a unique key, or rows repeat or vanish between pages; a
        row deleted meanwhile shifts later rows back a page, so read whole tables with
        `suiteql_by_key`."""
        url = self._http.url(SUITEQL)
        pages = OffsetPaginator(self.vendor, url, key_field, page_size=self.page_size)
        for row in pages.records(lambda at: self._suiteql_page(query, at.offset)):
            yield validate_record(model, row, key_field)

    def suiteql_by_key(
        self, select: str, where: str | None, keys: Sequence[tuple[str, str]], model: type[M]
    ) -> Iterator[Fetched[M]]:
        """Every row of `select` (`SELECT ... FROM ...`) matching `where`, by ascending key.

        `keys` are integer columns, unique together, as `(column, row field)`. Each page
        asks the query again from offset 0 for the rows after the last key read
        (`WHERE (where) AND (k1 > a OR (k1 = a AND k2 > b)) ORDER BY k1, k2`), so a row
        deleted or inserted while the pages are read moves no other row past a page edge.
        """
        order = ", ".join(column for column, _ in keys)
        pages = KeyPaginator(
            self.vendor,
            self._http.url(SUITEQL),
            [field for _, field in keys],
            key_of=lambda row: _int_keys(row, keys),
            page_size=self.page_size,
            more=_has_more,
        )

        def fetch(last: tuple[int, ...] | None) -> tuple[list[Any], Any]:
            conditions = [c for c in (where, _after(keys, last)) if c]
            clause = " AND ".join(f"({c})" for c in conditions)
            query = f"{select}{f' WHERE {clause}' if clause else ''} ORDER BY {order}"
            return self._suiteql_page(query, 0)

        for row in pages.records(fetch):
            yield validate_record(model, row, keys[0][1])

    def _suiteql_page(self, query: str, offset: int) -> tuple[list[Any], Any]:
        """One SuiteQL page's rows (without `links`) and its body."""
        params: dict[str, str | int] = {"limit": self.page_size, "offset": offset}
        page = self._http.request(
            "POST", SUITEQL, params=params, body={"q": query}, idempotent=True, check=_envelope
        )
        rows = [
            {k: v for k, v in row.items() if k != "links"} if isinstance(row, dict) else row
            for row in page["items"]
        ]
        return rows, page

    def iter_transactions(
        self, record_types: Sequence[str], modified_since: datetime | None = None
    ) -> Iterator[Fetched[TransactionRow]]:
        """Transaction headers of the given record types (e.g. `invoice`), by id."""
        select = (
            "SELECT t.id, t.tranid, t.type, t.trandate, t.entity, t.externalid, t.otherrefnum, "
            "t.memo, t.status, t.foreigntotal, t.currency, t.voided, t.lastmodifieddate "
            "FROM transaction t"
        )
        where = self._tx_filter(record_types, modified_since)
        return self.suiteql_by_key(select, where, [("t.id", "id")], TransactionRow)

    def iter_transaction_lines(
        self, record_types: Sequence[str], modified_since: datetime | None = None
    ) -> Iterator[Fetched[TransactionLineRow]]:
        """Every `transactionline` (main, item and tax lines) of those transactions."""
        select = (
            "SELECT tl.transaction, tl.id, tl.linesequencenumber, tl.item, tl.itemtype, "
            "tl.quantity, tl.rate, tl.netamount, tl.foreignamount, tl.location, tl.account, "
            "tl.mainline, tl.taxline, tl.createdfrom, tl.memo "
            "FROM transaction t JOIN transactionline tl ON tl.transaction = t.id"
        )
        where = self._tx_filter(record_types, modified_since)
        keys = [("tl.transaction", "transaction"), ("tl.id", "id")]
        return self.suiteql_by_key(select, where, keys, TransactionLineRow)

    def iter_stock(self) -> Iterator[Fetched[StockRow]]:
        """On hand / available / committed per item and location (`AggregateItemLocation`)."""
        select = (
            "SELECT ail.item, i.itemid, ail.location, ail.quantityonhand, "
            "ail.quantityavailable, ail.quantitycommitted "
            "FROM AggregateItemLocation ail JOIN item i ON i.id = ail.item"
        )
        keys = [("ail.item", "item"), ("ail.location", "location")]
        return self.suiteql_by_key(select, None, keys, StockRow)

    @staticmethod
    def _tx_filter(record_types: Sequence[str], modified_since: datetime | None) -> str:
        codes = []
        for record_type in record_types:
            if record_type not in TYPE_CODES:
                raise ValueError(f"unknown NetSuite transaction record type {record_type!r}")
            codes.append(suiteql_string(TYPE_CODES[record_type]))
        if not codes:
            raise ValueError("name at least one transaction record type")
        where = f"t.type IN ({', '.join(codes)})"
        if modified_since is not None:
            where += f" AND t.lastmodifieddate >= {_to_date_sql(modified_since)}"
        return where

    def server_time(self) -> datetime:
        """NetSuite's clock (UTC): take incremental watermarks from here, not locally."""
        body = self._http.request("GET", SERVER_TIME, check=_object)
        value = _ns_instant(body.get("serverTime"))
        try:
            when = datetime.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            when = None
        if not isinstance(when, datetime):
            raise MalformedResponse(
                "netsuite", 200, "no serverTime", "NetSuite serverTime answer has no time"
            )
        return when if when.tzinfo else when.replace(tzinfo=UTC)
