"""What every vendor client shares: one `HttpCore`, closed when the client is.

Vendor clients subclass `VendorClient`, set `self._http` in their constructor and may
override `close` (SAP B1 logs out first). Nothing vendor-specific lives here.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from clients._http import HttpCore

__all__ = ["VendorClient"]


class VendorClient:
    _http: HttpCore

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
