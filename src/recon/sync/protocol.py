"""The ERP Protocol: what the sync needs of an ERP's poster, and the optional abilities a
plug-in declares (`recon.erp.plugin.ErpPlugin.abilities`).

Every poster is a `Poster` (its name, what it knows, a sale and a refund). An ability is a
method only some ERPs have; the plug-in names the ones its poster has, and the sync asks the
declaration, never the object (`prefetcher`, `journal_poster`). `tests/test_erp_registry.py`
fails when a plug-in declares an ability its poster lacks, or leaves out one it has.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from enum import StrEnum
from typing import Protocol, cast

from recon.clients.sitoo import SitooOrder
from recon.sync._outcome import Outcome
from recon.sync.takings import StoreDayJournal

__all__ = [
    "Abilities",
    "Ability",
    "JournalPoster",
    "Poster",
    "Prefetcher",
    "journal_poster",
    "prefetcher",
]


class Ability(StrEnum):
    """An optional ability of an ERP's poster (its method in brackets)."""

    DAILY_JOURNAL = "daily_journal"  # posts a store-day's takings per tender (post_journals)
    PREFETCH = "prefetch"  # looks a batch of claimed orders up at once (prefetch)


Abilities = frozenset[Ability]


class Poster(Protocol):
    """What the run loop needs of an ERP: its name, what it knows, and the two posts."""

    @property
    def erp(self) -> str: ...
    @property
    def known_skus(self) -> Collection[str]: ...
    @property
    def active_accounts(self) -> Collection[str]: ...

    def post_sale(self, order: SitooOrder, day: date, location: str) -> list[Outcome]: ...
    def post_refund(self, order: SitooOrder, day: date, location: str) -> list[Outcome]: ...


class Prefetcher(Poster, Protocol):
    """`Ability.PREFETCH`."""

    def prefetch(self, oids: Sequence[str]) -> None:
        """Look up many claimed orders at once; each order's first look-up is then served
        from what was found. A failure only leaves each order to look itself up."""
        ...


class JournalPoster(Poster, Protocol):
    """`Ability.DAILY_JOURNAL`."""

    def post_journals(self, journals: Sequence[StoreDayJournal]) -> list[Outcome]:
        """Look up, then post, one store-day's journals (one per tender, none empty); an
        outcome per journal, in order. Sage 200 and SAP B1 write a document per tender,
        NetSuite one `journalEntry` per store-day (its `externalId` is unique)."""
        ...


def prefetcher(poster: Poster, abilities: Abilities) -> Prefetcher | None:
    """`poster` as a `Prefetcher` when its plug-in declares `Ability.PREFETCH`, else None."""
    return cast(Prefetcher, poster) if Ability.PREFETCH in abilities else None


def journal_poster(poster: Poster, abilities: Abilities) -> JournalPoster | None:
    """`poster` as a `JournalPoster` when its plug-in declares `Ability.DAILY_JOURNAL`."""
    return cast(JournalPoster, poster) if Ability.DAILY_JOURNAL in abilities else None
