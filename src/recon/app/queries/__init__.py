"""Read-only queries behind the dashboard: warehouse rows in, typed Polars frames out.

Plain functions of a SQLAlchemy `Connection` and a `Filters`, so they are tested without
Streamlit; a page passes every query the one connection of its render (`ui.reading`), so
the page reads one state. Money stays Decimal (Polars Decimal columns). Nothing here writes
to the warehouse (workflow actions live in `recon.app.workflow`) or knows about widgets.

One module per page (`overview`, `exceptions`, `takings`, `stock`, `sync_health`, `admin`),
`stores` for what every page's filters read, and `_frames` for what they all stand on (the
order chain is `recon.warehouse.chain`, re-exported for the drill-down); callers use
`from recon.app import queries` and `queries.name(...)`, re-exported here.
"""

from __future__ import annotations

from recon.app.queries._frames import EXCEPTION_COLUMNS, money_at_stake, schema_of
from recon.app.queries.admin import account_changes, mapping_changes
from recon.app.queries.exceptions import (
    AGE_BUCKETS,
    ExceptionDetail,
    ageing,
    exception_detail,
    exceptions,
    exceptions_by_id,
)
from recon.app.queries.overview import (
    RunChanges,
    Totals,
    changes_since_last_run,
    drift_by_store_day,
    heatmap_cells,
    pos_activity,
    totals,
)
from recon.app.queries.stock import stock_variances
from recon.app.queries.stores import latest_day, order_stores, store_names, store_options
from recon.app.queries.sync_health import (
    DEFAULT_STALE_AFTER,
    JOBS,
    freshness,
    mapping_health,
    runs,
    sync_post_summary,
    sync_posts,
)
from recon.app.queries.takings import (
    SignoffView,
    latest_closed_day,
    revenue_by_store_day,
    signoff_view,
    store_day_money,
    takings,
    takings_by_store_day,
    variance_waterfall,
    vat_totals,
    waterfall_steps,
)
from recon.warehouse.chain import OrderChain, RawRecord, order_chain

__all__ = [
    "AGE_BUCKETS",
    "DEFAULT_STALE_AFTER",
    "EXCEPTION_COLUMNS",
    "JOBS",
    "ExceptionDetail",
    "OrderChain",
    "RawRecord",
    "RunChanges",
    "SignoffView",
    "Totals",
    "account_changes",
    "ageing",
    "changes_since_last_run",
    "drift_by_store_day",
    "exception_detail",
    "exceptions",
    "exceptions_by_id",
    "freshness",
    "heatmap_cells",
    "latest_closed_day",
    "latest_day",
    "mapping_changes",
    "mapping_health",
    "money_at_stake",
    "order_chain",
    "order_stores",
    "pos_activity",
    "revenue_by_store_day",
    "runs",
    "schema_of",
    "signoff_view",
    "stock_variances",
    "store_day_money",
    "store_names",
    "store_options",
    "sync_post_summary",
    "sync_posts",
    "takings",
    "takings_by_store_day",
    "totals",
    "variance_waterfall",
    "vat_totals",
    "waterfall_steps",
]
