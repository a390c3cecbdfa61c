"""SAP B1 Service Layer simulator: the entity sets and their properties, B1's error codes,
messages and body shape, the credentials, and the checks on posted values and queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from recon.simulators._b1odata import (
    B1Query,
    b1_day,
)

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
