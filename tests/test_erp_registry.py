"""One registry of ERP plug-ins: every folder of recon/erp is in it, under the RECON_ERP value
the settings accept, and holds everything the jobs need from that ERP."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import recon.erp
from recon.config.settings import ErpName
from recon.erp.registry import PLUGINS

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
