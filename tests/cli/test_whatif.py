"""`recon whatif`: findings left per money tolerance, by kind, from a snapshot directory or
the warehouse; JSON and text, rows in the order given, one line and exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.cli.main import main
from recon.kinds import KINDS
from recon.snapshot import write_table
from tests.app.demo_warehouse import make_warehouse
from tests.reconcile._build import Snap
from tests.reconcile.test_whatif import breaks
from tests.warehouse.test_warehouse import at_revision


def _write(snap: Snap, directory: Path) -> Path:
    for name, lf in snap.tables().items():
        write_table(directory, name, lf.collect())
    return directory


@pytest.fixture
def snap_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "data"))
    return _write(breaks(), tmp_path / "snap")


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["whatif", *args, "--format", "json"]) == 0
    rows: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return rows


def test_json_one_row_per_tolerance_in_the_order_given(
    snap_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--snapshot", str(snap_dir)]
    rows = _json(capsys, *args, "--tolerance", "1%", "--tolerance", "0", "--tolerance", "0.05")
    #        tolerance  total  amount_mismatch  tender_variance  (tests/reconcile/test_whatif.py)
    want = [("1%", 3, 0, 1), ("0", 6, 3, 2), ("0.05", 5, 1, 2)]
    got = []
    for row in rows:
        by_kind = row["by_kind"]
        assert isinstance(by_kind, dict)
        assert list(by_kind) == [k.name for k in KINDS]  # every kind, zeros included
        assert row["total"] == sum(by_kind.values())
        got.append(
            (row["tolerance"], row["total"], by_kind["amount_mismatch"], by_kind["tender_variance"])
        )
    assert got == want


def test_text_is_a_table_in_the_order_given_then_the_configured_counts(
    snap_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["whatif", "--snapshot", str(snap_dir), "--tolerance", "5", "--tolerance", "0"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "tolerance",
        "amount_mismatch",
        "vat_rounding",
        "tender_variance",
        "other",
        "kinds",
        "total",
    ]
    #                       tol  amount  vat  tender  other  total
    assert lines[1].split() == ["5", "0", "1", "1", "1", "3"]
    assert lines[2].split() == ["0", "3", "0", "2", "1", "6"]
    assert lines[3] == (
        "now, as configured (amount_tolerance 0.00, tender_tolerance 0.00): 6 findings"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tolerance", "abc"], "argument --tolerance: 'abc' is not an amount or a percentage"),
        (["--tolerance", "-1"], "argument --tolerance: '-1' is not an amount"),
        (["--tolerance", "0.05", "--tolerance", "5%%"], "'5%%' is not an amount"),
        ([], "the following arguments are required: --tolerance"),
    ],
)
def test_bad_tolerance_is_one_line_exit_2(
    snap_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["whatif", "--snapshot", str(snap_dir), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_snapshot_directory_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["whatif", "--snapshot", str(tmp_path / "nope"), "--tolerance", "0"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"recon whatif: {tmp_path / 'nope'}: snapshot directory not found"
    )


# --- from the warehouse ---------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_from_the_warehouse_exports_it_and_leaves_no_files(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wh = make_warehouse(env)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", wh.url)
    #          order  gross      document  gross
    wh.order("1", gross="12.00")
    wh.document("D1", "SO1", "1", gross="12.03")
    rows = _json(capsys, "--tolerance", "0", "--tolerance", "0.03")
    amount = [r["by_kind"]["amount_mismatch"] for r in rows]  # type: ignore[index]
    assert amount == [1, 0]
    assert list((env / "data").iterdir()) == []  # the export's directory is gone


def test_an_empty_warehouse_counts_zero(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RECON_WAREHOUSE_URL", make_warehouse(env).url)
    assert [r["total"] for r in _json(capsys, "--tolerance", "0")] == [0]


def test_no_warehouse_or_a_schema_behind_is_one_line_exit_2(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{env / 'wh.db'}"
    monkeypatch.setenv("RECON_WAREHOUSE_URL", url)
    assert main(["whatif", "--tolerance", "0"]) == 2
    assert "no warehouse at" in capsys.readouterr().err
    at_revision(url, "0005")
    assert main(["whatif", "--tolerance", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("recon whatif: the warehouse schema is behind (revision 0005")
    assert err.endswith("run `recon db upgrade`") and "\n" not in err


def test_a_polars_panic_is_one_line_exit_1_not_a_traceback(
    snap_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Rust panic is a BaseException (pyo3's PanicException): `1e-999` once reached one."""
    import polars as pl

    import recon.jobs

    def panics(*args: object, **kwargs: object) -> None:
        raise pl.exceptions.PanicException("scale must be less than or equal to precision")

    monkeypatch.setattr(recon.jobs, "whatif_job", panics)
    assert main(["whatif", "--snapshot", str(snap_dir), "--tolerance", "0"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "recon whatif: stopped by PanicException: scale must be less than or equal to "
        "precision (run with -v for details)"
    ]


@pytest.mark.parametrize("text", ["1e-999", "1e999", "NaN", "inf", "1_000", "\u0663", "-0"])
def test_a_tolerance_not_in_plain_notation_is_one_line_exit_2(
    snap_dir: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    assert main(["whatif", "--snapshot", str(snap_dir), "--tolerance", text]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"recon whatif: argument --tolerance: {text!r} is not an amount or a percentage "
        "such as 0.05 or 0.5%"
    ]
