"""Vendor and user text on the dashboard shows as text: never a live link, image or markup.

A POS tender name, SKU, order id, currency, run message or URL value can carry Markdown; each
page is run with such values (AppTest) and every element that renders Markdown is read back.
"""

from __future__ import annotations

import re
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from recon.app.ui import literal
from tests.app.apptest import app, shown
from tests.app.demo_warehouse import T0, Warehouse

TENDER = "Cash [Your session expired - sign in again](http://evil/) ![t](http://evil/pixel.png)"
LINK = "[click](http://evil/)"
PUNCTUATION = r"[!-/:-@\[-`{-~]"


def _rendered(at: AppTest) -> list[str]:
    """The Markdown source of every element that renders it, as the browser receives it."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "subheader", "toast")
    texts = [e.value for kind in kinds for e in getattr(at, kind)]
    texts += [t for m in at.metric for t in (m.label, m.value)]
    texts += [b.label for b in at.button]
    texts += [o for r in at.radio for o in r.options]
    return texts


def _no_live_markup(at: AppTest) -> list[str]:
    texts = _rendered(at)
    assert not at.exception
    for raw in ("](http", "![", "<a ", "<img"):  # a link, an image, HTML
        assert not [t for t in texts if raw in t], raw
    return texts


def test_exception_detail_shows_vendor_text_literally(data: Warehouse) -> None:
    data.exception("e", "missing_in_erp", "1", "2024-06-01", "5.00", None, "-5.00",
                   pos_ref=LINK, tender=TENDER, sku=f"SKU {LINK}", cause=f"held_{LINK}",
                   assignee=LINK, currency="GBP](http://evil/)")  # fmt: skip
    at = app("pages/exceptions.py", id="e")
    texts = _no_live_markup(at)
    assert any(f"tender **{literal(TENDER)}**" in t for t in texts)  # in the references
    assert any(shown(t) == f"Re-sync POS order {LINK}" for t in texts)
    assert any(shown(t) == LINK for t in texts)  # the assignee, as typed


def test_an_unknown_id_in_the_url_is_shown_literally(data: Warehouse) -> None:
    at = app("pages/exceptions.py", id=LINK)
    _no_live_markup(at)
    assert [shown(w.value) for w in at.warning] == [f"No exception with id {LINK}."]


def test_overview_shows_a_run_message_and_a_currency_literally(data: Warehouse) -> None:
    data.exception("e", "missing_in_erp", "1", "2024-06-01", "5.00", None, "-5.00",
                   currency="[GBP](http://evil/)")  # fmt: skip
    data.run("sync", T0 - timedelta(minutes=5), T0, status="failed", message=f"bad {TENDER}")
    at = app()
    _no_live_markup(at)
    assert [shown(e.value) for e in at.error] == [f"`sync` failed on its last run: bad {TENDER}"]


def test_takings_page_shows_a_currency_literally(data: Warehouse) -> None:
    data.takings("1", "2024-06-01", "1210", "10.00", "9.00", currency=LINK)
    at = app("pages/takings.py", role="finance")
    _no_live_markup(at)
    assert at.radio(key="tk_currency").value == LINK
    assert any(shown(m.value) == f"10.00 {LINK}" for m in at.metric)


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=30))
def test_literal_escapes_every_punctuation_mark_and_keeps_the_text(text: str) -> None:
    escaped = literal(text)
    assert shown(escaped) == text
    # CommonMark reads `\` + an ASCII punctuation mark as that mark, literally: once those
    # pairs are gone, no mark is left for Markdown (or HTML, colour, maths) to act on.
    assert not re.search(PUNCTUATION, re.sub(r"\\" + PUNCTUATION, "", escaped))
