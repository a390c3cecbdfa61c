"""An outage met by one worker mid-batch (SAP B1's session expiring under four workers
ended in `concurrent.futures.CancelledError`): the batch finishes, every other order is
either posted or recorded `retrying` with its reason, and the outage itself is raised."""

from __future__ import annotations

import threading
import time
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from recon.clients import AuthError, SitooOrder
from recon.config.mappings import parse_mappings
from recon.erp.registry import PLUGINS
from recon.sync._outcome import Outcome
from recon.sync.run import run_sync
from recon.warehouse.models import SyncPost
from recon.warehouse.runs import record_run
from tests.sync.world import many_orders, served


class ExpiresAt:
    """The Sage poster, except that posting `order_id` meets refused credentials, once the
    orders before it are under way."""

    def __init__(self, poster: Any, order_id: int) -> None:
        self._poster = poster
        self._order_id = order_id
        self._started = threading.Semaphore(0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._poster, name)

    def post_sale(self, order: SitooOrder, day: date, location: str) -> list[Outcome]:
        if order.orderid == self._order_id:
            self._started.acquire(timeout=5)  # another worker is posting meanwhile
            raise AuthError("sapb1", 401, "301: Invalid session", "SAP B1 rejected the session")
        self._started.release()
        time.sleep(0.05)
        outcomes: list[Outcome] = self._poster.post_sale(order, day, location)
        return outcomes


def test_an_outage_mid_batch_stops_the_rest_with_a_reason_and_no_cancelled_error(
    tmp_path: Path,
) -> None:
    orders = many_orders(12)
    with served(orders, f"sqlite:///{tmp_path}/w.db", tmp_path, workers=3) as world:
        mappings = parse_mappings(tomllib.loads(world.mappings_text))
        with (
            world.sitoo_client() as sitoo,
            world.sage_client() as sage,
            pytest.raises(AuthError, match="rejected the session"),
            record_run(world.engine, "sync") as run,
        ):
            poster = ExpiresAt(world.poster(sage), orders[2]["orderid"])
            run_sync(
                world.engine,
                sitoo,
                poster,
                mappings,
                "Europe/London",
                run,
                abilities=PLUGINS["sage200"].abilities,
                workers=3,
            )

        documents = [
            f"{'sale' if o.get('creditorderid') is None else 'credit_note'}:{o['orderid']}"
            for o in orders
        ]
        with world.engine.connect() as conn:
            rows = conn.execute(
                select(
                    SyncPost.pos_order_id, SyncPost.status, SyncPost.reason, SyncPost.message
                ).where(SyncPost.post_key.in_(documents))
            ).all()
    outcome = {oid: (status, reason) for oid, status, reason, _ in rows}
    assert set(outcome) == {str(o["orderid"]) for o in orders}  # nothing lost
    assert set(outcome.values()) <= {("posted", None), ("retrying", "vendor_unavailable")}
    assert outcome[str(orders[2]["orderid"])] == ("retrying", "vendor_unavailable")
    messages = [m or "" for _, s, _, m in rows if s == "retrying"]
    not_started = [m for m in messages if m.startswith("not posted")]
    assert not_started  # the queued orders were stopped, each with the reason
    assert all("SAP B1 rejected the session" in m for m in not_started)
    stopped = {oid for oid, (status, _) in outcome.items() if status == "retrying"}
    assert {line.split(":")[0] for line in run.problems} == {f"order {oid}" for oid in stopped}
