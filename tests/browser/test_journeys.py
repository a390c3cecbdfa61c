"""Two of the dashboard's users, in a real browser (Debian's chromium through playwright).

The engineer chasing an orphaned transaction opens a colleague's link to the exception,
signed out, on a freshly started server: the sign-in form shows at once, and after signing
in the same address is that exception, its raw payloads one click away; a page change
keeps the role's default owner filter in the URL. The ops lead signs in, reads the stock
variances and learns who maps a store. The bookkeeper asked about one sale finds it by its
POS order id, reads its chain broken and follows the exception on it to its drill-down.
Skips without /usr/bin/chromium, except under CI=true, where it fails instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.app import queries
from recon.app.filters import Filters
from tests.app.demo_warehouse import read
from tests.browser._served import launch, small_dashboard

pytestmark = pytest.mark.browser

ENGINEER, OPS, PASSWORD = "eli", "olly", "journey-test-pw"
SIGN_IN_AT_ONCE_S = 10.0  # a cold server's first answer to a shared link (was 45 s and more)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, warehouse URL) of a dashboard just started over the small scenario."""
    accounts = {ENGINEER: ("finance", PASSWORD), OPS: ("ops", PASSWORD)}
    with small_dashboard(tmp_path_factory.mktemp("journeys"), accounts) as d:
        yield d


def _browser(pw: Any) -> Any:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    return launch(pw)


def _sign_in(page: Any, name: str) -> None:
    page.get_by_label("User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_engineer_opens_a_shared_link_signed_out_on_a_fresh_server(
    fresh: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, url = fresh
    orphan = read(url, queries.exceptions, Filters(kinds=("missing_in_pos",))).row(0, named=True)
    link = f"{base}/exceptions?id={orphan['id']}"

    with sync_playwright() as pw:
        browser = _browser(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        started = time.monotonic()
        page.goto(link)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        first_answer = time.monotonic() - started
        expect(page).to_have_url(re.compile(f"/exceptions\\?id={orphan['id']}$"))  # kept

        _sign_in(page, ENGINEER)
        # the page the link named, with its exception open: not the overview
        expect(page.get_by_role("heading", name="Exceptions")).to_be_visible()
        expect(page.get_by_role("heading", name="missing in pos:")).to_be_visible()
        expect(page).to_have_url(re.compile(f"[?&]id={orphan['id']}"))
        page.get_by_role("tab", name="Raw payloads").click()
        expect(page.get_by_text("ERP (as received)")).to_be_visible()
        expect(page.get_by_test_id("stJson").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "engineer.png"), full_page=True)

        # a page change keeps the role's default owner filter, in the URL too; a reload
        # keeps the page, the sign-in and the filter
        page.get_by_role("link", name="Overview").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page).to_have_url(re.compile(r"[?&]owner=finance"))
        page.get_by_role("link", name="Exceptions").click()
        expect(page.get_by_role("heading", name="Exceptions")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/exceptions\?.*owner=finance"))
        page.reload()
        expect(page.get_by_role("heading", name="Exceptions")).to_be_visible()
        expect(page).to_have_url(re.compile(r"owner=finance"))
        browser.close()
    print(f"cold server, shared link: sign-in form after {first_answer:.1f} s")
    assert first_answer < SIGN_IN_AT_ONCE_S


def test_the_ops_lead_reads_stock_variances_and_who_maps_a_store(
    fresh: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, url = fresh
    variances = read(url, queries.stock_variances, Filters(owner="ops"))
    assert not variances.is_empty()  # the small scenario plants stock breaks

    with sync_playwright() as pw:
        browser = _browser(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/stock")
        _sign_in(page, OPS)
        expect(page.get_by_role("heading", name="Stock & items")).to_be_visible()
        expect(
            page.get_by_role("heading", name="Stock variances, largest value first")
        ).to_be_visible()
        expect(page.locator(".st-key-stock_table")).to_be_visible()
        # ops own unmapped stores but cannot map them: the page says who can
        expect(page.get_by_text("ask an admin to map the POS store")).to_be_visible()
        page.screenshot(path=str(tmp_path / "ops.png"), full_page=True)
        # ops never see Takings (finance) nor Admin
        expect(page.get_by_role("link", name="Takings & VAT")).to_have_count(0)
        expect(page.get_by_role("link", name="Admin")).to_have_count(0)
        # a finance colleague's link to Takings says whose page it is, not "Page not found"
        page.goto(f"{base}/takings")
        expect(page.get_by_text("Takings & VAT is for finance and admin")).to_be_visible()
        expect(page.get_by_text("Page not found")).to_have_count(0)
        browser.close()


def test_the_bookkeeper_finds_an_order_with_a_planted_break_and_opens_its_exception(
    fresh: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, url = fresh
    planted = read(
        url,
        queries.exceptions,
        Filters(kinds=("duplicate_in_erp", "amount_mismatch", "missing_in_erp")),
    ).filter(pl.col("pos_ref").is_not_null())
    assert not planted.is_empty()  # the small scenario plants document breaks
    exc = planted.sort("kind").row(0, named=True)
    order, words = exc["pos_ref"], exc["kind"].replace("_", " ")

    with sync_playwright() as pw:
        browser = _browser(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(base)
        _sign_in(page, ENGINEER)
        page.get_by_role("link", name="Find an order").click()
        expect(page.get_by_role("heading", name="Find an order")).to_be_visible()
        box = page.get_by_role("textbox", name="POS order id or ERP document number")
        box.fill(order)
        box.press("Enter")
        expect(page.get_by_text(f"POS order {order}: broken")).to_be_visible()
        expect(page).to_have_url(re.compile(f"/find\\?.*\\bid={order}$"))  # a link to share
        page.screenshot(path=str(tmp_path / "find.png"), full_page=True)
        page.get_by_role("link", name=re.compile(f"^{words}:")).first.click()
        expect(page.get_by_role("heading", name="Exceptions")).to_be_visible()
        expect(page.get_by_role("heading", name=f"{words}:")).to_be_visible()
        expect(page).to_have_url(re.compile(f"[?&]id={exc['id']}"))
        browser.close()
