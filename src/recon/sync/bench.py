"""Sync benchmark: post N Sitoo orders to the Sage 200 simulator, per order, exactly once.

    python -m recon.sync.bench --orders 10000 [--faults] [--workers 4] [--profile]

Sitoo and Sage 200 simulators each run in their own forked process, as a vendor would, on
TCP_NODELAY sockets; the warehouse is a fresh SQLite file. Orders are sales over two stores
(one in four split over cash and card), one in seven a refund. Prints orders/s, and with
`--faults` a second run against fresh simulators answering 5% 429 and 5% 5xx on every
request; each run checks that Sage then holds one SOP order or credit note per order.
`--profile` prints the sync's top functions by cumulative time (cProfile, main thread).
Figures, not assertions: targets live in the issue.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import pstats
import socket
import tempfile
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import uvicorn

from recon.clients import SitooClient
from recon.config.mappings import parse_mappings
from recon.erp.sage200.client import Sage200Client
from recon.erp.sage200.plugin import PLUGIN as SAGE200
from recon.erp.sage200.poster import Sage200Poster
from recon.simulators import sage200 as sage_sim
from recon.simulators import sitoo as sitoo_sim
from recon.simulators.faults import Faults
from recon.simulators.sitoo import SitooLine, SitooPayment, build_order
from recon.sync.run import run_sync
from recon.warehouse.db import open_warehouse
from recon.warehouse.mappings import import_mappings
from recon.warehouse.runs import record_run

D = Decimal
ITEMS = {  # sku: name, gross, VAT rate, Sage id, Sitoo id
    "TEE": ("Tee", D("24.00"), D("20"), 77001, 501),
    "MUG": ("Mug", D("12.00"), D("20"), 77002, 502),
    "BOOK": ("Book", D("7.50"), D("0"), 77003, 503),
}
STORES = {1: (101, "WH-LON", 11), 2: (102, "WH-MAN", 12)}
TAX = {D("20"): (1, 1), D("0"): (2, 0)}
MAPPINGS = """
[stores]
"1" = "WH-LON"
"2" = "WH-MAN"
[tenders]
"Cash" = "1210"
"Card" = "1220"
[tax]
"20.00" = { code = "1", account = "2200" }
"0.00" = { code = "0", account = "2200" }
[settings]
posting_mode = "per_order"
guest_customer = "CASH01"
sync_workers = "%d"
"""


def seeded(orders: int) -> tuple[sitoo_sim.SitooState, sage_sim.Sage200State]:
    sg = sage_sim.Sage200State()
    creds = sage_sim.Sage200Credentials()
    sg.add_site(creds.site_id, int(creds.company_id))
    sg.add_customer(1042, "CASH01", "Cash Sales (POS)", cash=True)
    for rate, (tid, code) in TAX.items():
        sg.add_tax_code(tid, code, f"{rate}%", rate.quantize(D("0.01")))
    for nid, ref in ((5001, "1210"), (5002, "1220"), (5003, "2200"), (5004, "4000")):
        sg.add_nominal_code(nid, ref, ref)
    sg.add_bank(4001, "1210", "Cash")
    sg.add_bank(4002, "1220", "Card")
    st = sitoo_sim.SitooState()
    for store, (whid, name, wid) in STORES.items():
        sg.add_warehouse(wid, name, name)
        st.add_store(store, name, name)
        st.add_warehouse(whid, store, name, "GBP")
    for sku, (name, gross, rate, sid, pid) in ITEMS.items():
        sg.add_product(sid, sku, name, TAX[rate][0], (gross / (1 + rate / 100)).quantize(D("0.01")))
        st.add_product(pid, sku, name, gross, rate)
    patterns = [[("TEE", 1)], [("MUG", 2), ("BOOK", 1)], [("TEE", 3), ("BOOK", 2)], [("MUG", 1)]]
    start = datetime(2026, 3, 12, 9, tzinfo=UTC)
    last_sale: list[tuple[str, int]] | None = None
    for i in range(orders):
        store = 1 + i % 2
        refund = i % 7 == 6 and last_sale is not None
        lines = [(s, -q) for s, q in last_sale or []] if refund else patterns[i % len(patterns)]
        items = [SitooLine(s, ITEMS[s][0], q, ITEMS[s][1], ITEMS[s][2]) for s, q in lines]
        gross = sum((ln.row_gross for ln in items), D("0.00"))
        pays = [SitooPayment("Card", gross)]
        if i % 4 == 3 and not refund:
            cash = (gross / 3).quantize(D("0.01"))
            pays = [SitooPayment("Cash", cash), SitooPayment("Card", gross - cash)]
        st.add_order(
            build_order(
                orderid=100_000 + i,
                eshopid=1,
                warehouseid=STORES[store][0],
                orderdate=start + timedelta(seconds=20 * i),
                currency="GBP",
                lines=items,
                payments=pays,
                timezone="Europe/London",
                store_externalid=str(store),
                store_name=str(store),
                creditorderid=100_000 + i - 1 if refund else None,
            )
        )
        last_sale = None if refund else lines
    return st, sg


def _serve(app: Any, sock: socket.socket) -> None:
    uvicorn.Server(uvicorn.Config(app, log_level="critical", access_log=False)).run(sockets=[sock])


def _fork(app: Any) -> tuple[multiprocessing.process.BaseProcess, str]:
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(app, sock))
    proc.start()
    return proc, f"http://127.0.0.1:{sock.getsockname()[1]}"


def _wait_up(url: str) -> None:
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def bench(orders: int, workers: int, faults: bool, profile: bool) -> float:
    st, sg = seeded(orders)
    sales = sum(1 for o in st.orders.values() if o.get("creditorderid") is None)
    sitoo_faults = Faults(seed=1, rate_limit=0.05, server_error=0.05) if faults else None
    sage_faults = Faults(seed=2, rate_limit=0.05, server_error=0.05) if faults else None
    sc, gc = sitoo_sim.SitooCredentials(), sage_sim.Sage200Credentials()
    sitoo_proc, sitoo_url = _fork(sitoo_sim.create_app(st, sc, sitoo_faults))
    sage_proc, sage_url = _fork(sage_sim.create_app(sg, gc, sage_faults))
    _wait_up(sitoo_url)
    _wait_up(sage_url)
    mappings = parse_mappings(tomllib.loads(MAPPINGS % workers))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            engine = open_warehouse(f"sqlite:///{tmp}/bench.db").engine
            import_mappings(engine, mappings)
            fast: dict[str, Any] = {"min_wait": 0.05, "max_wait": 2.0}
            with (
                SitooClient(
                    sitoo_url, sc.account_id, str(sc.site_id), sc.api_id, sc.password, **fast
                ) as sitoo,
                Sage200Client(
                    sage_url + sage_sim.BASE_PATH,
                    gc.token,
                    gc.subscription_key,
                    gc.site_id,
                    gc.company_id,
                    **fast,
                ) as sage,
            ):
                poster = Sage200Poster(sage, mappings, wait=0.05)
                profiler = cProfile.Profile() if profile else None
                t0 = time.perf_counter()
                runs = 0
                while True:  # an order out of retries waits for the next run, as in production
                    with record_run(engine, "sync") as run:
                        if profiler:
                            profiler.enable()
                        run_sync(
                            engine,
                            sitoo,
                            poster,
                            mappings,
                            "Europe/London",
                            run,
                            abilities=SAGE200.abilities,
                        )
                        if profiler:
                            profiler.disable()
                    runs += 1
                    if not run.problems or runs == 5:
                        break
                seconds = time.perf_counter() - t0
                seen = Counter(
                    f.item.customer_document_no for f in sage.iter_sop_orders() if f.item
                )
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
                print(out.getvalue())
    finally:
        sitoo_proc.terminate()
        sage_proc.terminate()
    rate = orders / seconds
    label = "with 5% 429 + 5% 5xx" if faults else "without faults"
    print(
        f"sync {label}: {orders:,} orders in {seconds:.1f}s = {rate:,.0f} orders/s "
        f"({workers} workers, {runs} run{'s' if runs > 1 else ''}; "
        f"Sage holds {len(seen):,} of {sales:,} sales, "
        f"{sum(1 for n in seen.values() if n > 1)} twice)"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--faults", action="store_true", help="also run with 10%% faults")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    bench(args.orders, args.workers, False, args.profile)
    if args.faults:
        bench(args.orders, args.workers, True, args.profile)


if __name__ == "__main__":
    main()
