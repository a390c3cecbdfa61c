"""Sign-off rules on SQLite and PostgreSQL: the evidence kept, four eyes, review refused on
changed evidence, reopen on a changed run with its exact reason, none on an unchanged run,
the all-stores day, the days not signed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select, update

from recon.warehouse import signoff
from recon.warehouse.models import ExceptionEvent, ExceptionRow, SignoffEvent, Takings
from recon.warehouse.signoff import ALL_STORES, Evidence, SignoffError

DAY = date(2024, 6, 1)
T0 = datetime(2024, 6, 2, 8, 0, tzinfo=UTC)
T1 = datetime(2024, 6, 2, 9, 0, tzinfo=UTC)
T2 = datetime(2024, 6, 2, 10, 0, tzinfo=UTC)


def D(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def exceptions(engine: Engine, *rows: tuple[object, ...]) -> None:
    """(id, kind, store, day, pos_ref, pos, erp, diff, status) rows."""
    with engine.begin() as conn:
        for id_, kind, store, day, ref, pos, erp, diff, status in rows:
            conn.execute(
                insert(ExceptionRow).values(
                    id=id_, kind=kind, cause="c", store=store,
                    business_day=date.fromisoformat(str(day)), pos_ref=ref,
                    pos_value=D(pos), erp_value=D(erp), difference=D(diff),  # type: ignore[arg-type]
                    currency="GBP", severity="error", owner="finance", status=status,
                    first_seen=T0, last_seen=T0,
                )
            )  # fmt: skip


def takings(engine: Engine, *rows: tuple[object, ...]) -> None:
    """(store, day, account, tender, pos, erp) rows; the variance is erp - pos."""
    with engine.begin() as conn:
        for store, day, account, tender, pos, erp in rows:
            conn.execute(
                insert(Takings).values(
                    store=store, business_day=date.fromisoformat(str(day)), account=account,
                    tender=tender, pos_amount=Decimal(str(pos)), erp_amount=Decimal(str(erp)),
                    variance=Decimal(str(erp)) - Decimal(str(pos)), currency="GBP",
                )
            )  # fmt: skip


def seed(engine: Engine) -> None:
    #  id  kind               store day          ref     pos      erp    diff      status
    exceptions(engine,
        ("a", "missing_in_erp",  "1", "2024-06-01", "5120", "12.00", None,   "-12.00", "new"),
        ("b", "amount_mismatch", "1", "2024-06-01", "5121", "10.00", "9.50", "-0.50", "persisting"),
        ("c", "missing_in_erp",  "1", "2024-06-01", "5122", "3.00",  None,   "-3.00",  "closed"),
        ("d", "missing_in_erp",  "2", "2024-06-01", "6001", "7.00",  None,   "-7.00",  "new"),
        ("e", "missing_in_erp",  "1", "2024-05-31", "4999", "1.00",  None,   "-1.00",  "new"),
    )  # fmt: skip
    #              store day           account tender   pos       erp
    takings(engine,
        ("1",  "2024-06-01", "1210", "Cash", "100.00", "100.00"),
        ("1",  "2024-06-01", "1220", "Card", "32.00",  "20.00"),
        ("2",  "2024-06-01", "1220", "Card", "40.00",  "33.00"),
        (None, "2024-06-01", "1220", None,   "0.00",   "4.00"),
        ("1",  "2024-05-31", "1210", "Cash", "50.00",  "50.00"),
    )  # fmt: skip


def kept(engine: Engine, store: str, day: date = DAY) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        row = conn.execute(
            select(signoff.Signoff.id).where(
                signoff.Signoff.store == store, signoff.Signoff.business_day == day
            )
        ).scalar_one()
        return [
            (e.item, e.kind, e.ref, None if e.difference is None else str(e.difference))
            for e in signoff.kept_evidence(conn, row)
        ]


def state(engine: Engine, store: str, day: date = DAY) -> tuple[object, ...]:
    s = signoff.Signoff
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                select(s.state, s.preparer, s.reviewer, s.reason).where(
                    s.store == store, s.business_day == day
                )
            ).one()
        )


def events(engine: Engine) -> list[tuple[object, ...]]:
    v = SignoffEvent
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(v.actor, v.action, v.note).order_by(v.id))]


def prepare(engine: Engine, store: str, who: str = "ann", comment: str = "") -> None:
    with engine.begin() as conn:
        signoff.prepare(conn, store, DAY, who, comment, T0)


def review(engine: Engine, store: str, who: str = "bob") -> None:
    with engine.begin() as conn:
        signoff.review(conn, store, DAY, who, "", T1)


def rerun(engine: Engine, run_id: int = 7) -> list[signoff.Reopened]:
    with engine.begin() as conn:
        return signoff.reopen_changed(conn, T2, run_id=run_id)


def test_preparing_keeps_the_open_exceptions_and_takings_of_the_store_day(
    warehouse: Engine,
) -> None:
    seed(warehouse)
    prepare(warehouse, "1", comment="cash counted")
    assert kept(warehouse, "1") == [
        # item                 kind               ref            difference
        ("a", "missing_in_erp", "5120", "-12.000"),
        ("b", "amount_mismatch", "5121", "-0.500"),
        ("takings:1:1210", "takings", "1210 (Cash)", "0.000"),
        ("takings:1:1220", "takings", "1220 (Card)", "-12.000"),
    ]  # fmt: skip  (c is closed, d another store, e another day)
    assert state(warehouse, "1") == ("prepared", "ann", None, None)
    assert events(warehouse) == [("ann", "prepared", "cash counted")]


def test_a_day_with_nothing_to_sign_is_refused(warehouse: Engine) -> None:
    seed(warehouse)
    with pytest.raises(SignoffError, match="store 9 on 2024-06-01 has no takings"):
        prepare(warehouse, "9")


def test_four_eyes_the_preparer_may_not_review_someone_else_signs(warehouse: Engine) -> None:
    seed(warehouse)
    prepare(warehouse, "1", who="ann")
    with pytest.raises(SignoffError, match=r"ann prepared store 1 on 2024-06-01: someone else"):
        review(warehouse, "1", who="ann")
    assert state(warehouse, "1")[0] == "prepared"
    review(warehouse, "1", who="bob")
    assert state(warehouse, "1") == ("signed", "ann", "bob", None)
    with pytest.raises(SignoffError, match="is signed already"):
        prepare(warehouse, "1", who="cy")
    with pytest.raises(SignoffError, match="is signed: only a prepared sign-off"):
        review(warehouse, "1", who="cy")
    assert [a for _, a, _ in events(warehouse)] == ["prepared", "signed"]


def test_review_is_refused_while_the_evidence_differs_saying_what_changed(
    warehouse: Engine,
) -> None:
    seed(warehouse)
    prepare(warehouse, "1")
    with warehouse.begin() as conn:
        conn.execute(
            update(ExceptionRow).where(ExceptionRow.id == "b").values(difference=Decimal("-0.70"))
        )
    with pytest.raises(
        SignoffError,
        match=r"changed since it was prepared: amount_mismatch 5121: difference -0\.50 -> "
        r"-0\.70 GBP; prepare it again",
    ):
        review(warehouse, "1")
    assert state(warehouse, "1")[0] == "prepared"


def test_a_run_that_changes_a_signed_day_reopens_it_saying_which_exceptions_and_money(
    warehouse: Engine,
) -> None:
    seed(warehouse)
    prepare(warehouse, "1")
    review(warehouse, "1")
    # the next run: 5120 got posted (a resolved), a new break, the card takings moved
    with warehouse.begin() as conn:
        conn.execute(update(ExceptionRow).where(ExceptionRow.id == "a").values(status="resolved"))
        conn.execute(
            update(Takings)
            .where(Takings.store == "1", Takings.account == "1220")
            .values(erp_amount=Decimal("32.00"), variance=Decimal("0.00"))
        )
    exceptions(warehouse,
        ("f", "amount_mismatch", "1", "2024-06-01", "5130", "8.00", "8.80", "0.80", "new"),
    )  # fmt: skip
    reopened = rerun(warehouse)
    reason = (
        "reconcile run 7 changed store 1 on 2024-06-01: "
        "missing_in_erp 5120 no longer open (difference was -12.00 GBP); "
        "new amount_mismatch 5130: difference 0.80 GBP; "
        "takings 1220 (Card): ERP 20.00 -> 32.00, variance -12.00 -> 0.00 GBP"
    )
    assert [(r.store, r.business_day, r.reason) for r in reopened] == [("1", DAY, reason)]
    assert state(warehouse, "1") == ("reopened", "ann", "bob", reason)
    assert events(warehouse)[-1] == ("engine", "reopened", reason)
    with warehouse.connect() as conn:
        detail = conn.execute(
            select(SignoffEvent.detail).where(SignoffEvent.action == "reopened")
        ).scalar_one()
        trail = conn.execute(
            select(ExceptionEvent.exception_id, ExceptionEvent.action).order_by(
                ExceptionEvent.exception_id
            )
        ).all()
    assert [(c["change"], c["item"]) for c in json.loads(detail)] == [
        ("gone", "a"),
        ("new", "f"),
        ("changed", "takings:1:1220"),
    ]
    assert [tuple(t) for t in trail] == [("a", "signoff_reopened"), ("f", "signoff_reopened")]
    assert rerun(warehouse, 8) == []  # idempotent: a reopened day is not reopened again
    assert [a for _, a, _ in events(warehouse)] == ["prepared", "signed", "reopened"]


def test_a_run_that_changes_nothing_leaves_it_signed(warehouse: Engine) -> None:
    seed(warehouse)
    prepare(warehouse, "1")
    review(warehouse, "1")
    exceptions(warehouse,  # another store's and another day's news are not this day's
        ("g", "missing_in_erp", "2", "2024-06-01", "6002", "5.00", None, "-5.00", "new"),
        ("h", "missing_in_erp", "1", "2024-06-02", "5200", "5.00", None, "-5.00", "new"),
    )  # fmt: skip
    with warehouse.begin() as conn:  # new -> persisting is not a change of the evidence
        conn.execute(update(ExceptionRow).where(ExceptionRow.id == "a").values(status="persisting"))
    assert rerun(warehouse) == []
    assert rerun(warehouse) == []
    assert state(warehouse, "1")[0] == "signed"


def test_an_all_stores_day_covers_every_store_and_the_unattributed_money(
    warehouse: Engine,
) -> None:
    seed(warehouse)
    prepare(warehouse, ALL_STORES)
    assert [item for item, *_ in kept(warehouse, ALL_STORES)] == [
        "a", "b", "d", "takings:1:1210", "takings:1:1220", "takings:2:1220", "takings::1220",
    ]  # fmt: skip
    review(warehouse, ALL_STORES)
    prepare(warehouse, "1")
    review(warehouse, "1")
    with warehouse.connect() as conn:
        unsigned = signoff.unsigned_frame(conn, DAY, DAY)
    assert unsigned.rows() == []  # the all-stores sign-off covers store 2 too
    with warehouse.begin() as conn:  # store 2 changes: the whole day reopens, store 1 not
        conn.execute(update(ExceptionRow).where(ExceptionRow.id == "d").values(status="closed"))
    reopened = rerun(warehouse)
    assert [(r.store, r.reason) for r in reopened] == [
        (ALL_STORES, "reconcile run 7 changed all stores on 2024-06-01: missing_in_erp 6001 at "
         "store 2 no longer open (difference was -7.00 GBP)"),
    ]  # fmt: skip
    assert state(warehouse, "1")[0] == "signed"
    with warehouse.connect() as conn:
        unsigned = signoff.unsigned_frame(conn, None, None)
    assert unsigned.rows() == [
        # business_day       store       state
        (date(2024, 6, 1),   "*",        "reopened"),
        (date(2024, 6, 1),   "2",        "not prepared"),
        (date(2024, 5, 31),  "*",        "not prepared"),
        (date(2024, 5, 31),  "1",        "not prepared"),
    ]  # fmt: skip


def test_rejecting_a_prepared_and_withdrawing_a_signed_one_reopen_them(
    warehouse: Engine,
) -> None:
    seed(warehouse)
    prepare(warehouse, "1")
    with warehouse.begin() as conn:
        assert signoff.reject(conn, "1", DAY, "bob", "card batch missing", T1) == "rejected"
    assert state(warehouse, "1") == ("reopened", "ann", None, "rejected: card batch missing")
    prepare(warehouse, "1", who="cy")
    review(warehouse, "1", who="ann")
    with warehouse.begin() as conn:
        assert signoff.reject(conn, "1", DAY, "root", "signed too early", T2) == "unsigned"
        with pytest.raises(SignoffError, match="reason must not be empty"):
            signoff.reject(conn, "1", DAY, "root", " ", T2)
    assert [a for _, a, _ in events(warehouse)] == [
        "prepared", "rejected", "prepared", "signed", "unsigned",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("comment", "message"),
    [  # PostgreSQL refused the NUL: a DataError, not a SignoffError the page shows
        ("cash\x00counted", "comment holds a NUL character"),
        ("\udcff", "comment holds a character that is not UTF-8 text"),
        ("x" * 10_001, "comment holds more than 10000 characters"),
    ],
)
def test_a_comment_no_backend_can_keep_is_refused_and_nothing_changes(
    warehouse: Engine, comment: str, message: str
) -> None:
    seed(warehouse)
    with pytest.raises(SignoffError, match=message):
        prepare(warehouse, "1", comment=comment)
    assert events(warehouse) == []
    prepare(warehouse, "1")
    with warehouse.begin() as conn, pytest.raises(SignoffError, match=message):
        signoff.review(conn, "1", DAY, "bob", comment, T1)
    with (
        warehouse.begin() as conn,
        pytest.raises(SignoffError, match=message.replace("comment", "reason")),
    ):
        signoff.reject(conn, "1", DAY, "bob", comment, T1)
    assert [a for _, a, _ in events(warehouse)] == ["prepared"]


def test_a_markdown_or_long_comment_is_kept_as_written(warehouse: Engine) -> None:
    seed(warehouse)
    note = "**done** <script>x</script> [link](javascript:x) =1+1 " + "y" * 9_000
    prepare(warehouse, "1", comment=note)
    assert events(warehouse) == [("ann", "prepared", note)]


def test_records_carry_the_evidence_and_events_for_audit(warehouse: Engine) -> None:
    seed(warehouse)
    prepare(warehouse, "1", comment="ok")
    review(warehouse, "1")
    with warehouse.connect() as conn:
        (record,) = signoff.records(conn, day=DAY, store="1")
    assert (record["store"], record["business_day"], record["state"]) == (
        "1",
        "2024-06-01",
        "signed",
    )
    assert (record["preparer"], record["reviewer"], record["reviewed_at"]) == (
        "ann", "bob", "2024-06-02T09:00:00Z",
    )  # fmt: skip
    assert [(e["item"], e["difference"]) for e in record["evidence"]] == [
        ("a", "-12.00"), ("b", "-0.50"), ("takings:1:1210", "0.00"), ("takings:1:1220", "-12.00"),
    ]  # fmt: skip
    assert [(e["action"], e["actor"], e["note"]) for e in record["events"]] == [
        ("prepared", "ann", "ok"), ("signed", "bob", None),
    ]  # fmt: skip
    assert record["events"][0]["detail"] == {
        "exceptions": 2, "takings": 2, "fingerprint": record["fingerprint"],
    }  # fmt: skip


money = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)
line = st.builds(
    lambda i, d: Evidence(f"x{i}", "missing_in_erp", "1", None, "GBP", None, None, d),
    st.integers(0, 20),
    money,
)
lines = st.lists(line, unique_by=lambda e: e.item, max_size=8)


@given(lines, lines, st.randoms())
def test_the_fingerprint_changes_exactly_when_some_line_changes(
    a: list[Evidence], b: list[Evidence], rnd: object
) -> None:
    shuffled = list(a)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert signoff.fingerprint(shuffled) == signoff.fingerprint(a)
    assert signoff.changes(a, shuffled) == []
    assert (signoff.fingerprint(a) == signoff.fingerprint(b)) == (signoff.changes(a, b) == [])
