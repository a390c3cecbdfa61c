"""Someone in ops asks what a looser money tolerance would leave, in a real browser.

Over the small scenario's findings (tests/browser/_served.py): they sign in, open
Exceptions, see the tolerances in effect, turn the what-if on, type two tolerances and
see the findings each would leave next to now (the same counts `recon whatif` gives), and
the address keeps the tolerances so a reload shows the same answer.
Skips without /usr/bin/chromium, except under CI=true, where it fails instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from recon.reconcile import Tolerance
from tests.browser._served import launch, small_dashboard

pytestmark = pytest.mark.browser

USER, PASSWORD = "otto", "ops-person-pw-1"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with small_dashboard(tmp_path_factory.mktemp("whatif"), {USER: ("ops", PASSWORD)}) as d:
        yield d


def test_ops_compares_two_tolerances_with_now(
    dashboard: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from recon.config import load_settings
    from recon.jobs import whatif_job

    base, url = dashboard
    monkeypatch.setenv("RECON_WAREHOUSE_URL", url)
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    prepared = whatif_job(load_settings())  # what the CLI would say, for the same warehouse
    now = prepared.counts().total
    want = {t: prepared.counts(Tolerance.parse(t), t).total for t in ("0", "5%")}

    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        expect.set_options(timeout=30_000)
        page.goto(f"{base}/exceptions")
        page.get_by_label("User name").fill(USER)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        expect(page.get_by_role("heading", name="Exceptions")).to_be_visible()
        expect(page.get_by_text("Tolerances in effect: amount_tolerance")).to_be_visible()
        page.get_by_text("What-if: findings per money tolerance").click()
        box = page.get_by_label("Tolerances (0.05 in the currency")
        box.fill("0, 5%")
        box.press("Enter")

        def value(label: str) -> object:
            exact = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
            return page.get_by_test_id("stMetric").filter(has=exact).get_by_test_id("stMetricValue")

        expect(value("Findings now")).to_have_text(str(now))
        for tolerance, total in want.items():
            expect(value(f"At {tolerance}")).to_have_text(str(total))
        expect(page).to_have_url(re.compile(r"whatif=0%2C(\+|%20)5%25"))

        page.reload()  # the address keeps the panel open with the same tolerances
        expect(value("At 5%")).to_have_text(str(want["5%"]))
        browser.close()
