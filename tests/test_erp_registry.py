"""One registry of ERP plug-ins: every folder of recon/erp is in it, under the RECON_ERP value
the settings accept, and holds everything the jobs need from that ERP."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

import recon.erp
from recon.config.settings import ErpName
from recon.erp.registry import PLUGINS
from recon.sync.protocol import Ability

ERP = Path(recon.erp.__file__).parent


def test_each_erp_folder_is_one_plugin_in_the_registry() -> None:
    folders = {p.name for p in ERP.iterdir() if (p / "__init__.py").is_file()}
    #  folder / RECON_ERP value / registry key: the same three sets
    assert folders == set(get_args(ErpName)) == set(PLUGINS)
    for name, plugin in PLUGINS.items():
        assert plugin.name == name
        assert {"client.py", "collector.py", "poster.py", "readers.py", "plugin.py"} <= {
            p.name for p in (ERP / name).iterdir()
        }
        assert plugin.poster.__module__ == f"recon.erp.{name}.poster"
        assert plugin.stock.__module__ == plugin.prices.__module__ == f"recon.erp.{name}.readers"


# Each optional ability and the poster method it stands for (`recon.sync.protocol`).
ABILITY_METHODS = {
    Ability.DAILY_JOURNAL: "post_journals",
    Ability.PREFETCH: "prefetch",
}


def test_the_table_names_every_ability() -> None:
    assert set(ABILITY_METHODS) == set(Ability)


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_each_plugin_declares_exactly_the_abilities_its_poster_has(name: str) -> None:
    plugin = PLUGINS[name]
    has = {
        a for a, method in ABILITY_METHODS.items() if callable(getattr(plugin.poster, method, None))
    }
    assert plugin.abilities == has


def test_what_each_erp_can_do() -> None:
    #  ERP        daily journal  prefetch
    expected = {
        "netsuite": (True, False),
        "sage200": (True, True),
        "sapb1": (True, False),
    }
    got = {
        name: (Ability.DAILY_JOURNAL in p.abilities, Ability.PREFETCH in p.abilities)
        for name, p in PLUGINS.items()
    }
    assert got == expected
