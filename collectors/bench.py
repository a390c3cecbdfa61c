"""Collect benchmark: N Sitoo orders from the local simulator into a fresh warehouse.

    python -m collectors.bench --orders 1000000

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

from clients import SitooClient
from collectors.sitoo import StoreDirectory, collect_orders
from simulators import sitoo as sim
from simulators.scenario import build_scenario
from warehouse.db import open_warehouse
from warehouse.export import export_snapshot
from warehouse.runs import record_run


def seeded_state(orders: int) -> sim.SitooState:
    state = build_scenario("small", 1, date(2026, 3, 14)).sitoo
    templates = [o for o in state.orders.values() if o["orderstateid"] == 10]
    state.orders.clear()
    for n in range(orders):
        oid = 100_000 + n
        state.orders[oid] = templates[n % len(templates)] | {"orderid": oid}
    return state


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve(state: sim.SitooState, sock: socket.socket) -> None:
    app = sim.create_app(state, sim.SitooCredentials())
    uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False)).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="leave the warehouse here (a directory)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    state = seeded_state(args.orders)
    stores = StoreDirectory(
        {w["warehouseid"]: str(w["storeid"]) for w in state.warehouses if w["storeid"]},
        {},
        "Europe/London",
    )
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(state, sock))
    server.start()
    state.orders.clear()
    print(f"seeded {args.orders:,} orders in {time.perf_counter() - t0:.1f}s")

    creds = sim.SitooCredentials()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = str(args.keep or tmp_dir)
        Path(tmp).mkdir(parents=True, exist_ok=True)
        engine = open_warehouse(f"sqlite:///{tmp}/bench.db")
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        time.sleep(1.0)
        with (
            SitooClient(
                url,
                creds.account_id,
                str(creds.site_id),
                creds.api_id,
                creds.password,
                page_size=args.page_size,
            ) as client,
            record_run(engine, "collect") as run,
        ):
            t1, cpu1 = time.perf_counter(), _cpu_seconds()
            landed = collect_orders(engine, client, stores, run)
            collect_s, collect_cpu = time.perf_counter() - t1, _cpu_seconds() - cpu1
        t2 = time.perf_counter()
        counts = export_snapshot(engine, Path(tmp) / "snapshot")
        export_s = time.perf_counter() - t2
    server.terminate()
    server.join()
    server_cpu = sum(os.times()[2:4])  # the reaped simulator's user + system seconds
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"collect: {landed.new:,} orders in {collect_s:.1f}s"
        f" = {landed.new / collect_s:,.0f} orders/s"
        f" ({collect_cpu:.1f} CPU-s = {landed.new / collect_cpu:,.0f} orders per CPU-second)"
    )
    print(
        f"export:  {counts['pos_orders']:,} orders, {counts['pos_order_lines']:,} lines, "
        f"{counts['pos_payments']:,} payments in {export_s:.1f}s"
    )
    print(f"simulator: {server_cpu:.1f} CPU-s serving the pages (its own process)")
    print(f"peak memory (collector process): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
