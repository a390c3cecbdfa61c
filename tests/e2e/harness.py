"""An in-process world for end-to-end tests: the Sitoo simulator and one ERP simulator served
on localhost with a scenario, and `Settings` pointing recon at them and at a test warehouse."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from config import Settings, load_settings
from config.mappings import parse_mappings
from simulators.scenario import Scenario
from simulators.serve import serve_scenario
from simulators.sitoo import SitooLine, SitooPayment, SitooState, build_order
from warehouse.db import open_warehouse
from warehouse.mappings import import_mappings

END_DAY = date(2026, 3, 14)


@dataclass
class World:
    scenario: Scenario
    settings: Settings
    truth: list[dict[str, str | None]]
    erp_state: Any


@contextmanager
def world(
    name: str, warehouse_url: str, data_dir: Path, seed: int = 7, erp: str = "sage200"
) -> Iterator[World]:
    with ExitStack() as stack:
        served = serve_scenario(stack, name, seed, erp, END_DAY)
        overrides: dict[str, object] = {k.lower(): v for k, v in served.env.items()}
        overrides |= {"recon_warehouse_url": warehouse_url, "recon_data_dir": str(data_dir)}
        settings = load_settings(**overrides)
        import_mappings(
            open_warehouse(warehouse_url), parse_mappings(tomllib.loads(served.mappings_toml))
        )
        yield World(served.scenario, settings, served.truth, served.erp_state)


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
