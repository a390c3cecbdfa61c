"""The one registry of ERP plug-ins, by `RECON_ERP` value: the jobs (and so the CLI, the
scheduler and the dashboard) find an ERP here and nowhere else."""

from __future__ import annotations

from recon.erp.netsuite.plugin import PLUGIN as NETSUITE
from recon.erp.plugin import ErpPlugin
from recon.erp.sage200.plugin import PLUGIN as SAGE200
from recon.erp.sapb1.plugin import PLUGIN as SAPB1

__all__ = ["PLUGINS", "ErpPlugin"]

PLUGINS: dict[str, ErpPlugin] = {p.name: p for p in (SAGE200, NETSUITE, SAPB1)}
