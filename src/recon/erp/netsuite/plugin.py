"""The netsuite plug-in as the jobs see it (`recon.erp.registry`)."""

from __future__ import annotations

from recon.erp.netsuite.client import NetSuiteClient
from recon.erp.netsuite.collector import collect_netsuite
from recon.erp.netsuite.poster import NetSuitePoster
from recon.erp.netsuite.readers import netsuite_levels, netsuite_prices
from recon.erp.plugin import ErpPlugin
from recon.sync.protocol import Ability

__all__ = ["PLUGIN"]

PLUGIN = ErpPlugin(
    name="netsuite",
    client=NetSuiteClient.from_settings,
    poster=NetSuitePoster,
    collect=lambda engine, client, mappings, run, full: collect_netsuite(
        engine, client, mappings, run, full=full
    ),
    stock=netsuite_levels,
    prices=netsuite_prices,
    abilities=frozenset({Ability.DAILY_JOURNAL}),
)
