"""SAP B1 simulator: `SapB1State`, the in-memory company database, with payments, journal
entries, PATCH updates, the Cancel / Close actions and deletes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from recon.simulators.sapb1.documents import _Documents
from recon.simulators.sapb1.schema import (
    _APPLIED_FIELDS,
    _CARD_FIELDS,
    _JOURNAL_FIELDS,
    _JOURNAL_LINE_FIELDS,
    _PAYMENT_FIELDS,
    CODE_BAD_PROPERTY,
    CODE_INVALID,
    CODE_NOT_FOUND,
    CODE_NOT_SUPPORTED,
    DOCUMENT_SETS,
    ENTITY_SETS,
    MSG_NOT_FOUND,
    NO_DELETE,
    PAYMENT_SETS,
    PROPERTIES,
    ZERO,
    B1Error,
    _check_props,
    _day_in,
    _num,
    _opt_num,
)


class SapB1State(_Documents):
    """The simulated company database. Seed with the `add_*` / `create_*` methods."""

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
