"""The dashboard's paths through AppTest: what an action says it did, who can fix what,
and every view as a URL (page, id, filters) that survives sign-in and page changes."""

from __future__ import annotations

import pytest

from recon.app import queries
from tests.app.apptest import app, metrics, shown
from tests.app.demo_warehouse import Warehouse
from tests.app.test_pages import _seed


def test_an_assignee_is_picked_and_one_without_an_account_is_refused(data: Warehouse) -> None:
    from recon.app import workflow
    from recon.app.auth import User

    _seed(data)
    data.exception("c2", "stock_variance", "7", assignee="ops-team")
    at = app("pages/exceptions.py", id="c2")
    assert not [t for t in at.text_input if t.key == "assign_who"]  # never typed
    assert at.selectbox(key="assign_who").options == ["ann"]  # the one account (admin)
    with pytest.raises(workflow.WorkflowError, match="ops-team has no dashboard account"):
        workflow.assign(data.engine, "c2", "ops-team", User("ann", "admin"), accounts={})
    assert metrics(at)["Assignee"] == "ops-team"
    detail = data.read(queries.exception_detail, "c2")
    assert detail is not None and detail.events.is_empty()


def test_an_unmapped_store_tells_ops_who_can_fix_it(data: Warehouse) -> None:
    data.exception("u", "unmapped_location", "9", None, cause="no_location")
    at = app("pages/exceptions.py", role="ops", id="u")
    (fix,) = [i.value for i in at.info]
    assert "ask an admin" in fix and "Admin page" in fix


def test_admin_maps_a_vat_rate(data: Warehouse) -> None:
    from recon.warehouse.mappings import load_mappings

    at = app("pages/admin.py")
    at.text_input(key="mx_rate").input("12.5")
    at.text_input(key="mx_code").input("T5")
    at.text_input(key="mx_account").input("2201")
    at.button(key="mx_btn").click().run()
    assert not at.exception and not at.error
    (mapped,) = load_mappings(data.engine).tax.values()
    assert (str(mapped.vat_rate), mapped.tax_code, mapped.account) == ("12.50", "T5", "2201")
    shown_rates = next(df.value for df in at.dataframe if "tax_code" in df.value.columns)
    assert shown_rates.values.tolist() == [["12.50", "T5", "2201"]]
    at.text_input(key="mx_rate").input("lots")
    at.text_input(key="mx_code").input("T9")
    at.text_input(key="mx_account").input("2201")
    at.button(key="mx_btn").click().run()
    assert [shown(e.value) for e in at.error] == ["VAT rate 'lots' is not a number (e.g. 20.00)"]


class _Reposted:
    def __init__(self, posted: int, text: str) -> None:
        self.posted, self._text = posted, text

    def text(self) -> str:
        return self._text


def test_resync_shows_the_real_outcome(data: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    """Still held is a warning saying why (never "re-synced"); posted is a success that
    says the store-day was reconciled; both are in the audit trail."""
    import recon.jobs

    _seed(data)
    answers = iter(
        [
            _Reposted(0, "order 5120: still held: map tender 'Swish' in mappings"),
            _Reposted(1, "order 5120: posted as SO-9; collected and reconciled store 1"),
        ]
    )
    monkeypatch.setattr(recon.jobs, "repost_job", lambda settings, ids: next(answers))
    monkeypatch.setattr("recon.config.load_settings", lambda: None)
    at = app("pages/exceptions.py", role="finance", id="a")
    at.button(key="resync_btn").click().run()
    assert [shown(w.value) for w in at.warning] == [
        "order 5120: still held: map tender 'Swish' in mappings"
    ]
    assert not at.success and not at.toast
    at.button(key="resync_btn").click().run()
    assert [shown(s.value) for s in at.success] == [
        "order 5120: posted as SO-9; collected and reconciled store 1"
    ]
    detail = data.read(queries.exception_detail, "a")
    assert detail is not None
    assert detail.events.select("action", "note").rows() == [
        ("resynced", "order 5120: still held: map tender 'Swish' in mappings"),
        ("resynced", "order 5120: posted as SO-9; collected and reconciled store 1"),
    ]


def test_map_a_held_vat_rate_and_repost_its_orders_in_one_step(
    data: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mapping health names the hold; the admin maps it there, and every order it held is
    re-posted at once, the count said."""
    import recon.jobs
    from recon.warehouse.mappings import load_mappings

    data.order("1", gross="20.00")
    data.order("2", gross="5.00")
    held = "map VAT rate 12.50 to a tax code in mappings"
    data.sync_post("sale:1", "held", "1", "held_unmapped_tax_code", held)
    data.sync_post("sale:2", "held", "2", "held_unmapped_tax_code", held)
    data.sync_post("sale:3", "held", "3", "held_unknown_sku", "SKU 'X' is not in the ERP")
    asked: list[list[str]] = []

    def repost(settings: object, ids: list[str]) -> _Reposted:
        asked.append(ids)
        return _Reposted(1, "order 2: still held: SKU 'Y' is not in the ERP item master")

    monkeypatch.setattr(recon.jobs, "repost_job", repost)
    monkeypatch.setattr("recon.config.load_settings", lambda: None)
    at = app("pages/sync_health.py")
    assert at.selectbox(key="mh_what").options == [f"{held} (2 orders)"]  # not the SKU
    at.text_input(key="mh_code").input("T5")
    at.text_input(key="mh_account").input("2201")
    at.button(key="mh_btn").click().run()
    assert asked == [["1", "2"]]
    (mapped,) = load_mappings(data.engine).tax.values()
    assert (str(mapped.vat_rate), mapped.tax_code, mapped.account) == ("12.50", "T5", "2201")
    outcome = [shown(w.value) for w in at.warning if "mapped" in w.value]
    assert outcome == [
        "VAT rate 12.50 mapped to T5; 1 of 2 held orders posted: "
        "order 2: still held: SKU 'Y' is not in the ERP item master"
    ]


def test_only_an_admin_gets_map_and_repost(data: Warehouse) -> None:
    data.sync_post("sale:1", "held", "1", "held_unmapped_tender", "map tender 'Gift' in mappings")
    at = app("pages/sync_health.py", role="finance")
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "mh_what"]
    assert any("An admin can map these" in c.value for c in at.caption)
