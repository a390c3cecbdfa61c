"""The dashboard pages through streamlit.testing.v1.AppTest, against a temp warehouse."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from app import queries
from app.filters import Filters
from tests.app.demo_warehouse import T0, Warehouse

MAIN = Path(__file__).parents[2] / "app" / "main.py"
TIMEOUT = 30


@pytest.fixture
def data(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    monkeypatch.setenv("RECON_WAREHOUSE_URL", wh.url)
    return wh


def _seed(wh: Warehouse) -> None:
    #            id    kind                store day           pos      erp     diff
    wh.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00", pos_ref="5120")
    wh.exception("b", "amount_mismatch", "1", "2024-06-01", "10.00", "9.50", "-0.50",
                 pos_ref="5121", erp_ref="SO-2", cause="rounding_0.50")  # fmt: skip
    wh.exception("c", "stock_variance", "7", "2024-06-02", "5", "2", "-3", cause="drift")
    wh.order("5121", payload={"orderid": 5121, "moneytotal_gross_all": "10.00"})
    wh.document("D2", "SO-2", "5121", gross="9.50", payload={"customer_document_no": "5121"})
    wh.run("reconcile", T0 - timedelta(minutes=5), T0)


def _app(page: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=TIMEOUT)
    if page:  # through st.navigation: a first run registers the pages
        at.run().switch_page(page)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _ids(at: AppTest, key: str) -> list[str]:
    frame: Any = at.dataframe(key=key).value
    return list(frame["id"])


# --- overview ---------------------------------------------------------------------------


def test_overview_renders_an_empty_warehouse(data: Warehouse) -> None:
    at = _app()
    assert not at.exception
    assert _metrics(at)["Exceptions"] == "0"
    assert "No exceptions for these filters." in [i.value for i in at.info]
    assert any("`reconcile` has never finished" in w.value for w in at.warning)


def test_overview_with_data_shows_totals_and_heatmap(data: Warehouse) -> None:
    _seed(data)
    at = _app()
    assert not at.exception
    m = _metrics(at)
    assert (m["Exceptions"], m["Finance"], m["Ops"]) == ("3", "2", "1")
    assert any("GBP 12.50" in md.value for md in at.markdown)
    assert at.get("plotly_chart")


def test_overview_applies_filters_from_the_url(data: Warehouse) -> None:
    _seed(data)
    at = _app(store="7")
    assert not at.exception
    assert at.multiselect(key="f_stores").value == ["7"]
    assert _metrics(at)["Exceptions"] == "1"


def test_filter_widgets_write_the_url(data: Warehouse) -> None:
    _seed(data)
    at = _app()
    at.selectbox(key="f_owner").select("ops").run()
    assert _metrics(at)["Exceptions"] == "1"
    assert at.query_params["owner"] == "ops"


def test_overview_drills_into_a_store_day_from_the_url(data: Warehouse) -> None:
    _seed(data)
    at = _app(at_store="1", at_day="2024-06-01")
    assert not at.exception
    assert sorted(_ids(at, "drill_table")) == ["a", "b"]


def test_overview_drills_into_a_store_day_chosen_in_the_boxes(data: Warehouse) -> None:
    _seed(data)
    at = _app()
    at.selectbox(key="drill_store").select("7")
    at.selectbox(key="drill_day").select("2024-06-02").run()
    assert _ids(at, "drill_table") == ["c"]
    assert at.query_params["at_store"] == "7"


def test_overview_shows_what_is_new_since_the_last_run(data: Warehouse) -> None:
    _seed(data)
    data.exception("n", first_seen=T0 + timedelta(hours=1))
    data.run("reconcile", T0 + timedelta(minutes=59), T0 + timedelta(hours=1, minutes=1))
    at = _app()
    assert _metrics(at)["New since last run"] == "1"
    assert _ids(at, "new_table") == ["n"]


# --- exceptions -------------------------------------------------------------------------


def test_exceptions_page_renders_an_empty_warehouse(data: Warehouse) -> None:
    at = _app("pages/exceptions.py")
    assert not at.exception
    assert _ids(at, "table") == []


def test_exceptions_page_applies_filters_from_the_url(data: Warehouse) -> None:
    _seed(data)
    at = _app("pages/exceptions.py", kind="stock_variance")
    assert not at.exception
    assert _ids(at, "table") == ["c"]
    at = _app("pages/exceptions.py", store="1", status="all")
    assert sorted(_ids(at, "table")) == ["a", "b"]


def test_exception_detail_shows_cause_chain_and_both_raw_payloads(data: Warehouse) -> None:
    _seed(data)
    at = _app("pages/exceptions.py", id="b")
    assert not at.exception
    assert at.subheader[0].value.startswith("amount mismatch: ")
    payloads = [j.value for j in at.json]
    assert any('"moneytotal_gross_all"' in p for p in payloads)  # POS side
    assert any('"customer_document_no"' in p for p in payloads)  # ERP side
    assert _metrics(at)["Difference (ERP - POS)"] == "-0.500 GBP"


def test_closing_with_a_reason_writes_status_and_audit_event(data: Warehouse) -> None:
    _seed(data)
    at = _app("pages/exceptions.py", id="a")
    at.sidebar.text_input(key="actor").input("ann")
    at.text_input(key="close_reason").input("posted by hand")
    at.button(key="close_btn").click().run()
    assert not at.exception

    detail = queries.exception_detail(data.engine, "a")
    assert detail is not None
    assert detail.exception["status"] == "closed"
    assert detail.events.select("action", "actor", "note").rows() == [
        ("closed", "ann", "posted by hand")
    ]
    assert _metrics(at)["Status"] == "closed"  # the page shows the new state at once


def test_closing_needs_a_name(data: Warehouse) -> None:
    _seed(data)
    at = _app("pages/exceptions.py", id="a")
    at.text_input(key="close_reason").input("posted by hand")
    at.button(key="close_btn").click().run()
    assert any("Enter your name" in e.value for e in at.error)
    assert queries.exceptions(data.engine, Filters(status="closed")).height == 0


def test_reopen_from_the_page(data: Warehouse) -> None:
    _seed(data)
    data.exception("z", status="closed")
    at = _app("pages/exceptions.py", id="z", status="all")
    at.sidebar.text_input(key="actor").input("bob")
    at.text_input(key="reopen_reason").input("came back")
    at.button(key="reopen_btn").click().run()
    row = queries.exceptions(data.engine, Filters(status="all")).filter(pl.col("id") == "z")
    assert row["status"].to_list() == ["persisting"]


def test_assign_from_the_page(data: Warehouse) -> None:
    _seed(data)
    at = _app("pages/exceptions.py", id="c")
    at.sidebar.text_input(key="actor").input("bob")
    at.text_input(key="assign_who").input("ops-team")
    at.button(key="assign_btn").click().run()
    assert _metrics(at)["Assignee"] == "ops-team"


# --- sync health ------------------------------------------------------------------------


def test_sync_health_renders_empty_and_with_data(data: Warehouse) -> None:
    at = _app("pages/sync_health.py")
    assert not at.exception
    assert "No sync posts yet." in [i.value for i in at.info]

    data.sync_post("sale:1", "held", order="1", reason="unmapped_tender")
    data.sync_post("sale:2", "posted", order="2")
    at.button(key="refresh").click().run()  # past the query cache
    assert not at.exception
    assert list(at.dataframe[2].value["post_key"])  # jobs, summary, stuck == ["sale:1"]


def test_date_range_from_the_sidebar(data: Warehouse) -> None:
    _seed(data)
    at = _app()
    at.date_input(key="f_from").set_value(date(2024, 6, 2)).run()
    m = _metrics(at)
    assert (m["Exceptions"], m["Finance"], m["Ops"]) == ("1", "0", "1")  # only c is on 06-02
    assert at.query_params["from"] == "2024-06-02"


def test_a_link_to_another_exception_in_the_same_session_opens_it(data: Warehouse) -> None:
    _seed(data)
    at = _app("pages/exceptions.py", id="a")
    assert at.subheader[0].value.startswith("missing in erp: ")
    at.query_params["id"] = "c"
    at.run()
    assert at.subheader[0].value.startswith("stock variance: ")
    assert at.selectbox(key="exc_id").value == "c"
