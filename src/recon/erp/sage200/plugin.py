"""The sage200 plug-in as the jobs see it (`recon.erp.registry`)."""

from __future__ import annotations

from recon.erp.plugin import ErpPlugin
from recon.erp.sage200.client import Sage200Client
from recon.erp.sage200.collector import collect_sage200
from recon.erp.sage200.poster import Sage200Poster
from recon.erp.sage200.readers import sage200_levels, sage200_prices
from recon.sync.protocol import Ability

__all__ = ["PLUGIN"]

PLUGIN = ErpPlugin(
    name="sage200",
    client=Sage200Client.from_settings,
    poster=Sage200Poster,
    collect=lambda engine, client, mappings, run, full: collect_sage200(
        engine, client, mappings, run, full=full
    ),
    stock=sage200_levels,
    prices=sage200_prices,
    abilities=frozenset({Ability.DAILY_JOURNAL, Ability.PREFETCH}),
)
