"""What every vendor client shares: built from settings, one `HttpCore`, closed when done.

Vendor clients subclass `VendorClient`, name their `vendor` (its key in
`recon.config.settings.REQUIRED`, whose order is their constructor's positional order), set
`self._http` in their constructor and may override `close` (SAP B1 logs out first).
Nothing vendor-specific lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx

from recon.clients._http import HttpCore
from recon.config import Settings

__all__ = ["VendorClient"]


class VendorClient:
    vendor: ClassVar[str]
    _http: HttpCore

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.BaseTransport | None = None, **kwargs: Any
    ) -> Self:
        """Build from the vendor's settings; a missing variable raises `recon.config.ConfigError`.
        Its responses are capped at RECON_MAX_RESPONSE_MB."""
        build: Callable[..., Self] = cls  # each vendor's own constructor
        client = build(*settings.credentials(cls.vendor), transport=transport, **kwargs)
        client._http.max_response_bytes = int(settings.recon_max_response_mb * 2**20)
        return client

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
