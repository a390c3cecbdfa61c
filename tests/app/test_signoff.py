"""Who may prepare, review, reject and withdraw a sign-off, checked server side."""

from __future__ import annotations

from datetime import date

import pytest

from recon.app import signoff
from recon.app.auth import User
from recon.app.workflow import NotAllowed, WorkflowError
from recon.warehouse.signoff import ALL_STORES
from tests.app.demo_warehouse import Warehouse

DAY = date(2024, 6, 1)
ANN, BOB = User("ann", "finance"), User("bob", "finance")
OLA, ROOT = User("ola", "ops"), User("root", "admin")


@pytest.fixture
def day(wh: Warehouse) -> Warehouse:
    wh.takings("1", "2024-06-01", "1220", "32.00", "20.00")
    wh.takings("2", "2024-06-01", "1220", "40.00", "40.00")
    return wh


def test_ops_may_not_prepare_or_review(day: Warehouse) -> None:
    with pytest.raises(NotAllowed, match=r"ola \(ops\) may not prepare a sign-off"):
        signoff.prepare(day.engine, "1", DAY, OLA)
    signoff.prepare(day.engine, "1", DAY, ANN)
    with pytest.raises(NotAllowed, match=r"ola \(ops\) may not review a sign-off"):
        signoff.review(day.engine, "1", DAY, OLA)


def test_finance_and_admin_sign_with_four_eyes(day: Warehouse) -> None:
    signoff.prepare(day.engine, ALL_STORES, DAY, ROOT)
    with pytest.raises(WorkflowError, match="someone else must review it"):
        signoff.review(day.engine, ALL_STORES, DAY, ROOT)
    signoff.review(day.engine, ALL_STORES, DAY, ANN)


def test_only_an_admin_withdraws_a_signed_day_finance_rejects_a_prepared_one(
    day: Warehouse,
) -> None:
    signoff.prepare(day.engine, "1", DAY, ANN)
    assert signoff.reject(day.engine, "1", DAY, BOB, "card batch missing") == "rejected"
    signoff.prepare(day.engine, "1", DAY, ANN)
    signoff.review(day.engine, "1", DAY, BOB)
    with pytest.raises(NotAllowed, match="may not withdraw a signed sign-off"):
        signoff.reject(day.engine, "1", DAY, BOB, "oops")
    assert signoff.reject(day.engine, "1", DAY, ROOT, "signed too early") == "unsigned"
