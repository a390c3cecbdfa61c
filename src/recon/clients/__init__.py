"""The vendors' HTTP layer: one request path (`recon.clients._http`), one exception tree
(`recon.clients.errors`), the typed-model base, and the Sitoo POS client. Each ERP's client
lives in its plug-in, `recon.erp.<vendor>.client`, on top of this package. Collectors and sync
workers ask the clients for records or post documents; the clients never decide business
rules, never store data and never log a secret.
"""

from recon.clients._http import Fetched, dumps_json, loads_json
from recon.clients.errors import (
    AuthError,
    BaseUrlNotFound,
    MalformedResponse,
    NotFoundError,
    PagingLoop,
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
from recon.clients.sitoo import (
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
    "BaseUrlNotFound",
    "BatchResult",
    "Fetched",
    "MalformedResponse",
    "NotFoundError",
    "PagingLoop",
    "RateLimited",
    "RecordLocked",
    "RejectedError",
    "ResponseTooLarge",
    "ServerError",
    "SitooClient",
    "SitooOrder",
    "SitooOrderItem",
    "SitooPayment",
    "SitooProduct",
    "SitooStore",
    "SitooWarehouse",
    "SitooWarehouseItem",
    "TerminalError",
    "TransientError",
    "Unreachable",
    "VendorError",
    "dumps_json",
    "loads_json",
]
