"""The tolerances in effect and the what-if panel (Exceptions page), through AppTest: off,
no data, data (a row per tolerance next to now, kept in the URL), bad input; and the pure
helpers beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import insert

from recon.app.whatif import counts_table, parse_tolerances
from recon.reconcile import Counts
from recon.warehouse.models import MapSetting
from tests.app.apptest import app, shown, table_with
from tests.app.demo_warehouse import Warehouse

PAGE = "pages/exceptions.py"


@pytest.fixture
def env(data: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "data"))
    return data


def _breaks(wh: Warehouse) -> None:
    #        order  gross              document  gross
    wh.order("1", gross="12.00")
    wh.document("D1", "SO1", "1", gross="12.03")  # 0.03 above
    wh.order("2", gross="100.00")
    wh.document("D2", "SO2", "2", gross="101.00")  # 1.00 above (1%)


def _captions(at: object) -> list[str]:
    return [shown(c.value) for c in at.caption]  # type: ignore[attr-defined]


def test_tolerances_in_effect_shown_on_exceptions_and_takings(env: Warehouse) -> None:
    with env.engine.begin() as conn:
        conn.execute(insert(MapSetting).values(key="amount_tolerance", value="0.05"))
        conn.execute(insert(MapSetting).values(key="tender_tolerance", value="0.5%"))
    want = (
        "Tolerances in effect: amount_tolerance 0.05 · tender_tolerance 0.5% · "
        "vat_rounding_max 0.02 · stock_tolerance 0.00"
    )
    for page in (PAGE, "pages/takings.py"):
        at = app(page, role="finance")
        assert not at.exception
        assert any(c.startswith(want) for c in _captions(at)), page


def test_off_by_default_shows_no_panel(env: Warehouse) -> None:
    _breaks(env)
    at = app(PAGE, role="ops")
    assert at.toggle(key="whatif_on").value is False
    assert not [df for df in at.dataframe if "vs now" in df.value.columns]
    assert not at.metric and "whatif" not in at.query_params


def test_no_data_says_so(env: Warehouse) -> None:
    at = app(PAGE, role="ops", whatif="0.05")
    assert at.toggle(key="whatif_on").value is True
    assert [i.value for i in at.info] == [
        "No POS orders or ERP documents yet: collect first, then compare tolerances."
    ]


def test_data_a_row_per_tolerance_next_to_now_and_kept_in_the_url(env: Warehouse) -> None:
    _breaks(env)
    at = app(PAGE, role="ops")  # any signed-in role: ops too
    at.toggle(key="whatif_on").set_value(True).run()
    at.text_input(key="whatif_tolerances").set_value("1%, 0.05  0").run()
    assert not at.exception and not at.error
    table = table_with(at, "vs now")
    #      tolerance              amount_mismatch  total - amount_mismatch
    rows = list(zip(table["tolerance"], table["amount_mismatch"], table["vs now"], strict=True))
    assert rows == [
        ("now (as configured)", 2, 0),
        ("1%", 0, -2),
        ("0.05", 1, -1),
        ("0", 2, 0),
    ]
    metrics = {shown(m.label): (m.value, m.delta) for m in at.metric}
    assert metrics == {  # totals: the amount mismatches plus one finding of another kind
        "Findings now": ("3", ""),
        "At 1%": ("1", "-2"),
        "At 0.05": ("2", "-1"),
        "At 0": ("3", "0"),
    }
    assert at.query_params["whatif"] == "1%, 0.05  0"
    at.toggle(key="whatif_on").set_value(False).run()
    assert "whatif" not in at.query_params


def test_bad_input_is_one_line_naming_it(env: Warehouse) -> None:
    _breaks(env)
    at = app(PAGE, role="finance", whatif="0.05, lots")
    assert [shown(e.value) for e in at.error] == [
        "'lots' is not an amount or a percentage such as 0.05 or 0.5%"
    ]
    assert not [df for df in at.dataframe if "vs now" in df.value.columns]


# --- the pure helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("0.05", ["0.05"]),
        ("0.01, 0.05, 1%", ["0.01", "0.05", "1%"]),
        ("1% 0.05,,0.05", ["1%", "0.05"]),  # spaces or commas; each once, in order
    ],
)
def test_parse_tolerances_keeps_order(text: str, want: list[str]) -> None:
    assert [word for word, _ in parse_tolerances(text)] == want


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "enter a tolerance"),
        ("0.05 -1", "'-1' is not an amount"),
        (" ".join(str(n) for n in range(9)), "at most 8 tolerances"),
    ],
)
def test_parse_tolerances_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tolerances(text)


def test_counts_table_puts_now_first_and_the_change_beside_each() -> None:
    def counts(label: str, amount: int, tender: int, missing: int) -> Counts:
        by_kind = {"amount_mismatch": amount, "tender_variance": tender, "missing_in_erp": missing}
        from recon.kinds import KINDS

        return Counts(label, {k.name: by_kind.get(k.name, 0) for k in KINDS})

    table = counts_table([counts("1%", 0, 1, 3)], counts("x", 4, 2, 3))
    assert table.rows() == [
        #  tolerance            amount vat tender other total vs now
        ("now (as configured)", 4, 0, 2, 3, 9, 0),
        ("1%", 0, 0, 1, 3, 4, -5),
    ]
