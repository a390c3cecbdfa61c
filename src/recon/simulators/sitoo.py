"""A Sitoo REST API v2 simulator (Starlette), faithful to /work/shared/reference/sitoo.md.

Serves `/v2/accounts/{accountid}/...` from an in-memory `SitooState`: Basic auth,
`{totalcount, items}` envelopes, `start`/`num` paging, `fields=`, the order filters,
stores, warehouses, warehouse items (GET and batch PUT), products (GET and batch PUT by
`productid`) and sites. Money is
written as 2-dp strings, stock as 3-dp strings, dates as epoch seconds. Answers and write
bodies follow Sitoo's OpenAPI schemas: no field is ever null (a field without a value is
left out) and a write field of the wrong type is a 400 (`_requests`). This module must not
know recon's mappings or scenarios; `build_order` only shapes one order.

Over 600 lines, kept as one module because it holds one concern: the Sitoo API simulator's state
and routes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Self, overload

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recon.simulators import _requests as spec
from recon.simulators._wire import fmt2, fmt3, json_response, round2
from recon.simulators.faults import FaultMiddleware, Faults

__all__ = [
    "SitooCredentials",
    "SitooLine",
    "SitooPayment",
    "SitooState",
    "build_order",
    "create_app",
]

ORDERTYPE_ORDER = 10
ORDERTYPE_PARKED = 110
STATE_OPEN, STATE_CLOSED, STATE_CANCELLED = 0, 10, 20
PAY_PENDING, PAY_SUCCESSFUL = 10, 20


@dataclass(frozen=True)
class SitooCredentials:
    account_id: str = "90210"
    api_id: str = "90210-7"
    password: str = "sim-sitoo-secret"
    site_id: int = 1

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "SITOO_BASE_URL": base_url,
            "SITOO_ACCOUNT_ID": self.account_id,
            "SITOO_SITE_ID": str(self.site_id),
            "SITOO_API_ID": self.api_id,
            "SITOO_API_PASSWORD": self.password,
        }


@dataclass(frozen=True)
class SitooLine:
    """One order line as the POS rang it up: gross list price, gross row discount."""

    sku: str
    name: str
    quantity: int
    unit_price_gross: Decimal
    vat_rate: Decimal
    row_discount_gross: Decimal = Decimal("0.00")
    productid: int | None = None
    original_orderitemid: int | None = None  # refunds: the refunded line

    @property
    def row_gross(self) -> Decimal:
        return round2(self.unit_price_gross * self.quantity - self.row_discount_gross)

    @property
    def row_vat(self) -> Decimal:
        return round2(self.row_gross * self.vat_rate / (100 + self.vat_rate))

    @property
    def row_net(self) -> Decimal:
        return self.row_gross - self.row_vat


@dataclass(frozen=True)
class SitooPayment:
    name: str
    amount: Decimal
    reftype: str | None = None
    refid: str | None = None


def _vat_number(rate: Decimal) -> int | float:
    return int(rate) if rate == rate.to_integral_value() else float(rate)


def build_order(
    *,
    orderid: int,
    eshopid: int,
    warehouseid: int,
    orderdate: datetime,
    currency: str,
    lines: list[SitooLine],
    payments: list[SitooPayment],
    timezone: str,
    store_externalid: str,
    store_name: str,
    ordertypeid: int = ORDERTYPE_ORDER,
    orderstateid: int = STATE_CLOSED,
    paymentstateid: int = PAY_SUCCESSFUL,
    creditorderid: int | None = None,
    registerid: str | None = None,
    receiptid: str | None = None,
) -> dict[str, Any]:
    """A Sitoo order in read (GET) form; totals derived from the lines.

    Refunds pass negative quantities and amounts plus `creditorderid`; the refund keys
    (`pos-originalsales-orderid`, line `pos-originalsales-orderitemid`) are added here.
    """
    items: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        rate = line.vat_rate
        qty = line.quantity
        unit_net_orig = round2(line.unit_price_gross / (1 + rate / 100))
        unit_net = round2(line.row_net / qty) if qty else Decimal("0.00")
        unit_disc = round2(unit_net_orig - unit_net)
        additional: dict[str, str] = {}
        if line.row_discount_gross:
            additional["orderitem-moneyrowdiscount"] = fmt2(abs(line.row_discount_gross))
        if line.original_orderitemid is not None:
            additional["pos-originalsales-orderitemid"] = str(line.original_orderitemid)
        items.append(
            _present(
                {
                    "orderitemid": i,
                    "orderitemtype": 10,
                    "productid": line.productid,
                    "productname": line.name,
                    "sku": line.sku,
                    "productattributes": "",
                    "quantity": qty,
                    "moneynetpriceperunit": fmt2(unit_net),
                    "moneyoriginalprice": fmt2(unit_net_orig),
                    "moneydiscountedprice": fmt2(unit_net),
                    "moneydiscount": fmt2(unit_disc),
                    "moneypriceorg": fmt2(unit_net_orig),
                    "vatvalue": _vat_number(rate),
                    "moneyitemtotal_net": fmt2(line.row_net),
                    "moneyitemtotal_vat": fmt2(line.row_vat),
                    "voucherid": 0,
                    "vouchercode": "",
                    "vouchername": "",
                    "salestaxes": [],
                    "decimalquantitytotal": fmt3(Decimal(qty)),
                    "moneynetpriceperquantity": fmt2(unit_net),
                    "additionaldata": additional,
                }
            )
        )
    net = sum((line.row_net for line in lines), Decimal("0.00"))
    vat = sum((line.row_vat for line in lines), Decimal("0.00"))
    additionaldata: dict[str, str] = {
        "pos-timezone": timezone,
        "store-externalid": store_externalid,
        "store-name": store_name,
    }
    if receiptid:
        additionaldata["pos-receiptid"] = receiptid
    if creditorderid is not None:
        additionaldata["pos-originalsales-orderid"] = str(creditorderid)
        additionaldata["refundreasoncode-reasoncode"] = "RETURN"
    pays = []
    for i, pay in enumerate(payments):
        extra: dict[str, str] = {}
        if creditorderid is not None:
            extra["pos-originalsales-payment-index"] = "0"
        pays.append(
            _present(
                {
                    "name": pay.name,
                    "moneyamount": fmt2(pay.amount),
                    "reftype": pay.reftype,
                    "refid": pay.refid or (f"PSP-{orderid}-{i}" if pay.reftype else None),
                    "additionaldata": extra,
                }
            )
        )
    return _present(
        {
            "orderid": orderid,
            "eshopid": eshopid,
            "creditorderid": creditorderid,
            "ordertypeid": ordertypeid,
            "orderstateid": orderstateid,
            "paymentstateid": paymentstateid,
            "orderdate": int(orderdate.timestamp()),
            "registerid": registerid,
            "warehouseid": warehouseid,
            "currencycode": currency,
            "moneytotal_net": fmt2(net),
            "moneytotal_vat": fmt2(vat),
            "moneycheckout_net": "0.00",
            "moneycheckout_vat": "0.00",
            "moneydelivery_net": "0.00",
            "moneydelivery_vat": "0.00",
            "moneyfinal_net": fmt2(net),
            "moneyfinal_vat": fmt2(vat),
            "moneyfinal_salestax": "0.00",
            "moneytotal_gross_roundoff": "0.00",
            "moneytotal_gross_all": fmt2(net + vat),
            "customerref": "",
            "checkoutref": "",
            "comment": "",
            "commentinternal": "",
            "email": "",
            "namefirst": "",
            "namelast": "",
            "company": "",
            "personalid": "",
            "phone": "",
            "orderitems": items,
            "payments": pays,
            "orderlogitems": [],
            "reservedpayments": [],
            "additionaldata": additionaldata,
        }
    )


def _present(record: dict[str, Any]) -> dict[str, Any]:
    """`record` without its None values: Sitoo's schemas have no null, a field that has no
    value is left out (a refund's `creditorderid` is there, a sale has none)."""
    return {k: v for k, v in record.items() if v is not None}


class OrderBook(dict[int, dict[str, Any]]):
    """Orders by id, with each site's ids kept sorted for the id-range reads a collector
    pages through (the real Sitoo answers those from an index, not by scanning every
    order per page). Every change of the book's keys drops the index; an order's site
    (`eshopid`) never changes once it exists."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_site: dict[Any, list[int]] | None = None

    def site_ids(self, eshopid: int | None) -> list[int]:
        """The ids of `eshopid`'s orders (all orders for None), ascending."""
        if self._by_site is None:
            ids = sorted(self)
            by_site: dict[Any, list[int]] = {}
            for oid in ids:
                by_site.setdefault(self[oid]["eshopid"], []).append(oid)
            by_site[None] = ids  # no site asked: every order
            self._by_site = by_site
        return self._by_site.get(eshopid, [])

    def _changed(self) -> None:
        self._by_site = None

    def __setitem__(self, key: int, value: dict[str, Any]) -> None:
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key: int) -> None:
        super().__delitem__(key)
        self._changed()

    def clear(self) -> None:
        super().clear()
        self._changed()

    def pop(self, *args: Any) -> Any:
        self._changed()
        return super().pop(*args)

    def popitem(self) -> tuple[int, dict[str, Any]]:
        self._changed()
        return super().popitem()

    def setdefault(self, key: int, default: Any = None) -> Any:
        self._changed()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def __ior__(self, other: Any) -> Self:  # type: ignore[override,misc]
        self.update(other)
        return self


class _Rows(Sequence[dict[str, Any]]):
    """The orders of `ids` (in that order) without copying them out of the book."""

    def __init__(self, orders: OrderBook, ids: Sequence[int]) -> None:
        self.orders, self.ids = orders, ids

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.orders[oid] for oid in self.ids[index]]
        return self.orders[self.ids[index]]


@dataclass
class SitooState:
    """Everything the simulated account holds; seed it with the `add_*` methods."""

    eshopid: int = 1
    sites: list[dict[str, Any]] = field(default_factory=list)
    stores: list[dict[str, Any]] = field(default_factory=list)
    warehouses: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    orders: OrderBook = field(default_factory=OrderBook)
    warehouse_items: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # Per-item fault knob for batch writes (product and warehouse item PUTs): SKU -> the
    # status its element answers, while the rest of the batch lands.
    refuse_writes: dict[str, int] = field(default_factory=dict)
    # POSTed warehouse transactions (FIFO warehouses), each as Sitoo lists it
    warehouse_transactions: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _next_warehouseitemid: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.orders, OrderBook):
            self.orders = OrderBook(self.orders)
        if not self.sites:
            self.sites.append(
                {
                    "protocol": "https",
                    "server": "sim.mysitoo.com",
                    "abspath": "/",
                    "siteurl": "https://sim.mysitoo.com/",
                    "eshopid": self.eshopid,
                }
            )

    def add_store(
        self, storeid: int, name: str, externalid: str, countryid: str = "GB", **extra: Any
    ) -> dict[str, Any]:
        store = _present(
            {
                "storeid": storeid,
                "eshopid": self.eshopid,
                "storetype": 10,
                "name": name,
                "externalid": externalid,
                "externalgroupid": None,
                "address": "",
                "address2": "",
                "zip": "",
                "city": name,
                "state": "",
                "countryid": countryid,
                "phone": "",
                "email": "",
                "nearby_stores": [],
                "tags": [],
                **extra,
            }
        )
        self.stores.append(store)
        return store

    def add_warehouse(
        self,
        warehouseid: int,
        storeid: int | None,
        name: str,
        currency: str,
        warehousetype: int = 20,
    ) -> dict[str, Any]:
        wh = _present(
            {
                "warehouseid": warehouseid,
                "warehousetype": warehousetype,
                "usetype": 10,
                "storeid": storeid,
                "sellable": True,
                "currencycode": currency,
                "name": name,
                "externalid": f"WH{warehouseid}",
            }
        )
        self.warehouses.append(wh)
        self.warehouse_items.setdefault(warehouseid, {})
        return wh

    def add_product(
        self,
        productid: int,
        sku: str,
        title: str,
        price_gross: Decimal,
        vat_rate: Decimal,
        active: bool = True,
        created: int = 1700000000,
    ) -> dict[str, Any]:
        product = {
            "productid": productid,
            "sku": sku,
            "title": title,
            "moneyprice": fmt2(price_gross),
            "moneypriceorg": fmt2(price_gross),
            "moneypricein": fmt2(price_gross / 2),
            "vatid": {20: 1, 5: 2, 0: 3}.get(int(vat_rate), 1),
            "vatvalue": _vat_number(vat_rate),
            "productgrouptype": 10,
            "activepos": active,
            "active": active,
            "barcode": f"73{productid:011d}",
            "barcodealiases": [],
            "datecreated": created,
            "datemodified": created,
        }
        self.products.append(product)
        return product

    def add_order(self, order: dict[str, Any]) -> int:
        with self.lock:
            self.orders[int(order["orderid"])] = order
            return int(order["orderid"])

    def next_orderid(self) -> int:
        return max(self.orders, default=1000) + 1

    def set_stock(
        self, warehouseid: int, sku: str, total: Decimal, modified: int
    ) -> dict[str, Any]:
        with self.lock:
            items = self.warehouse_items.setdefault(warehouseid, {})
            item = items.get(sku)
            if item is None:
                item = {
                    "warehouseitemid": self._next_warehouseitemid,
                    "warehouseid": warehouseid,
                    "sku": sku,
                    "binlocation": "",
                    "decimalthreshold": "0.000",
                    "decimalreserved": "0.000",
                    "moneytotal": "0.00",
                    "datelaststocktaking": modified,
                }
                self._next_warehouseitemid += 1
                items[sku] = item
            item["decimaltotal"] = fmt3(total)
            item["decimalavailable"] = fmt3(total - Decimal(item["decimalreserved"]))
            item["datelastmodified"] = modified
            return item


_MONEY = re.compile(r"\d{1,10}\.\d{2}")
_PRODUCT_WRITABLE = frozenset(
    {"productid", "sku", "title", "moneyprice", "moneypriceorg", "moneypricein", "activepos"}
)


class _BadRequest(Exception):
    pass


def _error(status: int, text: str) -> Response:
    return json_response({"statuscode": status, "errortext": text}, status)


def _int_param(params: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _BadRequest(f"Invalid value for parameter: {name}") from None


def _int_list(params: Mapping[str, str], name: str) -> set[int] | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return {int(v) for v in raw.split(",") if v.strip()}
    except ValueError:
        raise _BadRequest(f"Invalid value for parameter: {name}") from None


def _envelope(
    items: Sequence[dict[str, Any]],
    params: Mapping[str, str],
    fields_default: Iterable[str] | None = None,
) -> Response:
    start = _int_param(params, "start", 0) or 0
    num = _int_param(params, "num", 10)
    if start < 0 or num is None or num < 0:
        raise _BadRequest("Invalid value for parameter: start/num")
    page = items[start : start + num]
    return json_response({"totalcount": len(items), "items": [_fields(i, params) for i in page]})


def _fields(item: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
    raw = params.get("fields")
    if not raw:
        return item
    wanted = [f.strip() for f in raw.split(",") if f.strip()]
    return {f: item[f] for f in wanted if f in item}


Handler = Callable[[Request], Response]


def create_app(
    state: SitooState, creds: SitooCredentials, faults: Faults | None = None
) -> Starlette:
    """The Starlette app serving `state` under `/v2/accounts/{accountid}`."""

    def guarded(handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            if not _authorised(request, creds):
                return _error(401, "Authorization failed")
            if request.path_params.get("accountid") != creds.account_id:
                return _error(401, "Authorization failed")
            siteid = request.path_params.get("siteid")
            if siteid is not None and siteid != str(state.eshopid):
                return _error(404, f"Site {siteid} not found")
            try:
                if request.method in ("PUT", "POST"):
                    request.state.body = await request.body()
                with state.lock:
                    return handler(request)
            except _BadRequest as exc:
                return _error(400, str(exc))

        return endpoint

    def sites(request: Request) -> Response:
        return _envelope(list(state.sites), request.query_params)

    def list_orders(request: Request) -> Response:
        q = request.query_params
        eshopid = _int_param(q, "eshopid")
        if "siteid" in request.path_params:
            eshopid = state.eshopid
        ids = _int_list(q, "orderid")
        credit = _int_list(q, "creditorderid")
        lo = _int_param(q, "orderidfrom")
        hi = _int_param(q, "orderidto")
        dlo = _int_param(q, "orderdatefrom")
        dhi = _int_param(q, "orderdateto")
        states = _int_list(q, "orderstate")
        pstates = _int_list(q, "paymentstate")
        types = _int_list(q, "ordertype")
        warehouses = _int_list(q, "warehouseid")
        sort = q.get("sort", "-orderid")
        if sort not in ("orderid", "-orderid"):
            raise _BadRequest("Invalid value for parameter: sort")
        if all(f is None for f in (credit, ids, dlo, dhi, states, pstates, types, warehouses)):
            book = state.orders.site_ids(eshopid)  # an id range: the index answers
            first = 0 if lo is None else bisect_left(book, lo)
            end = len(book) if hi is None else bisect_left(book, hi)
            picked = book[first:end]
            return _envelope(_Rows(state.orders, picked[::-1] if sort[0] == "-" else picked), q)
        rows = []
        for order in state.orders.values():
            oid = order["orderid"]
            if eshopid is not None and order["eshopid"] != eshopid:
                continue
            if credit is not None:
                if order.get("creditorderid") not in credit:
                    continue
            elif ids is not None and oid not in ids:
                continue
            if lo is not None and oid < lo:
                continue
            if hi is not None and oid >= hi:
                continue
            if dlo is not None and order["orderdate"] < dlo:
                continue
            if dhi is not None and order["orderdate"] > dhi:
                continue
            if states is not None and order["orderstateid"] not in states:
                continue
            if pstates is not None and order["paymentstateid"] not in pstates:
                continue
            if types is not None and order["ordertypeid"] not in types:
                continue
            if warehouses is not None and order["warehouseid"] not in warehouses:
                continue
            rows.append(order)
        rows.sort(key=lambda o: int(o["orderid"]), reverse=sort.startswith("-"))
        return _envelope(rows, q)

    def get_order(request: Request) -> Response:
        try:
            oid = int(request.path_params["orderid"])
        except ValueError:
            return _error(404, "Order not found")
        order = state.orders.get(oid)
        if order is None or order["eshopid"] != state.eshopid:
            return _error(404, f"Order {oid} not found")
        return json_response(_fields(order, request.query_params))

    def stores(request: Request) -> Response:
        return _envelope(
            sorted(state.stores, key=lambda s: int(s["storeid"])), request.query_params
        )

    def warehouses(request: Request) -> Response:
        rows = sorted(state.warehouses, key=lambda w: int(w["warehouseid"]))
        return _envelope(rows, request.query_params)

    def _warehouse(request: Request) -> dict[str, Any] | None:
        try:
            wid = int(request.path_params["warehouseid"])
        except ValueError:
            return None
        return next((w for w in state.warehouses if w["warehouseid"] == wid), None)

    def warehouse_items(request: Request) -> Response:
        wh = _warehouse(request)
        if wh is None:
            return _error(404, "Warehouse not found")
        if request.method == "PUT":
            return _put_items(wh, request.state.body)
        q = request.query_params
        lo = _int_param(q, "datelastmodifiedfrom")
        hi = _int_param(q, "datelastmodifiedto")
        skus = {s for s in q.get("sku", "").split(",") if s} or None
        rows = []
        for item in sorted(
            state.warehouse_items.get(wh["warehouseid"], {}).values(),
            key=lambda i: int(i["warehouseitemid"]),
        ):
            if lo is not None and item["datelastmodified"] < lo:
                continue
            if hi is not None and item["datelastmodified"] > hi:
                continue
            if skus is not None and item["sku"] not in skus:
                continue
            rows.append(item)
        return _envelope(rows, q)

    def _put_items(wh: dict[str, Any], body: bytes) -> Response:
        try:
            payload = json.loads(body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "Invalid JSON in request body")
        if not isinstance(payload, list):
            return _error(400, "Request body must be an array of warehouse items")
        known = {p["sku"] for p in state.products}
        now = int(datetime.now().timestamp())
        results: list[dict[str, Any]] = []
        for element in payload:
            if not isinstance(element, dict) or not isinstance(element.get("sku"), str):
                results.append({"statuscode": 400, "return": False})
                continue
            if spec.first_problem(element, spec.SITOO_WAREHOUSE_ITEM):
                results.append({"statuscode": 400, "return": False})
                continue
            sku = element["sku"]
            if sku not in known:
                results.append({"statuscode": 404, "return": False})
                continue
            if sku in state.refuse_writes:
                results.append({"statuscode": state.refuse_writes[sku], "return": False})
                continue
            total = element.get("decimaltotal")
            if total is not None and wh["warehousetype"] != 20:
                results.append({"statuscode": 400, "return": False})
                continue
            try:
                existing = state.warehouse_items.get(wh["warehouseid"], {}).get(sku)
                level = (
                    Decimal(str(total))
                    if total is not None
                    else Decimal(existing["decimaltotal"])
                    if existing
                    else Decimal(0)
                )
            except InvalidOperation:
                results.append({"statuscode": 400, "return": False})
                continue
            item = state.set_stock(wh["warehouseid"], sku, level, now)
            for key in ("binlocation", "decimalthreshold"):
                if key in element:
                    item[key] = str(element[key])
            results.append({"statuscode": 200, "return": item["warehouseitemid"]})
        return json_response(results)

    def warehouse_transactions(request: Request) -> Response:
        """POST a batch of transactions (warehousetransactions.yaml): FIFO warehouses only,
        at most 1000 items in all, writable types only; each transaction lands whole or not
        at all and moves its items' `decimaltotal` by `decimalquantity`. One transaction
        answers its bare id (or its error); several answer a batch envelope."""
        try:
            payload = json.loads(request.state.body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "Invalid JSON in request body")
        if not isinstance(payload, list) or not payload:
            return _error(400, "Request body must be an array of warehouse transactions")
        items = [i for tx in payload if isinstance(tx, dict) for i in tx.get("items") or []]
        if len(items) > 1000:
            return _error(400, "The maximum number of items allowed for one request is 1000")
        results = [_transaction(tx) for tx in payload]
        if len(results) == 1:
            status, value = results[0]
            return json_response(value) if status == 200 else _error(status, str(value))
        return json_response([{"statuscode": st, "return": v if st == 200 else False}
                              for st, v in results])  # fmt: skip

    def _transaction(tx: Any) -> tuple[int, Any]:
        if not isinstance(tx, dict) or not isinstance(tx.get("items"), list):
            return 400, "A warehouse transaction needs warehouseid, transactiontype and items"
        problem = spec.first_problem(tx, spec.SITOO_WAREHOUSE_TRANSACTION)
        if problem:
            return 400, f"Invalid value for field: {problem}"
        wh = next((w for w in state.warehouses if w["warehouseid"] == tx.get("warehouseid")), None)
        if wh is None:
            return 404, "Warehouse not found"
        if wh["warehousetype"] == 20:
            return 400, "Transactions cannot be added to warehouses with warehousetype Virtual"
        if tx.get("transactiontype") not in (10, 20):
            return 400, "transactiontype: Sales, Refund and StockTaking are read only"
        known = {p["sku"] for p in state.products}
        moves: list[tuple[str, Decimal]] = []
        for item in tx["items"]:
            sku = item.get("sku") if isinstance(item, dict) else None
            if not isinstance(sku, str) or sku not in known:
                return 404, f"Product with sku {sku} not found"
            try:
                moves.append((sku, Decimal(str(item["decimalquantity"]))))
            except (KeyError, InvalidOperation):
                return 400, "decimalquantity must be a decimal string"
        now = int(datetime.now().timestamp())
        with state.lock:
            held = state.warehouse_items.setdefault(wh["warehouseid"], {})
            logged = []
            for sku, qty in moves:
                level = Decimal(held[sku]["decimaltotal"]) + qty if sku in held else qty
                state.set_stock(wh["warehouseid"], sku, level, now)
                logged.append({"sku": sku, "decimalquantity": fmt3(qty),
                               "decimaltotal": fmt3(level)})  # fmt: skip
            txid = len(state.warehouse_transactions) + 1
            state.warehouse_transactions.append(
                _present({"warehousetransactionid": txid, "warehouseid": wh["warehouseid"],
                          "datecreated": now, "transactiontype": tx["transactiontype"],
                          "description": tx.get("description") or "",
                          "externalid": tx.get("externalid"),
                          "reasoncode": tx.get("reasoncode"), "items": logged})
            )  # fmt: skip
        return 200, txid

    def products(request: Request) -> Response:
        if request.method == "PUT":
            return _put_products(request.state.body)
        q = request.query_params
        include_inactive = q.get("includeinactive", "false").lower() == "true"
        skus = {s for s in q.get("sku", "").split(",") if s} or None
        rows = [
            p
            for p in sorted(state.products, key=lambda p: int(p["productid"]))
            if (include_inactive or p["active"]) and (skus is None or p["sku"] in skus)
        ]
        return _envelope(rows, q)

    def _put_products(body: bytes) -> Response:
        """Batch update by `productid` (products.yaml PUT): one `{statuscode, return}` per
        element; a one-element array answers a bare `true`, or its error as the response."""
        try:
            payload = json.loads(body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "Invalid JSON in request body")
        if not isinstance(payload, list) or not payload:
            return _error(400, "Request body must be an array of products")
        by_id = {p["productid"]: p for p in state.products}
        now = int(datetime.now().timestamp())
        results = [_product_update(element, by_id, now) for element in payload]
        if len(results) == 1:
            status, text = results[0]
            return json_response(True) if status == 200 else _error(status, text)
        return json_response([{"statuscode": st, "return": st == 200} for st, _ in results])

    def _product_update(
        element: Any, by_id: dict[int, dict[str, Any]], now: int
    ) -> tuple[int, str]:
        if not isinstance(element, dict):
            return 400, "Each product must be an object"
        productid = element.get("productid")
        if not isinstance(productid, int) or isinstance(productid, bool):
            return 400, "Missing required field: productid"
        product = by_id.get(productid)
        if product is None:
            return 404, f"Product {productid} not found"
        problem = spec.first_problem(element, spec.SITOO_PRODUCT)
        if problem:
            return 400, f"Invalid value for field: {problem}"
        unknown = sorted(set(element) - _PRODUCT_WRITABLE)
        if unknown:
            return 400, f"Invalid field: {unknown[0]}"
        if "sku" in element and element["sku"] != product["sku"]:
            return 400, "Invalid value for field: sku"
        changes: dict[str, Any] = {}
        for name in ("moneyprice", "moneypriceorg", "moneypricein"):
            if name in element:
                value = element[name]
                if not isinstance(value, str) or not _MONEY.fullmatch(value):
                    return 400, f"Invalid value for field: {name}"
                changes[name] = value
        if "title" in element:
            if not isinstance(element["title"], str):
                return 400, "Invalid value for field: title"
            changes["title"] = element["title"]
        if "activepos" in element:
            if not isinstance(element["activepos"], bool):
                return 400, "Invalid value for field: activepos"
            changes["activepos"] = element["activepos"]
        refused = state.refuse_writes.get(product["sku"])
        if refused is not None:
            return refused, f"Product {productid} could not be updated"
        product.update(changes)
        product["datemodified"] = now
        return 200, ""

    async def not_found(request: Request) -> Response:
        if not _authorised(request, creds):
            return _error(401, "Authorization failed")
        return _error(404, "Resource not found. The url is invalid.")

    root = "/v2/accounts/{accountid}"
    site = root + "/sites/{siteid}"
    routes = [
        Route(root + "/sites.json", guarded(sites), methods=["GET"]),
        Route(root + "/orders.json", guarded(list_orders), methods=["GET"]),
        Route(site + "/orders.json", guarded(list_orders), methods=["GET"]),
        Route(site + "/orders/{orderid}.json", guarded(get_order), methods=["GET"]),
        Route(site + "/stores.json", guarded(stores), methods=["GET"]),
        Route(site + "/warehouses.json", guarded(warehouses), methods=["GET"]),
        Route(
            site + "/warehouses/{warehouseid}/warehouseitems.json",
            guarded(warehouse_items),
            methods=["GET", "PUT"],
        ),
        Route(
            site + "/warehousetransactions.json", guarded(warehouse_transactions), methods=["POST"]
        ),
        Route(site + "/products.json", guarded(products), methods=["GET", "PUT"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    app = Starlette(routes=routes)

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return _error(404, "Resource not found. The url is invalid.")

    app.add_exception_handler(405, method_not_allowed)
    if faults is not None:
        app.add_middleware(FaultMiddleware, faults=faults, vendor="sitoo")
    return app


def _authorised(request: Request, creds: SitooCredentials) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return user == creds.api_id and password == creds.password
