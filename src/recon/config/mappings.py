"""The mappings TOML (CONTRACT.md): store -> location, tender -> account, VAT -> tax code.

Parsing only. Loading into the warehouse is `recon.warehouse.mappings`; the sync and the
engine read mappings from there, not from the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from recon.config.errors import ConfigError
from recon.reconcile import Tolerance
from recon.reconcile.describe import KIND_TEXT

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
    settings: dict[str, str] = field(default_factory=dict)  # as written: key -> text

    @cached_property
    def options(self) -> MapSettings:
        """The `[settings]`, typed (checked at `mappings import`): what code reads."""
        return MapSettings.parse(self.settings)

    @property
    def posting_mode(self) -> PostingMode:
        return self.options.posting_mode

    @property
    def guest_customer(self) -> str:
        return self.options.guest_customer

    def mode_of(self, store_id: str) -> PostingMode:
        """The store's posting mode: `posting_mode.STORE_ID`, else `posting_mode`."""
        return self.options.store_modes.get(store_id, self.posting_mode)

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
    MapSettings.parse(settings, path)  # a bad value is refused here, naming the file
    return Mappings(stores=stores, tenders=tenders, tax=tax, settings=settings)


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


def _number(value: str, *, whole: bool = False) -> str | None:
    text = value.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal(-1)
    if not number.is_finite() or number < 0 or (whole and (number < 1 or number % 1)):
        return "give a whole number, 1 or more" if whole else "give a number, 0 or more"
    return None


# Hours past this are never (ten years); 1e18 hours overflowed timedelta at parse, 1e9 a
# datetime when added to a first-seen instant.
MAX_HOURS = 87_600


def _hours(value: str) -> str | None:
    if value.strip().lower() == "off":
        return None
    bad = _number(value) or Decimal(value.strip()) > MAX_HOURS
    return f"give hours (e.g. 24, at most {MAX_HOURS}) or off" if bad else None


def _positive_hours(value: str) -> str | None:
    text = value.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal(0)
    if number.is_finite() and 0 < number <= MAX_HOURS:
        return None
    return f"give hours, more than 0 and at most {MAX_HOURS} (e.g. 24)"


def _tolerance(value: str) -> str | None:
    """The engine's own rule (`Tolerance.parse`): an amount or a percentage."""
    try:
        Tolerance.parse(value)
    except ValueError:
        return 'give an amount (e.g. 0.05) or a percentage (e.g. "0.5%")'
    return None


# Every `[settings]` key something reads, and what its value must look like.
SETTINGS: dict[str, Callable[[str], str | None]] = {
    "posting_mode": _mode,
    "guest_customer": _text,
    "writeoff_reasons": lambda v: None,
    "writeoff_location": _text,
    "amount_tolerance": _tolerance,
    "vat_rounding_max": _tolerance,
    "tender_tolerance": _tolerance,
    "stock_tolerance": _tolerance,
    "stock_buffer": _number,
    "sync_workers": lambda v: _number(v, whole=True),
    "price_list": lambda v: _number(v, whole=True),
    "erp_currency": _text,
    "sales_nominal": _text,
    "sales_account": _text,
    "alert_age_hours": _hours,
    "due_hours": _positive_hours,
}
STORE_MODE = "posting_mode."  # + a store id: that store's posting mode
AGE_PREFIX = "alert_age_hours_"  # + an exception kind: that kind's alert age
DUE_PREFIX = "due_hours."  # + an exception kind: hours from first seen until it is due


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
    texts: dict[str, str] = {}
    table = _table(doc, path, "settings")
    for key, value in table.items():
        if isinstance(value, dict | list):
            raise _err(path, "settings", f'"{key}" must be one value (quote a dotted key)')
        store = key.removeprefix(STORE_MODE)
        if key.startswith(STORE_MODE) and store not in stores:
            raise _err(path, "settings", f'"{key}": store "{store}" is not in [stores]')
        texts[key] = str(value).lower() if isinstance(value, bool) else str(value)
    MapSettings.parse(texts, path, table)  # each key known and its value what its reader takes


def _is_zone(name: object) -> bool:
    if not isinstance(name, str):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# ----------------------------------------------------------------- the [settings], typed
def _ruled(rule: Callable[[str], str | None]) -> Callable[[object], object]:
    """A pydantic before-validator from a SETTINGS rule: its problem is the error."""

    def check(value: object) -> object:
        problem = rule(str(value))
        if problem:
            raise ValueError(problem)
        return value

    return check


def _age(value: object) -> timedelta | None:
    text = str(value).strip().lower()
    return None if text == "off" else timedelta(hours=float(text))


def _due(value: object) -> object:
    return timedelta(hours=float(str(value).strip())) if isinstance(value, str) else value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _reasons(value: object) -> frozenset[str]:
    return frozenset(r.strip().casefold() for r in str(value).split(",") if r.strip())


def _rule(key: str) -> BeforeValidator:
    return BeforeValidator(_ruled(SETTINGS[key]))


AgeHours = Annotated[timedelta | None, BeforeValidator(_age), _rule("alert_age_hours")]
DueHours = Annotated[timedelta, BeforeValidator(_due), _rule("due_hours")]
Mode = Annotated[PostingMode, _rule("posting_mode")]
Text = Annotated[str, _rule("guest_customer")]
Whole = Annotated[int, BeforeValidator(_strip), _rule("sync_workers")]
Amount = Annotated[Tolerance | None, BeforeValidator(Tolerance.parse), _rule("amount_tolerance")]


class MapSettings(BaseModel):
    """The mappings' `[settings]`, typed: every key in SETTINGS, each store's posting mode
    (`posting_mode.STORE_ID`), each kind's alert age (`alert_age_hours_KIND`) and each
    kind's due time (`due_hours.KIND`), with the defaults the readers use. Built by
    `parse`; the one way code reads a setting."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    posting_mode: Mode = "per_order"
    store_modes: dict[str, Mode] = {}
    guest_customer: Text = "CASH01"
    writeoff_reasons: Annotated[frozenset[str], BeforeValidator(_reasons)] = frozenset()
    writeoff_location: Text = ""
    amount_tolerance: Amount = None
    vat_rounding_max: Amount = None
    tender_tolerance: Amount = None
    stock_tolerance: Amount = None
    stock_buffer: Annotated[Decimal, BeforeValidator(_strip), _rule("stock_buffer")] = Decimal(0)
    sync_workers: Whole | None = None  # unset: the sync's own default
    price_list: Whole = 1
    erp_currency: Text = "GBP"
    sales_nominal: Text = "4000"
    sales_account: Text = "4000"
    alert_age_hours: AgeHours = timedelta(hours=24)
    alert_age_hours_by_kind: dict[str, AgeHours] = {}
    due_hours: DueHours = timedelta(hours=48)
    due_hours_by_kind: dict[str, DueHours] = {}

    def due_after(self, kind: str) -> timedelta:
        """How long after it is first seen an exception of `kind` is due: `due_hours.KIND`,
        else `due_hours`."""
        return self.due_hours_by_kind.get(kind, self.due_hours)

    @classmethod
    def parse(
        cls,
        raw: Mapping[str, str],
        path: Path | str = "mappings",
        written: Mapping[str, object] | None = None,
    ) -> MapSettings:
        """`raw` (key -> text) typed; ConfigError `PATH: [settings] KEY = VALUE: what to
        give` for a bad value (VALUE as `written` in the file, else the text), or naming an
        unknown key."""
        fields: dict[str, Any] = {
            "store_modes": {},
            "alert_age_hours_by_kind": {},
            "due_hours_by_kind": {},
        }
        where: dict[tuple[str, ...], str] = {}
        for key, value in raw.items():
            name: tuple[str, ...]
            if key.startswith(STORE_MODE):
                name = ("store_modes", key.removeprefix(STORE_MODE))
            elif key.startswith(AGE_PREFIX):
                name = ("alert_age_hours_by_kind", key.removeprefix(AGE_PREFIX))
                if name[1] not in KIND_TEXT:
                    raise _unknown(path, "[settings]", key, [AGE_PREFIX + k for k in KIND_TEXT])
            elif key.startswith(DUE_PREFIX):
                name = ("due_hours_by_kind", key.removeprefix(DUE_PREFIX))
                if name[1] not in KIND_TEXT:
                    raise _unknown(path, "[settings]", key, [DUE_PREFIX + k for k in KIND_TEXT])
            else:
                name = (key,)
            where[name] = key
            if len(name) == 2:
                fields[name[0]][name[1]] = value
            else:
                fields[key] = value
        try:
            return cls(**fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = where.get(tuple(str(p) for p in first["loc"][:2]), str(first["loc"][0]))
            if first["type"] == "extra_forbidden":
                prefixed = (STORE_MODE + "STORE_ID", AGE_PREFIX + "KIND", DUE_PREFIX + "KIND")
                keys = [*SETTINGS, *prefixed]
                raise _unknown(path, "[settings]", key, sorted(keys)) from None
            problem = first.get("ctx", {}).get("error", first["msg"])
            shown = (written or raw)[key]
            raise _err(path, "settings", f"{key} = {shown!r}: {problem}") from None
