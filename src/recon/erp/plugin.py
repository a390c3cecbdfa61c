"""What an ERP plug-in gives the jobs: one `ErpPlugin` per folder of `recon.erp`, named in
`recon.erp.registry.PLUGINS`. Adding an ERP is a new folder with a `plugin.py` like the
others and a line in the registry; its poster is a `recon.sync.protocol.Poster`, and
`abilities` names the optional `Ability` methods it has, which the sync then uses.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from recon.config import Mappings, Settings
from recon.sync.prices import ErpPrices
from recon.sync.protocol import Abilities, Poster
from recon.sync.stock import Levels
from recon.warehouse.runs import RunLog

__all__ = ["ErpPlugin"]


@dataclass(frozen=True)
class ErpPlugin:
    """How the jobs reach one ERP: its client, its poster, its collector, and where it keeps
    available-to-sell stock and master prices for the pushes to the POS."""

    name: str  # the RECON_ERP value
    client: Callable[[Settings], AbstractContextManager[Any]]
    poster: Callable[[Any, Mappings], Poster]
    collect: Callable[[Engine, Any, Mappings, RunLog, bool], None]
    stock: Callable[[Any, RunLog], Levels]
    prices: Callable[[Any, Mappings, RunLog], ErpPrices]
    abilities: Abilities  # what its poster can do beyond a sale and a refund (`Ability`)
