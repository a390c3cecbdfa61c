from __future__ import annotations

from datetime import date

import pytest

from recon.app.filters import Filters, parse_store_day, store_day_param


@pytest.mark.parametrize(
    ("filters", "params"),
    [
        (Filters(), {}),
        (
            Filters(date(2024, 6, 1), date(2024, 6, 7), ("1", "7"), ("missing_in_erp",)),
            {"from": "2024-06-01", "to": "2024-06-07", "store": "1,7", "kind": "missing_in_erp"},
        ),
        (Filters(owner="ops", status="all"), {"owner": "ops", "status": "all"}),
        (Filters(status="closed"), {"status": "closed"}),
    ],
)
def test_query_params_round_trip(filters: Filters, params: dict[str, str]) -> None:
    assert filters.to_query_params() == params
    assert Filters.from_query_params(params) == filters


def test_repeated_and_comma_separated_values_both_read() -> None:
    params = {"store": ["1", "7,9"], "kind": ["unknown_sku", "price_mismatch"]}
    got = Filters.from_query_params(params)
    assert got.stores == ("1", "7", "9")
    assert got.kinds == ("unknown_sku", "price_mismatch")


@pytest.mark.parametrize(
    ("params", "expected", "problem"),
    [
        ({"from": "June"}, Filters(), "from='June' is not a date"),
        ({"kind": "nonsense,unknown_sku"}, Filters(kinds=("unknown_sku",)), "kind='nonsense'"),
        ({"owner": "it"}, Filters(), "owner='it'"),
        ({"status": "gone"}, Filters(), "status='gone'"),
        (
            {"from": "2024-06-09", "to": "2024-06-01"},
            Filters(date(2024, 6, 1), date(2024, 6, 9)),
            "from is after to",
        ),
    ],
)
def test_unreadable_values_are_dropped_and_named(
    params: dict[str, str], expected: Filters, problem: str
) -> None:
    problems: list[str] = []
    assert Filters.from_query_params(params, problems) == expected
    assert len(problems) == 1 and problem in problems[0]


def test_store_day_narrows_and_keeps_the_rest() -> None:
    f = Filters(kinds=("tender_variance",), status="all")
    assert f.store_day("7", date(2024, 6, 3)) == Filters(
        date(2024, 6, 3), date(2024, 6, 3), ("7",), ("tender_variance",), status="all"
    )


@pytest.mark.parametrize(
    ("status", "statuses"),
    [("open", ("new", "persisting")), ("all", None), ("closed", ("closed",))],
)
def test_statuses(status: str, statuses: tuple[str, ...] | None) -> None:
    assert Filters(status=status).statuses() == statuses


def test_bad_status_or_owner_is_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        Filters(status="open-ish")
    with pytest.raises(ValueError, match="owner"):
        Filters(owner="nobody")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1@2024-06-01", ("1", date(2024, 6, 1))),
        ("@2024-06-01", (None, date(2024, 6, 1))),  # unattributed money: no store
        ("a@b@2024-06-01", ("a@b", date(2024, 6, 1))),  # a store id may hold an @
        ("1@yesterday", (None, None)),
        ("1", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_a_picked_store_day_reads_back_from_the_url(
    text: str | None, expected: tuple[str | None, date | None]
) -> None:
    assert parse_store_day(text) == expected


def test_a_picked_store_day_round_trips() -> None:
    for store in ("1", None, "a@b"):
        assert parse_store_day(store_day_param(store, date(2024, 6, 1))) == (
            store,
            date(2024, 6, 1),
        )
