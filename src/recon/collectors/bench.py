"""Collect benchmark: N Sitoo orders from the local simulator into a fresh warehouse.

    python -m recon.collectors.bench --orders 50000
    python -m recon.collectors.bench --orders 1000000 --fill  # export only, warehouse filled by SQL

The simulator runs in its own (forked) process, as a vendor would; orders are copies of the
`small` scenario's sales with new ids. Prints orders/s for the collect (wall clock, and per
CPU-second of this process: fetching, validating and landing, which a busy machine disturbs
less), the simulator's CPU-seconds (on 2 cores the two share the machine), the snapshot
export time, and peak memory of this process. Figures, not assertions:
targets live in the issue.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import socket
import tempfile
import time
from datetime import date
from pathlib import Path

import uvicorn
from sqlalchemy import Engine

from recon.clients import SitooClient
from recon.clients.sitoo import SitooOrder
from recon.collectors._landing import write_rows
from recon.collectors.sitoo import collect_orders, order_rows
from recon.pos.rules import StoreDirectory
from recon.simulators import sitoo as sim
from recon.simulators.scenario import build_scenario
from recon.warehouse.db import open_warehouse, table
from recon.warehouse.export import export_snapshot
from recon.warehouse.runs import record_run

SALES = 1_000  # distinct orders copied by `fill_warehouse`


def store_directory(state: sim.SitooState) -> StoreDirectory:
    stores = {w["warehouseid"]: str(w.get("storeid")) for w in state.warehouses if w.get("storeid")}
    return StoreDirectory(stores, {}, "Europe/London")


def seeded_state(orders: int) -> sim.SitooState:
    state = build_scenario("small", 1, date(2026, 3, 14)).sitoo
    templates = [o for o in state.orders.values() if o["orderstateid"] == 10]
    state.orders.clear()
    for n in range(orders):
        oid = 100_000 + n
        state.orders[oid] = templates[n % len(templates)] | {"orderid": oid}
    return state


def fill_warehouse(engine: Engine, orders: int, stores: StoreDirectory) -> None:
    """`orders` orders with their lines and payments, straight into the canonical tables:
    the scenario's sales mapped once, then copied by SQL under new ids (no vendor, no raw
    payloads), so the export can be measured at a million orders in seconds."""
    templates = [SitooOrder.model_validate(o) for o in seeded_state(SALES).orders.values()]
    rows: dict[str, list[dict[str, object]]] = {}
    for order in templates:
        for name, values in order_rows(order, stores).items():
            rows.setdefault(name, []).extend(values)
    copies = -(-orders // len(templates))
    with engine.begin() as conn:
        for name, values in rows.items():
            write_rows(conn, table(name), values)
        conn.exec_driver_sql(  # copy n of template t is order 't-n' (copy 0 is t itself)
            "CREATE TEMP TABLE copies AS WITH RECURSIVE n(i) AS"
            f" (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {copies - 1}) SELECT i FROM n"
        )
        keep = len(templates) * copies - orders  # the last copy is a partial one
        for name in rows:
            cols = [c.name for c in table(name).columns]
            picked = ", ".join(
                "o.order_id || '-' || copies.i" if c == "order_id" else f"o.{c}" for c in cols
            )
            conn.exec_driver_sql(
                f"INSERT INTO {name} ({', '.join(cols)}) SELECT {picked}"
                f" FROM {name} o CROSS JOIN copies"
            )
        conn.exec_driver_sql(
            "DELETE FROM pos_orders WHERE order_id IN"
            f" (SELECT order_id FROM pos_orders ORDER BY order_id DESC LIMIT {keep})"
        )
        for child in ("pos_order_lines", "pos_payments"):
            conn.exec_driver_sql(
                f"DELETE FROM {child} WHERE order_id NOT IN (SELECT order_id FROM pos_orders)"
            )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(state: sim.SitooState, sock: socket.socket) -> None:
    app = sim.create_app(state, sim.SitooCredentials())
    uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False)).run(sockets=[sock])


def collect(orders: int, page_size: int, engine: Engine) -> None:
    """Serve `orders` from a forked simulator and collect them; print the figures."""
    t0 = time.perf_counter()
    state = seeded_state(orders)
    stores = store_directory(state)
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(state, sock))
    server.start()
    state.orders.clear()
    print(f"seeded {orders:,} orders in {time.perf_counter() - t0:.1f}s")
    creds = sim.SitooCredentials()
    time.sleep(1.0)
    with (
        SitooClient(
            f"http://127.0.0.1:{sock.getsockname()[1]}",
            creds.account_id,
            str(creds.site_id),
            creds.api_id,
            creds.password,
            page_size=page_size,
        ) as client,
        record_run(engine, "collect") as run,
    ):
        t1, cpu1 = time.perf_counter(), _cpu_seconds()
        landed = collect_orders(engine, client, stores, run)
        collect_s, collect_cpu = time.perf_counter() - t1, _cpu_seconds() - cpu1
    server.terminate()
    server.join()
    server_cpu = sum(os.times()[2:4])  # the reaped simulator's user + system seconds
    print(
        f"collect: {landed.new:,} orders in {collect_s:.1f}s"
        f" = {landed.new / collect_s:,.0f} orders/s"
        f" ({collect_cpu:.1f} CPU-s = {landed.new / collect_cpu:,.0f} orders per CPU-second;"
        f" simulator {server_cpu:.1f} CPU-s in its own process)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument(
        "--fill",
        action="store_true",
        help="skip the collect: fill the warehouse with --orders orders by SQL, time the export",
    )
    parser.add_argument("--keep", type=Path, help="leave the warehouse here (a directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(args.keep or tmp_dir)
        tmp.mkdir(parents=True, exist_ok=True)
        opened = open_warehouse(f"sqlite:///{tmp}/bench.db")
        engine = opened.engine
        if args.fill:
            t0 = time.perf_counter()
            fill_warehouse(engine, args.orders, store_directory(seeded_state(0)))
            print(f"filled {args.orders:,} orders in {time.perf_counter() - t0:.1f}s")
        else:
            collect(args.orders, args.page_size, engine)
        t2, cpu2 = time.perf_counter(), _cpu_seconds()
        counts = export_snapshot(engine, tmp / "snapshot")
        export_s, export_cpu = time.perf_counter() - t2, _cpu_seconds() - cpu2
        opened.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"export:  {counts['pos_orders']:,} orders, {counts['pos_order_lines']:,} lines, "
        f"{counts['pos_payments']:,} payments in {export_s:.1f}s ({export_cpu:.1f} CPU-s)"
    )
    print(f"peak memory (this process): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
