"""The dashboard's filters, and their round trip through a URL's query string.

Every view is a shareable URL: `Filters.to_query_params()` writes only what differs from
the defaults, `Filters.from_query_params()` reads it back and drops what it cannot read
(naming it in `problems`). No Streamlit and no database here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from recon.kinds import FINANCE, OPS, OWNERS, kinds_of
from recon.kinds import KINDS as ALL_KINDS

__all__ = [
    "FILTER_KEYS",
    "FINANCE_KINDS",
    "KINDS",
    "MONEY_KINDS",
    "OPEN_STATUSES",
    "OPS_KINDS",
    "OWNERS",
    "STATUS_CHOICES",
    "Filters",
]

FINANCE_KINDS: tuple[str, ...] = kinds_of(FINANCE)
OPS_KINDS: tuple[str, ...] = kinds_of(OPS)
KINDS: tuple[str, ...] = FINANCE_KINDS + OPS_KINDS
# Kinds whose pos_value / erp_value / difference are money (`recon.kinds`).
MONEY_KINDS: frozenset[str] = frozenset(k.name for k in ALL_KINDS if k.money)
OPEN_STATUSES: tuple[str, ...] = ("new", "persisting")
# "open" = new or persisting; "all" = every status; else one status.
STATUS_CHOICES: tuple[str, ...] = ("open", "all", "new", "persisting", "resolved", "closed")

FILTER_KEYS: tuple[str, ...] = ("from", "to", "store", "kind", "owner", "status")

Params = Mapping[str, str | Sequence[str]]


def _values(params: Params, key: str) -> list[str]:
    """All values of `key`: repeated keys and comma-separated lists both count."""
    raw = params.get(key)
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in item.split(",") if part.strip())
    return out


def _last(params: Params, key: str) -> str | None:
    values = _values(params, key)
    return values[-1] if values else None


@dataclass(frozen=True)
class Filters:
    """What the user looks at: a business-day range, stores, kinds, owner and status.

    Empty tuples and None mean "no restriction". A bound day range or a store list
    leaves out exceptions that have no business day or no store.
    """

    date_from: date | None = None
    date_to: date | None = None
    stores: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    owner: str | None = None
    status: str = "open"

    def __post_init__(self) -> None:
        if self.status not in STATUS_CHOICES:
            raise ValueError(f"status must be one of {', '.join(STATUS_CHOICES)}")
        if self.owner is not None and self.owner not in OWNERS:
            raise ValueError(f"owner must be one of {', '.join(OWNERS)}")

    def statuses(self) -> tuple[str, ...] | None:
        """The statuses this filter keeps, or None for all."""
        if self.status == "all":
            return None
        if self.status == "open":
            return OPEN_STATUSES
        return (self.status,)

    def store_day(self, store: str, day: date) -> Filters:
        """The same filters narrowed to one store and one business day (a drill-down)."""
        return replace(self, stores=(store,), date_from=day, date_to=day)

    def to_query_params(self) -> dict[str, str]:
        """Query-string values; defaults are left out so URLs stay short."""
        out: dict[str, str] = {}
        if self.date_from is not None:
            out["from"] = self.date_from.isoformat()
        if self.date_to is not None:
            out["to"] = self.date_to.isoformat()
        if self.stores:
            out["store"] = ",".join(self.stores)
        if self.kinds:
            out["kind"] = ",".join(self.kinds)
        if self.owner is not None:
            out["owner"] = self.owner
        if self.status != "open":
            out["status"] = self.status
        return out

    @classmethod
    def from_query_params(cls, params: Params, problems: list[str] | None = None) -> Filters:
        """Filters from a query string; unreadable values are dropped and named in `problems`."""
        notes: list[str] = [] if problems is None else problems

        def day(key: str) -> date | None:
            text = _last(params, key)
            if text is None:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                notes.append(f"{key}={text!r} is not a date (YYYY-MM-DD); ignored")
                return None

        kinds: list[str] = []
        for kind in _values(params, "kind"):
            if kind in KINDS:
                kinds.append(kind)
            else:
                notes.append(f"kind={kind!r} is not an exception kind; ignored")
        owner = _last(params, "owner")
        if owner is not None and owner not in OWNERS:
            notes.append(f"owner={owner!r} is not one of {', '.join(OWNERS)}; ignored")
            owner = None
        status = _last(params, "status") or "open"
        if status not in STATUS_CHOICES:
            notes.append(f"status={status!r} is not one of {', '.join(STATUS_CHOICES)}; ignored")
            status = "open"
        date_from, date_to = day("from"), day("to")
        if date_from is not None and date_to is not None and date_from > date_to:
            notes.append("from is after to; swapped")
            date_from, date_to = date_to, date_from
        return cls(
            date_from=date_from,
            date_to=date_to,
            stores=tuple(dict.fromkeys(_values(params, "store"))),
            kinds=tuple(dict.fromkeys(kinds)),
            owner=owner,
            status=status,
        )


PICK = "pick"  # the store-day chosen on a page (Takings), beside the filters in its URL


def store_day_param(store: str | None, day: date) -> str:
    """`STORE@YYYY-MM-DD` (an empty store for money no store could be given)."""
    return f"{store or ''}@{day.isoformat()}"


def parse_store_day(text: str | None) -> tuple[str | None, date | None]:
    """The store and day of a `pick` value; (None, None) when it does not read as one."""
    store, sep, day = (text or "").rpartition("@")
    if not sep:
        return None, None
    try:
        return store or None, date.fromisoformat(day)
    except ValueError:
        return None, None
