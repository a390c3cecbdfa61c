"""An in-process world for end-to-end tests: both simulators served on localhost with a
scenario, and `Settings` pointing recon at them and at a test warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from config import Settings, load_settings
from config.mappings import parse_mappings
from simulators import sage200, sitoo
from simulators.scenario import Scenario, build_scenario
from simulators.serve import serve_in_thread
from warehouse.db import open_warehouse
from warehouse.mappings import import_mappings

END_DAY = date(2026, 3, 14)


@dataclass
class World:
    scenario: Scenario
    settings: Settings


@contextmanager
def world(name: str, warehouse_url: str, data_dir: Path, seed: int = 7) -> Iterator[World]:
    built = build_scenario(name, seed, END_DAY)
    sitoo_creds, sage_creds = sitoo.SitooCredentials(), sage200.Sage200Credentials()
    with ExitStack() as stack:
        sitoo_root = stack.enter_context(
            serve_in_thread(sitoo.create_app(built.sitoo, sitoo_creds))
        )
        sage_root = stack.enter_context(
            serve_in_thread(sage200.create_app(built.sage200, sage_creds))
        )
        env = sitoo_creds.env(sitoo_root) | sage_creds.env(sage_root + sage200.BASE_PATH)
        overrides: dict[str, object] = {k.lower(): v for k, v in env.items()}
        overrides |= {"recon_warehouse_url": warehouse_url, "recon_data_dir": str(data_dir)}
        settings = load_settings(**overrides)
        import tomllib

        import_mappings(
            open_warehouse(warehouse_url), parse_mappings(tomllib.loads(built.mappings_toml))
        )
        yield World(built, settings)
