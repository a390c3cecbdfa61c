"""The mappings TOML (CONTRACT.md): store -> location, tender -> account, VAT -> tax code.

Parsing only. Loading into the warehouse is `warehouse.mappings`; the sync and the
engine read mappings from there, not from the file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from config.errors import ConfigError

PostingMode = Literal["per_order", "daily_journal"]


@dataclass(frozen=True)
class StoreMapping:
    store_id: str
    location: str
    timezone: str | None = None


@dataclass(frozen=True)
class TaxMapping:
    vat_rate: Decimal
    tax_code: str
    account: str


@dataclass(frozen=True)
class Mappings:
    stores: dict[str, StoreMapping] = field(default_factory=dict)
    tenders: dict[str, str] = field(default_factory=dict)
    tax: dict[Decimal, TaxMapping] = field(default_factory=dict)
    posting_mode: PostingMode = "per_order"
    guest_customer: str = "CASH01"
    settings: dict[str, str] = field(default_factory=dict)


def vat_key(rate: Decimal | str | int | float) -> Decimal:
    """VAT rates compare as Decimal with two places: '20', 20, '20.0' are one key."""
    return Decimal(str(rate)).quantize(Decimal("0.01"))


def _err(path: Path | str, where: str, what: str) -> ConfigError:
    return ConfigError(f"{path}: [{where}] {what}")


def parse_mappings(doc: dict[str, Any], path: Path | str = "mappings") -> Mappings:
    stores: dict[str, StoreMapping] = {}
    for store_id, value in doc.get("stores", {}).items():
        if isinstance(value, str):
            stores[str(store_id)] = StoreMapping(str(store_id), value)
        elif isinstance(value, dict) and isinstance(value.get("location"), str):
            tz = value.get("timezone")
            stores[str(store_id)] = StoreMapping(str(store_id), value["location"], tz)
        else:
            raise _err(
                path, "stores", f'"{store_id}" needs a location code or {{ location = ... }}'
            )
    tenders: dict[str, str] = {}
    for tender, account in doc.get("tenders", {}).items():
        if not isinstance(account, str | int):
            raise _err(path, "tenders", f'"{tender}" needs an account code')
        tenders[str(tender)] = str(account)
    tax: dict[Decimal, TaxMapping] = {}
    for rate, value in doc.get("tax", {}).items():
        try:
            key = vat_key(rate)
        except InvalidOperation:
            raise _err(path, "tax", f'"{rate}" is not a VAT rate') from None
        if not isinstance(value, dict) or "code" not in value or "account" not in value:
            raise _err(path, "tax", f'"{rate}" needs {{ code = ..., account = ... }}')
        tax[key] = TaxMapping(key, str(value["code"]), str(value["account"]))
    settings = {str(k): str(v) for k, v in doc.get("settings", {}).items()}
    mode = settings.get("posting_mode", "per_order")
    if mode not in ("per_order", "daily_journal"):
        raise _err(path, "settings", f'posting_mode "{mode}" must be per_order or daily_journal')
    return Mappings(
        stores=stores,
        tenders=tenders,
        tax=tax,
        posting_mode=mode,  # type: ignore[arg-type]
        guest_customer=settings.get("guest_customer", "CASH01"),
        settings=settings,
    )


def load_mappings(path: Path) -> Mappings:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: mappings file not found (check RECON_MAPPINGS)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_mappings(doc, path)
