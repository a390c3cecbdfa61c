"""Sign-off through the jobs, on SQLite and PostgreSQL: the small scenario synced, collected
and reconciled; a store-day and its whole day signed; a reconcile run that changes nothing
leaves them signed (looking at no day), one after the ERP lost a document of the store-day
reopens both (and says so in its counts, having looked at that one day), and a further run
leaves them as they are."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import delete, select

from recon.app import signoff
from recon.app.auth import User
from recon.jobs import collect_job, reconcile_job, signoff_list, sync_job
from recon.warehouse.models import ErpDocument, ErpDocumentLine, PosOrder, Run
from recon.warehouse.signoff import ALL_STORES
from tests.e2e.harness import World, world

ANN, BOB = User("ann", "finance"), User("bob", "admin")


def _last_counts(w: World) -> str:
    with w.engine.connect() as conn:
        return str(
            conn.execute(
                select(Run.counts).where(Run.job == "reconcile").order_by(Run.id.desc()).limit(1)
            ).scalar_one()
        )


def test_a_signed_day_stays_signed_until_a_run_changes_it(
    warehouse_url: str, tmp_path: Path
) -> None:
    with world("small", warehouse_url, tmp_path) as w:
        sync_job(w.settings)
        collect_job(w.settings)
        reconcile_job(w.settings)
        with w.engine.connect() as conn:
            day, store, order = conn.execute(
                select(PosOrder.business_day, PosOrder.store_id, PosOrder.order_id)
                .join(ErpDocument, ErpDocument.pos_ref == PosOrder.order_id)
                .where(PosOrder.order_type == "sale")
                .order_by(PosOrder.business_day.desc(), PosOrder.store_id, PosOrder.order_id)
                .limit(1)
            ).one()
        assert isinstance(day, date)
        for scope in (store, ALL_STORES):
            signoff.prepare(w.engine, scope, day, ANN)
            signoff.review(w.engine, scope, day, BOB)

        reconcile_job(w.settings)  # nothing changed
        assert "signoffs_reopened" not in _last_counts(w)
        assert '"signoff_days_checked": 0' in _last_counts(w)  # nothing to look at
        assert {s["store"]: s["state"] for s in signoff_list(w.settings, day=day)} == {
            store: "signed",
            ALL_STORES: "signed",
        }

        with w.engine.begin() as conn:  # the ERP lost the sale's document
            docs = select(ErpDocument.doc_id).where(ErpDocument.pos_ref == order)
            conn.execute(delete(ErpDocumentLine).where(ErpDocumentLine.doc_id.in_(docs)))
            conn.execute(delete(ErpDocument).where(ErpDocument.pos_ref == order))
        reconcile_job(w.settings)
        assert '"signoffs_reopened": 2' in _last_counts(w)
        assert '"signoff_days_checked": 1' in _last_counts(w)  # the one day it changed
        listed = {s["store"]: s for s in signoff_list(w.settings, day=day)}
        assert {k: s["state"] for k, s in listed.items()} == {
            store: "reopened",
            ALL_STORES: "reopened",
        }
        reason = listed[store]["reason"]
        assert f"changed store {store} on {day}: new missing_in_erp {order}: difference -" in reason
        assert [e["action"] for e in listed[store]["events"]] == ["prepared", "signed", "reopened"]

        reconcile_job(w.settings)  # idempotent: nothing more to reopen
        assert [e["action"] for e in signoff_list(w.settings, day=day)[0]["events"]][-1] == (
            "reopened"
        )
        assert (
            sum(
                e["action"] == "reopened"
                for s in signoff_list(w.settings, day=day)
                for e in s["events"]
            )
            == 2
        )
