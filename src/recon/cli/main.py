"""The `recon` command line (CONTRACT "Command line").

Parses arguments, calls a job, prints results. Exit 0 when the work completed (finding
exceptions is a result), 1 when it ran but could not complete all of it, 2 on bad usage
or configuration, always with one line on stderr that says what to fix.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from recon.clients import AuthError, BaseUrlNotFound, Unreachable, VendorError
from recon.config import ConfigError, load_settings
from recon.snapshot import EXCEPTION_FIELDS, SnapshotError
from recon.snapshot.location import Where, join, where
from recon.warehouse.runs import Busy

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("recon")


class UsageError(Exception):
    """Bad arguments: one line naming the argument."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _store(text: str) -> str:
    """A store id as the warehouse keeps it: stripped (` 1 ` matched nothing), not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give a store id (e.g. 1)")
    return text.strip()


def _order_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a POS order id (e.g. 5120)") from None


def _where(text: str) -> Where:
    """A snapshot directory or URL (`recon.snapshot.location.where`)."""
    try:
        return where(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return int(text)


def _tolerance(text: str) -> str:
    """A what-if tolerance, checked by the engine's rule (`Tolerance.parse`); kept as given."""
    from recon.reconcile import Tolerance

    try:
        Tolerance.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="recon", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("-v", "--verbose", action="store_true", help="log every step to stderr")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="simulators + sync + collect + reconcile + dashboard")
    demo.add_argument("--scenario", default="demo")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--port", type=_port, default=8501, help="dashboard port")
    demo.add_argument("--address", default="127.0.0.1", help="dashboard address")
    demo.add_argument("--erp", choices=["sage200", "netsuite", "sapb1"], default="sage200")
    demo.add_argument("--no-dashboard", action="store_true", help="stop after reconciling")

    maps = sub.add_parser("mappings", help="integration mappings")
    maps_sub = maps.add_subparsers(dest="action", required=True, parser_class=_Parser)
    imp = maps_sub.add_parser("import", help="load a mappings TOML into the warehouse")
    imp.add_argument("file", type=Path, nargs="?", help="defaults to RECON_MAPPINGS")

    sync = sub.add_parser("sync", help="post completed, paid POS sales and refunds to the ERP")
    sync.add_argument("--since", type=_order_id, help="POS order id to start from")
    sync.add_argument("--order", type=_order_id, help="post only this POS order (a re-sync)")

    stock = sub.add_parser("stock", help="ERP stock to the POS")
    stock_sub = stock.add_subparsers(dest="action", required=True, parser_class=_Parser)
    stock_sub.add_parser("push", help="push ERP available-to-sell levels to Sitoo")

    prices = sub.add_parser("prices", help="ERP prices to the POS")
    prices_sub = prices.add_subparsers(dest="action", required=True, parser_class=_Parser)
    prices_sub.add_parser("push", help="push ERP master prices (gross) to the Sitoo catalogue")

    alerts = sub.add_parser("alerts", help="exception alerts to their owners")
    alerts_sub = alerts.add_subparsers(dest="action", required=True, parser_class=_Parser)
    alerts_sub.add_parser("send", help="send the digests of new and ageing exceptions")

    collect = sub.add_parser("collect", help="snapshot both sides into the warehouse")
    collect.add_argument("--since", type=_order_id, help="POS order id to start from")
    collect.add_argument("--full", action="store_true", help="re-read everything")

    rec = sub.add_parser("reconcile", help="run the engine")
    rec.add_argument(
        "--snapshot",
        type=_where,
        help="read this snapshot directory or fsspec URL (s3://, gs://, abfs://...) instead",
    )
    rec.add_argument("--day", type=_day)
    rec.add_argument("--store", type=_store)
    rec.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the comparisons on this Dask scheduler (tcp://host:8786, local:N); "
        "default RECON_DASK_SCHEDULER",
    )

    whatif = sub.add_parser(
        "whatif",
        help="how many findings each money tolerance would leave, by kind",
        description="Re-runs the money comparisons (document totals: amount_tolerance; "
        "takings per tender account: tender_tolerance) of the latest snapshot at each "
        "tolerance and counts the findings left, by kind. vat_rounding_max and "
        "stock_tolerance stay as configured. Reads only.",
    )
    whatif.add_argument(
        "--tolerance",
        type=_tolerance,
        action="append",
        required=True,
        metavar="T",
        help="0.05 (in the currency) or 1%% (of the POS value); repeat for more rows",
    )
    whatif.add_argument("--format", choices=["json", "text"], default="text")
    whatif.add_argument(
        "--snapshot",
        type=_where,
        metavar="DIR",
        help="read this snapshot directory instead of exporting the warehouse "
        "(an addition to the CONTRACT's arguments)",
    )

    exc = sub.add_parser("exceptions", help="print exceptions")
    exc.add_argument("--format", choices=["json", "csv"], default="json")
    exc.add_argument("--kind")
    exc.add_argument("--store", type=_store)
    exc.add_argument("--day", type=_day)
    exc.add_argument("--status", choices=["open", "all"], default="open")

    chain = sub.add_parser("chain", help="one POS order's chain (or an ERP document's order)")
    chain.add_argument("id", help="a POS order id, an ERP document number or id, a journal id")
    chain.add_argument("--format", choices=["json", "text"], default="text")

    snap = sub.add_parser("snapshot", help="export the warehouse to a snapshot directory")
    snap.add_argument("directory", type=_where, help="a directory or fsspec URL (s3://...)")
    snap.add_argument(
        "--partitioned",
        action="store_true",
        help="split the large tables by store and month (Hive layout) for a Dask cluster",
    )

    sim = sub.add_parser("simulate", help="serve one local vendor simulator")
    sim.add_argument("vendor", choices=["sitoo", "sage200", "netsuite", "sapb1"])
    sim.add_argument("--port", type=_port, default=0)
    sim.add_argument("--scenario", default="demo")
    sim.add_argument("--seed", type=int, default=1)

    users = sub.add_parser("users", help="dashboard accounts (RECON_USERS)")
    users_sub = users.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = users_sub.add_parser("add", help="add or replace an account (prompts for a password)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["finance", "ops", "admin"])
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument(
        "--oidc", action="store_true", help="no password: NAME is the OIDC e-mail or sub"
    )
    remove = users_sub.add_parser("remove", help="remove an account; its sessions end")
    remove.add_argument("name")
    users_sub.add_parser("list", help="accounts and their roles")

    serve = sub.add_parser("serve", help="the Streamlit dashboard")
    serve.add_argument("--port", type=_port, default=8501)
    serve.add_argument(
        "--address",
        default="127.0.0.1",
        help="where to listen (default 127.0.0.1; 0.0.0.0 only behind a TLS proxy)",
    )
    sub.add_parser("scheduler", help="run sync, collect and reconcile on their schedules")

    db = sub.add_parser("db", help="the warehouse database")
    db_sub = db.add_subparsers(dest="action", required=True, parser_class=_Parser)
    db_sub.add_parser("upgrade", help="bring the warehouse schema up to date (Alembic)")

    signoff = sub.add_parser("signoff", help="store-day sign-offs, for audit")
    signoff_sub = signoff.add_subparsers(dest="action", required=True, parser_class=_Parser)
    sl = signoff_sub.add_parser("list", help="sign-offs with their evidence and events")
    sl.add_argument("--format", choices=["json", "csv"], default="json")
    sl.add_argument("--day", type=_day)
    sl.add_argument("--store", type=_store, help="this store's sign-offs and the all-stores ones")
    return p


def _print_run(job: str, counts: dict[str, int], problems: list[str]) -> int:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v)
    print(f"{job}: {shown or 'nothing to do'}")
    for line in problems[:20]:
        print(f"  {line}", file=sys.stderr)
    if len(problems) > 20:
        print(f"  ... and {len(problems) - 20} more", file=sys.stderr)
    return EXIT_PARTIAL if problems else EXIT_OK


def cmd_mappings(args: argparse.Namespace) -> int:
    from recon.config.mappings import load_mappings
    from recon.jobs import warehouse
    from recon.warehouse.mappings import import_mappings

    settings = load_settings()
    path = args.file or settings.recon_mappings
    if path is None:
        raise ConfigError("name the mappings file: recon mappings import FILE (or RECON_MAPPINGS)")
    mappings = load_mappings(Path(path))  # checked whole before the warehouse is created
    engine = warehouse(settings, create=True)
    counts = import_mappings(engine, mappings, source=str(path))
    print(f"mappings imported from {path}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    from recon.jobs import sync_job

    if args.order is not None:
        from recon.jobs import repost_job

        done = repost_job(load_settings(), [str(args.order)], settle=False)
        code = _print_run(f"sync order {args.order}", dict(done.run.counts), done.run.problems)
        print(done.text())  # posted, already in the ERP, or still held and why
        return code
    run = sync_job(load_settings(), since=args.since)
    return _print_run("sync", dict(run.counts), run.problems)


def cmd_stock(args: argparse.Namespace) -> int:
    from recon.jobs import stock_push_job

    run, skipped = stock_push_job(load_settings())
    for line in skipped:
        print(f"  skipped: {line}")
    return _print_run("stock push", dict(run.counts), run.problems)


def cmd_prices(args: argparse.Namespace) -> int:
    from recon.jobs import price_push_job

    run, skipped = price_push_job(load_settings())
    for line in skipped:
        print(f"  skipped: {line}")
    return _print_run("price push", dict(run.counts), run.problems)


def cmd_alerts(args: argparse.Namespace) -> int:
    from recon.jobs import alerts_job

    run, unrouted = alerts_job(load_settings())
    for line in unrouted:
        print(f"  {line}")
    return _print_run("alerts", dict(run.counts), run.problems)


def cmd_collect(args: argparse.Namespace) -> int:
    from recon.jobs import collect_job

    run = collect_job(load_settings(), full=args.full)
    return _print_run("collect", dict(run.counts), run.problems)


def cmd_reconcile(args: argparse.Namespace) -> int:
    from recon.jobs import reconcile_job

    merged, _ = reconcile_job(
        load_settings(),
        snapshot_dir=args.snapshot,
        day=args.day,
        store=args.store,
        scheduler=args.scheduler,
    )
    by_status = merged.group_by("status").len().sort("status").rows()
    print("reconcile: " + (", ".join(f"{s}={n}" for s, n in by_status) or "no exceptions"))
    if args.snapshot:
        print(f"exceptions written to {join(args.snapshot, 'exceptions.parquet')}")
    return EXIT_OK


def cmd_whatif(args: argparse.Namespace) -> int:
    """One row per tolerance, in the order given (CONTRACT: JSON is one array of
    `{"tolerance", "total", "by_kind"}`); the text table ends with the counts as configured."""
    from recon.jobs import whatif_job
    from recon.kinds import KINDS
    from recon.reconcile import TOLERANCE_KINDS, Tolerance

    prepared = whatif_job(load_settings(), snapshot_dir=args.snapshot)
    rows = [prepared.counts(Tolerance.parse(t), t) for t in args.tolerance]
    if args.format == "json":
        json.dump([r.as_json() for r in rows], sys.stdout, indent=1)
        sys.stdout.write("\n")
        return EXIT_OK
    shown = [k.name for k in KINDS if k.name in TOLERANCE_KINDS]
    table = [["tolerance", *shown, "other kinds", "total"]]
    for r in rows:
        varying = [r.by_kind[k] for k in shown]
        table.append([r.tolerance, *map(str, varying), str(r.total - sum(varying)), str(r.total)])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:  # the tolerance left-aligned, the counts right-aligned
        cells = zip(line, widths, strict=True)
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))
    cfg, now = prepared.config, prepared.counts()
    print(
        f"now, as configured (amount_tolerance {cfg.amount.text()}, tender_tolerance "
        f"{cfg.tender.text()}): {now.total} findings"
    )
    return EXIT_OK


def cmd_exceptions(args: argparse.Namespace) -> int:
    import polars as pl

    from recon.jobs import warehouse
    from recon.reconcile import to_records
    from recon.warehouse.exceptions import read_exceptions

    frame = read_exceptions(warehouse(load_settings()), day=args.day, store=args.store)
    if args.kind:
        frame = frame.filter(pl.col("kind") == args.kind)
    if args.status == "open":
        frame = frame.filter(pl.col("status").is_in(["new", "persisting"]))
    records = to_records(frame.sort("business_day", "store", "kind", "id", nulls_last=True))
    if args.format == "json":
        json.dump(records, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:  # a spreadsheet opens it: vendor text that starts like a formula is made inert
        from recon.app.export import spreadsheet_safe

        text = pl.DataFrame(records, schema=dict.fromkeys(EXCEPTION_FIELDS, pl.String))
        writer = csv.DictWriter(sys.stdout, fieldnames=list(EXCEPTION_FIELDS))
        writer.writeheader()
        writer.writerows(spreadsheet_safe(text).iter_rows(named=True))
    return EXIT_OK


SIGNOFF_CSV = (  # a row per event: the sign-off it belongs to, then the event
    "id", "store", "business_day", "state", "preparer", "prepared_at", "reviewer",
    "reviewed_at", "fingerprint", "evidence_lines", "at", "actor", "action", "note",
)  # fmt: skip


def cmd_signoff(args: argparse.Namespace) -> int:
    """JSON: an array of sign-offs, each with its `evidence` and `events`. CSV: the audit
    trail, a row per event with its sign-off's fields."""
    import polars as pl

    from recon.jobs import signoff_list

    records = signoff_list(load_settings(), day=args.day, store=args.store)
    if args.format == "json":
        json.dump(records, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return EXIT_OK
    from recon.app.export import spreadsheet_safe

    rows = [
        {**{k: s[k] for k in SIGNOFF_CSV[:9]}, "evidence_lines": len(s["evidence"])}
        | {k: e[k] for k in SIGNOFF_CSV[10:]}
        for s in records
        for e in s["events"]
    ]
    text = pl.DataFrame(rows, schema=dict.fromkeys(SIGNOFF_CSV, pl.String), strict=False)
    writer = csv.DictWriter(sys.stdout, fieldnames=list(SIGNOFF_CSV))
    writer.writeheader()
    writer.writerows(spreadsheet_safe(text).iter_rows(named=True))
    return EXIT_OK


def cmd_chain(args: argparse.Namespace) -> int:
    """The chain of one order: exit 0 whatever its status (a broken chain is a finding), 1
    when nothing has that ID (one line saying so), 2 for an empty ID."""
    from recon.warehouse.chain import NotFound, find_chain
    from recon.warehouse.db import open_warehouse

    if not args.id.strip():
        raise UsageError("give a POS order id or an ERP document number")
    try:
        with open_warehouse(load_settings().warehouse_url, create=False).reading() as conn:
            chain = find_chain(conn, args.id)
    except NotFound as exc:
        print(f"recon chain: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    if args.format == "json":
        json.dump(chain.record(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(chain.text())
    return EXIT_OK


def cmd_snapshot(args: argparse.Namespace) -> int:
    from recon.jobs import export_job

    counts = export_job(load_settings(), args.directory, partitioned=args.partitioned)
    layout = " (partitioned by store and month)" if args.partitioned else ""
    print(
        f"snapshot written to {args.directory}{layout}: "
        + ", ".join(f"{k}={v}" for k, v in counts.items())
    )
    return EXIT_OK


def _scenario(name: str) -> str:
    """`name` if it is a scenario, else a UsageError (before anything is started or deleted)."""
    from recon.simulators.scenario import SCENARIOS

    if name not in SCENARIOS:
        raise UsageError(
            f"--scenario {name!r} is not a scenario: use one of {', '.join(SCENARIOS)}"
        )
    return name


def cmd_simulate(args: argparse.Namespace) -> int:
    from recon.simulators.serve import SimulatorError, run_simulator

    try:
        run_simulator(args.vendor, args.port, _scenario(args.scenario), args.seed, sys.stdout)
    except SimulatorError as exc:  # e.g. the port is taken
        raise ConfigError(str(exc)) from None
    return EXIT_OK


def cmd_users(args: argparse.Namespace) -> int:
    """Accounts: list, add or replace, remove. Every change ends the person's open sessions
    and is recorded in the warehouse's account audit (shown on the Admin page)."""
    from recon.app import auth
    from recon.jobs import warehouse

    settings = load_settings()
    path = settings.users_file
    try:
        if args.action == "list":
            for name, account in sorted(auth.load_users(path).items()):
                kind = "password" if account.password else "oidc"
                print(f"{name}\t{account.role}\t{kind}")
            return EXIT_OK
        engine = warehouse(settings, create=True)  # the audit's home
        if args.action == "remove":
            auth.remove_user(path, args.name, engine=engine)
            print(f"removed {args.name} from {path}; their sessions have ended")
            return EXIT_OK
        name = auth.account_name(args.name, oidc=args.oidc)  # checked before any prompt
        password: str | None = None
        if args.oidc:
            pass
        elif args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            import getpass

            password = getpass.getpass(f"password for {name}: ")
            if getpass.getpass("again: ") != password:
                raise ConfigError("the passwords differ; nothing changed")
        change = auth.add_user(path, args.name, args.role, password, engine=engine)
    except auth.AuthError as exc:
        raise ConfigError(str(exc)) from None
    print(f"{name} ({args.role}): {change}, in {path}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from recon.cli.demo import serve_dashboard

    return int(serve_dashboard(load_settings(), port=args.port, address=args.address))


def cmd_db(args: argparse.Namespace) -> int:
    """`recon db upgrade`: the one command that migrates the warehouse."""
    from recon.warehouse.db import upgrade

    url = load_settings().warehouse_url
    before, after = upgrade(url)
    shown = "up to date" if before == after else f"upgraded from {before or 'empty'}"
    print(f"warehouse schema at revision {after}: {shown}")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from recon.cli.demo import run_demo

    scenario = _scenario(args.scenario)
    return int(
        run_demo(
            scenario,
            args.seed,
            args.port,
            erp=args.erp,
            dashboard=not args.no_dashboard,
            address=args.address,
        )
    )


def cmd_scheduler(args: argparse.Namespace) -> int:
    from recon.cli.scheduler import run_scheduler

    return int(run_scheduler(load_settings()))


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo,
    "mappings": cmd_mappings,
    "sync": cmd_sync,
    "collect": cmd_collect,
    "stock": cmd_stock,
    "prices": cmd_prices,
    "alerts": cmd_alerts,
    "reconcile": cmd_reconcile,
    "whatif": cmd_whatif,
    "exceptions": cmd_exceptions,
    "chain": cmd_chain,
    "snapshot": cmd_snapshot,
    "simulate": cmd_simulate,
    "users": cmd_users,
    "serve": cmd_serve,
    "scheduler": cmd_scheduler,
    "db": cmd_db,
    "signoff": cmd_signoff,
}


def main(argv: Sequence[str] | None = None) -> int:
    from recon.warehouse.db import text_problem

    given = sys.argv[1:] if argv is None else list(argv)
    for arg in given:  # argv bytes that are not UTF-8 arrive as lone surrogates
        if (problem := text_problem(arg)) is not None:
            print(f"recon: argument {arg!r} holds {problem}", file=sys.stderr)
            return EXIT_USAGE
    try:
        args = build_parser().parse_args(given)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # httpx logs every request's full URL at INFO, and some URLs are secrets (an alert
    # webhook's token, a key in a query): recon.http logs each attempt without them.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"recon {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, SnapshotError, AuthError, Unreachable, BaseUrlNotFound) as exc:
        print(f"recon {args.command}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except VendorError as exc:
        print(f"recon {args.command}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_PARTIAL
    except Busy as exc:
        print(f"recon {args.command}: {exc}", file=sys.stderr)
        return EXIT_PARTIAL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader stopped reading (`recon exceptions | head`): fine
        with contextlib.suppress(OSError, ValueError):  # no flush error at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except BaseException as exc:  # never a traceback: one line, the detail under --verbose
        if isinstance(exc, SystemExit | GeneratorExit):
            raise
        # Not only Exception: a Rust panic in Polars is a pyo3 PanicException(BaseException).
        if args.verbose:
            log.exception("recon %s failed", args.command)
        print(
            f"recon {args.command}: stopped by {type(exc).__name__}: {_one_line(exc)} "
            "(run with -v for details)",
            file=sys.stderr,
        )
        return EXIT_PARTIAL


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
