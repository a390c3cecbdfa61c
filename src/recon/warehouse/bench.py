"""Sign-off reopen check benchmark: years of signed store-days, one run that changed one day.

    python -m recon.warehouse.bench                      # 2 years x 200 stores, SQLite
    python -m recon.warehouse.bench --days 30 --stores 20 --url postgresql://...

Fills a fresh warehouse by SQL with `--days` x `--stores` signed store-days (two takings
rows each, an open exception on every tenth, the evidence kept as `prepare` keeps it), a
finished unscoped reconcile run before, then times, each in a transaction rolled back:
the full check (every prepared or signed day, as before) and the narrowed check after an
unscoped run that changed one exception of the newest day (`reopen_after_run`: the days
the run changed, those a person changed since, then the check of those). Both reopen the
same sign-offs. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, insert, update

from recon.warehouse.db import CHUNK, open_warehouse
from recon.warehouse.exceptions import read_exceptions
from recon.warehouse.models import ExceptionRow, Run, Signoff, SignoffEvidence, Takings
from recon.warehouse.runs import RunLog
from recon.warehouse.signoff import (
    CHECKED,
    SIGNED,
    TAKINGS,
    Evidence,
    fingerprint,
    reopen_after_run,
    reopen_changed,
)

FIRST_DAY = date(2024, 1, 1)
NOW = datetime(2026, 1, 2, 6, 0, tzinfo=UTC)


def _q(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.001"))


def _insert(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK * 10):
        conn.execute(insert(model), rows[start : start + CHUNK * 10])


def fill(engine: Engine, days: int, stores: int) -> None:
    """Signed store-days with their takings, exceptions and kept evidence."""
    takings, exceptions, signoffs, evidence = [], [], [], []
    signoff_id = 0
    for d in range(days):
        day = FIRST_DAY + timedelta(days=d)
        for s in range(1, stores + 1):
            store = str(s)
            items = []
            for account, tender, erp in (("1210", "Cash", "100.00"), ("1220", "Card", "99.00")):
                pos, got = Decimal("100.00"), Decimal(erp)
                takings.append({
                    "store": store, "business_day": day, "account": account, "tender": tender,
                    "pos_amount": pos, "erp_amount": got, "variance": got - pos,
                    "currency": "GBP",
                })  # fmt: skip
                items.append(Evidence(f"{TAKINGS}:{store}:{account}", TAKINGS, store,
                                      f"{account} ({tender})", "GBP", _q(pos), _q(got),
                                      _q(got - pos)))  # fmt: skip
            if (d + s) % 10 == 0:
                ident = f"x{d}-{s}"
                exceptions.append({
                    "id": ident, "kind": "missing_in_erp", "cause": "not_posted",
                    "store": store, "business_day": day, "pos_ref": ident,
                    "pos_value": Decimal("12.00"), "difference": Decimal("-12.00"),
                    "currency": "GBP", "severity": "error", "owner": "finance",
                    "status": "persisting", "first_seen": NOW - timedelta(days=days - d),
                    "last_seen": NOW,
                })  # fmt: skip
                items.append(Evidence(ident, "missing_in_erp", store, ident, "GBP",
                                      Decimal("12.000"), None, Decimal("-12.000")))  # fmt: skip
            signoff_id += 1
            signoffs.append({
                "id": signoff_id, "store": store, "business_day": day, "state": SIGNED,
                "preparer": "ann", "prepared_at": NOW, "reviewer": "bob", "reviewed_at": NOW,
                "fingerprint": fingerprint(items),
            })  # fmt: skip
            evidence += [
                {"signoff_id": signoff_id, "item": e.item, "kind": e.kind, "store": e.store,
                 "ref": e.ref, "currency": e.currency, "pos_value": e.pos_value,
                 "erp_value": e.erp_value, "difference": e.difference}
                for e in items
            ]  # fmt: skip
    with engine.begin() as conn:
        for model, rows in ((Takings, takings), (ExceptionRow, exceptions),
                            (Signoff, signoffs), (SignoffEvidence, evidence)):  # fmt: skip
            _insert(conn, model, rows)
        conn.execute(
            insert(Run).values(
                job="reconcile", started_at=NOW - timedelta(days=1), status="ok",
                counts=json.dumps({CHECKED: 0}),
            )
        )  # fmt: skip


def timed(engine: Engine, check: Callable[[Connection], list[Any]]) -> tuple[float, int]:
    """Seconds the check takes and the sign-offs it reopens (rolled back)."""
    with engine.connect() as conn, conn.begin() as transaction:
        started = time.perf_counter()
        reopened = check(conn)
        seconds = time.perf_counter() - started
        transaction.rollback()
    return seconds, len(reopened)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--url", help="a warehouse URL (default: SQLite in a temporary dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = open_warehouse(url).engine
        started = time.perf_counter()
        fill(engine, args.days, args.stores)
        print(f"filled {args.days} days x {args.stores} stores of signed days "
              f"in {time.perf_counter() - started:.1f}s")  # fmt: skip
        previous = read_exceptions(engine)
        newest = FIRST_DAY + timedelta(days=args.days - 1)
        changed = pl.col("business_day") == newest
        merged = previous.with_columns(  # this run: the newest day's exceptions moved
            pl.when(changed).then(pl.col("pos_value") * 2).otherwise("pos_value").alias("pos_value")
        )
        with engine.begin() as conn:  # ... as the run wrote them
            conn.execute(
                update(ExceptionRow)
                .where(ExceptionRow.business_day == newest)
                .values(pos_value=ExceptionRow.pos_value * 2)
            )
        run = RunLog(0, "reconcile")
        full, n_full = timed(engine, lambda conn: reopen_changed(conn, NOW, run_id=0))
        narrow, n_narrow = timed(
            engine, lambda conn: reopen_after_run(conn, NOW, run, previous, merged, set())
        )
        print(f"full check (every signed day):   {full:8.3f}s  reopened {n_full}")
        print(f"narrowed check (days changed):   {narrow:8.3f}s  reopened {n_narrow} "
              f"(days checked {run.counts[CHECKED]})")  # fmt: skip
        engine.dispose()


if __name__ == "__main__":
    main()
