"""A finance clerk working the worklist, in a real browser (Debian's chromium through
playwright), over the small scenario's findings: ticks several exceptions, takes them all
in one action, opens My queue, and saves that view under a name, which a fresh visit
applies again. Skips without /usr/bin/chromium, except under
CI=true, where it fails instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from recon.app import queries
from recon.app.filters import Filters
from tests.app.demo_warehouse import read
from tests.browser._served import launch, small_dashboard
from tests.browser.test_dashboard import ROW_PX, _choose

pytestmark = pytest.mark.browser

CLERK, COLLEAGUE, PASSWORD = "cleo", "fay", "worklist-test-pw"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    accounts = {CLERK: ("finance", PASSWORD), COLLEAGUE: ("finance", PASSWORD)}
    with small_dashboard(tmp_path_factory.mktemp("worklist"), accounts) as d:
        yield d


def _assigned(url: str, who: str) -> list[str]:
    frame = read(url, queries.exceptions, Filters())
    return sorted(frame.filter(frame["assignee"] == who)["id"].to_list())


def test_select_several_bulk_assign_open_my_queue_and_save_the_view(
    served: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, url = served
    assert read(url, queries.exceptions, Filters(owner="finance")).height >= 3

    with sync_playwright() as pw:
        browser = launch(pw)
        expect.set_options(timeout=20_000)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/exceptions?sort=money")
        page.get_by_label("User name").fill(CLERK)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Exceptions")).to_be_visible()

        # tick the first three rows (the boxes on the left of the grid)
        grid = page.locator(".st-key-table canvas").first
        expect(grid).to_be_visible()
        box = grid.bounding_box()
        assert box is not None
        for row in range(3):
            page.mouse.click(box["x"] + 12, box["y"] + ROW_PX * (1.5 + row))
        expect(page.get_by_text("3 selected")).to_be_visible()

        # ... and take them all in one action (picked from the accounts): one summary line
        _choose(page, "Assign all to", CLERK)
        page.get_by_role("button", name="Assign selected").click()
        expect(page.get_by_text(f"assigned to {CLERK} 3 of 3")).to_be_visible()
        assert len(_assigned(url, CLERK)) == 3

        # My queue: one click, in the URL, just those three
        page.get_by_text("My queue").click()
        expect(page).to_have_url(re.compile(r"[?&]queue=mine"))
        expect(
            page.get_by_text(re.compile(r"^3 exceptions open and assigned to you"))
        ).to_be_visible()

        # save this view under a name, then open the page afresh and apply it
        page.get_by_text("Saved views", exact=True).click()
        page.get_by_label("Save this view as").fill("my money queue")
        page.get_by_role("button", name="Save view").click()
        expect(page.get_by_role("combobox", name="Your views")).to_have_value("my money queue")
        page.goto(f"{base}/exceptions")
        expect(page.get_by_role("heading", name="Exceptions")).to_be_visible()
        expect(page).not_to_have_url(re.compile(r"queue=mine"))
        page.get_by_text("Saved views", exact=True).click()
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(re.compile(r"queue=mine"))
        expect(page).to_have_url(re.compile(r"sort=money"))
        page.screenshot(path=str(tmp_path / "worklist.png"), full_page=True)
        browser.close()
