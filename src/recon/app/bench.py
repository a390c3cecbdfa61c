"""How fast the dashboard's first page paints over a year of 200 stores, in a real browser.

    .venv/bin/python -m recon.app.bench                      # 200 stores x 365 days, 3 sign-ins
    .venv/bin/python -m recon.app.bench --stores 20 --days 30 --runs 1

Builds a SQLite warehouse (kept in `var/bench/`, rebuilt when its size changes), serves
the dashboard on a free port, signs in with Debian's chromium through playwright and
prints, per sign-in (the first with cold caches, then a returning user's), the seconds
from the click on "Sign in" until the Overview's metrics are visible and until its
heatmap is drawn, then wall-clock and CPU-seconds of the whole run (this process and its
children: the server and the browser) and the machine's load.

Rows are generated inside SQLite (recursive CTEs), not through the models: only the
tables the first paint reads get data (orders, exceptions, takings, waterfall, runs).
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx

from recon.app.auth import add_user
from recon.warehouse.db import open_warehouse

END = date(2026, 3, 14)
KINDS = ("missing_in_erp", "amount_mismatch", "tender_variance", "vat_rounding", "line_mismatch")
CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).parents[3]
USER, PASSWORD = "bench", "bench-password"
TYPING_MS = 3000  # on the sign-in page before the click, as a person typing


def build(path: Path, stores: int, days: int, orders: int) -> None:
    """A warehouse of `stores` x `days` store-days with `orders` POS orders each, an
    exception on about one store-day in two, the last 30 days open, the rest resolved."""
    path.unlink(missing_ok=True)
    open_warehouse(f"sqlite:///{path}").close()  # migrated, empty
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(url: str, data_dir: Path, users: Path) -> Iterator[str]:
    """The dashboard over `url` on a free port (its base URL), once it answers its health
    check; stopped on leaving. The browser test serves it this way too."""
    port = _free_port()
    env = os.environ | {
        "RECON_WAREHOUSE_URL": url,
        "RECON_DATA_DIR": str(data_dir),
        "RECON_USERS": str(users),
    }
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "src/recon/app/entry/main.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(base):
            if time.monotonic() > deadline:
                raise RuntimeError("the dashboard did not answer /_stcore/health within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/_stcore/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


HEATMAP_DRAWN = ".st-key-heatmap canvas"  # the overview's heatmap grid, once drawn


def first_paints(base: str, runs: int) -> list[tuple[float, float]]:
    """Per sign-in: seconds from the click on "Sign in" to the metrics, to the heatmap.

    One browser, signing out between sign-ins: the first meets cold caches (browser and
    server), the later ones a returning user's (within the queries' cache TTL). Each
    waits TYPING_MS on the sign-in page first, as a person does (the page warms up then).
    """
    from playwright.sync_api import sync_playwright

    out: list[tuple[float, float]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        page.goto(base)
        for _ in range(runs):
            page.get_by_label("User name").wait_for()
            page.wait_for_timeout(TYPING_MS)
            page.get_by_label("User name").fill(USER)
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            began = time.perf_counter()
            page.get_by_role("button", name="Sign in").click()
            page.get_by_test_id("stMetric").first.wait_for(state="visible")
            metrics = time.perf_counter() - began
            page.locator(HEATMAP_DRAWN).first.wait_for(state="visible")
            out.append((metrics, time.perf_counter() - began))
            page.get_by_role("button", name="Sign out").click()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--orders", type=int, default=60, help="POS orders per store-day")
    parser.add_argument("--runs", type=int, default=3, help="sign-ins to time")
    parser.add_argument("--dir", type=Path, default=Path("var/bench"))
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"bench: {CHROMIUM} is not installed (make browser)")
    began = time.perf_counter()
    args.dir.mkdir(parents=True, exist_ok=True)
    db = args.dir / f"dashboard-{args.stores}x{args.days}x{args.orders}.db"
    if not db.exists():
        build(db, args.stores, args.days, args.orders)
        print(f"{db}: built in {time.perf_counter() - began:.1f} s")
    users = args.dir / "users.toml"
    add_user(users, USER, "admin", PASSWORD)
    try:
        with serve(f"sqlite:///{db}", args.dir, users) as base:
            timings = first_paints(base, args.runs)
    except RuntimeError as exc:
        raise SystemExit(f"bench: {exc}") from None
    for i, (metrics, heatmap) in enumerate(timings, 1):
        caches = "cold caches" if i == 1 else "warm caches"
        print(f"sign-in {i} ({caches}): metrics {metrics:.2f} s, heatmap drawn {heatmap:.2f} s")
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(r.ru_utime + r.ru_stime for r in usage)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{args.stores} stores x {args.days} days: wall {time.perf_counter() - began:.1f} s, "
        f"CPU {cpu:.1f} s (server, browser and bench), load average {load}"
    )


if __name__ == "__main__":
    main()
