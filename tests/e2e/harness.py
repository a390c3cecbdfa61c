"""An in-process world for end-to-end tests: the Sitoo simulator and one ERP simulator served
on localhost with a scenario, and `Settings` pointing recon at them and at a test warehouse."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from config import Settings, load_settings
from config.mappings import parse_mappings
from simulators.scenario import Scenario
from simulators.serve import serve_scenario
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
