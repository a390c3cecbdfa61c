"""SAP B1 simulator: invoices and credit notes (lines, totals, VAT, stock moves, base
documents and the cancellation document).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from recon.simulators._wire import round2
from recon.simulators.sapb1.company import _Company
from recon.simulators.sapb1.schema import (
    _DOC_FIELDS,
    _LINE_FIELDS,
    DOCUMENT_SETS,
    OBJ_CREDIT_NOTE,
    OBJ_INVOICE,
    SIX,
    ZERO,
    B1Error,
    _check_props,
    _day_in,
    _num,
    _opt_num,
    _yes_no,
)


class _Documents(_Company):
    """Invoice and credit-note postings on the company database."""

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
