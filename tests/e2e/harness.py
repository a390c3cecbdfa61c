"""An in-process world for end-to-end tests: the Sitoo simulator and one ERP simulator served
on localhost with a scenario, and `Settings` pointing recon at them and at a test warehouse.

`sync`, `collect` and `findings` run the jobs' steps by hand, so a test can shorten the
retry waits (injected faults would otherwise slow it) and read each run on its own.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from recon.clients import SitooClient
from recon.collectors.sitoo import collect_sitoo
from recon.config import Mappings, Settings, load_settings
from recon.config.mappings import parse_mappings
from recon.erp.netsuite.client import NetSuiteClient
from recon.erp.netsuite.poster import NetSuitePoster
from recon.erp.registry import PLUGINS
from recon.erp.sage200.client import Sage200Client
from recon.erp.sage200.poster import Sage200Poster
from recon.erp.sapb1.client import SapB1Client
from recon.erp.sapb1.poster import SapB1Poster
from recon.reconcile import reconcile, to_records
from recon.simulators.faults import Faults
from recon.simulators.scenario import Scenario
from recon.simulators.serve import serve_scenario
from recon.simulators.sitoo import SitooLine, SitooPayment, SitooState, build_order
from recon.snapshot import read_snapshot
from recon.sync.protocol import Poster
from recon.sync.run import run_sync
from recon.warehouse.db import open_warehouse, upgrade
from recon.warehouse.export import export_snapshot
from recon.warehouse.mappings import import_mappings, load_mappings
from recon.warehouse.runs import RunLog, record_run

END_DAY = date(2026, 3, 14)
KEY_FIELDS = (
    "kind",
    "cause",
    "pos_ref",
    "erp_ref",
    "store",
    "sku",
    "tender",
    "account",
    "business_day",
    "pos_value",
    "erp_value",
)


@dataclass
class World:
    """What a test reaches: the served scenario and its truth, recon's settings, the ERP
    simulator's state (to read what was posted) and the warehouse."""

    scenario: Scenario
    settings: Settings
    truth: list[dict[str, str | None]]
    erp_state: Any
    engine: Engine

    @property
    def mappings(self) -> Mappings:
        """The warehouse's mappings now, as a job would load them (a test may import new ones)."""
        return load_mappings(self.engine)


@contextmanager
def world(
    name: str,
    warehouse_url: str,
    data_dir: Path,
    seed: int = 7,
    erp: str = "sage200",
    *,
    faults: Faults | None = None,
    mode: str = "per_order",
    settings: str = "",
) -> Iterator[World]:
    """`faults`: injected by the ERP simulator; `mode`: the posting mode; `settings`: TOML
    lines added to the mappings' `[settings]` (their last table)."""
    with ExitStack() as stack:
        served = serve_scenario(stack, name, seed, erp, END_DAY, faults=faults, posting_mode=mode)
        overrides: dict[str, object] = {k.lower(): v for k, v in served.env.items()}
        overrides |= {"recon_warehouse_url": warehouse_url, "recon_data_dir": str(data_dir)}
        upgrade(warehouse_url)
        engine = open_warehouse(warehouse_url, create=False).engine
        stack.callback(engine.dispose)
        import_mappings(engine, parse_mappings(tomllib.loads(served.mappings_toml + settings)))
        yield World(
            served.scenario, load_settings(**overrides), served.truth, served.erp_state, engine
        )


@dataclass(frozen=True)
class Waits:
    """The hand-run sync's and collect's retry waits: the clients' and posters' own unless a
    test shortens them."""

    client: Mapping[str, Any] = field(default_factory=dict)  # e.g. min_wait, max_attempts
    poster: float = 1.0  # before the poster looks up a write whose answer was lost


DEFAULT_WAITS = Waits()


@dataclass(frozen=True)
class _ErpParts:
    """The jobs' adapters build the client and poster with their default waits; these take
    the test's."""

    client: Callable[..., AbstractContextManager[Any]]
    poster: Callable[..., Poster]


_ERP_PARTS = {
    "sage200": _ErpParts(Sage200Client.from_settings, Sage200Poster),
    "netsuite": _ErpParts(NetSuiteClient.from_settings, NetSuitePoster),
    "sapb1": _ErpParts(SapB1Client.from_settings, SapB1Poster),
}


@contextmanager
def _both_sides(w: World, waits: Waits, job: str) -> Iterator[tuple[SitooClient, Any, RunLog]]:
    """The POS client, the ERP client with `waits` and the recorded run of `job`, as the jobs
    open them."""
    with (
        SitooClient.from_settings(w.settings) as pos,
        _ERP_PARTS[w.settings.recon_erp].client(w.settings, **waits.client) as erp,
        record_run(w.engine, job) as run,
    ):
        yield pos, erp, run


def sync(w: World, waits: Waits = DEFAULT_WAITS) -> RunLog:
    """One sync run (no stock push, unlike `sync_job`)."""
    mappings = w.mappings
    with _both_sides(w, waits, "sync") as (pos, erp, run):
        poster = _ERP_PARTS[w.settings.recon_erp].poster(erp, mappings, wait=waits.poster)
        abilities = PLUGINS[w.settings.recon_erp].abilities
        run_sync(
            w.engine, pos, poster, mappings, w.settings.recon_timezone, run, abilities=abilities
        )
    return run


def collect(w: World, waits: Waits = DEFAULT_WAITS) -> RunLog:
    mappings = w.mappings
    with _both_sides(w, waits, "collect") as (pos, erp, run):
        collect_sitoo(w.engine, pos, mappings, w.settings.recon_timezone, run)
        PLUGINS[w.settings.recon_erp].collect(w.engine, erp, mappings, run, False)
    return run


def findings(w: World, directory: Path) -> list[dict[str, object]]:
    """The engine's findings on a snapshot exported to `directory` (no history merged in)."""
    export_snapshot(w.engine, directory)
    return to_records(reconcile(read_snapshot(directory)).exceptions)


def matches(found: dict[str, object], expected: dict[str, str | None]) -> bool:
    """A finding is the expected one when every key field the truth names is equal."""
    return all(found.get(f) == v for f, v in expected.items() if f in KEY_FIELDS and v is not None)


def sale_and_refund(
    pos: SitooState,
    sold: list[SitooLine],
    back: list[SitooLine],
    reasons: tuple[str, ...] = (),
    email: str = "",
) -> tuple[int, int]:
    """A card sale at store 1 (WH-LON) on the 13th and its refund an hour later; `reasons`:
    each refund line's return reason code (empty: none); `email`: the sale's customer."""
    sale_id, refund_id = pos.next_orderid(), pos.next_orderid() + 1
    when = datetime(2026, 3, 13, 12, 0, tzinfo=UTC)
    common = {"eshopid": pos.orders[min(pos.orders)]["eshopid"], "warehouseid": 101,
              "currency": "GBP", "timezone": "Europe/London", "store_externalid": "S1",
              "store_name": "London"}  # fmt: skip
    paid = sum((ln.row_gross for ln in sold), Decimal(0))
    sale = build_order(orderid=sale_id, orderdate=when, lines=sold,
                       payments=[SitooPayment("Card", paid)], **common)  # fmt: skip
    sale["email"] = email
    pos.add_order(sale)
    refund = build_order(
        orderid=refund_id, orderdate=when.replace(hour=13), lines=back,
        payments=[SitooPayment("Card", sum((ln.row_gross for ln in back), Decimal(0)))],
        creditorderid=sale_id, **common,
    )  # fmt: skip
    for item, reason in zip(refund["orderitems"], reasons, strict=False):
        if reason:
            item["additionaldata"]["reasoncode-return"] = reason
    pos.add_order(refund)
    return sale_id, refund_id
