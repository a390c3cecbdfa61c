"""A year of 200 stores in a SQLite warehouse, to time the dashboard's first paint.

    .venv/bin/python -m tests.app.big_warehouse var/big.db --stores 200 --days 365 --orders 60

Rows are generated inside SQLite (recursive CTEs), not through the models: only the
tables the first paint reads get data (orders, exceptions, takings, waterfall, runs).
Test-only.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

from warehouse.db import open_warehouse

END = date(2026, 3, 14)
KINDS = ("missing_in_erp", "amount_mismatch", "tender_variance", "vat_rounding", "line_mismatch")


def build(path: Path, stores: int, days: int, orders: int) -> None:
    path.unlink(missing_ok=True)
    open_warehouse(f"sqlite:///{path}").dispose()  # migrated, empty
    start = END - timedelta(days=days - 1)
    con = sqlite3.connect(path)
    con.executescript(
        f"""
        PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;
        CREATE TEMP TABLE s(n); CREATE TEMP TABLE d(n); CREATE TEMP TABLE o(n);
        WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n<{stores})
        INSERT INTO s SELECT n FROM c;
        WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n+1 FROM c WHERE n<{days - 1})
        INSERT INTO d SELECT n FROM c;
        WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM c WHERE n<{orders})
        INSERT INTO o SELECT n FROM c;
        INSERT INTO pos_orders
          SELECT s.n*10000000 + d.n*1000 + o.n, s.n, date('{start}', '+'||d.n||' days'),
                 date('{start}', '+'||d.n||' days')||' 10:00:00.000000', 'sale', 'completed',
                 1, NULL, '12.00', '2.00', 'GBP', NULL
          FROM s, d, o;
        INSERT INTO takings
          SELECT s.n, date('{start}', '+'||d.n||' days'), a.acc, a.tender,
                 printf('%.2f', {orders} * 6.0), printf('%.2f', {orders} * 6.0 - (s.n*d.n % 7)),
                 printf('%.2f', -(s.n*d.n % 7)), 'GBP'
          FROM s, d, (SELECT '1210' acc, 'Cash' tender UNION ALL SELECT '1220', 'Card') a;
        INSERT INTO variance_waterfall
          SELECT s.n, date('{start}', '+'||d.n||' days'), 'explained_by_missing_in_erp',
                 printf('%.2f', -(s.n*d.n % 7) * 2), 'GBP'
          FROM s, d WHERE s.n*d.n % 7 != 0;
        INSERT INTO exceptions
          SELECT printf('%016x', s.n*100000 + d.n*10 + k.i), k.kind, 'not_posted', s.n,
                 date('{start}', '+'||d.n||' days'), s.n*10000000 + d.n*1000 + k.i, NULL,
                 NULL, NULL, NULL, '12.000', NULL, '-12.000', 'GBP', 'error',
                 CASE WHEN k.kind = 'line_mismatch' THEN 'ops' ELSE 'finance' END,
                 CASE WHEN d.n < {days} - 30 THEN 'resolved' ELSE 'new' END,
                 CASE WHEN d.n = {days - 1} THEN '2026-03-14 06:00:02.000000'
                      ELSE '2025-03-01 06:00:00.000000' END,
                 '2026-03-14 06:00:02.000000', NULL, NULL
          FROM s, d, (SELECT 0 i, '{KINDS[0]}' kind UNION ALL SELECT 1, '{KINDS[1]}'
                      UNION ALL SELECT 2, '{KINDS[2]}' UNION ALL SELECT 3, '{KINDS[3]}'
                      UNION ALL SELECT 4, '{KINDS[4]}') k
          WHERE (s.n + d.n + k.i) % 9 = 0;
        INSERT INTO runs(job, started_at, finished_at, status, counts)
          VALUES ('reconcile', '2026-03-14 06:00:00.000000', '2026-03-14 06:05:00.000000',
                  'ok', '{{}}');
        ANALYZE;
        """
    )
    con.commit()
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--orders", type=int, default=60, help="POS orders per store-day")
    args = parser.parse_args()
    began = time.perf_counter()
    build(args.path, args.stores, args.days, args.orders)
    print(f"{args.path}: built in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
