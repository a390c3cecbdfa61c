"""The dashboard in a real browser (Debian's chromium through playwright).

The small scenario runs through `recon.jobs` (sync, collect, reconcile) into a temp
warehouse; the dashboard is served on a free port; the test signs in, opens the
heatmap, reloads (still signed in), drills into the store-day of the orphan ERP
document (missing_in_pos), closes it with a reason and checks its status, saving the
README's screenshots on the way, and signs out (a reload then asks to sign in again).
Skips without /usr/bin/chromium, except under CI=true, where it fails instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from recon.app import queries
from recon.app.charts import rank_stores
from recon.app.filters import Filters
from recon.app.money import store_label
from tests.app.demo_warehouse import read
from tests.browser._served import launch, small_dashboard

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parents[2]
# The README's screenshots are refreshed by `make screenshots`; an ordinary run keeps its
# pictures in a temporary directory so it never dirties the work tree.
README_SHOTS = ROOT / "docs" / "screenshots"
USER, PASSWORD = "fiona", "browser-test-pw"
ROW_PX = 35  # the height of a row (and of the header) in Streamlit's data grid


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, warehouse URL) of a dashboard over the small scenario's findings."""
    with small_dashboard(tmp_path_factory.mktemp("browser"), {USER: ("finance", PASSWORD)}) as d:
        yield d


def _choose(page: object, label: str, value: str) -> None:
    """Pick `value` in the Streamlit selectbox labelled `label` (type, then Enter)."""
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first  # type: ignore[attr-defined]
    box.click()
    page.keyboard.type(value)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]


def test_sign_in_drill_into_an_orphan_and_close_it(
    dashboard: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, url = dashboard
    orphan = read(url, queries.exceptions, Filters(kinds=("missing_in_pos",))).row(0, named=True)
    shots = README_SHOTS if os.environ.get("RECON_SCREENSHOTS") == "readme" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)  # plotly draws slowly on a busy CI machine
        page.goto(base)

        # anonymous: only the sign-in form; then sign in
        expect(page.get_by_role("heading", name="recon")).to_be_visible()
        page.get_by_label("User name").fill(USER)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        # the heatmap: every store-day with POS orders, the orphan's cell among them
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator(".st-key-heatmap canvas").first).to_be_visible()
        # a reload keeps the sign-in (the session cookie)
        page.reload()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator(".st-key-heatmap canvas").first).to_be_visible()
        page.wait_for_timeout(500)  # let the grid finish drawing before the screenshot
        page.screenshot(path=str(shots / "overview.png"), full_page=True)

        # a click on the top store's latest day (top right cell) lists that store-day
        last = read(url, queries.latest_day)
        assert last is not None
        window = Filters(owner="finance", date_from=last - timedelta(days=27), date_to=last)
        top = rank_stores(read(url, queries.heatmap_cells, window), "count")[0]
        grid = page.locator(".st-key-heatmap canvas").first.bounding_box()
        assert grid is not None
        page.mouse.click(grid["x"] + grid["width"] - 10, grid["y"] + ROW_PX * 1.5)
        names = read(url, queries.store_names)  # Sitoo's, kept by the collect
        expect(
            page.get_by_text(f"for {store_label(top, names)}, {last.isoformat()}")
        ).to_be_visible()

        # drill into the orphan's store-day, then open it
        _choose(page, "Store", orphan["store"])
        day = orphan["business_day"].isoformat()
        _choose(page, "Business day", day)
        expect(
            page.get_by_text(f"for {store_label(orphan['store'], names)}, {day}")
        ).to_be_visible()
        link = page.get_by_role("link", name="Open these in Exceptions")
        expect(link).to_have_attribute("href", re.compile(f"from={day}&to={day}&"))  # rerun done
        link.click()
        expect(page.get_by_role("heading", name="Exceptions")).to_be_visible()
        _choose(page, "Exception", f"missing_in_pos · {orphan['pos_ref'] or orphan['erp_ref']}")
        expect(page.get_by_role("heading", name="missing in pos:")).to_be_visible()
        status = page.get_by_test_id("stMetric").filter(has_text="Status")
        expect(status).to_contain_text("new")
        page.screenshot(path=str(shots / "exception.png"), full_page=True)

        # resolve it with a reason: the status and the audit trail follow
        page.get_by_label("Reason for closing (required)").fill("test posting, reversed in Sage")
        page.get_by_role("button", name="Close").click()
        expect(status).to_contain_text("closed")

        page.get_by_role("button", name="Reset filters").click()  # all stores and days again
        expect(page).not_to_have_url(re.compile(r"[?&]store="))
        page.get_by_role("link", name="Takings & VAT").click()
        expect(page.get_by_role("heading", name="Takings & VAT")).to_be_visible()
        expect(page.get_by_text("Per store: POS vs ERP by tender")).to_be_visible()
        # (the README's takings.png comes from the finance journey, of a day with causes)

        # signing out clears the cookie: a reload then asks to sign in
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        page.wait_for_timeout(300)
        page.reload()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        expect(page.get_by_role("heading", name="Overview")).to_have_count(0)
        browser.close()

    detail = read(url, queries.exception_detail, orphan["id"])
    assert detail is not None
    assert detail.exception["status"] == "closed"
    assert detail.events.select("action", "actor", "note").rows()[-1] == (
        "closed",
        USER,  # the signed-in user is the audit trail's actor
        "test posting, reversed in Sage",
    )
