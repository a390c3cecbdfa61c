"""The mappings TOML (CONTRACT.md): store -> location, tender -> account, VAT -> tax code.

Parsing only. Loading into the warehouse is `recon.warehouse.mappings`; the sync and the
engine read mappings from there, not from the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recon.config.errors import ConfigError

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

    def mode_of(self, store_id: str) -> PostingMode:
        """The store's posting mode: `posting_mode.STORE_ID`, else `posting_mode`."""
        mode = self.settings.get(f"posting_mode.{store_id}", self.posting_mode)
        return "daily_journal" if mode == "daily_journal" else "per_order"

    def modes(self) -> set[PostingMode]:
        """Every posting mode in use: the default one and each mapped store's."""
        return {self.posting_mode, *(self.mode_of(s) for s in self.stores)}


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
    """The mappings file, checked whole (`check_document`) before anything reads it."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: mappings file not found (check RECON_MAPPINGS)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the mappings file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    check_document(doc, path)
    return parse_mappings(doc, path)


# ----------------------------------------------------------------- what a file may say
SECTIONS = ("stores", "tenders", "tax", "settings")
STORE_KEYS = ("location", "timezone")
TAX_KEYS = ("code", "account")
MODES = ("per_order", "daily_journal")


def _text(value: str) -> str | None:
    return None if value.strip() else "give a non-empty value"


def _mode(value: str) -> str | None:
    return None if value in MODES else f"use {' or '.join(MODES)}"


def _number(value: str, *, percent: bool = False, whole: bool = False) -> str | None:
    text = value.strip()
    if percent and text.endswith("%"):
        text = text[:-1].strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal(-1)
    if not number.is_finite() or number < 0 or (whole and (number < 1 or number % 1)):
        if whole:
            return "give a whole number, 1 or more"
        return (
            'give an amount (e.g. 0.05) or a percentage (e.g. "0.5%")'
            if percent
            else ("give a number, 0 or more")
        )
    return None


def _hours(value: str) -> str | None:
    if value.strip().lower() == "off":
        return None
    return "give hours (e.g. 24) or off" if _number(value) else None


# Every `[settings]` key something reads, and what its value must look like.
SETTINGS: dict[str, Callable[[str], str | None]] = {
    "posting_mode": _mode,
    "guest_customer": _text,
    "writeoff_reasons": lambda v: None,
    "writeoff_location": _text,
    "amount_tolerance": lambda v: _number(v, percent=True),
    "vat_rounding_max": lambda v: _number(v, percent=True),
    "tender_tolerance": lambda v: _number(v, percent=True),
    "stock_tolerance": lambda v: _number(v, percent=True),
    "stock_buffer": _number,
    "sync_workers": lambda v: _number(v, whole=True),
    "price_list": lambda v: _number(v, whole=True),
    "erp_currency": _text,
    "sales_nominal": _text,
    "sales_account": _text,
    "alert_age_hours": _hours,
}
STORE_MODE = "posting_mode."  # + a store id: that store's posting mode
AGE_PREFIX = "alert_age_hours_"  # + an exception kind: that kind's alert age


def _table(doc: dict[str, Any], path: Path | str, section: str) -> dict[str, Any]:
    value = doc.get(section, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{section}] must be a table of keys, not a single value")
    return value


def _unknown(path: Path | str, where: str, key: str, valid: Iterable[str]) -> ConfigError:
    return ConfigError(f'{path}: {where} unknown key "{key}": use one of {", ".join(valid)}')


def check_document(doc: dict[str, Any], path: Path | str) -> None:
    """Refuse a mappings file with a section or key nothing reads (a misspelt `[tender]`
    would otherwise import cleanly and hold every sale), or a value its reader would
    refuse: one ConfigError line naming the file, section, key and what is valid."""
    for section, value in doc.items():
        if section not in SECTIONS:
            valid = ", ".join(f"[{s}]" for s in SECTIONS)
            what = f"section [{section}]" if isinstance(value, dict) else f'key "{section}"'
            raise ConfigError(f"{path}: unknown {what}: use {valid}")
    for store, value in _table(doc, path, "stores").items():
        if isinstance(value, dict):
            for key in value:
                if key not in STORE_KEYS:
                    raise _unknown(path, f'[stores] "{store}"', key, STORE_KEYS)
            zone = value.get("timezone")
            if zone is not None and not _is_zone(zone):
                raise _err(path, "stores", f'"{store}" timezone {zone!r} is not an IANA time zone')
    for rate, value in _table(doc, path, "tax").items():
        if isinstance(value, dict):
            for key in value:
                if key not in TAX_KEYS:
                    raise _unknown(path, f'[tax] "{rate}"', key, TAX_KEYS)
    stores = {str(s) for s in _table(doc, path, "stores")}
    check: Callable[[str], str | None]
    for key, value in _table(doc, path, "settings").items():
        if isinstance(value, dict | list):
            raise _err(path, "settings", f'"{key}" must be one value (quote a dotted key)')
        if key.startswith(STORE_MODE):
            store = key.removeprefix(STORE_MODE)
            if store not in stores:
                raise _err(path, "settings", f'"{key}": store "{store}" is not in [stores]')
            check = _mode
        elif key.startswith(AGE_PREFIX):
            from recon.reconcile.describe import KIND_TEXT

            if key.removeprefix(AGE_PREFIX) not in KIND_TEXT:
                raise _unknown(path, "[settings]", key, [AGE_PREFIX + k for k in KIND_TEXT])
            check = _hours
        elif key in SETTINGS:
            check = SETTINGS[key]
        else:
            keys = [*SETTINGS, STORE_MODE + "STORE_ID", AGE_PREFIX + "KIND"]
            raise _unknown(path, "[settings]", key, sorted(keys))
        text = str(value).lower() if isinstance(value, bool) else str(value)
        problem = check(text)
        if problem:
            raise _err(path, "settings", f"{key} = {value!r}: {problem}")


def _is_zone(name: object) -> bool:
    if not isinstance(name, str):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
