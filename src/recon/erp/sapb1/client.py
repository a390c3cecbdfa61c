"""Typed client for the SAP Business One Service Layer (OData v3, `/b1s/v1`).

Knows B1's session login (`POST /Login` with CompanyDB / UserName / Password, then the
`B1SESSION` + `ROUTEID` cookies on every request; on a 401 it logs in again once and
replays the request), server-side paging (`Prefer: odata.maxpagesize`, following
`odata.nextLink` in any of its relative or absolute forms), OData filters with quoted
strings and dates, and B1's error body (`{"error": {"code", "message": {"lang",
"value"}}}` in v1, flat in v2), mapping -2039 / 412 ("another user modified data") to
`RecordLocked`. It must not decide what to post or how to map POS data (the sync workers
do), must not store anything, and must never log or raise the password or session id.
`base_url` is the service root ending in `/b1s/v1`.

Over 600 lines, kept as one module because it holds one concern: the SAP B1 Service Layer client
and its payload models.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BeforeValidator, Field

from recon.clients._base import VendorClient
from recon.clients._http import Fetched, HttpCore, dumps_json, loads_json, validate_record
from recon.clients._paging import NextLinkPaginator
from recon.clients._types import Day, Money, OptDecimal, Text, VatRate, VendorModel
from recon.clients._types import Quantity as Qty
from recon.clients.errors import MalformedResponse, RecordLocked

__all__ = [
    "Account",
    "B1Date",
    "BusinessPartner",
    "CreditCard",
    "Document",
    "DocumentLine",
    "Item",
    "ItemPrice",
    "ItemWarehouseInfo",
    "JournalEntry",
    "JournalEntryLine",
    "Payment",
    "PaymentCreditCard",
    "PaymentInvoice",
    "SapB1Client",
    "VatGroup",
    "VatGroupLine",
    "Warehouse",
    "b1_date",
    "b1_key",
    "b1_string",
]

M = TypeVar("M", bound=VendorModel)
log = logging.getLogger("recon.http")

VENDOR = "sapb1"
_MAX_PAGE = 5000
# A login answer is a few hundred bytes (SessionId, Version, SessionTimeout): read under this.
LOGIN_MAX_BYTES = 64 * 2**10
_LOGIN_HINT = "a login answer is a few hundred bytes: check SAPB1_BASE_URL is the Service Layer"
# Codes B1 answers when someone else changed or holds the record (reference section 3).
_MODIFIED_CODES = {-2039, -2038}
KEY_FIELDS: dict[str, str] = {
    "Items": "ItemCode",
    "Warehouses": "WarehouseCode",
    "BusinessPartners": "CardCode",
    "ChartOfAccounts": "Code",
    "VatGroups": "Code",
    "CreditCards": "CreditCardCode",
    "JournalEntries": "JdtNum",
}


# --------------------------------------------------------------------- wire types
def _b1_day(value: Any) -> Any:
    """B1 dates: `2024-06-01`, `2024-06-01T00:00:00Z` or `20240601`; the time is ignored."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        head = text[:10] if "-" in text[:10] else text[:8]
        try:
            if len(head) == 8 and head.isdigit():
                return date(int(head[:4]), int(head[4:6]), int(head[6:8]))
            return date.fromisoformat(head)
        except ValueError:
            raise ValueError(f"not a B1 date: {value!r}") from None
    return value


B1Date = Annotated[Day, BeforeValidator(_b1_day)]


# --------------------------------------------------------------------- models
class ItemPrice(VendorModel):
    PriceList: int | None = None
    Price: Money = None
    Currency: Text | None = None


class ItemWarehouseInfo(VendorModel):
    WarehouseCode: Text
    InStock: Qty = None
    Committed: Qty = None
    Ordered: Qty = None
    MinimalStock: Qty = None
    MaximalStock: Qty = None
    Locked: Text | None = None

    @property
    def available(self) -> Decimal:
        """Available to sell: `InStock - Committed` (DOMAIN)."""
        return (self.InStock or Decimal(0)) - (self.Committed or Decimal(0))


class _Validity(VendorModel):
    """Master data with B1's `Valid` / `Frozen` flags."""

    Valid: Text | None = None
    Frozen: Text | None = None

    @property
    def active(self) -> bool:
        """Valid and not frozen (a missing flag counts as the default: active)."""
        return self.Valid != "tNO" and self.Frozen != "tYES"


class Item(_Validity):
    ItemCode: Text
    ItemName: Text | None = None
    ForeignName: Text | None = None
    BarCode: Text | None = None
    ItemsGroupCode: int | None = None
    SalesItem: Text | None = None
    InventoryItem: Text | None = None
    SalesVATGroup: Text | None = None
    ArTaxCode: Text | None = None
    QuantityOnStock: Qty = None
    QuantityOrderedByCustomers: Qty = None
    QuantityOrderedFromVendors: Qty = None
    ManageStockByWarehouse: Text | None = None
    DefaultWarehouse: Text | None = None
    ItemPrices: list[ItemPrice] = Field(default_factory=list)
    ItemWarehouseInfoCollection: list[ItemWarehouseInfo] = Field(default_factory=list)
    CreateDate: B1Date = None
    UpdateDate: B1Date = None
    UpdateTime: Text | None = None

    def price(self, price_list: int = 1) -> Decimal | None:
        """The item's (net) price in `price_list`, if it has one."""
        found = next((p for p in self.ItemPrices if p.PriceList == price_list), None)
        return found.Price if found else None


class Warehouse(VendorModel):
    WarehouseCode: Text
    WarehouseName: Text | None = None
    Inactive: Text | None = None


class BusinessPartner(_Validity):
    CardCode: Text
    CardName: Text | None = None
    CardType: Text | None = None
    Currency: Text | None = None
    EmailAddress: Text | None = None
    Phone1: Text | None = None
    FederalTaxID: Text | None = None
    UpdateDate: B1Date = None


class DocumentLine(VendorModel):
    LineNum: int | None = None
    ItemCode: Text | None = None
    ItemDescription: Text | None = None
    Quantity: Qty = None
    UnitPrice: Money = None
    DiscountPercent: OptDecimal = None
    Price: Money = None
    PriceAfterVAT: Money = None
    LineTotal: Money = None
    TaxTotal: Money = None
    NetTaxAmount: Money = None
    GrossTotal: Money = None
    VatGroup: Text | None = None
    TaxCode: Text | None = None
    TaxPercentagePerRow: VatRate = None
    WarehouseCode: Text | None = None
    AccountCode: Text | None = None
    BaseType: int | None = None
    BaseEntry: int | None = None
    BaseLine: int | None = None
    LineStatus: Text | None = None


class Document(VendorModel):
    """An A/R invoice or credit note; `NumAtCard` carries the POS order id."""

    DocEntry: int
    DocNum: int | None = None
    DocType: Text | None = None
    DocDate: B1Date = None
    DocDueDate: B1Date = None
    TaxDate: B1Date = None
    DocTime: Text | None = None
    CardCode: Text | None = None
    CardName: Text | None = None
    NumAtCard: Text | None = None
    Comments: Text | None = None
    Reference1: Text | None = None
    Reference2: Text | None = None
    DocCurrency: Text | None = None
    DocRate: OptDecimal = None
    DocTotal: Money = None
    VatSum: Money = None
    PaidToDate: Money = None
    DiscountPercent: OptDecimal = None
    TotalDiscount: Money = None
    RoundingDiffAmount: Money = None
    DocumentStatus: Text | None = None
    Cancelled: Text | None = None
    CancelStatus: Text | None = None
    DocObjectCode: Text | None = None
    TransNum: int | None = None
    CreationDate: B1Date = None
    UpdateDate: B1Date = None
    UpdateTime: Text | None = None
    DocumentLines: list[DocumentLine] = Field(default_factory=list)


class PaymentCreditCard(VendorModel):
    LineNum: int | None = None
    CreditCard: int | None = None
    CreditAcct: Text | None = None
    CreditCardNumber: Text | None = None
    CardValidUntil: B1Date = None
    VoucherNum: Text | None = None
    PaymentMethodCode: int | None = None
    CreditSum: Money = None


class PaymentInvoice(VendorModel):
    LineNum: int | None = None
    DocEntry: int | None = None
    SumApplied: Money = None
    InvoiceType: Text | None = None
    InstallmentId: int | None = None


class Payment(VendorModel):
    """An incoming (customer) or outgoing (vendor, or customer refund) payment;
    `CounterReference` carries the POS order id. Amounts are as B1 shows them (positive)."""

    DocEntry: int
    DocNum: int | None = None
    DocType: Text | None = None
    CardCode: Text | None = None
    CardName: Text | None = None
    DocDate: B1Date = None
    DocCurrency: Text | None = None
    CashAccount: Text | None = None
    CashSum: Money = None
    TransferAccount: Text | None = None
    TransferSum: Money = None
    TransferDate: B1Date = None
    TransferReference: Text | None = None
    CounterReference: Text | None = None
    Remarks: Text | None = None
    JournalRemarks: Text | None = None
    Cancelled: Text | None = None
    BPLID: int | None = None
    PaymentCreditCards: list[PaymentCreditCard] = Field(default_factory=list)
    PaymentInvoices: list[PaymentInvoice] = Field(default_factory=list)


class JournalEntryLine(VendorModel):
    Line_ID: int | None = None
    AccountCode: Text | None = None
    ShortName: Text | None = None
    Debit: Money = None
    Credit: Money = None
    FCDebit: Money = None
    FCCredit: Money = None
    FCCurrency: Text | None = None
    LineMemo: Text | None = None
    Reference1: Text | None = None
    Reference2: Text | None = None
    CostingCode: Text | None = None
    TaxGroup: Text | None = None


class JournalEntry(VendorModel):
    """A journal entry; daily-journal mode puts `{store id}-{YYYY-MM-DD}` in `Reference`."""

    JdtNum: int
    Number: int | None = None
    ReferenceDate: B1Date = None
    TaxDate: B1Date = None
    DueDate: B1Date = None
    Memo: Text | None = None
    Reference: Text | None = None
    Reference2: Text | None = None
    Reference3: Text | None = None
    TransactionCode: Text | None = None
    JournalEntryLines: list[JournalEntryLine] = Field(default_factory=list)


class Account(VendorModel):
    """A G/L account (`ChartOfAccounts`); `Code` is the AcctCode the mappings name."""

    Code: Text
    Name: Text | None = None
    Balance: Money = None
    CashAccount: Text | None = None
    ActiveAccount: Text | None = None
    FrozenFor: Text | None = None
    AccountType: Text | None = None

    @property
    def active(self) -> bool:
        """Postable: not frozen and not a title account."""
        return self.FrozenFor != "tYES" and self.ActiveAccount != "tNO"


class VatGroupLine(VendorModel):
    Effectivefrom: B1Date = None
    Rate: VatRate = None


class VatGroup(VendorModel):
    Code: Text
    Name: Text | None = None
    Category: Text | None = None
    TaxAccount: Text | None = None
    Inactive: Text | None = None
    VatGroups_Lines: list[VatGroupLine] = Field(default_factory=list)

    def rate(self, on: date | None = None) -> Decimal | None:
        """The rate in force on `on` (default: the latest line)."""
        lines = [ln for ln in self.VatGroups_Lines if ln.Rate is not None]
        if on is not None:
            lines = [ln for ln in lines if ln.Effectivefrom is None or ln.Effectivefrom <= on]
        lines.sort(key=lambda ln: ln.Effectivefrom or date.min)
        return lines[-1].Rate if lines else None


class CreditCard(VendorModel):
    CreditCardCode: int
    CreditCardName: Text | None = None
    GLAccount: Text | None = None


# --------------------------------------------------------------------- OData helpers
def b1_string(value: str) -> str:
    """A quoted OData string literal (`'O''Brien'`)."""
    return "'" + value.replace("'", "''") + "'"


def b1_date(day: date) -> str:
    """A date literal for `$filter` (`'2024-06-01'`); B1 ignores any time part on dates."""
    if isinstance(day, datetime):
        day = day.date()
    return f"'{day.isoformat()}'"


def b1_key(key: str | int) -> str:
    """`(1201)` for numeric keys, `('TEE-BLK-M')` for string keys."""
    if isinstance(key, bool):
        raise TypeError("a B1 key is an int or a string")
    return f"({key})" if isinstance(key, int) else f"({b1_string(key)})"


def _query(params: Mapping[str, str]) -> str:
    """Query text with spaces as %20 (never '+') and OData punctuation left readable."""
    return "&".join(f"{k}={quote(v, safe=chr(36) + chr(39) + ',()=:')}" for k, v in params.items())


def _page_body(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return None
    return 'a body without {"value": [...]}'


def _object_body(body: Any) -> str | None:
    return None if isinstance(body, dict) else "a body that is not a JSON object"


def _b1_error(text: str) -> tuple[int | None, str]:
    """(code, message) from a v1 (`message.value`) or v2 (flat) B1 error body."""
    try:
        data = loads_json(text) if text.strip() else None
    except ValueError:
        return None, ""
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return None, ""
    err = data["error"]
    raw_code, message = err.get("code"), err.get("message")
    if isinstance(message, dict):
        message = message.get("value")
    code: int | None = None
    try:
        code = int(str(raw_code))
    except ValueError:
        code = None
    return code, message if isinstance(message, str) else ""


# --------------------------------------------------------------------- session
class _B1Session(httpx.Auth):
    """Logs in when there is no session, sends the session cookies on every request, and
    on a 401 logs in once more and replays the request (B1 acted on nothing that got a 401).

    A failed login ends the flow with the login's own answer, which `HttpCore` turns into
    `AuthError` (401) or a transient error (5xx)."""

    # Only the login's body is read (in `_accept`, by `read`: `HttpCore.read_capped` under
    # LOGIN_MAX_BYTES); every other answer reaches `HttpCore` unread, which reads it under
    # RECON_MAX_RESPONSE_MB.
    requires_response_body = False

    def __init__(
        self,
        login_url: str,
        company_db: str,
        user: str,
        password: str,
        *,
        read: Callable[[httpx.Response], bytes],
    ) -> None:
        self._login_url = login_url
        self._read = read
        self._body = dumps_json(
            {"CompanyDB": company_db, "UserName": user, "Password": password}
        ).encode()
        self._cookie: str | None = None
        self._lock = threading.Lock()
        self.logins = 0
        self.timeout_minutes: int | None = None

    @property
    def cookie(self) -> str | None:
        return self._cookie

    def forget(self, stale: str | None = None) -> None:
        """Drop the session; given `stale`, only while it is still that one (a worker whose
        request met the expiry must not drop the session another worker just opened)."""
        with self._lock:
            if stale is None or self._cookie == stale:
                self._cookie = None

    def _login_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._login_url,
            content=self._body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )

    def _accept(self, response: httpx.Response) -> str | None:
        """The session cookie a login answer opened (kept for every request), or None."""
        log.info(
            "vendor=%s method=POST path=/Login status=%s",
            VENDOR,
            response.status_code,
            extra={
                "vendor": VENDOR,
                "method": "POST",
                "path": "/Login",
                "status": response.status_code,
            },
        )
        if response.status_code != 200:
            return None
        self._read(response)
        cookies = {c.name: c.value for c in response.cookies.jar}
        try:
            body = loads_json(response.text)
        except ValueError:
            body = None
        if isinstance(body, dict):
            if isinstance(body.get("SessionId"), str):
                cookies.setdefault("B1SESSION", body["SessionId"])
            if isinstance(body.get("SessionTimeout"), int):
                self.timeout_minutes = body["SessionTimeout"]
        if "B1SESSION" not in cookies:
            return None
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        with self._lock:
            self._cookie = cookie
            self.logins += 1
        return cookie

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.url.path.endswith("/Login"):
            yield request
            return
        # Each request keeps the cookie it was sent with: workers share the session, and one
        # that met the expiry logs in again without wiping what another just logged in with.
        cookie = self._cookie
        if cookie is None:
            cookie = self._accept((yield self._login_request()))
            if cookie is None:
                return
        request.headers["Cookie"] = cookie
        response = yield request
        if response.status_code != 401 or request.url.path.endswith("/Logout"):
            return
        self.forget(cookie)
        fresh = self._cookie  # another worker may have logged in meanwhile
        if fresh is None:
            fresh = self._accept((yield self._login_request()))
            if fresh is None:
                return
        request.headers["Cookie"] = fresh
        yield request


class _B1Http(HttpCore):
    """HttpCore that reads B1's error body and treats -2039 / 412 as a record lock."""

    @property
    def _name(self) -> str:
        return "SAP B1"

    def _detail(self, response: httpx.Response) -> str:
        code, message = _b1_error(response.text)
        if message:
            return self._scrub(f"{code}: {message}" if code is not None else message)
        return super()._detail(response)

    def _classify(self, response: httpx.Response, check: Any) -> Any:
        status = response.status_code
        if status >= 400:
            code, _ = _b1_error(response.text)
            if status == 412 or (code in _MODIFIED_CODES and status < 500):
                detail = self._detail(response)
                locked = RecordLocked(
                    self.vendor,
                    status,
                    detail,
                    f"SAP B1 record was changed or is held by another user ({status}): "
                    f"{detail}; re-read it and retry",
                )
                # A stale If-Match fails the same way until the caller re-reads the record.
                locked.safe_to_repeat = status != 412
                raise locked
        return super()._classify(response, check)


# --------------------------------------------------------------------- client
class SapB1Client(VendorClient):
    """SAP Business One Service Layer for one company database."""

    vendor = "sapb1"

    def __init__(
        self,
        base_url: str,
        company_db: str,
        user: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int = 500,
        max_attempts: int = 5,
        max_wait: float = 30.0,
        min_wait: float = 0.5,
        timeout: float = 30.0,
    ) -> None:
        if not 1 <= page_size <= _MAX_PAGE:
            raise ValueError(f"page_size must be between 1 and {_MAX_PAGE}")
        self.page_size = page_size
        self.base_url = base_url.rstrip("/")
        self._root = httpx.URL(self.base_url + "/")
        self._session = _B1Session(
            self.base_url + "/Login",
            company_db,
            user,
            password,
            read=lambda login: self._http.read_capped(login, LOGIN_MAX_BYTES, hint=_LOGIN_HINT),
        )
        self._http = _B1Http(
            VENDOR,
            self.base_url,
            auth_hint="SAPB1_COMPANY_DB / SAPB1_USER / SAPB1_PASSWORD",
            headers={"Prefer": f"odata.maxpagesize={page_size}"},
            auth=self._session,
            secrets=(password,),
            transport=transport,
            max_attempts=max_attempts,
            max_wait=max_wait,
            min_wait=min_wait,
            timeout=timeout,
        )

    # ----------------------------------------------------------------- lifecycle
    @property
    def logins(self) -> int:
        """How many times this client has logged in (one per session)."""
        return self._session.logins

    def login(self) -> None:
        """Open a session now (otherwise the first request does it)."""
        self._session.forget()
        self._http.request("GET", "/Warehouses?$select=WarehouseCode&$top=1", check=_page_body)

    def logout(self) -> None:
        """`POST /Logout` when a session is open; B1 sessions are expensive to leave open."""
        if self._session.cookie is None:
            return
        try:
            self._http.request("POST", "/Logout", idempotent=True)
        finally:
            self._session.forget()

    def close(self) -> None:
        try:
            self.logout()
        except Exception:  # closing must not fail because the server is gone
            log.info("vendor=%s event=logout_failed", VENDOR)
        self._http.close()

    # ----------------------------------------------------------------- generic reads
    def iter_collection(
        self,
        entity: str,
        model: type[M],
        *,
        filter: str | None = None,
        select: str | None = None,
        orderby: str | None = None,
        key_field: str | None = None,
    ) -> Iterator[Fetched[M]]:
        """Every record of `/entity`, following `odata.nextLink` until it is absent.

        Ordered by the entity's key unless `orderby` says otherwise, so pages stay stable.
        """
        key = key_field or KEY_FIELDS.get(entity, "DocEntry")
        params: dict[str, str] = {}
        if filter:
            params["$filter"] = filter
        if select:
            params["$select"] = select
        params["$orderby"] = orderby or key
        path = "/" + entity.strip("/") + "?" + _query(params)
        pages = NextLinkPaginator(
            self.vendor, self._http.url(path), key, path=path, resolve=self._next_path
        )

        def fetch(at: str) -> tuple[list[Any], Any]:
            page = self._http.request("GET", at, check=_page_body)
            return page["value"], page

        for raw in pages.records(fetch):
            yield validate_record(model, raw, key)

    def _next_path(self, link: str) -> str:
        """`odata.nextLink` relative to the service root, the host, or absolute -> our path."""
        url = self._root.join(link)
        root = self._root.path.rstrip("/")
        if not url.path.startswith(root + "/"):
            raise MalformedResponse(
                VENDOR,
                200,
                f"nextLink outside the service root: {link}",
                f"SAP B1 answered a nextLink outside {root}: check SAPB1_BASE_URL",
            )
        query = url.query.decode()
        return url.path[len(root) :] + (f"?{query}" if query else "")

    def get(self, entity: str, key: str | int, model: type[M]) -> M:
        """One entity by key (`Invoices(1201)`, `Items('TEE-BLK-M')`); 404 -> NotFoundError."""
        raw = self._http.request("GET", f"/{entity}{b1_key(key)}", check=_object_body)
        return self._one(entity, raw, model)

    def _one(self, entity: str, raw: Any, model: type[M]) -> M:
        fetched = validate_record(model, raw, KEY_FIELDS.get(entity, "DocEntry"))
        if fetched.item is None:
            raise MalformedResponse(
                VENDOR,
                200,
                fetched.error or "invalid record",
                f"SAP B1 {entity} record {fetched.key or '?'} does not fit: {fetched.error}",
            )
        return fetched.item

    def _all_valid(self, entity: str, fetched: Iterator[Fetched[M]]) -> list[M]:
        """A lookup must see every match: a record that does not fit is an error, not a skip."""
        out: list[M] = []
        for f in fetched:
            if f.item is None:
                raise MalformedResponse(
                    VENDOR,
                    200,
                    f.error or "invalid record",
                    f"SAP B1 {entity} record {f.key or '?'} does not fit: {f.error}",
                )
            out.append(f.item)
        return out

    def _updated(
        self, entity: str, model: type[M], since: date | None, field: str = "UpdateDate"
    ) -> Iterator[Fetched[M]]:
        flt = None if since is None else f"{field} ge {b1_date(since)}"
        return self.iter_collection(entity, model, filter=flt)

    # ----------------------------------------------------------------- typed listings
    def iter_items(self, updated_since: date | None = None) -> Iterator[Fetched[Item]]:
        """Items with prices and `ItemWarehouseInfoCollection` (stock per warehouse).
        `UpdateDate` has no time: re-read the whole day and de-duplicate by key."""
        return self._updated("Items", Item, updated_since)

    def iter_warehouses(self) -> Iterator[Fetched[Warehouse]]:
        return self.iter_collection("Warehouses", Warehouse)

    def iter_business_partners(
        self, updated_since: date | None = None
    ) -> Iterator[Fetched[BusinessPartner]]:
        return self._updated("BusinessPartners", BusinessPartner, updated_since)

    def iter_invoices(self, updated_since: date | None = None) -> Iterator[Fetched[Document]]:
        return self._updated("Invoices", Document, updated_since)

    def iter_credit_notes(self, updated_since: date | None = None) -> Iterator[Fetched[Document]]:
        return self._updated("CreditNotes", Document, updated_since)

    def iter_incoming_payments(self, since: date | None = None) -> Iterator[Fetched[Payment]]:
        """Incoming payments by `DocDate` (payments change only by being cancelled)."""
        return self._updated("IncomingPayments", Payment, since, "DocDate")

    def iter_vendor_payments(self, since: date | None = None) -> Iterator[Fetched[Payment]]:
        """Outgoing payments (refund tenders) by `DocDate`, amounts positive as B1 shows."""
        return self._updated("VendorPayments", Payment, since, "DocDate")

    def iter_journal_entries(self, since: date | None = None) -> Iterator[Fetched[JournalEntry]]:
        return self._updated("JournalEntries", JournalEntry, since, "ReferenceDate")

    def iter_accounts(self) -> Iterator[Fetched[Account]]:
        return self.iter_collection("ChartOfAccounts", Account)

    def iter_vat_groups(self) -> Iterator[Fetched[VatGroup]]:
        return self.iter_collection("VatGroups", VatGroup)

    def iter_credit_cards(self) -> Iterator[Fetched[CreditCard]]:
        return self.iter_collection("CreditCards", CreditCard)

    # ----------------------------------------------------------------- lookups before posting
    def find_by_num_at_card(self, entity: str, ref: str) -> list[Document]:
        """Documents (`Invoices`, `CreditNotes`, ...) whose `NumAtCard` is the POS order id."""
        found = self.iter_collection(entity, Document, filter=f"NumAtCard eq {b1_string(ref)}")
        return self._all_valid(entity, found)

    def find_customers_by_email(self, email: str) -> list[BusinessPartner]:
        """Business partners of type customer whose `EmailAddress` is `email`."""
        flt = f"EmailAddress eq {b1_string(email)} and CardType eq 'cCustomer'"
        found = self.iter_collection("BusinessPartners", BusinessPartner, filter=flt)
        return self._all_valid("BusinessPartners", found)

    def find_payments(self, entity: str, counter_reference: str) -> list[Payment]:
        """`IncomingPayments` / `VendorPayments` whose `CounterReference` is the POS order id."""
        flt = f"CounterReference eq {b1_string(counter_reference)}"
        return self._all_valid(entity, self.iter_collection(entity, Payment, filter=flt))

    def find_journal_entries(self, reference: str) -> list[JournalEntry]:
        """Journal entries whose `Reference` is e.g. `{store id}-{YYYY-MM-DD}`."""
        flt = f"Reference eq {b1_string(reference)}"
        found = self.iter_collection("JournalEntries", JournalEntry, filter=flt)
        return self._all_valid("JournalEntries", found)

    # ----------------------------------------------------------------- writes
    def create(self, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /entity`; B1 answers 201 with the saved entity (keys, numbers, totals).

        Not repeated after a timeout or 5xx: look it up (`find_by_num_at_card`) first."""
        answer: dict[str, Any] = self._http.request(
            "POST", f"/{entity}", body=dict(body), check=_object_body
        )
        return answer

    def _create_typed(self, entity: str, body: Mapping[str, Any], model: type[M]) -> M:
        answer = self.create(entity, body)
        fetched = validate_record(model, answer, KEY_FIELDS.get(entity, "DocEntry"))
        if fetched.item is None:
            raise MalformedResponse(
                VENDOR,
                201,
                fetched.error or "invalid entity",
                f"SAP B1 saved the {entity} entity but its answer does not fit: "
                f"{fetched.error}; look it up before posting again",
            )
        return fetched.item

    def create_invoice(self, body: Mapping[str, Any]) -> Document:
        return self._create_typed("Invoices", body, Document)

    def create_credit_note(self, body: Mapping[str, Any]) -> Document:
        return self._create_typed("CreditNotes", body, Document)

    def create_incoming_payment(self, body: Mapping[str, Any]) -> Payment:
        return self._create_typed("IncomingPayments", body, Payment)

    def create_vendor_payment(self, body: Mapping[str, Any]) -> Payment:
        return self._create_typed("VendorPayments", body, Payment)

    def create_journal_entry(self, body: Mapping[str, Any]) -> JournalEntry:
        return self._create_typed("JournalEntries", body, JournalEntry)

    def create_business_partner(self, body: Mapping[str, Any]) -> BusinessPartner:
        return self._create_typed("BusinessPartners", body, BusinessPartner)

    def cancel(self, entity: str, key: int) -> None:
        """`POST /entity(key)/Cancel` (documents cannot be deleted, only cancelled)."""
        self._http.request("POST", f"/{entity}{b1_key(key)}/Cancel")
