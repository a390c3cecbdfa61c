"""Valid vendor payloads written from the vendors' documented examples (not the simulators):
the poison tests mutate one field of these at a time.

Sitoo: /work/shared/reference/sitoo.md section 6 (orders 5120 and its refund 5121, as in
spysystem/sitoo-client `src/paths/orders.yaml`). Sage 200: sage200.md (the `sop_orders`
read and the created order's lines). NetSuite: netsuite.md (the SuiteQL transaction rows).
SAP B1: sap-b1.md (the `/Invoices` read and the created invoice's lines).
"""

from __future__ import annotations

import copy
from typing import Any

SITOO_SALE: dict[str, Any] = {
    "orderid": 5120, "ordertypeid": 10, "orderstateid": 10, "paymentstateid": 20,
    "orderdate": 1717229850, "warehouseid": 3, "currencycode": "GBP",
    "moneyfinal_net": "20.83", "moneyfinal_vat": "4.17", "moneytotal_gross_all": "25.00",
    "creditorderid": None,
    "additionaldata": {"pos-receiptid": "LON1-000812", "store-externalid": "LON1",
                       "pos-timezone": "Europe/London"},
    "orderitems": [{"orderitemid": 0, "orderitemtype": 10, "productname": "Tee black M",
                    "sku": "TEE-BLK-M", "quantity": 1, "moneynetpriceperunit": "20.83",
                    "vatvalue": 20, "moneyitemtotal_net": "20.83", "moneyitemtotal_vat": "4.17",
                    "moneydiscount": "0.00", "decimalquantitytotal": "1.000"}],
    "payments": [{"name": "Card", "moneyamount": "25.00", "reftype": "adyen",
                  "refid": "PSP-88121"}],
}  # fmt: skip

SITOO_REFUND: dict[str, Any] = {
    "orderid": 5121, "ordertypeid": 10, "orderstateid": 10, "paymentstateid": 20,
    "orderdate": 1717230400, "warehouseid": 3, "currencycode": "GBP",
    "moneyfinal_net": "-20.83", "moneyfinal_vat": "-4.17", "moneytotal_gross_all": "-25.00",
    "creditorderid": 5120,
    "additionaldata": {"pos-originalsales-orderid": "5120", "refundreasoncode-reasoncode": "SIZE"},
    "orderitems": [{"orderitemid": 0, "orderitemtype": 10, "productname": "Tee black M",
                    "sku": "TEE-BLK-M", "quantity": -1, "moneynetpriceperunit": "20.83",
                    "vatvalue": 20, "moneyitemtotal_net": "-20.83", "moneyitemtotal_vat": "-4.17",
                    "decimalquantitytotal": "-1.000"}],
    "payments": [{"name": "Card", "moneyamount": "-25.00"}],
}  # fmt: skip

SAGE_SOP_ORDER: dict[str, Any] = {
    "id": 2281, "document_no": "0000004412", "customer_document_no": "5120",
    "document_date": "2024-06-01T00:00:00", "total_net_value": 20.83,
    "total_tax_value": 4.17, "total_gross_value": 25.0,
    "document_status": "EnumDocumentStatusLive",
    "lines": [{"id": 90311, "line_type": "EnumLineTypeStandard", "product_id": 77310,
               "warehouse_id": 12, "code": "TEE-BLK-M", "description": "Tee black M",
               "line_quantity": 1, "selling_unit_price": 20.83, "tax_code_id": 1,
               "line_tax_value": 4.17, "line_total_value": 20.83}],
}  # fmt: skip

NETSUITE_TRANSACTION: dict[str, Any] = {
    "links": [], "id": "8814", "tranid": "CS-1044", "externalid": "5120", "trandate": "6/1/2024",
    "foreigntotal": "25", "item": "3301", "quantity": "-1", "netamount": "-20.83",
    "location": "7",
}  # fmt: skip

SAPB1_INVOICE: dict[str, Any] = {
    "DocEntry": 1201, "DocNum": 30015, "DocDate": "2024-06-01", "CardCode": "CASH-LON1",
    "NumAtCard": "5120", "DocTotal": 25.0, "VatSum": 4.17, "Cancelled": "tNO",
    "UpdateDate": "2024-06-01",
    "DocumentLines": [{"LineNum": 0, "ItemCode": "TEE-BLK-M", "Quantity": 1, "Price": 20.83,
                       "VatGroup": "O1", "WarehouseCode": "LON1", "LineTotal": 20.83,
                       "TaxTotal": 4.17, "GrossTotal": 25.0}],
}  # fmt: skip


def sitoo_order(orderid: int, **changes: Any) -> dict[str, Any]:
    """The documented sale under another id, with top-level `changes`."""
    return copy.deepcopy(SITOO_SALE) | {"orderid": orderid} | changes


Path = tuple[str | int, ...]


def get_in(payload: Any, path: Path) -> Any:
    for step in path:
        payload = payload[step]
    return payload


def set_in(payload: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """A copy of `payload` with the value at `path` replaced (or added, with the maps on
    the way to it)."""
    out = copy.deepcopy(payload)
    parent: Any = out
    for step in path[:-1]:
        if isinstance(parent, dict) and step not in parent:
            parent[step] = {}
        parent = parent[step]
    parent[path[-1]] = value
    return out


def delete_in(payload: dict[str, Any], path: Path) -> dict[str, Any]:
    out = copy.deepcopy(payload)
    del get_in(out, path[:-1])[path[-1]]
    return out


def leaf_paths(payload: Any, prefix: Path = ()) -> list[Path]:
    """Every path into `payload` (members and list elements, containers included)."""
    out: list[Path] = []
    items: Any = payload.items() if isinstance(payload, dict) else enumerate(payload)
    for key, value in items:
        path = (*prefix, key)
        out.append(path)
        if isinstance(value, dict | list):
            out.extend(leaf_paths(value, path))
    return out


def shown(path: Path) -> str:
    """A path as the quarantine reasons name it: `orderitems[0].sku`."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.removeprefix(".")
