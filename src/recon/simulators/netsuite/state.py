"""`NetSuiteState`: everything the simulated account holds, seeded with `add_*` and
written with `create`/`upsert`, behind one lock, with its SQLite copy for SuiteQL.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from recon.simulators._wire import Clock, round2
from recon.simulators.netsuite.errors import NOT_FOUND, NetSuiteError
from recon.simulators.netsuite.records import (
    ITEM_DOCUMENTS,
    MAX_QUERY_ROWS,
    READ_ONLY,
    RECORD_TYPES,
    REF_TARGETS,
    STATUS_NAMES,
    TRANSACTIONS,
    _day,
    _dec,
    _ref_id,
    _sublist,
    ns_instant,
)
from recon.simulators.netsuite.sqlcopy import _build_sql


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
    max_query_rows: int = MAX_QUERY_ROWS  # results of a query offset paging reaches
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
