"""`recon signoff list`: sign-offs with their evidence and events for audit, as JSON or as
CSV (a row per event) that nothing in a spreadsheet runs."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from recon.app import signoff
from recon.app.auth import User
from recon.cli.main import main
from tests.app.demo_warehouse import Warehouse, make_warehouse

DAY = date(2024, 6, 1)
EVIL = '=HYPERLINK("http://evil/")'


@pytest.fixture
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    warehouse = make_warehouse(tmp_path)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", warehouse.url)
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    warehouse.takings("1", "2024-06-01", "1220", "32.00", "20.00")
    warehouse.exception("a", "missing_in_erp", "1", "2024-06-01", "12.00", None, "-12.00",
                        pos_ref="5120")  # fmt: skip
    warehouse.takings("2", "2024-06-01", "1220", "40.00", "40.00")
    signoff.prepare(warehouse.engine, "1", DAY, User("ann", "finance"), EVIL)
    signoff.review(warehouse.engine, "1", DAY, User("bob", "finance"))
    signoff.prepare(warehouse.engine, "2", DAY, User("ann", "finance"))
    return warehouse


def test_signoff_list_json_has_each_signoff_with_its_evidence_and_events(
    wh: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["signoff", "list", "--store", "1"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert (record["store"], record["state"], record["preparer"], record["reviewer"]) == (
        "1", "signed", "ann", "bob",
    )  # fmt: skip
    money = ("item", "pos_value", "erp_value", "difference")
    assert [tuple(e[k] for k in money) for e in record["evidence"]] == [
        # item               pos       erp      difference
        ("a",                "12.00",  None,    "-12.00"),
        ("takings:1:1220",   "32.00",  "20.00", "-12.00"),
    ]  # fmt: skip
    assert [(e["action"], e["actor"], e["note"]) for e in record["events"]] == [
        ("prepared", "ann", EVIL), ("signed", "bob", None),
    ]  # fmt: skip


def test_signoff_list_csv_is_the_audit_trail_with_nothing_that_runs(
    wh: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["signoff", "list", "--format", "csv", "--day", "2024-06-01"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    shown = ("store", "state", "action", "actor", "evidence_lines")
    assert [tuple(r[k] for k in shown) for r in rows] == [
        ("1", "signed",   "prepared", "ann", "2"),
        ("1", "signed",   "signed",   "bob", "2"),
        ("2", "prepared", "prepared", "ann", "1"),
    ]  # fmt: skip
    assert rows[0]["note"] == "'" + EVIL


def test_signoff_list_without_a_warehouse_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    assert main(["signoff", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("recon signoff: no warehouse at") and err.count("\n") == 1


NO_STORE = "recon signoff list: argument --store: give a store id (e.g. 1)"


@pytest.mark.parametrize(
    ("args", "code", "stores", "error"),
    [
        (["--store", " 1 "], 0, ["1"], ""),  # matched nothing before: not stripped
        (["--store", "%"], 0, [], ""),  # no LIKE: no store is called %
        (["--store", ""], 2, [], NO_STORE),
        (["--store", "  "], 2, [], NO_STORE),
        (["--day", "2024-02-30"], 2, [],
         "recon signoff list: argument --day: '2024-02-30' is not a day (YYYY-MM-DD)"),
        (["--day", "9999-12-31"], 0, [], ""),
    ],
)  # fmt: skip
def test_signoff_list_odd_store_and_day_values(
    wh: Warehouse,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    stores: list[str],
    error: str,
) -> None:
    assert main(["signoff", "list", *args]) == code
    out, err = capsys.readouterr()
    assert err.strip() == error
    if code == 0:
        assert [r["store"] for r in json.loads(out)] == stores
