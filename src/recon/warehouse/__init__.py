"""The warehouse DB: models, migrations, upserts, and the export to a snapshot directory.

Collectors, the sync and the engine write here; the dashboard reads here. Nothing in
this package talks to a vendor.
"""

from recon.warehouse.db import open_warehouse, pack, unpack, upsert

__all__ = ["open_warehouse", "pack", "unpack", "upsert"]
