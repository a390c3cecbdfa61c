"""The sapb1 plug-in as the jobs see it (`recon.erp.registry`)."""

from __future__ import annotations

from recon.erp.plugin import ErpPlugin
from recon.erp.sapb1.client import SapB1Client
from recon.erp.sapb1.collector import collect_sapb1
from recon.erp.sapb1.poster import SapB1Poster
from recon.erp.sapb1.readers import sapb1_levels, sapb1_prices
from recon.sync.protocol import Ability

__all__ = ["PLUGIN"]

PLUGIN = ErpPlugin(
    name="sapb1",
    client=SapB1Client.from_settings,
    poster=SapB1Poster,
    collect=lambda engine, client, mappings, run, full: collect_sapb1(
        engine, client, mappings, run, full=full
    ),
    stock=sapb1_levels,
    prices=sapb1_prices,
    abilities=frozenset({Ability.DAILY_JOURNAL}),
)
