"""Typed HTTP clients for the vendors recon talks to (Sitoo POS, Sage 200 ERP).

One request path (`clients._http`), one exception tree (`clients.errors`), one client per
vendor. Collectors and sync workers ask these clients for records or post documents; the
clients never decide business rules, never store data and never log a secret.
"""

from clients._http import Fetched, dumps_json, loads_json
from clients.errors import (
    AuthError,
    BaseUrlNotFound,
    MalformedResponse,
    NotFoundError,
    RateLimited,
    RecordLocked,
    RejectedError,
    ResponseTooLarge,
    ServerError,
    TerminalError,
    TransientError,
    Unreachable,
    VendorError,
)
from clients.netsuite import NetSuiteClient
from clients.sage200 import (
    Bank,
    BankPostedTransaction,
    Customer,
    NominalCode,
    Product,
    ProductPriceView,
    Sage200Client,
    SalesPostedTransaction,
    SopOrder,
    SopOrderLine,
    TaxCode,
    Warehouse,
    WarehouseHolding,
)
from clients.sapb1 import SapB1Client
from clients.sitoo import (
    BatchResult,
    SitooClient,
    SitooOrder,
    SitooOrderItem,
    SitooPayment,
    SitooProduct,
    SitooStore,
    SitooWarehouse,
    SitooWarehouseItem,
)

__all__ = [
    "AuthError",
    "Bank",
    "BankPostedTransaction",
    "BaseUrlNotFound",
    "BatchResult",
    "Customer",
    "Fetched",
    "MalformedResponse",
    "NetSuiteClient",
    "NominalCode",
    "NotFoundError",
    "Product",
    "ProductPriceView",
    "RateLimited",
    "RecordLocked",
    "RejectedError",
    "ResponseTooLarge",
    "Sage200Client",
    "SalesPostedTransaction",
    "SapB1Client",
    "ServerError",
    "SitooClient",
    "SitooOrder",
    "SitooOrderItem",
    "SitooPayment",
    "SitooProduct",
    "SitooStore",
    "SitooWarehouse",
    "SitooWarehouseItem",
    "SopOrder",
    "SopOrderLine",
    "TaxCode",
    "TerminalError",
    "TransientError",
    "Unreachable",
    "VendorError",
    "Warehouse",
    "WarehouseHolding",
    "dumps_json",
    "loads_json",
]
