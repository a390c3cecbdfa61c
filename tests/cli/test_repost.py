"""What a re-post says: each order's outcome, of many only those not posted, then what
followed (the collect and reconcile, or why not)."""

from __future__ import annotations

from recon.jobs import Reposted
from recon.sync.run import OrderOutcome
from recon.warehouse.runs import RunLog


def _posted(oid: str) -> OrderOutcome:
    return OrderOutcome(oid, True, f"order {oid}: posted as SO-{oid}")


def _held(oid: str) -> OrderOutcome:
    return OrderOutcome(oid, False, f"order {oid}: still held: map tender 'Gift' in mappings")


def test_one_order_says_its_outcome_then_what_followed() -> None:
    done = Reposted(RunLog(1, "sync"), [_posted("5")], "collected and reconciled store 1")
    assert (done.posted, done.text()) == (
        1,
        "order 5: posted as SO-5; collected and reconciled store 1",
    )


def test_of_many_orders_only_the_first_not_posted_are_spelt_out() -> None:
    outcomes = [_posted("1"), _held("2"), _posted("3"), _held("4"), _held("5"), _held("6")]
    done = Reposted(RunLog(1, "sync"), outcomes, None)
    #                posted   not posted: 3 shown, the rest counted
    assert (done.posted, done.text()) == (
        2,
        "order 2: still held: map tender 'Gift' in mappings; "
        "order 4: still held: map tender 'Gift' in mappings; "
        "order 5: still held: map tender 'Gift' in mappings; 1 more not posted",
    )
