"""The narrowed reopen check after an unscoped run (only the days the run changed, and those a
person changed by hand since the last check) reopens exactly the sign-offs the full check
(every prepared or signed day) reopens, over generated histories of runs, sign-offs, hand
closes and reopens, and runs that failed before their check."""

from __future__ import annotations

from contextlib import nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from recon.app import workflow
from recon.app.auth import User
from recon.reconcile import merge_history
from recon.snapshot import EXCEPTIONS_SCHEMA
from recon.warehouse import signoff
from recon.warehouse.exceptions import read_exceptions, save_exceptions
from recon.warehouse.models import (
    ExceptionEvent,
    ExceptionRow,
    Run,
    Signoff,
    SignoffEvent,
    SignoffEvidence,
    Takings,
    WaterfallPart,
)
from recon.warehouse.runs import record_run
from recon.warehouse.takings import save_takings

DAYS = [date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 3)]
DRAWN = DAYS[:2]  # histories draw from few keys, so they meet often
STORES = ["1", "2"]
AMOUNTS = ["0.00", "5.00", "7.50"]
T0 = datetime(2024, 6, 4, 8, 0, tzinfo=UTC)
ANN, BOB = User("ann", "finance"), User("bob", "finance")
# an exception id is a store, a day and a POS order (the key the engine hashes)
IDS = [f"{s}-{d:%d}-1" for s in STORES for d in DRAWN]
TAKINGS_KEYS = [(s, d, "1210") for s in [*STORES, None] for d in DRAWN]


@dataclass(frozen=True)
class Findings:
    exceptions: dict[str, str]  # id -> difference
    takings: dict[tuple[str | None, date, str], str]  # key -> ERP amount (POS is 5.00)


def _where(exception_id: str) -> tuple[str, date]:
    store, day, _ = exception_id.split("-")
    return store, date(2024, 6, int(day))


def current(found: Findings) -> pl.DataFrame:
    rows = []
    for id_, diff in found.exceptions.items():
        store, day = _where(id_)
        row: dict[str, object] = dict.fromkeys(EXCEPTIONS_SCHEMA)
        row |= {
            "id": id_, "kind": "missing_in_erp", "cause": "c", "severity": "error",
            "owner": "finance", "store": store, "business_day": day, "pos_ref": id_,
            "currency": "GBP", "pos_value": Decimal(diff), "difference": Decimal(diff),
        }  # fmt: skip
        rows.append(row)
    return pl.DataFrame(rows, schema=EXCEPTIONS_SCHEMA, orient="row")


def takings_frames(found: Findings) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [
        {"store": s, "business_day": d, "account": a, "tender": "Card",
         "pos_amount": Decimal("5.00"), "erp_amount": Decimal(erp),
         "variance": Decimal(erp) - Decimal("5.00"), "currency": "GBP"}
        for (s, d, a), erp in found.takings.items()
    ]  # fmt: skip
    takings = pl.DataFrame(
        rows,
        schema={
            "store": pl.String, "business_day": pl.Date, "account": pl.String,
            "tender": pl.String, "pos_amount": pl.Decimal(18, 2),
            "erp_amount": pl.Decimal(18, 2), "variance": pl.Decimal(18, 2),
            "currency": pl.String,
        },
    )  # fmt: skip
    waterfall = pl.DataFrame(
        schema={"store": pl.String, "business_day": pl.Date, "cause": pl.String,
                "amount": pl.Decimal(18, 2), "currency": pl.String}
    )  # fmt: skip
    return takings, waterfall


def reopened(found: list[signoff.Reopened]) -> set[tuple[str, date]]:
    return {(r.store, r.business_day) for r in found}


def run(engine: Engine, found: Findings, now: datetime, *, fail: bool = False) -> None:
    """A reconcile run as `reconcile_job` stores it; the full check's answer (rolled back)
    must be the narrowed one's. `fail`: the run dies after writing, before its check."""
    with (
        pytest.raises(RuntimeError) if fail else nullcontext(),
        record_run(engine, "reconcile") as log,
    ):
        previous = read_exceptions(engine)
        merged = merge_history(current(found), previous, now)
        changed = save_takings(engine, *takings_frames(found))
        save_exceptions(engine, merged, now)
        if fail:
            raise RuntimeError("killed")
        with engine.connect() as conn, conn.begin() as full:
            everything = reopened(signoff.reopen_changed(conn, now))
            full.rollback()
        with engine.begin() as conn:
            narrowed = signoff.reopen_after_run(conn, now, log, previous, merged, changed)
        assert reopened(narrowed) == everything


def sign(engine: Engine, store: str, day: date, now: datetime) -> None:
    with engine.begin() as conn:
        try:
            signoff.prepare(conn, store, day, "ann", "", now)
            signoff.review(conn, store, day, "bob", "", now)
        except signoff.SignoffError:
            pass


def by_hand(engine: Engine, exception_id: str) -> None:
    """Close an open exception, or reopen a closed or resolved one, as a person does."""
    try:
        workflow.close(engine, exception_id, "counted the cash", ANN)
    except workflow.WorkflowError:
        with suppress(workflow.WorkflowError):
            workflow.reopen(engine, exception_id, BOB, "not fixed")


def edited(
    last: Findings, exceptions: dict[str, str | None], takings: dict[Any, str | None]
) -> Findings:
    """The last run's findings with a few edits (None: gone), so a run changes little."""

    def apply(before: dict[Any, str], edits: dict[Any, str | None]) -> dict[Any, str]:
        after = {**before, **{k: v for k, v in edits.items() if v is not None}}
        return {k: v for k, v in after.items() if edits.get(k, v) is not None}

    return Findings(apply(last.exceptions, exceptions), apply(last.takings, takings))


amounts = st.sampled_from([*AMOUNTS, None])
edits = st.tuples(
    st.dictionaries(st.sampled_from(IDS), amounts, max_size=2),
    st.dictionaries(st.sampled_from(TAKINGS_KEYS), amounts, max_size=2),
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("run"), edits),
        st.tuples(st.just("fail"), edits),
        st.tuples(st.just("sign")),
        st.tuples(st.just("hand"), st.sampled_from(IDS)),
    ),
    min_size=4,
    max_size=16,
)


def wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for model in (SignoffEvent, SignoffEvidence, Signoff, ExceptionEvent, ExceptionRow,
                      Takings, WaterfallPart, Run):  # fmt: skip
            conn.execute(delete(model))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=steps)
def test_the_narrowed_check_reopens_exactly_what_the_full_check_reopens(
    warehouse: Engine, history: list[tuple[object, ...]]
) -> None:
    wipe(warehouse)  # the examples share one warehouse
    last = Findings({}, {})
    for n, step in enumerate(history):
        now = T0 + timedelta(minutes=n)
        match step:
            case ("run" | "fail") as what, (dict() as exceptions, dict() as takings):
                last = edited(last, exceptions, takings)
                run(warehouse, last, now, fail=what == "fail")
            case ("sign",):  # every store-day and whole day that can be
                for store in [*STORES, signoff.ALL_STORES]:
                    for day in DRAWN:
                        sign(warehouse, store, day, now)
            case ("hand", str(exception_id)):
                by_hand(warehouse, exception_id)


FIRST = Findings(
    {"1-01-1": "5.00", "1-02-1": "5.00", "2-03-1": "7.50"},
    {("1", DAYS[0], "1210"): "5.00", ("2", DAYS[2], "1220"): "7.50"},
)


def checked_after(engine: Engine, found: Findings, now: datetime) -> set[date]:
    """The days an unscoped run with these findings checks (as `reopen_after_run` does)."""
    with record_run(engine, "reconcile") as log:
        previous = read_exceptions(engine)
        merged = merge_history(current(found), previous, now)
        changed = save_takings(engine, *takings_frames(found))
        save_exceptions(engine, merged, now)
        with engine.begin() as conn:
            days = signoff.days_to_check(conn, changed | signoff.changed_days(previous, merged))
            signoff.reopen_after_run(conn, now, log, previous, merged, changed)
    assert log.counts[signoff.CHECKED] == len(days)
    return days


def d(*days: int) -> set[date]:
    return {date(2024, 6, n) for n in days}


@pytest.mark.parametrize(
    ("before", "second", "checked"),
    [
        # what happened since the first run            the second run's findings     days
        (None,                     FIRST,                                              d()),
        (None,                     Findings({**FIRST.exceptions, "1-02-1": "7.50"},
                                            FIRST.takings),                            d(2)),
        (None,                     Findings({**FIRST.exceptions, "2-01-2": "5.00"},
                                            FIRST.takings),                            d(1)),
        (None,                     Findings({"1-02-1": "5.00", "2-03-1": "7.50"},
                                            FIRST.takings),                            d(1)),
        (None,                     Findings(FIRST.exceptions,
                                            {("1", DAYS[0], "1210"): "5.00",
                                             ("2", DAYS[2], "1220"): "0.00"}),         d(3)),
        (None,                     Findings(FIRST.exceptions,
                                            {("2", DAYS[2], "1220"): "7.50"}),         d(1)),
        ("hand-closed 1-02-1",     FIRST,                                              d(2)),
        ("a run failed",           FIRST,                                              d(1, 2, 3)),
    ],
)  # fmt: skip
def test_an_unscoped_run_checks_the_days_it_changed_and_those_changed_by_hand(
    warehouse: Engine, before: str | None, second: Findings, checked: set[date]
) -> None:
    checked_after(warehouse, FIRST, T0)  # nothing signed yet: no day to check
    for store, day in (("1", DAYS[0]), ("1", DAYS[1]), (signoff.ALL_STORES, DAYS[2])):
        sign(warehouse, store, day, T0)
    if before == "hand-closed 1-02-1":
        workflow.close(warehouse, "1-02-1", "counted", ANN)
    if before == "a run failed":
        run(warehouse, FIRST, T0 + timedelta(minutes=1), fail=True)
    assert checked_after(warehouse, second, T0 + timedelta(hours=1)) == checked
