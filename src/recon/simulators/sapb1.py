"""An SAP Business One Service Layer simulator (Starlette), per reference/sap-b1.md.

Serves `/b1s/v1/...` (OData v3) from an in-memory `SapB1State`: `POST /Login` with the
`B1SESSION` + `ROUTEID` cookies and an idle session timeout (401 / code 301), `POST
/Logout`; collections with `$select/$filter/$orderby/$top/$skip/$inlinecount`, `/$count`,
server-side paging (20 rows by default, `Prefer: odata.maxpagesize=N` or `B1S-PageSize`,
`odata.nextLink`); single entities by key (`Invoices(1201)`, `Items('TEE-BLK-M')`); POST
creates answering 201 with the entity; PATCH with ETag / `If-Match` (412 / -2039);
`Cancel` (adding the cancellation document) / `Close` actions; `$batch` (OData v3
multipart/mixed, change sets atomic); documents cannot be deleted (400 / -5006).
Entities: Items (with `ItemWarehouseInfoCollection`), Warehouses, BusinessPartners,
Invoices, CreditNotes, IncomingPayments, VendorPayments, JournalEntries, ChartOfAccounts,
VatGroups, CreditCards.
B1 computes each line's `LineTotal` and VAT (`TaxTotal`) from net prices; invoices take
stock out of the line's warehouse and credit notes put it back. Money is a JSON number,
parsed as Decimal.

`seed_from_scenario(scenario)` builds the B1 company from the scenario's Sage 200 state
(see docs/simulators.md for how the codes translate). This module must not know recon's
sync rules; it must never talk to a real vendor.

Inferred (not read in a source; documented in docs/simulators.md): the login-failure code
(100000027), the 404 body (-2028), the desktop record-lock answer (400 / -2039), the
`Property 'X' of 'Document' is invalid` check (-1000), the -10 message texts, and the
cancellation document's date (the cancelled document's) and `Cancelled` (tNO).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recon.simulators._b1odata import (
    B1Query,
    B1QueryError,
    apply_b1_query,
    b1_day,
    parse_b1_query,
    select_b1,
)
from recon.simulators._wire import Clock, dumps, json_response, round2
from recon.simulators.faults import RECORD_LOCK_MESSAGE, FaultMiddleware, Faults
from recon.simulators.sitoo import ORDERTYPE_ORDER, PAY_SUCCESSFUL, STATE_CLOSED

if TYPE_CHECKING:
    from recon.simulators.scenario import Scenario

__all__ = [
    "BASE_PATH",
    "ENTITY_SETS",
    "ROUTE_ID",
    "B1Error",
    "SapB1Credentials",
    "SapB1State",
    "create_app",
    "seed_from_scenario",
    "truth_for_sapb1",
]

BASE_PATH = "/b1s/v1"
ROUTE_ID = ".node1"
SESSION_VERSION = "1000190"

CODE_SESSION = 301
MSG_SESSION = "Invalid session or session already timeout."
CODE_LOGIN = 100000027
MSG_LOGIN = "Login failed"
CODE_NOT_FOUND = -2028
MSG_NOT_FOUND = "No matching records found (ODBC -2028)"
CODE_MODIFIED = -2039
MSG_MODIFIED = (
    "Another user or another operation modified data; to cancel the changes, close the "
    "window; to save your changes, reopen the window"
)
CODE_NOT_SUPPORTED = -5006
CODE_INVALID = -10
CODE_BAD_PROPERTY = -1000
OBJ_INVOICE = 13
OBJ_CREDIT_NOTE = 14
SIX = Decimal("0.000001")
ZERO = Decimal("0.00")

# entity set -> (state attribute, key property)
ENTITY_SETS: dict[str, tuple[str, str]] = {
    "Items": ("items", "ItemCode"),
    "Warehouses": ("warehouses", "WarehouseCode"),
    "BusinessPartners": ("business_partners", "CardCode"),
    "Invoices": ("invoices", "DocEntry"),
    "CreditNotes": ("credit_notes", "DocEntry"),
    "IncomingPayments": ("incoming_payments", "DocEntry"),
    "VendorPayments": ("vendor_payments", "DocEntry"),
    "JournalEntries": ("journal_entries", "JdtNum"),
    "ChartOfAccounts": ("accounts", "Code"),
    "VatGroups": ("vat_groups", "Code"),
    "CreditCards": ("credit_cards", "CreditCardCode"),
}
ETAG_SETS = frozenset({"Invoices", "CreditNotes"})
DOCUMENT_SETS = {"Invoices": ("OINV", "INV1", OBJ_INVOICE), "CreditNotes": ("ORIN", "RIN1", 14)}
PAYMENT_SETS = {"IncomingPayments": "ORCT", "VendorPayments": "OVPM"}
CREATABLE = frozenset({"BusinessPartners", *DOCUMENT_SETS, *PAYMENT_SETS, "JournalEntries"})
NO_DELETE = frozenset({*DOCUMENT_SETS, *PAYMENT_SETS, "JournalEntries"})


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_DOC_FIELDS = _names(
    "DocEntry DocNum DocType DocDate DocDueDate TaxDate DocTime CardCode CardName NumAtCard "
    "Comments JournalMemo Reference1 Reference2 DocCurrency DocRate DiscountPercent "
    "TotalDiscount Rounding RoundingDiffAmount Series SalesPersonCode DocumentsOwner Project "
    "BPL_IDAssignedToInvoice ShipToCode PayToCode Address Address2 ControlAccount "
    "PaymentGroupCode GroupNumber Indicator FederalTaxID ImportFileNum HandWritten "
    "DocumentLines DocumentStatus Cancelled"
)
_LINE_FIELDS = _names(
    "LineNum ItemCode ItemDescription FreeText Quantity UnitPrice DiscountPercent Price "
    "PriceAfterVAT LineTotal TaxTotal VatGroup TaxCode WarehouseCode AccountCode CostingCode "
    "CostingCode2 CostingCode3 CostingCode4 CostingCode5 ProjectCode BaseType BaseEntry "
    "BaseLine Currency SalesPersonCode UoMEntry UoMCode ShipDate WithoutInventoryMovement"
)
_PAYMENT_FIELDS = _names(
    "DocEntry DocNum DocType DocDate DocDueDate DueDate TaxDate CardCode CardName DocCurrency "
    "DocRate CashAccount CashSum TransferAccount TransferSum TransferDate TransferReference "
    "CheckAccount PaymentChecks PaymentCreditCards PaymentInvoices PaymentAccounts "
    "CashFlowAssignments Remarks JournalRemarks CounterReference Reference1 Reference2 BPLID "
    "Series ProjectCode ControlAccount"
)
_CARD_FIELDS = _names(
    "LineNum CreditCard CreditAcct CreditCardNumber CardValidUntil VoucherNum OwnerIdNum "
    "OwnerPhone PaymentMethodCode NumOfPayments FirstPaymentDue FirstPaymentSum "
    "AdditionalPaymentSum CreditSum CreditCur CreditRate ConfirmationNum NumOfCreditPayments "
    "CreditType SplitPayments"
)

_APPLIED_FIELDS = _names("LineNum DocEntry SumApplied InvoiceType InstallmentId DocLine")
_JOURNAL_FIELDS = _names(
    "JdtNum Number ReferenceDate TaxDate DueDate Memo Reference Reference2 Reference3 "
    "TransactionCode ProjectCode AutoVAT StornoDate OriginalJournal JournalEntryLines Series "
    "Indicator"
)
_JOURNAL_LINE_FIELDS = _names(
    "Line_ID AccountCode ShortName Debit Credit FCDebit FCCredit FCCurrency LineMemo "
    "Reference1 Reference2 CostingCode CostingCode2 CostingCode3 CostingCode4 CostingCode5 "
    "ProjectCode TaxGroup VatLine BaseSum VatAmount DueDate TaxDate ReferenceDate1"
)
_PARTNER_FIELDS = _names(
    "CardCode CardName CardType GroupCode Currency EmailAddress Phone1 Phone2 Cellular "
    "FederalTaxID Valid Frozen CurrentAccountBalance CreateDate UpdateDate UpdateTime Address "
    "City Country ZipCode"
)
# Every property of an entity set's type (what $filter, $select and $orderby may name),
# and the type's name in B1's "Property 'X' of 'Type' is invalid" answer (code -1000).
PROPERTIES: dict[str, tuple[str, frozenset[str]]] = {
    "Items": (
        "Item",
        _names(
            "ItemCode ItemName ForeignName BarCode ItemsGroupCode ItemType SalesItem "
            "InventoryItem PurchaseItem Valid Frozen SalesVATGroup ArTaxCode "
            "ManageStockByWarehouse DefaultWarehouse InventoryUOM QuantityOnStock "
            "QuantityOrderedByCustomers QuantityOrderedFromVendors ItemPrices "
            "ItemWarehouseInfoCollection CreateDate UpdateDate UpdateTime"
        ),
    ),
    "Warehouses": (
        "Warehouse",
        _names("WarehouseCode WarehouseName BusinessPlaceID City Country Inactive Street"),
    ),
    "BusinessPartners": ("BusinessPartner", _PARTNER_FIELDS),
    **{
        name: (
            "Document",
            _DOC_FIELDS
            | _names(
                "DocObjectCode DocTotal VatSum PaidToDate CancelStatus TransNum CreationDate "
                "UpdateDate UpdateTime"
            ),
        )
        for name in ("Invoices", "CreditNotes")
    },
    **{
        name: ("Payment", _PAYMENT_FIELDS | _names("DocObjectCode Cancelled"))
        for name in ("IncomingPayments", "VendorPayments")
    },
    "JournalEntries": ("JournalEntry", _JOURNAL_FIELDS),
    "ChartOfAccounts": (
        "ChartOfAccount",
        _names(
            "Code Name AccountType AcctCurrency ActiveAccount Balance CashAccount "
            "ExternalCode FrozenFor"
        ),
    ),
    "VatGroups": ("VatGroups", _names("Code Name Category Inactive TaxAccount VatGroups_Lines")),
    "CreditCards": ("CreditCard", _names("CreditCardCode CreditCardName GLAccount")),
}


class B1Error(Exception):
    """A request the Service Layer refuses: HTTP status, B1 code and message."""

    def __init__(self, message: str, code: int = CODE_INVALID, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def error_body(code: int, message: str) -> dict[str, Any]:
    """The OData v3 (`/b1s/v1`) error shape."""
    return {"error": {"code": code, "message": {"lang": "en-us", "value": message}}}


@dataclass(frozen=True)
class SapB1Credentials:
    company_db: str = "SBODEMOGB"
    user: str = "recon"
    password: str = "sim-sapb1-password"

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "SAPB1_BASE_URL": base_url,
            "SAPB1_COMPANY_DB": self.company_db,
            "SAPB1_USER": self.user,
            "SAPB1_PASSWORD": self.password,
        }


def _yn(flag: bool) -> str:
    return "tYES" if flag else "tNO"


def _num(value: Any, where: str) -> Decimal:
    """A JSON number or a numeric string (SAP's examples post `"Quantity": "100"`)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        raise B1Error(f"Invalid value for '{where}': a number is expected")
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise B1Error(f"Invalid value for '{where}': a number is expected") from None
    if not parsed.is_finite():
        raise B1Error(f"Invalid value for '{where}': a number is expected")
    return parsed


def _yes_no(value: Any, where: str, at: str = "") -> str:
    """A `tYES`/`tNO` flag (absent: `tNO`), as B1 stores it."""
    if value is None:
        return "tNO"
    if value not in ("tYES", "tNO"):
        raise B1Error(f"Invalid value for '{where.split('.')[-1]}'  [{where}]{at}")
    return str(value)


def _opt_num(body: dict[str, Any], name: str, where: str) -> Decimal | None:
    value = body.get(name)
    return None if value is None else _num(value, where)


def _day_in(value: Any, where: str) -> date | None:
    if value is None or value == "":
        return None
    day = b1_day(value)
    if day is None:
        raise B1Error(f"Invalid date value for '{where}': {value!r}")
    return day


def _check_props(body: dict[str, Any], allowed: frozenset[str], type_name: str) -> None:
    for name in body:
        if name not in allowed and not name.startswith("U_"):
            raise B1Error(f"Property '{name}' of '{type_name}' is invalid", CODE_BAD_PROPERTY)


def check_query(entity_set: str, query: B1Query) -> None:
    """Refuse a $filter / $select / $orderby naming a property the entity set's type lacks
    (a path such as `DocumentLines/ItemCode` is checked by its first step)."""
    type_name, allowed = PROPERTIES[entity_set]
    for _, name in query.properties():
        first = name.split("/", 1)[0]
        if first not in allowed and not first.startswith("U_"):
            raise B1Error(f"Property '{first}' of '{type_name}' is invalid", CODE_BAD_PROPERTY)


@dataclass
class SapB1State:
    """The simulated company database. Seed with the `add_*` / `create_*` methods."""

    company_name: str = "Recon Demo Retail Ltd"
    local_currency: str = "GBP"
    revenue_account: str = "4000"
    items: list[dict[str, Any]] = field(default_factory=list)
    warehouses: list[dict[str, Any]] = field(default_factory=list)
    business_partners: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    credit_notes: list[dict[str, Any]] = field(default_factory=list)
    incoming_payments: list[dict[str, Any]] = field(default_factory=list)
    vendor_payments: list[dict[str, Any]] = field(default_factory=list)
    journal_entries: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    vat_groups: list[dict[str, Any]] = field(default_factory=list)
    credit_cards: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 20  # b1s.conf PageSize
    session_timeout_seconds: float = 30 * 60.0  # SessionTimeout: 30 minutes
    sessions: dict[str, float] = field(default_factory=dict)  # SessionId -> last use
    held: set[tuple[str, str]] = field(default_factory=set)  # records a desktop user holds
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    next_entry: dict[str, int] = field(default_factory=dict)
    next_num: dict[str, int] = field(default_factory=dict)
    frozen_now: datetime | None = None  # seeding: stamp entities with this instant
    clock: Clock = field(default_factory=Clock, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)

    # -- lookup ------------------------------------------------------------------
    def table(self, entity_set: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = getattr(self, ENTITY_SETS[entity_set][0])
        return rows

    def find(self, entity_set: str, key: Any) -> dict[str, Any] | None:
        name = ENTITY_SETS[entity_set][1]
        return next((r for r in self.table(entity_set) if r.get(name) == key), None)

    def _need(self, entity_set: str, key: Any, message: str) -> dict[str, Any]:
        row = self.find(entity_set, key) if key is not None else None
        if row is None:
            raise B1Error(message)
        return row

    # -- sessions -----------------------------------------------------------------
    def new_session(self) -> str:
        with self.lock:
            sid = str(uuid.uuid4())
            self.sessions[sid] = self.monotonic()
            return sid

    def touch(self, sid: str | None) -> bool:
        """True (and the idle timer restarts) when `sid` is a live session."""
        with self.lock:
            last = self.sessions.get(sid or "")
            if last is None or sid is None:
                return False
            now = self.monotonic()
            if now - last > self.session_timeout_seconds:
                del self.sessions[sid]
                return False
            self.sessions[sid] = now
            return True

    def end_session(self, sid: str) -> None:
        with self.lock:
            self.sessions.pop(sid, None)

    def expire_sessions(self) -> None:
        """Every open session times out (the next request answers 401 / 301)."""
        with self.lock:
            self.sessions.clear()

    # -- record locks held by desktop users (inferred behaviour) --------------------
    def hold(self, entity_set: str, key: Any) -> None:
        with self.lock:
            self.held.add((entity_set, str(key)))

    def release(self, entity_set: str, key: Any) -> None:
        with self.lock:
            self.held.discard((entity_set, str(key)))

    def _check_free(self, entity_set: str, key: Any) -> None:
        if (entity_set, str(key)) in self.held:
            raise B1Error(MSG_MODIFIED, CODE_MODIFIED)

    # -- stamps -----------------------------------------------------------------------
    def _now(self) -> datetime:
        return self.frozen_now or self.clock.now()

    def _stamp(self, row: dict[str, Any], created: bool, create_name: str) -> None:
        now = self._now()
        if created:
            row[create_name] = now.date().isoformat()
        row["UpdateDate"] = now.date().isoformat()
        row["UpdateTime"] = now.strftime("%H:%M:%S")

    def _entry(self, entity_set: str) -> int:
        start = {"Invoices": 1200, "CreditNotes": 600, "JournalEntries": 8800}.get(entity_set, 300)
        self.next_entry[entity_set] = self.next_entry.get(entity_set, start) + 1
        return self.next_entry[entity_set]

    def _docnum(self, entity_set: str, wanted: int | None) -> int:
        start = {"Invoices": 30000, "CreditNotes": 40000}.get(entity_set, 50000)
        current = self.next_num.get(entity_set, start)
        if wanted is not None:
            self.next_num[entity_set] = max(current, wanted)
            return wanted
        self.next_num[entity_set] = current + 1
        return current + 1

    def bump(self, entity_set: str, key: Any) -> None:
        k = (entity_set, str(key))
        self.versions[k] = self.versions.get(k, 0) + 1

    def etag(self, entity_set: str, key: Any) -> str:
        version = self.versions.get((entity_set, str(key)), 0)
        digest = hashlib.sha1(f"{entity_set}:{key}:{version}".encode()).hexdigest()[:16]
        return f'W/"{digest}"'

    # -- master data ----------------------------------------------------------------
    def add_warehouse(self, code: str, name: str, inactive: bool = False) -> dict[str, Any]:
        row = {
            "WarehouseCode": code,
            "WarehouseName": name,
            "Inactive": _yn(inactive),
            "Street": "",
            "City": "",
            "Country": "GB",
            "BusinessPlaceID": None,
        }
        with self.lock:
            self.warehouses.append(row)
        return row

    def add_account(
        self,
        code: str,
        name: str,
        *,
        cash: bool = False,
        frozen: bool = False,
        account_type: str = "at_Other",
    ) -> dict[str, Any]:
        row = {
            "Code": code,
            "Name": name,
            "Balance": ZERO,
            "CashAccount": _yn(cash),
            "ActiveAccount": "tYES",  # a postable (not title) account
            "FrozenFor": _yn(frozen),
            "AccountType": account_type,
            "AcctCurrency": "##",
            "ExternalCode": "",
        }
        with self.lock:
            self.accounts.append(row)
        return row

    def add_vat_group(
        self,
        code: str,
        name: str,
        rate: Decimal,
        tax_account: str = "2200",
        inactive: bool = False,
        category: str = "bovcOutputTax",
    ) -> dict[str, Any]:
        row = {
            "Code": code,
            "Name": name,
            "Category": category,
            "TaxAccount": tax_account,
            "Inactive": _yn(inactive),
            "VatGroups_Lines": [{"Effectivefrom": "2011-01-04", "Rate": rate}],
        }
        with self.lock:
            self.vat_groups.append(row)
        return row

    def add_credit_card(self, code: int, name: str, account: str) -> dict[str, Any]:
        row = {"CreditCardCode": code, "CreditCardName": name, "GLAccount": account}
        with self.lock:
            self.credit_cards.append(row)
        return row

    def add_business_partner(
        self, card_code: str, name: str, card_type: str = "cCustomer", currency: str = "##"
    ) -> dict[str, Any]:
        return self.create_business_partner(
            {"CardCode": card_code, "CardName": name, "CardType": card_type, "Currency": currency}
        )

    def create_business_partner(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            _check_props(body, _PARTNER_FIELDS, "BusinessPartner")
            code = body.get("CardCode")
            if not isinstance(code, str) or not code.strip() or len(code) > 15:
                raise B1Error("Enter a business partner code of at most 15 characters")
            if self.find("BusinessPartners", code) is not None:
                raise B1Error(
                    f"1320000140 - Business partner code '{code}' already assigned to a "
                    "business partner; enter a unique business partner code"
                )
            card_type = {"C": "cCustomer", "S": "cSupplier", "L": "cLid"}.get(
                str(body.get("CardType", "cCustomer")), str(body.get("CardType", "cCustomer"))
            )
            if card_type not in ("cCustomer", "cSupplier", "cLid"):
                raise B1Error(f"Invalid value for 'CardType': {body.get('CardType')!r}")
            row: dict[str, Any] = {
                "CardCode": code,
                "CardName": str(body.get("CardName") or ""),
                "CardType": card_type,
                "GroupCode": int(body.get("GroupCode", 100)),
                "Currency": str(body.get("Currency") or "##"),
                "EmailAddress": body.get("EmailAddress"),
                "Phone1": body.get("Phone1"),
                "FederalTaxID": body.get("FederalTaxID"),
                "Valid": "tYES",
                "Frozen": "tNO",
                "CurrentAccountBalance": ZERO,
            }
            row.update({k: v for k, v in body.items() if k.startswith("U_")})
            self._stamp(row, True, "CreateDate")
            self.business_partners.append(row)
            return row

    def add_item(
        self,
        code: str,
        name: str,
        vat_group: str,
        net_price: Decimal,
        *,
        active: bool = True,
        default_warehouse: str | None = None,
        currency: str = "GBP",
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "ItemCode": code,
            "ItemName": name,
            "ForeignName": None,
            "BarCode": None,
            "ItemsGroupCode": 100,
            "ItemType": "itItems",
            "SalesItem": "tYES",
            "InventoryItem": "tYES",
            "Valid": _yn(active),
            "Frozen": _yn(not active),
            "SalesVATGroup": vat_group,
            "ArTaxCode": None,
            "ManageStockByWarehouse": "tYES",
            "DefaultWarehouse": default_warehouse,
            "InventoryUOM": "Each",
            "QuantityOnStock": Decimal(0),
            "QuantityOrderedByCustomers": Decimal(0),
            "QuantityOrderedFromVendors": Decimal(0),
            "ItemPrices": [
                {
                    "PriceList": 1,
                    "PriceListName": "Retail (net)",
                    "Price": net_price,
                    "Currency": currency,
                }
            ],
            "ItemWarehouseInfoCollection": [],
        }
        with self.lock:
            self._stamp(row, True, "CreateDate")
            self.items.append(row)
        return row

    def set_stock(
        self,
        item_code: str,
        warehouse_code: str,
        in_stock: Decimal,
        committed: Decimal = Decimal(0),
        ordered: Decimal = Decimal(0),
    ) -> None:
        with self.lock:
            item = self._need("Items", item_code, f"Item '{item_code}' does not exist")
            info = self._warehouse_info(item, warehouse_code)
            info.update({"InStock": in_stock, "Committed": committed, "Ordered": ordered})
            self._totals(item)

    def _warehouse_info(self, item: dict[str, Any], warehouse_code: str) -> dict[str, Any]:
        infos: list[dict[str, Any]] = item["ItemWarehouseInfoCollection"]
        info = next((i for i in infos if i["WarehouseCode"] == warehouse_code), None)
        if info is None:
            info = {
                "ItemCode": item["ItemCode"],
                "WarehouseCode": warehouse_code,
                "InStock": Decimal(0),
                "Committed": Decimal(0),
                "Ordered": Decimal(0),
                "MinimalStock": Decimal(0),
                "MaximalStock": Decimal(0),
                "Locked": "tNO",
            }
            infos.append(info)
        return info

    @staticmethod
    def _totals(item: dict[str, Any]) -> None:
        infos = item["ItemWarehouseInfoCollection"]
        item["QuantityOnStock"] = sum((i["InStock"] for i in infos), Decimal(0))
        item["QuantityOrderedByCustomers"] = sum((i["Committed"] for i in infos), Decimal(0))
        item["QuantityOrderedFromVendors"] = sum((i["Ordered"] for i in infos), Decimal(0))

    # -- validation helpers ------------------------------------------------------------
    def _account(self, code: Any, where: str, at: str = "") -> dict[str, Any]:
        row = self.find("ChartOfAccounts", code) if isinstance(code, str) else None
        if row is None:
            raise B1Error(f"Invalid G/L account '{code}'  [{where}]{at}")
        if row["FrozenFor"] == "tYES":
            raise B1Error(f"G/L account '{code}' is inactive or frozen  [{where}]{at}")
        return row

    def _customer(self, code: Any, where: str) -> dict[str, Any]:
        row = self.find("BusinessPartners", code) if isinstance(code, str) else None
        if row is None:
            raise B1Error(f"Invalid BP code '{code}'  [{where}]")
        if row["Frozen"] == "tYES" or row["Valid"] == "tNO":
            raise B1Error(f"Business partner '{code}' is inactive  [{where}]")
        self._check_free("BusinessPartners", code)
        return row

    def _rate(self, vat_group: dict[str, Any]) -> Decimal:
        lines = vat_group.get("VatGroups_Lines") or [{"Rate": 0}]
        return Decimal(str(lines[-1]["Rate"]))

    # -- marketing documents ----------------------------------------------------------------
    def credited(self, invoice_entry: int, line_num: int) -> Decimal:
        """Quantity of an invoice line already credited by credit notes (not cancelled)."""
        total = Decimal(0)
        for note in self.credit_notes:
            if note["Cancelled"] == "tYES":
                continue
            for ln in note["DocumentLines"]:
                if (
                    ln.get("BaseType") == OBJ_INVOICE
                    and ln.get("BaseEntry") == invoice_entry
                    and ln.get("BaseLine") == line_num
                ):
                    total += ln["Quantity"]
        return total

    def create_document(
        self, entity_set: str, body: dict[str, Any], doc_num: int | None = None
    ) -> dict[str, Any]:
        """POST /Invoices or /CreditNotes: B1 computes line totals, VAT and `DocTotal`."""
        head, row_table, obj_type = DOCUMENT_SETS[entity_set]
        with self.lock:
            _check_props(body, _DOC_FIELDS, "Document")
            customer = self._customer(body.get("CardCode"), f"{head}.CardCode")
            doc_date = _day_in(body.get("DocDate"), "DocDate") or self._now().date()
            due = _day_in(body.get("DocDueDate"), "DocDueDate") or doc_date
            tax_date = _day_in(body.get("TaxDate"), "TaxDate") or doc_date
            num_at_card = body.get("NumAtCard")
            if num_at_card is not None and (
                not isinstance(num_at_card, str) or len(num_at_card) > 100
            ):
                raise B1Error(f"Invalid value for 'NumAtCard'  [{head}.NumAtCard]")
            doc_type = {"I": "dDocument_Items", "S": "dDocument_Service"}.get(
                str(body.get("DocType")), str(body.get("DocType", "dDocument_Items"))
            )
            if doc_type not in ("dDocument_Items", "dDocument_Service"):
                raise B1Error(f"Invalid value for 'DocType'  [{head}.DocType]")
            service = doc_type == "dDocument_Service"
            raw_lines = body.get("DocumentLines")
            if not isinstance(raw_lines, list) or not raw_lines:
                raise B1Error(f"Add at least one row to the document  [{row_table}.ItemCode]")
            lines = [
                self._service_line(i, raw, row_table)
                if service
                else self._doc_line(i, raw, entity_set, row_table)
                for i, raw in enumerate(raw_lines)
            ]
            net = sum((ln["LineTotal"] for ln in lines), ZERO)
            vat = sum((ln["TaxTotal"] for ln in lines), ZERO)
            disc_pct = _opt_num(body, "DiscountPercent", "DiscountPercent") or Decimal(0)
            total_discount = round2(net * disc_pct / 100)
            if disc_pct:
                vat = round2(vat * (1 - disc_pct / 100))
            total = net - total_discount + vat
            rounding = body.get("Rounding") == "tYES"
            diff = _opt_num(body, "RoundingDiffAmount", "RoundingDiffAmount") or ZERO
            if rounding:
                total += diff
            currency = body.get("DocCurrency") or (
                customer["Currency"] if customer["Currency"] != "##" else self.local_currency
            )
            now = self._now()
            doc: dict[str, Any] = {
                "DocEntry": self._entry(entity_set),
                "DocNum": self._docnum(entity_set, doc_num),
                "DocType": doc_type,
                "DocDate": doc_date.isoformat(),
                "DocDueDate": due.isoformat(),
                "TaxDate": tax_date.isoformat(),
                "DocTime": now.strftime("%H:%M:%S"),
                "CardCode": customer["CardCode"],
                "CardName": customer["CardName"],
                "NumAtCard": num_at_card,
                "Comments": body.get("Comments"),
                "JournalMemo": body.get("JournalMemo")
                or ("A/R Invoices - " if obj_type == OBJ_INVOICE else "A/R Credit Memo - ")
                + customer["CardCode"],
                "Reference1": None,
                "Reference2": body.get("Reference2"),
                "DocCurrency": currency,
                "DocRate": Decimal("1.0"),
                "DocTotal": total,
                "VatSum": vat,
                "PaidToDate": ZERO,
                "DiscountPercent": disc_pct,
                "TotalDiscount": total_discount,
                "Rounding": "tYES" if rounding else "tNO",
                "RoundingDiffAmount": diff if rounding else ZERO,
                "DocumentStatus": "bost_Open",
                "Cancelled": "tNO",
                "CancelStatus": "csNo",
                "TransNum": None,
                "DocObjectCode": "oInvoices" if obj_type == OBJ_INVOICE else "oCreditNotes",
                "Series": 1,
                "DocumentLines": lines,
            }
            doc["Reference1"] = str(doc["DocNum"])
            doc.update({k: v for k, v in body.items() if k.startswith("U_")})
            self._stamp(doc, True, "CreationDate")
            sign = Decimal(-1) if obj_type == OBJ_INVOICE else Decimal(1)
            for ln in lines:
                self._move_line(ln, sign)
            self.table(entity_set).append(doc)
            if obj_type == OBJ_CREDIT_NOTE:
                self._close_credited({ln["BaseEntry"] for ln in lines if ln.get("BaseEntry")})
            return doc

    def _cancellation(self, entity_set: str, row: dict[str, Any]) -> dict[str, Any]:
        """The cancellation document B1 adds when a document is cancelled: a new document of
        the same type and amounts (`CancelStatus` csCancellation, closed, a new `DocNum`,
        the cancelled document's date, customer and references), each line based on the
        cancelled line (`BaseType` its object type, `BaseEntry`, `BaseLine`); it moves the
        stock back."""
        obj_type = DOCUMENT_SETS[entity_set][2]
        doc: dict[str, Any] = {
            **row,
            "DocEntry": self._entry(entity_set),
            "DocNum": self._docnum(entity_set, None),
            "DocTime": self._now().strftime("%H:%M:%S"),
            "PaidToDate": ZERO,
            "DocumentStatus": "bost_Close",
            "Cancelled": "tNO",
            "CancelStatus": "csCancellation",
            "TransNum": None,
            "DocumentLines": [
                {
                    **ln,
                    "BaseType": obj_type,
                    "BaseEntry": row["DocEntry"],
                    "BaseLine": ln["LineNum"],
                    "LineStatus": "bost_Close",
                }
                for ln in row["DocumentLines"]
            ],
        }
        doc["Reference1"] = str(doc["DocNum"])
        self._stamp(doc, True, "CreationDate")
        sign = Decimal(1) if obj_type == OBJ_INVOICE else Decimal(-1)
        for ln in doc["DocumentLines"]:
            self._move_line(ln, sign)
        self.table(entity_set).append(doc)
        return doc

    def _move_line(self, line: dict[str, Any], sign: Decimal) -> None:
        """A document line's stock movement; none for a service line or one posted
        "Without Qty Posting" (`WithoutInventoryMovement` = tYES)."""
        if line["ItemCode"] is not None and line.get("WithoutInventoryMovement") != "tYES":
            self._move_stock(line["ItemCode"], line["WarehouseCode"], sign * line["Quantity"])

    def _move_stock(self, item_code: str, warehouse: str, delta: Decimal) -> None:
        item = self.find("Items", item_code)
        if item is None or item["InventoryItem"] != "tYES":
            return
        info = self._warehouse_info(item, warehouse)
        info["InStock"] += delta
        self._totals(item)
        self._stamp(item, False, "CreateDate")

    def _close_credited(self, entries: Iterable[int]) -> None:
        for entry in entries:
            inv = self.find("Invoices", entry)
            if inv is None:
                continue
            if all(
                self.credited(entry, ln["LineNum"]) >= ln["Quantity"] for ln in inv["DocumentLines"]
            ):
                inv["DocumentStatus"] = "bost_Close"
                for ln in inv["DocumentLines"]:
                    ln["LineStatus"] = "bost_Close"
                self._stamp(inv, False, "CreationDate")
                self.bump("Invoices", entry)

    def _doc_line(self, index: int, raw: Any, entity_set: str, row_table: str) -> dict[str, Any]:
        at = f"[line: {index + 1}]"
        if not isinstance(raw, dict):
            raise B1Error(f"Invalid document line  [{row_table}.LineNum]{at}")
        _check_props(raw, _LINE_FIELDS, "Document_Line")
        src = dict(raw)
        base_type = raw.get("BaseType")
        if base_type not in (None, -1):
            base = self._base_line(index, raw, entity_set, row_table)
            for name in (
                "ItemCode",
                "UnitPrice",
                "DiscountPercent",
                "VatGroup",
                "WarehouseCode",
                "AccountCode",
            ):
                if name not in src or src[name] is None:
                    src[name] = base[name]
            if "Price" not in raw and "UnitPrice" not in raw:
                src["Price"] = base["Price"]
            if "Quantity" not in raw:
                src["Quantity"] = base["Quantity"] - self.credited(
                    int(raw["BaseEntry"]), int(raw["BaseLine"])
                )
        code = src.get("ItemCode")
        item = self.find("Items", code) if isinstance(code, str) else None
        if item is None:
            raise B1Error(f"Invalid item code '{code}'  [{row_table}.ItemCode]{at}")
        if item["Valid"] == "tNO" or item["Frozen"] == "tYES":
            raise B1Error(f"Item '{code}' is inactive  [{row_table}.ItemCode]{at}")
        qty = _num(src.get("Quantity", 1), "Quantity")
        if qty <= 0:
            raise B1Error(f"Quantity must be greater than zero  [{row_table}.Quantity]{at}")
        disc = _num(src.get("DiscountPercent") or 0, "DiscountPercent")
        given_total = _opt_num(src, "LineTotal", "LineTotal")
        if src.get("UnitPrice") is not None:
            unit = _num(src["UnitPrice"], "UnitPrice")
            price = (unit * (1 - disc / 100)).quantize(SIX)
        elif src.get("Price") is not None:
            price = _num(src["Price"], "Price")
            unit = price if not disc else (price / (1 - disc / 100)).quantize(SIX)
        elif given_total is not None:
            price = (given_total / qty).quantize(SIX)
            unit = price
        else:
            price = unit = Decimal(str(item["ItemPrices"][0]["Price"]))
        vat_code = src.get("VatGroup") or item["SalesVATGroup"]
        group = self.find("VatGroups", vat_code)
        if group is None or group["Inactive"] == "tYES" or group["Category"] != "bovcOutputTax":
            raise B1Error(f"Invalid tax code '{vat_code}'  [{row_table}.VatGroup]{at}")
        rate = self._rate(group)
        wh_code = src.get("WarehouseCode") or item["DefaultWarehouse"]
        warehouse = self.find("Warehouses", wh_code)
        if warehouse is None or warehouse["Inactive"] == "tYES":
            raise B1Error(f"Invalid warehouse code '{wh_code}'  [{row_table}.WhsCode]{at}")
        account = src.get("AccountCode") or self.revenue_account
        self._account(account, f"{row_table}.AcctCode", at)
        line_total = round2(given_total if given_total is not None else qty * price)
        given_tax = _opt_num(src, "TaxTotal", "TaxTotal")
        tax = round2(given_tax) if given_tax is not None else round2(line_total * rate / 100)
        line: dict[str, Any] = {
            "LineNum": index,
            "ItemCode": item["ItemCode"],
            "ItemDescription": src.get("ItemDescription") or item["ItemName"],
            "FreeText": src.get("FreeText"),
            "Quantity": qty,
            "UnitPrice": unit,
            "DiscountPercent": disc,
            "Price": price,
            "PriceAfterVAT": (price * (1 + rate / 100)).quantize(SIX),
            "Currency": src.get("Currency") or self.local_currency,
            "LineTotal": line_total,
            "TaxTotal": tax,
            "NetTaxAmount": tax,
            "GrossTotal": line_total + tax,
            "VatGroup": group["Code"],
            "TaxCode": None,
            "TaxPercentagePerRow": rate,
            "WarehouseCode": warehouse["WarehouseCode"],
            "AccountCode": account,
            "CostingCode": src.get("CostingCode"),
            "BaseType": -1,
            "BaseEntry": None,
            "BaseLine": None,
            "LineStatus": "bost_Open",
            "WithoutInventoryMovement": _yes_no(
                src.get("WithoutInventoryMovement"), f"{row_table}.NoInvtryMv", at
            ),
        }
        if base_type not in (None, -1):
            line.update(
                {
                    "BaseType": OBJ_INVOICE,
                    "BaseEntry": int(raw["BaseEntry"]),
                    "BaseLine": int(raw["BaseLine"]),
                }
            )
        return line

    def _service_line(self, index: int, raw: Any, row_table: str) -> dict[str, Any]:
        """A service-document line: G/L account, amount and tax group, no item or stock."""
        at = f"[line: {index + 1}]"
        if not isinstance(raw, dict):
            raise B1Error(f"Invalid document line  [{row_table}.LineNum]{at}")
        _check_props(raw, _LINE_FIELDS, "Document_Line")
        if raw.get("ItemCode"):
            raise B1Error(f"A service document has no items  [{row_table}.ItemCode]{at}")
        account = raw.get("AccountCode")
        self._account(account, f"{row_table}.AcctCode", at)
        given = _opt_num(raw, "LineTotal", "LineTotal")
        if given is None:
            given = _opt_num(raw, "Price", "Price")
        if given is None:
            raise B1Error(f"Enter the line total  [{row_table}.LineTotal]{at}")
        group = self.find("VatGroups", raw.get("VatGroup"))
        if group is None or group["Inactive"] == "tYES" or group["Category"] != "bovcOutputTax":
            raise B1Error(f"Invalid tax code '{raw.get('VatGroup')}'  [{row_table}.VatGroup]{at}")
        rate = self._rate(group)
        line_total = round2(given)
        given_tax = _opt_num(raw, "TaxTotal", "TaxTotal")
        tax = round2(given_tax) if given_tax is not None else round2(line_total * rate / 100)
        return {
            "LineNum": index,
            "ItemCode": None,
            "ItemDescription": raw.get("ItemDescription") or "",
            "Quantity": Decimal(1),
            "Price": line_total,
            "LineTotal": line_total,
            "TaxTotal": tax,
            "NetTaxAmount": tax,
            "GrossTotal": line_total + tax,
            "VatGroup": group["Code"],
            "TaxCode": None,
            "TaxPercentagePerRow": rate,
            "WarehouseCode": None,
            "AccountCode": account,
            "BaseType": -1,
            "BaseEntry": None,
            "BaseLine": None,
            "LineStatus": "bost_Open",
            "WithoutInventoryMovement": "tNO",
        }

    def _base_line(
        self, index: int, raw: dict[str, Any], entity_set: str, row_table: str
    ) -> dict[str, Any]:
        at = f"[line: {index + 1}]"
        if entity_set != "CreditNotes" or raw.get("BaseType") not in (OBJ_INVOICE, "13"):
            raise B1Error(f"Invalid base document type  [{row_table}.BaseType]{at}")
        try:
            entry, line_num = int(raw["BaseEntry"]), int(raw["BaseLine"])
        except (KeyError, TypeError, ValueError):
            raise B1Error(f"Enter BaseEntry and BaseLine  [{row_table}.BaseEntry]{at}") from None
        invoice = self.find("Invoices", entry)
        if invoice is None:
            raise B1Error(f"Base document {entry} does not exist  [{row_table}.BaseEntry]{at}")
        self._check_free("Invoices", entry)
        # A paid invoice is closed but can still be credited (the open quantity decides).
        if invoice["Cancelled"] == "tYES":
            raise B1Error(
                "Target document cannot be based on a cancelled document  "
                f"[{row_table}.BaseEntry]{at}"
            )
        base = next((ln for ln in invoice["DocumentLines"] if ln["LineNum"] == line_num), None)
        if base is None:
            raise B1Error(f"Base line {line_num} does not exist  [{row_table}.BaseLine]{at}")
        open_qty = base["Quantity"] - self.credited(entry, line_num)
        if "Quantity" in raw and _num(raw["Quantity"], "Quantity") > open_qty:
            raise B1Error(
                f"Quantity exceeds the open quantity {open_qty} of the base document line  "
                f"[{row_table}.Quantity]{at}"
            )
        if raw.get("ItemCode") not in (None, base["ItemCode"]):
            raise B1Error(f"Item differs from the base document line  [{row_table}.ItemCode]{at}")
        return dict(base)

    # -- payments -------------------------------------------------------------------------
    def create_payment(
        self, entity_set: str, body: dict[str, Any], doc_num: int | None = None
    ) -> dict[str, Any]:
        """POST /IncomingPayments or /VendorPayments (cash, transfer, credit-card lines)."""
        head = PAYMENT_SETS[entity_set]
        with self.lock:
            _check_props(body, _PAYMENT_FIELDS, "Payment")
            doc_type = {"C": "rCustomer", "S": "rSupplier", "A": "rAccount"}.get(
                str(body.get("DocType", "rCustomer")), str(body.get("DocType", "rCustomer"))
            )
            if doc_type not in ("rCustomer", "rSupplier", "rAccount"):
                raise B1Error(f"Invalid value for 'DocType'  [{head}.DocType]")
            partner = None
            if doc_type != "rAccount":
                partner = self._customer(body.get("CardCode"), f"{head}.CardCode")
            doc_date = _day_in(body.get("DocDate"), "DocDate") or self._now().date()
            cash = _opt_num(body, "CashSum", "CashSum") or ZERO
            transfer = _opt_num(body, "TransferSum", "TransferSum") or ZERO
            if cash < 0 or transfer < 0:
                raise B1Error(f"Payment amounts cannot be negative  [{head}.CashSum]")
            if cash:
                self._account(body.get("CashAccount"), f"{head}.CashAcct")
            if transfer:
                self._account(body.get("TransferAccount"), f"{head}.TrsfrAcct")
            cards = [
                self._card_line(i, c, head)
                for i, c in enumerate(body.get("PaymentCreditCards") or [])
            ]
            total = cash + transfer + sum((c["CreditSum"] for c in cards), ZERO)
            if total <= 0:
                raise B1Error(f"Enter the payment amount  [{head}.DocTotal]")
            invoices = []
            for i, raw in enumerate(body.get("PaymentInvoices") or []):
                invoices.append(self._applied(i, raw, head))
            if sum((p["SumApplied"] for p in invoices), ZERO) > total:
                raise B1Error(f"Applied amounts exceed the payment total  [{head}.DocTotal]")
            pay: dict[str, Any] = {
                "DocEntry": self._entry(entity_set),
                "DocNum": self._docnum(entity_set, doc_num),
                "DocType": doc_type,
                "CardCode": partner["CardCode"] if partner else None,
                "CardName": partner["CardName"] if partner else None,
                "DocDate": doc_date.isoformat(),
                "DueDate": doc_date.isoformat(),
                "TaxDate": doc_date.isoformat(),
                "DocCurrency": body.get("DocCurrency") or self.local_currency,
                "DocRate": Decimal("1.0"),
                "CashAccount": body.get("CashAccount") if cash else None,
                "CashSum": cash,
                "TransferAccount": body.get("TransferAccount") if transfer else None,
                "TransferSum": transfer,
                "TransferDate": body.get("TransferDate"),
                "TransferReference": body.get("TransferReference"),
                "CounterReference": body.get("CounterReference"),
                "Remarks": body.get("Remarks"),
                "JournalRemarks": body.get("JournalRemarks")
                or ("Incoming Payments - " if head == "ORCT" else "Outgoing Payments - ")
                + (partner["CardCode"] if partner else ""),
                "Reference1": None,
                "Cancelled": "tNO",
                "BPLID": body.get("BPLID"),
                "PaymentChecks": [],
                "PaymentCreditCards": cards,
                "PaymentInvoices": invoices,
                "CashFlowAssignments": [],
                "DocObjectCode": "bopot_IncomingPayments"
                if head == "ORCT"
                else "bopot_OutgoingPayments",
            }
            pay["Reference1"] = str(pay["DocNum"])
            pay.update({k: v for k, v in body.items() if k.startswith("U_")})
            for p in invoices:
                self._pay_document(p, p["SumApplied"])
            self.table(entity_set).append(pay)
            return pay

    def _card_line(self, index: int, raw: Any, head: str) -> dict[str, Any]:
        where = f"{head[1:]}3"  # RCT3 / VPM3
        if not isinstance(raw, dict):
            raise B1Error(f"Invalid credit card line  [{where}.LineId][line: {index + 1}]")
        _check_props(raw, _CARD_FIELDS, "PaymentCreditCard")
        at = f"[line: {index + 1}]"
        card = self.find("CreditCards", raw.get("CreditCard"))
        if card is None:
            raise B1Error(f"Enter a valid credit card code  [{where}.CreditCard]{at}")
        acct = raw.get("CreditAcct") or card["GLAccount"]
        self._account(acct, f"{where}.CreditAcct", at)
        if not raw.get("VoucherNum"):
            raise B1Error(f"Enter voucher number  [{where}.VoucherNum]{at}")
        amount = _num(raw.get("CreditSum", 0), "CreditSum")
        if amount <= 0:
            raise B1Error(f"Credit card amount must be greater than zero  [{where}.CreditSum]{at}")
        return {
            "LineNum": index,
            "CreditCard": card["CreditCardCode"],
            "CreditAcct": acct,
            "CreditCardNumber": str(raw.get("CreditCardNumber") or ""),
            "CardValidUntil": str(raw.get("CardValidUntil") or "2099-12-31"),
            "VoucherNum": str(raw["VoucherNum"]),
            "PaymentMethodCode": raw.get("PaymentMethodCode"),
            "CreditSum": amount,
            "CreditCur": raw.get("CreditCur") or self.local_currency,
            "CreditType": raw.get("CreditType") or "cr_Regular",
        }

    def _applied(self, index: int, raw: Any, head: str) -> dict[str, Any]:
        at = f"[line: {index + 1}]"
        where = f"{head[1:]}2"
        if not isinstance(raw, dict):
            raise B1Error(f"Invalid payment line  [{where}.DocEntry]{at}")
        _check_props(raw, _APPLIED_FIELDS, "PaymentInvoice")
        kind = str(raw.get("InvoiceType", "it_Invoice"))
        entity_set = {"it_Invoice": "Invoices", "it_CredItnote": "CreditNotes"}.get(kind)
        if entity_set is None:
            raise B1Error(f"Unsupported InvoiceType '{kind}'  [{where}.InvType]{at}")
        entry = raw.get("DocEntry")
        doc = self.find(entity_set, entry)
        if doc is None:
            raise B1Error(f"Invalid document {entry}  [{where}.DocEntry]{at}")
        self._check_free(entity_set, entry)
        amount = _num(raw.get("SumApplied", doc["DocTotal"] - doc["PaidToDate"]), "SumApplied")
        if amount <= 0:
            raise B1Error(f"Enter the amount to apply  [{where}.SumApplied]{at}")
        return {
            "LineNum": index,
            "DocEntry": doc["DocEntry"],
            "SumApplied": amount,
            "InvoiceType": kind,
            "InstallmentId": int(raw.get("InstallmentId", 1)),
        }

    def _pay_document(self, applied: dict[str, Any], amount: Decimal) -> None:
        entity_set = "Invoices" if applied["InvoiceType"] == "it_Invoice" else "CreditNotes"
        doc = self.find(entity_set, applied["DocEntry"])
        if doc is None:
            return
        doc["PaidToDate"] += amount
        doc["DocumentStatus"] = (
            "bost_Close" if doc["PaidToDate"] >= doc["DocTotal"] else "bost_Open"
        )
        self._stamp(doc, False, "CreationDate")
        self.bump(entity_set, doc["DocEntry"])

    # -- journal entries ----------------------------------------------------------------------
    def create_journal_entry(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            _check_props(body, _JOURNAL_FIELDS, "JournalEntry")
            day = _day_in(body.get("ReferenceDate"), "ReferenceDate") or self._now().date()
            raw_lines = body.get("JournalEntryLines")
            if not isinstance(raw_lines, list) or len(raw_lines) < 2:
                raise B1Error("A journal entry needs at least two lines  [JDT1.Account]")
            lines = []
            debit = credit = ZERO
            for i, raw in enumerate(raw_lines):
                at = f"[line: {i + 1}]"
                if not isinstance(raw, dict):
                    raise B1Error(f"Invalid journal line  [JDT1.Account]{at}")
                _check_props(raw, _JOURNAL_LINE_FIELDS, "JournalEntryLine")
                acct = raw.get("AccountCode")
                self._account(acct, "JDT1.Account", at)
                d = _num(raw.get("Debit", 0), "Debit")
                c = _num(raw.get("Credit", 0), "Credit")
                if d < 0 or c < 0 or (d and c) or not (d or c):
                    raise B1Error(f"Enter either a debit or a credit amount  [JDT1.Debit]{at}")
                debit += d
                credit += c
                lines.append(
                    {
                        "Line_ID": i,
                        "AccountCode": acct,
                        "ShortName": raw.get("ShortName") or acct,
                        "Debit": d,
                        "Credit": c,
                        "FCDebit": ZERO,
                        "FCCredit": ZERO,
                        "FCCurrency": None,
                        "LineMemo": raw.get("LineMemo"),
                        "Reference1": raw.get("Reference1"),
                        "Reference2": raw.get("Reference2"),
                        "CostingCode": raw.get("CostingCode"),
                        "ProjectCode": raw.get("ProjectCode"),
                        "TaxGroup": raw.get("TaxGroup"),
                        "VatLine": raw.get("VatLine", "tNO"),
                        "BaseSum": _num(raw.get("BaseSum", 0), "BaseSum"),
                        "VatAmount": _num(raw.get("VatAmount", 0), "VatAmount"),
                    }
                )
            if debit != credit:
                raise B1Error(
                    f"Unbalanced transaction: debit {debit} and credit {credit} differ  "
                    "[JDT1.Debit]"
                )
            jdt = self._entry("JournalEntries")
            row: dict[str, Any] = {
                "JdtNum": jdt,
                "Number": jdt,
                "ReferenceDate": day.isoformat(),
                "TaxDate": (_day_in(body.get("TaxDate"), "TaxDate") or day).isoformat(),
                "DueDate": (_day_in(body.get("DueDate"), "DueDate") or day).isoformat(),
                "Memo": body.get("Memo"),
                "Reference": body.get("Reference"),
                "Reference2": body.get("Reference2"),
                "Reference3": body.get("Reference3"),
                "TransactionCode": body.get("TransactionCode"),
                "ProjectCode": body.get("ProjectCode"),
                "AutoVAT": body.get("AutoVAT", "tNO"),
                "StornoDate": None,
                "OriginalJournal": None,
                "JournalEntryLines": lines,
            }
            row.update({k: v for k, v in body.items() if k.startswith("U_")})
            self.journal_entries.append(row)
            return row

    # -- updates and actions ----------------------------------------------------------------------
    def update(self, entity_set: str, key: Any, patch: dict[str, Any]) -> dict[str, Any]:
        """PATCH: the given top-level properties change, the rest stay (never lines)."""
        with self.lock:
            row = self.find(entity_set, key)
            if row is None:
                raise B1Error(MSG_NOT_FOUND, CODE_NOT_FOUND, 404)
            self._check_free(entity_set, key)
            key_name = ENTITY_SETS[entity_set][1]
            fixed = {key_name, "DocNum", "DocTotal", "VatSum", "DocumentLines", "CardCode"}
            for name, value in patch.items():
                if name in fixed or isinstance(value, list | dict):
                    raise B1Error(f"Property '{name}' cannot be updated", CODE_INVALID)
                if name not in row and not name.startswith("U_"):
                    type_name = PROPERTIES[entity_set][0]
                    raise B1Error(
                        f"Property '{name}' of '{type_name}' is invalid", CODE_BAD_PROPERTY
                    )
            row.update(patch)  # all checked first: a refused PATCH changes nothing
            if "UpdateDate" in row:
                self._stamp(row, False, "CreationDate")
            self.bump(entity_set, key)
            return row

    def action(self, entity_set: str, key: Any, name: str) -> dict[str, Any] | None:
        """`Cancel` / `Close` on documents, `Cancel` on payments and journal entries."""
        with self.lock:
            row = self.find(entity_set, key)
            if row is None:
                raise B1Error(MSG_NOT_FOUND, CODE_NOT_FOUND, 404)
            self._check_free(entity_set, key)
            if entity_set in DOCUMENT_SETS and name in ("Cancel", "Close"):
                if row["Cancelled"] == "tYES" or row["DocumentStatus"] == "bost_Close":
                    raise B1Error("Document is already closed or cancelled")
                if name == "Cancel":
                    self._cancellation(entity_set, row)
                    row.update({"Cancelled": "tYES", "CancelStatus": "csYes"})
                row["DocumentStatus"] = "bost_Close"
                self._stamp(row, False, "CreationDate")
                self.bump(entity_set, key)
                return None
            if entity_set in PAYMENT_SETS and name == "Cancel":
                if row["Cancelled"] == "tYES":
                    raise B1Error("Payment is already cancelled")
                for applied in row["PaymentInvoices"]:
                    self._pay_document(applied, -applied["SumApplied"])
                row["Cancelled"] = "tYES"
                return None
            if entity_set == "JournalEntries" and name == "Cancel":
                if row.get("StornoDate"):
                    raise B1Error("Journal entry is already reversed")
                row["StornoDate"] = self._now().date().isoformat()
                reverse = {
                    "ReferenceDate": row["StornoDate"],
                    "Memo": f"Reversal - {row['JdtNum']}",
                    "Reference": row["Reference"],
                    "JournalEntryLines": [
                        {
                            "AccountCode": ln["AccountCode"],
                            "Debit": ln["Credit"],
                            "Credit": ln["Debit"],
                            "LineMemo": ln["LineMemo"],
                        }
                        for ln in row["JournalEntryLines"]
                    ],
                }
                created = self.create_journal_entry(reverse)
                created["OriginalJournal"] = row["JdtNum"]
                return None
            raise B1Error(f"Action '{name}' is not supported for this object", CODE_NOT_SUPPORTED)

    def delete(self, entity_set: str, key: Any) -> None:
        with self.lock:
            if entity_set in NO_DELETE:
                raise B1Error(
                    "Action not supported for this object; documents can only be cancelled "
                    "or closed",
                    CODE_NOT_SUPPORTED,
                )
            row = self.find(entity_set, key)
            if row is None:
                raise B1Error(MSG_NOT_FOUND, CODE_NOT_FOUND, 404)
            self._check_free(entity_set, key)
            self.table(entity_set).remove(row)


# --------------------------------------------------------------------- HTTP layer
_KEY = re.compile(r"^(?P<set>[A-Za-z]+)\((?P<key>.*)\)$")


def _parse_key(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    try:
        return int(text)
    except ValueError:
        raise B1Error(f"Invalid key value '{text}'", -1000) from None


def _page_size(request: Request, default: int) -> tuple[int, bool]:
    """(page size, whether a Prefer header asked for it); 0 turns paging off."""
    for pref in request.headers.get("prefer", "").split(","):
        name, _, value = pref.strip().partition("=")
        if name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            return int(value.strip()), True
    header = request.headers.get("b1s-pagesize", "").strip()
    if header.isdigit():
        return int(header), False
    return default, False


def _b1_error(exc: B1Error) -> Response:
    return json_response(error_body(exc.code, str(exc)), exc.status)


class _B1ErrorShape:
    """Gives error answers from the shared fault layer the B1 body shape.

    The fault middleware speaks Sage's `{"message": ...}`; the Service Layer answers
    `{"error": {"code", "message": {"lang", "value"}}}`. Its record-lock text becomes B1's
    -2039 "another user modified data" (inferred for desktop locks). Success answers and
    HTML pages pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def shaped_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                types = [v for k, v in message.get("headers", []) if k.lower() == b"content-type"]
                is_json = any(b"json" in v for v in types)
                if message["status"] >= 400 and is_json:
                    start = message
                    return
                await send(message)
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = _reshape(b"".join(chunks), start["status"])
            kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            kept.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": start["status"], "headers": kept})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, shaped_send)


def _reshape(body: bytes, status: int) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or "error" in data:
        return body
    text = str(data.get("message") or data.get("errortext") or "Internal error")
    if text == RECORD_LOCK_MESSAGE:
        return dumps(error_body(CODE_MODIFIED, MSG_MODIFIED)).encode()
    return dumps(error_body(-1 if status >= 500 else -10, text)).encode()


# --------------------------------------------------------------------- $batch (OData v3)
@dataclass
class _BatchRequest:
    """One `application/http` part of a `$batch`: its request line, headers and body."""

    method: str
    path: str  # relative to the service root, e.g. "Invoices(1201)" or "$1"
    query: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_STATUS_TEXT = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
                401: "Unauthorized", 404: "Not Found", 412: "Precondition Failed",
                500: "Internal Server Error"}  # fmt: skip


def _split_head(text: str) -> tuple[dict[str, str], str]:
    """MIME-style `Name: value` lines up to the first blank line, and the rest."""
    head, _, rest = text.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.split("\n"):
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return headers, rest


def _multipart(text: str, content_type: str) -> list[tuple[dict[str, str], str]]:
    """The parts of a multipart/mixed body (LF line ends): (part headers, part content)."""
    m = _BOUNDARY.search(content_type)
    if "multipart/mixed" not in content_type.lower() or m is None:
        raise B1Error("Batch request must be multipart/mixed with a boundary", -1000)
    delimiter = "--" + m[1]
    if delimiter + "--" not in text:
        raise B1Error(f"Batch request does not end with {delimiter}--", -1000)
    body = text.split(delimiter + "--", 1)[0]
    chunks = body.split(delimiter)[1:]  # the preamble goes
    parts = []
    for chunk in chunks:
        headers, content = _split_head(chunk.lstrip("\n").removesuffix("\n"))
        parts.append((headers, content))
    return parts


def _http_part(headers: dict[str, str], content: str) -> _BatchRequest:
    if "application/http" not in headers.get("content-type", "").lower():
        raise B1Error("Each batch part must be application/http", -1000)
    request_line, _, rest = content.lstrip("\n").partition("\n")
    bits = request_line.split()
    if len(bits) < 2:
        raise B1Error(f"Cannot read the batch request line {request_line!r}", -1000)
    inner_headers: dict[str, str] = {}
    body = rest
    if rest.strip() and not rest.startswith("\n"):  # headers, a blank line, the body
        inner_headers, body = _split_head(rest)
    url = bits[1]
    url = re.sub(r"^https?://[^/]+", "", url)
    url = url.removeprefix(BASE_PATH).lstrip("/")
    path, _, query = url.partition("?")
    return _BatchRequest(
        bits[0].upper(),
        path,
        query,
        inner_headers,
        body.strip().encode(),
        headers.get("content-id"),
    )


def _http_answer(response: Response, content_id: str | None) -> str:
    status = response.status_code
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Error')}"]
    for name, value in response.headers.items():
        if name.lower() not in ("content-length",):
            lines.append(f"{name.title()}: {value}")
    body = bytes(response.body).decode() if response.body else ""
    return "\r\n".join([*lines, "", body])


_TABLES = _names(  # what a failed change set restores
    "items warehouses business_partners invoices credit_notes incoming_payments "
    "vendor_payments journal_entries accounts vat_groups credit_cards versions next_entry "
    "next_num"
)


def create_app(
    state: SapB1State, creds: SapB1Credentials, faults: Faults | None = None
) -> Starlette:
    """The Starlette app serving `state` under `/b1s/v1`."""

    def root_url(request: Request) -> str:
        return str(request.base_url).rstrip("/") + BASE_PATH

    def session_ok(request: Request) -> bool:
        if request.cookies.get("ROUTEID") != ROUTE_ID:
            return False  # landed on another node, which does not know the session
        return state.touch(request.cookies.get("B1SESSION"))

    def denied() -> Response:
        return json_response(error_body(CODE_SESSION, MSG_SESSION), 401)

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise B1Error("Invalid JSON in the request body", -1000) from None
        if not isinstance(body, dict):
            raise B1Error("The request body must be a JSON object", -1000)
        return body

    async def login(request: Request) -> Response:
        try:
            body = await body_of(request)
        except B1Error as exc:
            return _b1_error(exc)
        if (
            body.get("CompanyDB") != creds.company_db
            or body.get("UserName") != creds.user
            or body.get("Password") != creds.password
        ):
            return json_response(error_body(CODE_LOGIN, MSG_LOGIN), 401)
        sid = state.new_session()
        minutes = max(1, math.ceil(state.session_timeout_seconds / 60))
        response = json_response(
            {
                "odata.metadata": f"{root_url(request)}/$metadata#B1Sessions/@Element",
                "SessionId": sid,
                "Version": SESSION_VERSION,
                "SessionTimeout": minutes,
            }
        )
        response.set_cookie("B1SESSION", sid, httponly=True, path=BASE_PATH)
        response.set_cookie("ROUTEID", ROUTE_ID, path="/b1s")
        return response

    async def logout(request: Request) -> Response:
        if not session_ok(request):
            return denied()
        state.end_session(request.cookies.get("B1SESSION", ""))
        return Response(status_code=204)

    def collection(request: Request, name: str, count_only: bool) -> Response:
        key = ENTITY_SETS[name][1]
        fold = request.headers.get("b1s-caseinsensitive", "").lower() == "true"
        query = parse_b1_query(request.query_params, fold)
        check_query(name, query)
        with state.lock:
            rows, total = apply_b1_query(state.table(name), query, key)
            if count_only:
                return Response(str(total), media_type="text/plain")
            size, preferred = _page_size(request, state.page_size)
            page = rows if size == 0 else rows[:size]
            out: dict[str, Any] = {"odata.metadata": f"{root_url(request)}/$metadata#{name}"}
            if query.inlinecount:
                out["odata.count"] = str(total)
            out["value"] = [select_b1(r, query.select) for r in page]
        if size and len(rows) > size:
            params = {
                k: v
                for k, v in request.query_params.items()
                if k in ("$filter", "$select", "$orderby", "$inlinecount")
            }
            params["$skip"] = str(query.skip + size)
            if query.top is not None:
                params["$top"] = str(query.top - size)
            encoded = "&".join(
                f"{k}={quote(v, safe=chr(36) + chr(39) + ',()=:')}" for k, v in params.items()
            )
            out["odata.nextLink"] = f"{BASE_PATH}/{name}?{encoded}"
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if preferred else None
        return json_response(out, headers=headers)

    def etag_headers(name: str, key: Any) -> dict[str, str] | None:
        return {"ETag": state.etag(name, key)} if name in ETAG_SETS else None

    async def dispatch(request: Request) -> Response:
        rest = request.path_params["rest"].strip("/")
        method = request.method
        if rest == "Login" and method == "POST":
            return await login(request)
        if not session_ok(request):
            return denied()
        if rest == "Logout" and method == "POST":
            return await logout(request)
        if rest == "$batch" and method == "POST":
            try:
                return await batch(request)
            except B1Error as exc:
                return _b1_error(exc)
        return await answer(request, rest, method)

    async def answer(request: Request, rest: str, method: str) -> Response:
        try:
            return await route(request, rest, method)
        except B1QueryError as exc:
            return json_response(error_body(-1000, str(exc)), 400)
        except B1Error as exc:
            return _b1_error(exc)

    async def run_part(outer: Request, part: _BatchRequest, created: dict[str, str]) -> Response:
        """One batch part, answered as if it came alone (`$n` names what Content-ID n
        created earlier in the same change set)."""
        path = part.path
        ref = re.match(r"^\$(\w+)", path)
        if ref is not None:
            if ref[1] not in created:
                return _b1_error(B1Error(f"Content-ID reference ${ref[1]} is not defined", -1000))
            path = created[ref[1]] + path[ref.end() :]
        headers = [(k.encode(), v.encode()) for k, v in part.headers.items()]
        scope = {
            **outer.scope,
            "method": part.method,
            "path": f"{BASE_PATH}/{path}",
            "raw_path": f"{BASE_PATH}/{path}".encode(),
            "query_string": part.query.encode(),
            "headers": [*headers, *[(k, v) for k, v in outer.scope["headers"]
                                    if k == b"cookie"]],
        }  # fmt: skip
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": part.body, "more_body": False}

        response = await answer(Request(scope, receive), path, part.method)
        location = response.headers.get("location")
        if part.content_id is not None and location:
            created[part.content_id] = location.rsplit("/", 1)[-1]
        return response

    async def change_set(outer: Request, parts: list[_BatchRequest]) -> tuple[bool, list[str]]:
        """All of a change set or none of it: any failure restores the company as it was
        and the change set answers with that one failure (False)."""
        created: dict[str, str] = {}
        with state.lock:
            saved = {name: copy.deepcopy(getattr(state, name)) for name in _TABLES}
            answers: list[str] = []
            for part in parts:
                response = await run_part(outer, part, created)
                if response.status_code >= 400:
                    for name, value in saved.items():
                        setattr(state, name, value)
                    return False, [_http_answer(response, part.content_id)]
                answers.append(_http_answer(response, part.content_id))
            return True, answers

    async def batch(request: Request) -> Response:
        """`POST /$batch`: multipart/mixed, each part a request or a change set (atomic).
        Answers 202 with one response part per request / change set, in order."""
        text = (await request.body()).decode("utf-8", "replace").replace("\r\n", "\n")
        outer_parts = _multipart(text, request.headers.get("content-type", ""))
        mark = uuid.uuid4().hex
        out: list[str] = []
        for headers, content in outer_parts:
            kind = headers.get("content-type", "")
            if kind.lower().startswith("multipart/mixed"):
                inner = [_http_part(h, c) for h, c in _multipart(content, kind)]
                ok, answers = await change_set(request, inner)
                if not ok:
                    out.append(answers[0])
                    continue
                sub = f"changesetresponse_{mark}"
                body = "".join(f"--{sub}\r\n{a}\r\n" for a in answers) + f"--{sub}--"
                out.append(f"Content-Type: multipart/mixed; boundary={sub}\r\n\r\n{body}")
            else:
                part = _http_part(headers, content)
                with state.lock:
                    response = await run_part(request, part, {})
                out.append(_http_answer(response, part.content_id))
        top = f"batchresponse_{mark}"
        body = "".join(f"--{top}\r\n{p}\r\n" for p in out) + f"--{top}--\r\n"
        return Response(body, status_code=202, media_type=f"multipart/mixed; boundary={top}")

    async def route(request: Request, rest: str, method: str) -> Response:
        parts = rest.split("/")
        head = parts[0]
        m = _KEY.match(head)
        name = m.group("set") if m else head
        if name not in ENTITY_SETS:
            return json_response(
                error_body(-1, f"Resource not found for the segment '{name}'."), 404
            )
        if m is None:
            if len(parts) == 2 and parts[1] == "$count" and method == "GET":
                return collection(request, name, True)
            if len(parts) > 1:
                raise B1Error(f"Resource not found for the segment '{parts[1]}'.", -1, 404)
            if method == "GET":
                return collection(request, name, False)
            if method == "POST":
                return await create(request, name)
            raise B1Error("Action not supported for this object", CODE_NOT_SUPPORTED)
        key = _parse_key(m.group("key"))
        if len(parts) == 2 and method == "POST":
            state.action(name, key, parts[1])
            return Response(status_code=204)
        if len(parts) > 1:
            raise B1Error(f"Resource not found for the segment '{parts[1]}'.", -1, 404)
        if method == "GET":
            query = parse_b1_query(
                {k: v for k, v in request.query_params.items() if k == "$select"}
            )
            check_query(name, query)
            with state.lock:
                row = state.find(name, key)
                if row is None:
                    raise B1Error(MSG_NOT_FOUND, CODE_NOT_FOUND, 404)
                out = {
                    "odata.metadata": f"{root_url(request)}/$metadata#{name}/@Element",
                    **select_b1(row, query.select),
                }
                return json_response(out, headers=etag_headers(name, key))
        if method in ("PATCH", "MERGE") or (
            method == "POST" and request.headers.get("x-http-method-override") == "PATCH"
        ):
            match = request.headers.get("if-match")
            with state.lock:
                if (
                    name in ETAG_SETS
                    and match
                    and match != "*"
                    and state.find(name, key) is not None
                    and match != state.etag(name, key)
                ):
                    raise B1Error(MSG_MODIFIED, CODE_MODIFIED, 412)
                state.update(name, key, await body_of(request))
                return Response(status_code=204, headers=etag_headers(name, key))
        if method == "DELETE":
            state.delete(name, key)
            return Response(status_code=204)
        raise B1Error("Action not supported for this object", CODE_NOT_SUPPORTED)

    async def create(request: Request, name: str) -> Response:
        if name not in CREATABLE:
            raise B1Error("Action not supported for this object", CODE_NOT_SUPPORTED)
        body = await body_of(request)
        if name in DOCUMENT_SETS:
            row = state.create_document(name, body)
        elif name in PAYMENT_SETS:
            row = state.create_payment(name, body)
        elif name == "JournalEntries":
            row = state.create_journal_entry(body)
        else:
            row = state.create_business_partner(body)
        key = row[ENTITY_SETS[name][1]]
        shown = f"'{key}'" if isinstance(key, str) else str(key)
        headers = {"Location": f"{root_url(request)}/{name}({shown})"}
        headers.update(etag_headers(name, key) or {})
        if "return-no-content" in request.headers.get("prefer", ""):
            headers["Preference-Applied"] = "return-no-content"
            return Response(status_code=204, headers=headers)
        out = {"odata.metadata": f"{root_url(request)}/$metadata#{name}/@Element", **row}
        return json_response(out, 201, headers=headers)

    async def outside(request: Request) -> Response:
        return json_response(error_body(-1, "Resource not found."), 404)

    methods = ["GET", "POST", "PATCH", "MERGE", "PUT", "DELETE"]
    routes = [
        Route(BASE_PATH + "/{rest:path}", dispatch, methods=methods),
        Route("/{path:path}", outside, methods=methods),
    ]
    app = Starlette(routes=routes)
    if faults is not None:
        # The shared fault layer speaks Sage's error shape; `_B1ErrorShape` (added last, so
        # outermost) rewrites it into B1's.
        app.add_middleware(FaultMiddleware, faults=faults, vendor="sage200")
        app.add_middleware(_B1ErrorShape)
    return app


# --------------------------------------------------------------------- scenario seeding
def seed_from_scenario(scenario: Scenario, posting_mode: str | None = None) -> SapB1State:
    """The B1 company for `scenario`, translated from its Sage 200 state.

    Codes keep their Sage spelling so the scenario's mappings file works unchanged:
    warehouse `name` -> `WarehouseCode`, nominal `reference` -> G/L `Code`, tax code
    `code` number -> `VatGroup` code (`"1"`, `"5"`, `"0"`), customer `reference` ->
    `CardCode`, product `code` -> `ItemCode`. Sage SOP orders become A/R invoices
    (`NumAtCard` = `customer_document_no`, `DocNum` = the Sage document number as an
    int), sales receipts become one incoming payment per POS order (`CounterReference`
    = the order id; the cash bank's receipts in `CashAccount`/`CashSum`, every other tender
    a `PaymentCreditCards` line whose `CreditAcct` is the bank code), sales payments
    become vendor payments the same way.

    Stock: B1 moves stock with every invoice and credit note, while the scenario's stock
    (Sage holdings, equal to the POS snapshot) is what both sides hold after all its
    sales. So B1 is seeded with the stock as it was before the sync posts the scenario's
    sales: the Sage holding (`InStock` = in stock, `Committed` = allocated) plus what the
    sync's documents will take out (`_sync_moves`); the hand-keyed documents seeded here
    are already inside the Sage holdings. After a per-order sync B1 then holds exactly the
    Sage holdings. `posting_mode` (default: the scenario's mappings `[settings]`) says how
    the sync will post: `daily_journal` posts journal entries, which move no stock, so B1
    is seeded with the holdings as they are.
    """
    if posting_mode not in (None, "per_order", "daily_journal"):
        raise ValueError(f"posting_mode {posting_mode!r}: use per_order or daily_journal")
    sage = scenario.sage200
    b1 = SapB1State(company_name=sage.company_name)
    stamp = sage.products[0]["date_time_created"] if sage.products else None
    b1.frozen_now = _sage_instant(stamp) if stamp else None
    for nominal in sage.nominal_codes:
        ref = nominal["reference"]
        bank = next((b for b in sage.banks if b["code"] == ref), None)
        hidden = nominal["account_status_type"] != "AccountStatusActive" or (
            bank is not None and bank["account_status_type"] != "AccountStatusActive"
        )
        kind = "at_Revenues" if ref.startswith("4") else "at_Other"
        cash = bank is not None and "cash" in bank["description"].lower()
        b1.add_account(ref, nominal["name"], cash=cash, frozen=hidden, account_type=kind)
    for bank in sage.banks:
        if b1.find("ChartOfAccounts", bank["code"]) is None:
            hidden = bank["account_status_type"] != "AccountStatusActive"
            b1.add_account(bank["code"], bank["description"], frozen=hidden)
    cards = [b for b in sage.banks if "cash" not in b["description"].lower()]
    for n, bank in enumerate(cards, start=1):
        b1.add_credit_card(n, bank["description"], bank["code"])
    vat_by_id: dict[int, str] = {}
    for tax in sage.tax_codes:
        code = str(tax["code"])
        vat_by_id[tax["id"]] = code
        b1.add_vat_group(code, tax["name"], Decimal(str(tax["tax_rate"])))
    wh_by_id = {w["id"]: w["name"] for w in sage.warehouses}
    for wh in sage.warehouses:
        b1.add_warehouse(wh["name"], wh["description"])
    customers = {c["id"]: c["reference"] for c in sage.customers}
    for cust in sage.customers:
        b1.add_business_partner(cust["reference"], cust["name"])
    default_wh = sage.warehouses[0]["name"] if sage.warehouses else None
    prices = {v["product_id"]: Decimal(str(v["product_price_price"])) for v in sage.price_views}
    codes = {p["id"]: p["code"] for p in sage.products}
    for product in sage.products:
        active = product["product_status_type"] == "EnumStockItemStatusTypeActive"
        b1.add_item(
            product["code"],
            product["name"],
            vat_by_id.get(product["tax_code_id"], "1"),
            prices.get(product["id"], ZERO),
            active=active,
            default_warehouse=default_wh,
        )
    planted = sorted(sage.sop_orders, key=lambda o: o["date_time_created"])
    for order in planted:
        b1.frozen_now = _sage_instant(order["date_time_created"])
        b1.create_document(
            "Invoices",
            {
                "CardCode": customers[order["customer_id"]],
                "DocDate": order["document_date"][:10],
                "NumAtCard": order["customer_document_no"] or None,
                "DocumentLines": [
                    {
                        "ItemCode": codes[ln["product_id"]],
                        "Quantity": ln["line_quantity"],
                        "Price": ln["selling_unit_price"],
                        "VatGroup": vat_by_id[ln["tax_code_id"]],
                        "WarehouseCode": wh_by_id[ln["warehouse_id"]],
                    }
                    for ln in order["lines"]
                    if ln["line_type"] == "EnumLineTypeStandard"
                ],
            },
            doc_num=int(order["document_no"]),
        )
    _seed_ledger_documents(b1, sage.sales_posted, vat_by_id, customers)
    _seed_payments(b1, sage.sales_posted, sage.banks, customers)
    held = {
        (codes[h["product_id"]], wh_by_id[h["warehouse_id"]]): (
            Decimal(str(h["quantity_in_stock"])),
            Decimal(str(h["quantity_allocated"])),
        )
        for h in sage.holdings
    }
    if posting_mode is None:
        settings = tomllib.loads(scenario.mappings_toml).get("settings", {})
        posting_mode = str(settings.get("posting_mode", "per_order"))
    to_move = _sync_moves(scenario, b1) if posting_mode == "per_order" else {}
    seeded = {
        (item["ItemCode"], info["WarehouseCode"])
        for item in b1.items
        for info in item["ItemWarehouseInfoCollection"]
    }
    for item_code, warehouse in sorted(held.keys() | seeded | to_move.keys()):
        in_stock, allocated = held.get((item_code, warehouse), (ZERO, ZERO))
        moves = to_move.get((item_code, warehouse), ZERO)
        b1.set_stock(item_code, warehouse, in_stock + moves, allocated)
    b1.frozen_now = None
    return b1


def _sync_moves(scenario: Scenario, b1: SapB1State) -> dict[tuple[str, str], Decimal]:
    """(ItemCode, WarehouseCode) -> quantity the sync's invoices will take out of B1, less
    what its credit notes will put back: the scenario's completed, paid POS orders (type 10)
    at a store its mappings map, minus those B1 already holds a document for (`NumAtCard`)
    and those the scenario's truth says reach no ERP document (`missing_in_erp`,
    `refund_without_credit_note`)."""
    stores = tomllib.loads(scenario.mappings_toml).get("stores", {})
    location_of: dict[str, str] = {
        str(store): str(value["location"] if isinstance(value, dict) else value)
        for store, value in stores.items()
    }
    store_of = {w["warehouseid"]: str(w["storeid"]) for w in scenario.sitoo.warehouses}
    not_posted = {
        str(t["pos_ref"])
        for t in scenario.truth
        if t["kind"] in ("missing_in_erp", "refund_without_credit_note") and t["pos_ref"]
    }
    not_posted |= {d["NumAtCard"] for d in (*b1.invoices, *b1.credit_notes) if d["NumAtCard"]}
    eligible = (ORDERTYPE_ORDER, STATE_CLOSED, PAY_SUCCESSFUL)
    moves: dict[tuple[str, str], Decimal] = {}
    for order in scenario.sitoo.orders.values():
        if (order["ordertypeid"], order["orderstateid"], order["paymentstateid"]) != eligible:
            continue
        location = location_of.get(store_of.get(order["warehouseid"], ""))
        if location is None or str(order["orderid"]) in not_posted:
            continue
        for line in order["orderitems"]:
            if line["orderitemtype"] == 10 and b1.find("Items", line["sku"]) is not None:
                key = (line["sku"], location)
                moves[key] = moves.get(key, ZERO) + Decimal(line["quantity"])
    return moves


_RECEIPT = "TradingAccountEntryTypePurchasePaymentSalesReceipt"
_LEDGER_DOCS = {
    "TradingAccountEntryTypeInvoice": "Invoices",
    "TradingAccountEntryTypeCreditNote": "CreditNotes",
}


def _seed_ledger_documents(
    b1: SapB1State,
    posted: list[dict[str, Any]],
    vat_by_id: dict[int, str],
    customers: dict[int, str],
) -> None:
    """Sage sales-ledger invoices / credit notes (no item lines) -> B1 service documents
    (`DocType` dDocument_Service, one line per tax code), `DocNum` = the Sage URN."""
    for row in sorted(posted, key=lambda r: r["date_time_created"]):
        target = _LEDGER_DOCS.get(row["trader_transaction_type"])
        if target is None:
            continue
        b1.frozen_now = _sage_instant(row["date_time_created"])
        account = next((n["code"] for n in row["nominal_analysis_items"]), b1.revenue_account)
        lines = [
            {
                "ItemDescription": item["name"],
                "AccountCode": account,
                "LineTotal": abs(Decimal(str(item["goods_amount"]))),
                "TaxTotal": abs(Decimal(str(item["tax_amount"]))),
                "VatGroup": vat_by_id[item["id"]],
            }
            for item in row["tax_analysis_items"]
        ]
        original = row["second_reference"]
        b1.create_document(
            target,
            {
                "DocType": "dDocument_Service",
                "CardCode": customers[row["customer_id"]],
                "DocDate": row["transaction_date"][:10],
                "NumAtCard": row["reference"] or None,
                "Comments": f"Return of POS order {original}" if original else None,
                "DocumentLines": lines,
            },
            doc_num=int(row["urn"]),
        )


_PAYMENT = "TradingAccountEntryTypePurchaseReceiptSalesPayment"


def _seed_payments(
    b1: SapB1State,
    posted: list[dict[str, Any]],
    banks: list[dict[str, Any]],
    customers: dict[int, str],
) -> None:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in sorted(posted, key=lambda r: r["date_time_created"]):
        kind = row["trader_transaction_type"]
        if kind in (_RECEIPT, _PAYMENT):
            target = "IncomingPayments" if kind == _RECEIPT else "VendorPayments"
            groups.setdefault((target, row["reference"]), []).append(row)
    cash_codes = {b["code"] for b in banks if "cash" in b["description"].lower()}
    for (target, ref), rows in groups.items():
        b1.frozen_now = _sage_instant(rows[0]["date_time_created"])
        body: dict[str, Any] = {
            "DocType": "rCustomer",
            "CardCode": customers[rows[0]["customer_id"]],
            "DocDate": rows[0]["transaction_date"][:10],
            "CounterReference": ref,
            "PaymentCreditCards": [],
        }
        for row in rows:
            for item in row["bank_items"]:
                value = abs(Decimal(str(item["value"])))
                if item["bank_code"] in cash_codes:
                    body["CashAccount"] = item["bank_code"]
                    body["CashSum"] = body.get("CashSum", ZERO) + value
                else:
                    card = next(c for c in b1.credit_cards if c["GLAccount"] == item["bank_code"])
                    body["PaymentCreditCards"].append(
                        {
                            "CreditCard": card["CreditCardCode"],
                            "CreditAcct": item["bank_code"],
                            "VoucherNum": f"{ref}-{len(body['PaymentCreditCards']) + 1}",
                            "CreditSum": value,
                        }
                    )
        if target == "IncomingPayments":
            invoice = next((i for i in b1.invoices if i["NumAtCard"] == ref), None)
            total = body.get("CashSum", ZERO) + sum(
                (c["CreditSum"] for c in body["PaymentCreditCards"]), ZERO
            )
            if invoice is not None:
                applied = min(total, invoice["DocTotal"] - invoice["PaidToDate"])
                if applied > 0:
                    body["PaymentInvoices"] = [
                        {
                            "DocEntry": invoice["DocEntry"],
                            "SumApplied": applied,
                            "InvoiceType": "it_Invoice",
                        }
                    ]
        b1.create_payment(target, body)


def _sage_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def truth_for_sapb1(scenario: Scenario) -> list[dict[str, str | None]]:
    """The scenario's expected exceptions as seen through SAP B1: `erp_ref` is the `DocNum`
    (the Sage document number without its leading zeros, as `seed_from_scenario` numbers
    the invoices)."""
    out: list[dict[str, str | None]] = []
    for row in scenario.truth:
        ref = row.get("erp_ref")
        copy = dict(row)
        if ref is not None and ref.isdigit():
            copy["erp_ref"] = str(int(ref))
        out.append(copy)
    return out
