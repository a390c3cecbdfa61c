"""SAP B1 simulator: the company database's fields, lookups, sessions, record locks, stamps and
numbering, and its master data (warehouses, accounts, VAT groups, cards, partners, items,
stock).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from recon.simulators._wire import Clock
from recon.simulators.sapb1.schema import (
    _PARTNER_FIELDS,
    CODE_MODIFIED,
    ENTITY_SETS,
    MSG_MODIFIED,
    OBJ_INVOICE,
    ZERO,
    B1Error,
    _check_props,
    _yn,
)


@dataclass
class _Company:
    """The company database's state and master data; `SapB1State` adds the postings."""

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
