"""The "Find an order" page through AppTest: each state of its panel (no ID yet, an unknown
ID, an ok / pending / broken chain), the ID kept in the URL, exceptions linked to their
drill-down, vendor text shown as written."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from tests.app.apptest import app, shown
from tests.app.demo_warehouse import Warehouse


def _find(**params: str) -> AppTest:
    """The app signed in as a finance user, on Find an order with `params` in the URL."""
    return app("pages/chain.py", role="finance", name="fay", **params)


def _table(at: AppTest, title: str) -> list[dict[str, Any]]:
    """The rows of the links table under `title` (tables without on_select carry no key:
    they are found by their order among the titled sections)."""
    titles = [m.value.strip("*") for m in at.markdown if m.value.startswith("**")]
    frame: Any = at.dataframe[titles.index(title)].value
    return list(frame.to_dict("records"))


def test_without_an_id_the_page_says_what_to_type(data: Warehouse) -> None:
    at = _find()
    assert not at.exception
    assert at.text_input(key="chain_id").value == ""
    assert "Type a POS order id" in at.info[0].value


def test_an_unknown_id_is_one_warning(data: Warehouse) -> None:
    at = _find(id="nope")
    assert not at.exception
    assert [shown(w.value) for w in at.warning] == [
        "no POS order, ERP document or journal with ID 'nope'"
    ]


def test_an_ok_chain(data: Warehouse) -> None:
    data.order("5120", gross="12.00")
    data.document("D1", "SO-1", "5120", gross="12.00")
    data.sync_post("sale:5120", "posted", order="5120")
    at = _find(id="5120")
    assert not at.exception
    assert [shown(s.value) for s in at.success] == ["POS order 5120: **ok**"]
    assert [(r["ref"], r["status"], r["gross_total"]) for r in _table(at, "ERP documents")] == [
        ("SO-1", "posted", "12.00 GBP")  # money: two decimals and its currency
    ]
    assert "Open exceptions on the chain: 0" in [shown(m.value).strip("*") for m in at.markdown]


def test_a_pending_chain_says_why(data: Warehouse) -> None:
    data.order("5120", gross="12.00")
    data.sync_post("sale:5120", "retrying", order="5120", reason="vendor_unavailable")
    at = _find(id="5120")
    assert [shown(w.value) for w in at.warning] == ["POS order 5120: **pending**"]
    assert [(r["ref"], r["status"], r["why"]) for r in _table(at, "ERP documents")] == [
        ("(none)", "posting", "vendor_unavailable")
    ]


def test_a_broken_chain_found_by_document_number_links_its_exceptions(data: Warehouse) -> None:
    data.order("5121", gross="10.00", payload={"orderid": 5121})
    data.document("D2", "SO-2", "5121", gross="9.50", payload={"customer_document_no": "5121"})
    data.exception("b", "amount_mismatch", "1", "2024-06-01", "10.00", "9.50", "-0.50",
                   pos_ref="5121", erp_ref="SO-2", cause="not_like_that")  # fmt: skip
    data.exception("z", "missing_in_erp", pos_ref="9999")  # another order's
    at = _find(id="SO-2")
    assert not at.exception
    assert [shown(e.value) for e in at.error] == [
        "POS order 5121: **broken** (found by doc no SO-2)"
    ]
    links = {shown(p.proto.label): p.proto.query_string for p in at.get("page_link")}
    assert links == {"amount mismatch: not like that · 5121": "id=b"}
    assert [(r["ref"], r["status"], r["level"]) for r in _table(at, "ERP documents")] == [
        ("SO-2", "wrong_amount", "broken")
    ]
    assert [e.label for e in at.expander] == ["Raw payloads (2)"]
    assert [j.value for j in at.json] == ['{"orderid": 5121}', '{"customer_document_no": "5121"}']


def test_typing_an_id_puts_it_in_the_url(data: Warehouse) -> None:
    data.order("5120", gross="12.00")
    at = _find()
    at.text_input(key="chain_id").input(" 5120 ").run()
    assert not at.exception
    assert at.query_params["id"] == "5120"
    assert [shown(e.value) for e in at.error] == ["POS order 5120: **broken**"]  # no document


def test_vendor_text_in_a_chain_is_shown_as_written(data: Warehouse) -> None:
    evil = "[sign in](http://evil/)"
    data.order(evil, gross="12.00", payments=[(evil, "12.00")])
    at = _find(id=evil)
    assert not at.exception
    headline = at.error[0].value
    assert shown(headline).startswith(f"POS order {evil}: ") and "](" not in headline
    assert [r["ref"] for r in _table(at, "Tender postings")] == [evil]  # a table: as written


def test_an_id_naming_two_chains_links_the_other(data: Warehouse) -> None:
    data.order("777", gross="1.00")
    data.order("5120", gross="12.00")
    data.document("D1", "777", "5120", gross="12.00")
    at = _find(id="777")
    assert not at.exception
    links = [(shown(p.proto.label), p.proto.page) for p in at.get("page_link")]
    assert links[0][0] == "Also: doc no 777 is on POS order 5120's chain"
