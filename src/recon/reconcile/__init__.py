"""The reconciliation engine: compares the POS and ERP sides of a snapshot with Polars and
reports exceptions, takings per tender account and a variance waterfall.

Reads frames, returns frames; must not write files, the warehouse or call any vendor.
"""

from recon.reconcile._config import EngineConfig, Tolerance
from recon.reconcile._frames import DOC_KINDS, STORE_DAY, exception_id, store_day_ref
from recon.reconcile.describe import CAUSE_TEXT, KIND_TEXT, OWNER_FIX
from recon.reconcile.engine import Findings, reconcile
from recon.reconcile.history import merge_history, to_records
from recon.reconcile.whatif import TOLERANCE_KINDS, Counts, WhatIf, prepare_whatif

__all__ = [
    "CAUSE_TEXT",
    "DOC_KINDS",
    "KIND_TEXT",
    "OWNER_FIX",
    "STORE_DAY",
    "TOLERANCE_KINDS",
    "Counts",
    "EngineConfig",
    "Findings",
    "Tolerance",
    "WhatIf",
    "exception_id",
    "merge_history",
    "prepare_whatif",
    "reconcile",
    "store_day_ref",
    "to_records",
]
