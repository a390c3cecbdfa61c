"""A store-day signed by two people, then reopened by a later run, in a real browser.

The small scenario runs through `recon.jobs` into a temp warehouse (tests/browser/_served.py).
The preparer opens Takings & VAT on the latest closed day, the Sign-off tab, and prepares a
store-day; the reviewer, in another session, signs it (the preparer could not: four eyes).
Then the ERP loses one of that store-day's documents and the next reconcile run
(`recon.jobs.reconcile_job`) reopens the day: the page says so, naming the exception.
Skips without /usr/bin/chromium, except under CI=true, where it fails instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from recon.app import queries
from recon.config import load_settings
from recon.jobs import reconcile_job
from recon.warehouse.db import open_warehouse
from recon.warehouse.models import ErpDocument, ErpDocumentLine, PosOrder
from tests.app.demo_warehouse import read
from tests.browser._served import launch, small_dashboard

pytestmark = pytest.mark.browser

PREPARER, REVIEWER, PASSWORD = "pia", "rob", "signoff-test-pw"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """(base URL, warehouse URL, data directory) of a dashboard over the small scenario."""
    tmp = tmp_path_factory.mktemp("signoff")
    accounts = {PREPARER: ("finance", PASSWORD), REVIEWER: ("finance", PASSWORD)}
    with small_dashboard(tmp, accounts) as (base, url):
        yield base, url, tmp


def _signed_in(browser: Any, base: str, name: str, path: str) -> Any:
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}{path}")
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Takings & VAT")).to_be_visible()
    page.get_by_role("tab", name="Sign-off").click()
    return page


def test_preparer_and_reviewer_sign_a_store_day_and_a_changed_run_reopens_it(
    served: tuple[str, str, Path],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, url, data_dir = served
    engine = open_warehouse(url).engine
    day = read(url, queries.latest_closed_day, date.today())
    assert day is not None
    with engine.connect() as conn:  # a store-day with a sale whose document is in the ERP
        store, order = conn.execute(
            select(PosOrder.store_id, PosOrder.order_id)
            .join(ErpDocument, ErpDocument.pos_ref == PosOrder.order_id)
            .where(PosOrder.business_day == day, PosOrder.order_type == "sale")
            .order_by(PosOrder.store_id, PosOrder.order_id)
            .limit(1)
        ).one()
    path = f"/takings?so_day={day}&so_store={store}"

    with sync_playwright() as pw:
        expect.set_options(timeout=20_000)
        browser = launch(pw)
        pia = _signed_in(browser, base, PREPARER, path)
        expect(pia.get_by_text("Not prepared yet.")).to_be_visible()
        pia.get_by_label("Comment (a reason to reject or withdraw)").fill("tills counted")
        pia.get_by_role("button", name="Prepare", exact=True).click()
        expect(pia.get_by_text(f"Prepared by {PREPARER} at")).to_be_visible()
        expect(pia.get_by_role("button", name="Sign (review)")).to_be_disabled()  # four eyes

        rob = _signed_in(browser, base, REVIEWER, path)
        rob.get_by_role("button", name="Sign (review)").click()
        expect(rob.get_by_text(f"Signed: prepared by {PREPARER} at")).to_be_visible()

        # the ERP loses the order's document; the next run reopens the signed day
        with engine.begin() as conn:
            docs = select(ErpDocument.doc_id).where(ErpDocument.pos_ref == order)
            conn.execute(delete(ErpDocumentLine).where(ErpDocumentLine.doc_id.in_(docs)))
            conn.execute(delete(ErpDocument).where(ErpDocument.pos_ref == order))
        reconcile_job(load_settings(recon_warehouse_url=url, recon_data_dir=data_dir))

        pia.get_by_role("button", name="Refresh data").click()
        pia.get_by_role("tab", name="Sign-off").click()
        expect(pia.get_by_text(f"changed store {store} on {day}")).to_be_visible()
        expect(pia.get_by_text(f"missing_in_erp {order}")).to_be_visible()
        expect(pia.get_by_role("button", name="Prepare again")).to_be_visible()
        browser.close()
