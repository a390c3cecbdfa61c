"""`recon chain ID`: one order's chain as JSON or a readable tree; an unknown ID is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.cli.main import main
from tests.app.demo_warehouse import Warehouse, make_warehouse


@pytest.fixture
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    warehouse = make_warehouse(tmp_path)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", warehouse.url)
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    warehouse.order("5121", gross="10.00", payments=[("Card", "10.00")])
    warehouse.document("D2", "SO-2", "5121", gross="9.50")
    warehouse.sync_post("sale:5121", "posted", order="5121")
    #                  id   kind               store day           pos      erp     diff
    warehouse.exception("b", "amount_mismatch", "1", "2024-06-01", "10.00", "9.50", "-0.50",
                        pos_ref="5121", erp_ref="SO-2", cause="rounding_0.50")  # fmt: skip
    return warehouse


def test_chain_json_has_the_status_the_exception_ids_and_every_link(
    wh: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chain", "SO-2", "--format", "json"]) == 0  # a broken chain is a finding
    got = json.loads(capsys.readouterr().out)
    assert (got["status"], got["exceptions"], got["order_id"], got["found_as"]) == (
        "broken",
        ["b"],
        "5121",
        "doc_no",
    )
    assert got["order"] | {"raw_id": None} == {
        "ref": "5121", "status": "completed", "level": "ok", "detail": None,
        "order_type": "sale", "store_id": "1", "business_day": "2024-06-01",
        "state": "completed", "paid": True, "original_order_id": None,
        "gross_total": "10.00", "vat_total": "2.00", "currency": "GBP", "raw_id": None,
    }  # fmt: skip
    doc = got["documents"][0]
    assert (doc["ref"], doc["status"], doc["level"], doc["gross_total"]) == (
        "SO-2", "wrong_amount", "broken", "9.50",
    )  # fmt: skip
    assert [(t["ref"], t["status"], t["pos_amount"]) for t in got["tenders"]] == [
        ("Card", "unmapped", "10.00")  # no tender mappings imported
    ]
    assert [(p["ref"], p["status"]) for p in got["sync_posts"]] == [("sale:5121", "posted")]
    assert (got["refunds"], got["credit_notes"]) == ([], [])


def test_chain_text_is_a_readable_tree(wh: Warehouse, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chain", "5121"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "POS order 5121: broken"
    assert (
        "    SO-2  wrong_amount [broken]  9.50 GBP  the engine's open amount_mismatch on 5121"
        in lines
    )
    assert "  refunds: none" in lines
    assert lines[-2:] == [
        "  exceptions: 1",
        "    b  amount_mismatch (rounding_0.50)  pos_ref 5121 erp_ref SO-2",
    ]


@pytest.mark.parametrize(
    ("argv", "code", "error"),
    [
        (["chain", "nope"], 1, "recon chain: no POS order, ERP document or journal with ID 'nope'"),
        (["chain", " "], 2, "recon chain: give a POS order id or an ERP document number"),
    ],
)
def test_chain_of_an_unknown_or_empty_id_is_one_line(
    wh: Warehouse, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, error: str
) -> None:
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert (out, err.splitlines()) == ("", [error])


def test_chain_without_a_warehouse_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    assert main(["chain", "5120"]) == 2
    assert capsys.readouterr().err.startswith("recon chain: no warehouse at")
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(
    ("argv", "error"),
    [  # argv bytes that are not UTF-8 (b"\xff") arrive as a lone surrogate: a DB driver
        # refused to encode it and the command ended "stopped by UnicodeEncodeError"
        (["chain", "\udcff"], "recon: argument '\\udcff' holds a character that is not UTF-8 "
                              "text (a lone surrogate)"),
        (["exceptions", "--store", "1\udcff"], "recon: argument '1\\udcff' holds a character "
                                               "that is not UTF-8 text (a lone surrogate)"),
        (["chain", "51\x0020"], "recon: argument '51\\x0020' holds a NUL character"),
    ],
)  # fmt: skip
def test_an_argument_that_is_not_text_is_one_line_exit_2(
    wh: Warehouse, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr() == ("", error + "\n")


def test_chain_text_escapes_vendor_control_characters(
    wh: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    wh.document("D3", "SO-3\x1b[2J\nFAKE: ok", "5121", gross="10.00")
    assert main(["chain", "5121"]) == 0
    out = capsys.readouterr().out
    assert "    SO-3\\x1b[2J\\nFAKE: ok  duplicate [broken]  10.00 GBP" in out
    assert "\x1b" not in out and "\nFAKE" not in out
