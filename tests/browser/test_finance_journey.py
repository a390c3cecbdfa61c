"""The finance controller closing yesterday for every store, in a real browser.

The small scenario runs through `recon.jobs` (sync, collect, reconcile) into a temp
warehouse and the dashboard is served on a free port. The controller signs in, sees the
money at stake on the overview, opens Takings & VAT on the latest closed business day
(store names, two decimals and the currency), chooses the store-day that is off, and
opens the exception that explains it. On the way it saves the README's takings
screenshot (`make screenshots`), of a day whose tender variance has causes.
Skips without /usr/bin/chromium, except under CI=true, where it fails instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from recon.app import queries
from recon.app.filters import Filters
from recon.app.money import money, store_label
from tests.app.demo_warehouse import read
from tests.browser._served import launch, small_dashboard
from tests.browser.test_dashboard import README_SHOTS, ROW_PX

pytestmark = pytest.mark.browser

USER, PASSWORD = "carla", "controller-pw-1"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, warehouse URL) of a dashboard over the small scenario's findings."""
    with small_dashboard(tmp_path_factory.mktemp("finance"), {USER: ("finance", PASSWORD)}) as d:
        yield d


def test_finance_closes_the_latest_day_from_overview_to_the_explaining_exception(
    dashboard: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from recon.warehouse.db import open_warehouse

    base, url = dashboard
    engine = open_warehouse(url).engine
    day = read(url, queries.latest_closed_day, date.today())
    assert day is not None
    scope = Filters(date_from=day, date_to=day)
    both = queries.store_day_money(
        read(url, queries.takings_by_store_day, scope),
        read(url, queries.revenue_by_store_day, scope),
    )
    off = both.filter(pl.col("off"))
    assert off.height > 0, "the scenario plants a break on its last day"
    first = off.row(0, named=True)
    names = read(url, queries.store_names)
    assert names, "the collect keeps Sitoo's store names"
    explaining = read(url, queries.exceptions, replace_day(scope, first["store"]))
    assert explaining.height > 0
    # the day the README shows: the latest with tender variance causes for the waterfall
    parts = read(url, queries.variance_waterfall, Filters())
    assert parts.height > 0
    shots = README_SHOTS if os.environ.get("RECON_SCREENSHOTS") == "readme" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(20_000)
        expect.set_options(timeout=20_000)
        page.goto(base)
        page.get_by_label("User name").fill(USER)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        # the overview: what is at stake, in two decimals and the currency
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.get_by_text(re.compile(r"Money at stake: [\d,]+\.\d\d GBP"))).to_be_visible()

        # Takings & VAT opens on the latest closed day, every store by name
        page.get_by_role("link", name="Takings & VAT").click()
        expect(page.get_by_role("heading", name="Takings & VAT")).to_be_visible()
        expect(
            page.get_by_text(f"Business day {day.isoformat()}, the latest closed")
        ).to_be_visible()
        pos = money(both.filter(pl.col("currency") == "GBP")["pos_amount"].sum(), "GBP")
        expect(page.get_by_test_id("stMetric").filter(has_text="POS takings")).to_contain_text(pos)

        # the store-day that is off: its accounts and the exceptions that explain it
        grid = page.locator(".st-key-takings_days canvas").first
        expect(grid).to_be_visible()
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 12, box["y"] + ROW_PX * 1.5)  # the first row's marker
        label = store_label(first["store"], names)
        expect(page.get_by_text(f"{label}, {day.isoformat()} by tender account")).to_be_visible()
        expect(page.get_by_text("The exceptions that explain it", exact=True)).to_be_visible()
        exc_grid = page.locator(".st-key-takings_exceptions canvas").first
        expect(exc_grid).to_be_visible()
        exc_grid.scroll_into_view_if_needed()
        ebox = exc_grid.bounding_box()
        assert ebox is not None
        page.mouse.click(ebox["x"] + 12, ebox["y"] + ROW_PX * 1.5)

        # ... which opens on the Exceptions page, by its id in the URL
        top = explaining.row(0, named=True)
        expect(page).to_have_url(re.compile(f"id={top['id']}"))
        heading = top["kind"].replace("_", " ")
        expect(page.get_by_role("heading", name=f"{heading}:")).to_be_visible()
        expect(page.get_by_test_id("stMetric").filter(has_text="Difference")).to_contain_text(
            re.compile(r"-?[\d,]+\.\d\d GBP|-")
        )

        # the README's takings picture: a day whose variance has causes
        cause_day = latest_day_with_causes(engine)
        page.goto(f"{base}/takings?from={cause_day}&to={cause_day}")
        expect(page.get_by_role("heading", name="Takings & VAT")).to_be_visible()
        expect(page.locator(".js-plotly-plot").first).to_be_visible()
        expect(page.get_by_text(re.compile(r"exceptions that explain it")).first).to_be_visible()
        page.wait_for_timeout(500)  # let plotly finish drawing before the screenshot
        page.screenshot(path=str(shots / "takings.png"), full_page=True)
        browser.close()


def replace_day(scope: Filters, store: str | None) -> Filters:
    """The finance exceptions of `scope`'s day in `store` (all stores for unattributed)."""
    from dataclasses import replace

    return replace(scope, stores=(store,) if store else (), owner="finance")


def latest_day_with_causes(engine: object) -> str:
    from sqlalchemy import Engine, func, select

    from recon.warehouse.models import WaterfallPart

    assert isinstance(engine, Engine)
    with engine.connect() as conn:
        last = conn.execute(select(func.max(WaterfallPart.business_day))).scalar_one()
    return str(last)
