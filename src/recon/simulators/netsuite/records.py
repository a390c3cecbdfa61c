"""The record catalogue: paths, record types and the transactions among them, which
fields and sublists each type has (unknown ones refused), and the value checks that read a
request body's amounts, dates, `{"id"}` references and sublists.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from recon.simulators.netsuite.errors import NetSuiteError

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


def ignored_warning(paths: list[str], record_type: str) -> str:
    """The X-NetSuite-Warning text naming the body fields ignored under
    `X-NetSuite-PropertyNameValidation: Warning` ("" for none; wording invented). A header
    holds only printable ASCII: a field name's other characters are escaped."""
    if not paths:
        return ""
    named = ", ".join(p.encode("unicode_escape").decode("ascii") for p in paths)
    return f"Unknown fields ignored: the record type {record_type} has no field {named}."


def _field_error(path: str, record_type: str, query_param: str | None = None) -> NetSuiteError:
    """Refusal of a field the record type does not have (wording invented)."""
    return NetSuiteError(
        f"Invalid field {path}: the record type {record_type} has no field "
        f"{path.rsplit('.', 1)[-1]}.",
        "INVALID_CONTENT" if query_param is None else "INVALID_PARAMETER",
        path=None if query_param else path,
        query_param=query_param,
    )


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
