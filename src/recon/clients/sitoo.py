"""Typed client for the Sitoo REST API v2 (orders, stores, warehouses, stock, products).

Knows Sitoo's paths, Basic auth, the `{totalcount, items}` envelope with `start`/`num`
paging and the batch envelope of writes; gives back `Fetched` records validated into the
models below. It must not decide what a sale is, store anything or post to an ERP: that is
the collectors' and sync workers' job. `base_url` is the root before `/v2/...`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import httpx
from pydantic import AliasPath, BeforeValidator, Field

from recon.clients._base import VendorClient
from recon.clients._http import Fetched, HttpCore, Params, validate_record
from recon.clients._paging import TotalCountPaginator
from recon.clients._types import (
    Amount,
    EpochSeconds,
    Id,
    IntQuantity,
    Money,
    Quantity,
    StrMap,
    Text,
    VatRate,
    VendorModel,
)
from recon.clients.errors import MalformedResponse

__all__ = [
    "BatchResult",
    "SitooClient",
    "SitooOrder",
    "SitooOrderItem",
    "SitooPayment",
    "SitooProduct",
    "SitooStore",
    "SitooWarehouse",
    "SitooWarehouseItem",
]

M = TypeVar("M", bound=VendorModel)

# Order states, payment states and types as Sitoo numbers them.
ORDER_STATE_OPEN, ORDER_STATE_CLOSED, ORDER_STATE_CANCELLED = 0, 10, 20
PAYMENT_STATE_SUCCESSFUL = 20


def _as_text(value: Any) -> Any:
    """An `additionaldata` value sent as a number is read as its text (as `StrMap` does)."""
    return str(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else value


DataText = Annotated[Text | None, BeforeValidator(_as_text)]


class SitooOrderItem(VendorModel):
    """One order line (`orderitems[]`); money is net unless the name says otherwise.

    The Sitoo order models name only what recon reads (validating a money field costs
    time on every one of a million orders, and a bad value in a field nobody reads must
    not quarantine the order); the raw payload keeps every field Sitoo sent. The
    `additionaldata` entries recon reads are fields of their own, checked like the rest."""

    orderitemtype: int | None = 10
    productid: Id | None = None
    productname: Text | None = None
    sku: Text | None = None
    quantity: IntQuantity
    decimalquantitytotal: Quantity = None
    moneydiscount: Money = None
    vatvalue: VatRate = Decimal(0)
    moneyitemtotal_net: Money = None
    moneyitemtotal_vat: Money = None
    rowdiscount: Money = Field(
        None, validation_alias=AliasPath("additionaldata", "orderitem-moneyrowdiscount")
    )
    """The gross row discount (`additionaldata["orderitem-moneyrowdiscount"]`), if sent."""
    additionaldata: StrMap = Field(default_factory=dict)


class SitooPayment(VendorModel):
    """One tender on an order (`payments[]`), negative on refunds."""

    name: Text
    moneyamount: Amount
    externalid: Text | None = None
    additionaldata: StrMap = Field(default_factory=dict)


class SitooOrder(VendorModel):
    """A Sitoo order (a sale, or a refund when totals are negative / `creditorderid` set)."""

    orderid: Id
    externalid: Text | None = None
    creditorderid: Id | None = None
    ordertypeid: int | None = None
    orderstateid: int | None = None
    paymentstateid: int | None = None
    orderdate: EpochSeconds = None
    warehouseid: Id | None = None
    currencycode: Text | None = None
    moneytotal_vat: Money = None
    moneyfinal_net: Money = None
    moneyfinal_vat: Money = None
    moneytotal_gross_all: Money = None
    email: Text | None = None
    originalsales_orderid: DataText = Field(
        None, validation_alias=AliasPath("additionaldata", "pos-originalsales-orderid")
    )
    """The refunded sale (`additionaldata["pos-originalsales-orderid"]`), if sent."""
    additionaldata: StrMap = Field(default_factory=dict)
    orderitems: list[SitooOrderItem] = Field(default_factory=list)
    payments: list[SitooPayment] = Field(default_factory=list)

    @property
    def pos_timezone(self) -> str | None:
        """The POS time zone of the sale (`additionaldata["pos-timezone"]`), if sent; it
        may name no zone at all (see `recon.pos.rules.StoreDirectory`)."""
        return self.additionaldata.get("pos-timezone") or None


class SitooStore(VendorModel):
    storeid: Id
    eshopid: Id | None = None
    storetype: int | None = None
    name: Text | None = None
    externalid: Text | None = None
    externalgroupid: Text | None = None
    city: Text | None = None
    countryid: Text | None = None
    tags: list[Text] | None = None


class SitooWarehouse(VendorModel):
    warehouseid: Id
    warehousetype: int | None = None
    usetype: int | None = None
    storeid: Id | None = None
    sellable: bool | None = None
    currencycode: Text | None = None
    name: Text | None = None
    externalid: Text | None = None


class SitooWarehouseItem(VendorModel):
    """Stock of one SKU in one warehouse; quantities are 3-decimal strings on the wire."""

    warehouseitemid: Id | None = None
    warehouseid: Id | None = None
    sku: Text
    decimaltotal: Quantity = None
    decimalreserved: Quantity = None
    decimalavailable: Quantity = None
    decimalthreshold: Quantity = None
    moneytotal: Money = None
    binlocation: Text | None = None
    datelastmodified: EpochSeconds = None
    datelaststocktaking: EpochSeconds = None


class SitooProduct(VendorModel):
    productid: Id | None = None
    sku: Text
    title: Text | None = None
    moneyprice: Money = None
    moneypriceorg: Money = None
    moneypricein: Money = None
    vatid: int | None = None
    vatvalue: VatRate = None
    activepos: bool | None = None
    active: bool | None = None
    variantparentid: Id | None = None
    barcode: Text | None = None
    datecreated: EpochSeconds = None
    datemodified: EpochSeconds = None


@dataclass(frozen=True)
class BatchResult:
    """One element of a Sitoo batch answer: a 200 response may still fail per item."""

    sku: str
    statuscode: int
    value: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.statuscode < 300


ORDER_FIELDS = (
    "orderid,eshopid,externalid,creditorderid,ordertypeid,orderstateid,paymentstateid,"
    "orderdate,registerid,warehouseid,userid_staff,currencycode,moneytotal_net,moneytotal_vat,"
    "moneycheckout_net,moneycheckout_vat,moneydelivery_net,moneydelivery_vat,moneyfinal_net,"
    "moneyfinal_vat,moneyfinal_salestax,moneytotal_gross_roundoff,moneytotal_gross_all,"
    "customerref,email,additionaldata,orderitems,payments"
)
PRODUCT_FIELDS = (
    "productid,sku,title,moneyprice,moneypriceorg,moneypricein,vatid,vatvalue,activepos,"
    "active,variantparentid,barcode,datecreated,datemodified"
)
BATCH_MAX = 1000  # elements per batch write (the documented limit for warehouse transactions)
CENT = Decimal("0.01")


def _envelope(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return "a body that is not a {totalcount, items} envelope"
    return None


def _object(body: Any) -> str | None:
    return None if isinstance(body, dict) else "a body that is not a JSON object"


def _quantity(q: Decimal) -> str:
    return format(q.quantize(Decimal("0.001")), "f")


def _money(value: Decimal, sku: str) -> str:
    """Sitoo money: a string with exactly two decimals (sitoo.md section 4)."""
    cents = value.quantize(CENT)
    if cents != value:
        raise ValueError(f"price {value} for {sku} has more than two decimals")
    return format(cents, "f")


class SitooClient(VendorClient):
    """Sitoo REST API v2 for one account and one site (eshopid)."""

    vendor = "sitoo"

    def __init__(
        self,
        base_url: str,
        account_id: str | int,
        site_id: str | int,
        api_id: str,
        api_password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int = 500,
        max_attempts: int = 5,
        max_wait: float = 30.0,
        min_wait: float = 0.5,
        timeout: float = 30.0,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        root = base_url.rstrip("/")
        if root.endswith("/v2"):
            root = root[: -len("/v2")]
        token = base64.b64encode(f"{api_id}:{api_password}".encode()).decode()
        self.page_size = page_size
        self.account_id = str(account_id)
        self.site_id = str(site_id)
        self._http = HttpCore(
            "sitoo",
            root,
            auth_hint="SITOO_API_ID / SITOO_API_PASSWORD (and SITOO_ACCOUNT_ID)",
            auth=httpx.BasicAuth(api_id, api_password),
            secrets=(api_password, token),
            transport=transport,
            max_attempts=max_attempts,
            max_wait=max_wait,
            min_wait=min_wait,
            timeout=timeout,
        )

    # ----------------------------------------------------------------- paths
    @property
    def _account(self) -> str:
        return f"/v2/accounts/{self.account_id}"

    @property
    def _site(self) -> str:
        return f"{self._account}/sites/{self.site_id}"

    # ----------------------------------------------------------------- paging
    def _pages(
        self, path: str, model: type[M], key_field: str, params: Params
    ) -> Iterator[Fetched[M]]:
        pages = TotalCountPaginator(
            self.vendor, self._http.url(path), key_field, page_size=self.page_size
        )

        def fetch(start: int) -> tuple[list[Any], Any]:
            query: dict[str, str | int] = {**params, "start": start, "num": self.page_size}
            body = self._http.request("GET", path, params=query, check=_envelope)
            return body["items"], body

        for raw in pages.records(fetch):
            yield validate_record(model, raw, key_field)

    # ----------------------------------------------------------------- reads
    def iter_orders(
        self,
        *,
        orderid_from: int | None = None,
        orderstates: Sequence[int] | None = None,
        paymentstates: Sequence[int] | None = None,
    ) -> Iterator[Fetched[SitooOrder]]:
        """Orders of this site by ascending `orderid` (watermark with `orderid_from`, >=)."""
        params: dict[str, str | int] = {
            "eshopid": self.site_id,
            "sort": "orderid",
            "fields": ORDER_FIELDS,
        }
        if orderid_from is not None:
            params["orderidfrom"] = orderid_from
        if orderstates:
            params["orderstate"] = ",".join(str(s) for s in orderstates)
        if paymentstates:
            params["paymentstate"] = ",".join(str(s) for s in paymentstates)
        return self._pages(f"{self._account}/orders.json", SitooOrder, "orderid", params)

    def get_order(self, orderid: int | str) -> Fetched[SitooOrder]:
        """One order; an unknown id raises `NotFoundError`."""
        body = self._http.request(
            "GET",
            f"{self._site}/orders/{orderid}.json",
            params={"fields": ORDER_FIELDS},
            check=_object,
        )
        return validate_record(SitooOrder, body, "orderid")

    def list_stores(self) -> list[Fetched[SitooStore]]:
        return list(self._pages(f"{self._site}/stores.json", SitooStore, "storeid", {}))

    def list_warehouses(self) -> list[Fetched[SitooWarehouse]]:
        return list(self._pages(f"{self._site}/warehouses.json", SitooWarehouse, "warehouseid", {}))

    def iter_warehouse_items(
        self, warehouseid: int | str, *, modified_from: datetime | None = None
    ) -> Iterator[Fetched[SitooWarehouseItem]]:
        """Stock per SKU in one warehouse; `modified_from` (aware) limits to recent changes."""
        params: dict[str, str | int] = {}
        if modified_from is not None:
            if modified_from.tzinfo is None:
                raise ValueError("modified_from must be a UTC-aware datetime")
            params["datelastmodifiedfrom"] = int(modified_from.timestamp())
        path = f"{self._site}/warehouses/{warehouseid}/warehouseitems.json"
        return self._pages(path, SitooWarehouseItem, "sku", params)

    def iter_products(self) -> Iterator[Fetched[SitooProduct]]:
        """The whole catalogue, inactive products included."""
        params: dict[str, str | int] = {"includeinactive": "true", "fields": PRODUCT_FIELDS}
        return self._pages(f"{self._site}/products.json", SitooProduct, "sku", params)

    # ----------------------------------------------------------------- writes
    def put_warehouse_items(
        self, warehouseid: int | str, items: Sequence[tuple[str, Decimal]]
    ) -> list[BatchResult]:
        """Set absolute stock levels (Virtual warehouses); one result per SKU, in order."""
        path = f"{self._site}/warehouses/{warehouseid}/warehouseitems.json"
        body = [(sku, {"sku": sku, "decimaltotal": _quantity(qty)}) for sku, qty in items]
        return self._put_batch(path, body)

    def put_product_prices(self, prices: Sequence[tuple[int, str, Decimal]]) -> list[BatchResult]:
        """Set `moneyprice` (the "Default" price list) of products, given as `(productid, sku,
        price)`; the batch update names each product by `productid` (products.yaml PUT), the
        result names it by `sku`. One result per product, in order. A price with more than
        two decimals is refused here (`ValueError`), never rounded silently."""
        body = [
            (sku, {"productid": productid, "moneyprice": _money(price, sku)})
            for productid, sku, price in prices
        ]
        return self._put_batch(f"{self._site}/products.json", body)

    def post_warehouse_transaction(
        self, warehouseid: int, transactiontype: int, description: str,
        items: Sequence[tuple[str, Decimal]],
    ) -> list[int]:  # fmt: skip
        """Move stock in a FIFO warehouse (Virtual ones refuse transactions): one transaction
        of `transactiontype` (10 in, 20 out) per chunk of at most BATCH_MAX `(sku, signed
        quantity)` items; the new transaction ids. A POST is not repeated after an unclear
        failure: read the levels again before moving the difference again."""
        path = f"{self._site}/warehousetransactions.json"

        def transaction_id(answer: Any) -> int | None:
            if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], dict):
                answer = answer[0].get("return")  # the batch form of a one-element answer
            return answer if isinstance(answer, int) and not isinstance(answer, bool) else None

        ids: list[int] = []
        for begin in range(0, len(items), BATCH_MAX):
            lines = [
                {"sku": sku, "decimalquantity": _quantity(qty)}
                for sku, qty in items[begin : begin + BATCH_MAX]
            ]
            body = [{"warehouseid": warehouseid, "transactiontype": transactiontype,
                     "description": description, "items": lines}]  # fmt: skip
            answer = self._http.request(
                "POST", path, body=body,
                check=lambda a: None if transaction_id(a) is not None else "no transaction id",
            )  # fmt: skip
            ids.append(transaction_id(answer) or 0)
        return ids

    def _put_batch(
        self, path: str, elements: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[BatchResult]:
        """PUT `elements` (key, body) in chunks of at most 1000 and check every element of the
        batch envelope (a 200 can fail per item). Sitoo answers a one-element update with a
        bare `true` instead of an envelope (products.yaml: "true or a batch envelope")."""
        results: list[BatchResult] = []
        for begin in range(0, len(elements), BATCH_MAX):
            chunk = elements[begin : begin + BATCH_MAX]

            def batch_shape(answer: Any, n: int = len(chunk)) -> str | None:
                if n == 1 and answer is True:
                    return None
                if not isinstance(answer, list) or len(answer) != n:
                    return f"a batch answer that is not a list of {n} results"
                if not all(isinstance(a, dict) and "statuscode" in a for a in answer):
                    return "a batch answer without a statuscode per item"
                return None

            answer = self._http.request("PUT", path, body=[b for _, b in chunk], check=batch_shape)
            if answer is True:
                results.append(BatchResult(sku=chunk[0][0], statuscode=200, value=True))
                continue
            for (key, _), element in zip(chunk, answer, strict=True):
                code = element["statuscode"]
                if not isinstance(code, int) or isinstance(code, bool):
                    raise MalformedResponse(
                        "sitoo", 200, "statuscode", f"Sitoo batch statuscode {code!r} for {key}"
                    )
                results.append(BatchResult(sku=key, statuscode=code, value=element.get("return")))
        return results
