"""The `recon` command line: exit codes, one-line errors, output formats, snapshot mode."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl
import pytest

from cli.main import main
from snapshot import EXCEPTION_FIELDS
from tests.e2e.harness import world
from warehouse.db import open_warehouse
from warehouse.exceptions import read_exceptions

VENDOR_VARS = (
    "SITOO_BASE_URL",
    "SITOO_ACCOUNT_ID",
    "SITOO_SITE_ID",
    "SITOO_API_ID",
    "SITOO_API_PASSWORD",
    "SAGE200_BASE_URL",
    "SAGE200_TOKEN",
    "SAGE200_SUBSCRIPTION_KEY",
    "SAGE200_SITE_ID",
    "SAGE200_COMPANY_ID",
    "RECON_MAPPINGS",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in VENDOR_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    return monkeypatch


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _settings_env(monkeypatch: pytest.MonkeyPatch, settings: object) -> None:
    for name in VENDOR_VARS[:-1]:
        value = getattr(settings, name.lower())
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        monkeypatch.setenv(name, str(value))


MAPPINGS = '[stores]\n"1" = "WH-LON"\n[tenders]\n"Card" = "1220"\n'


def test_usage_errors_are_one_line_exit_2(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    #  argv                                        -> the line names
    cases = [
        (["reconcile", "--day", "yesterday"], "'yesterday' is not a day"),
        (["exceptions", "--format", "xml"], "invalid choice: 'xml'"),
        (["mappings", "import"], "name the mappings file"),
        (["sync"], "no mappings in the warehouse"),
    ]
    for argv, names in cases:
        code, _, err = _run(capsys, *argv)
        assert (code, err.count("\n")) == (2, 1), (argv, err)
        assert names in err


def test_missing_credentials_name_the_variable(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "m.toml").write_text(MAPPINGS)
    assert _run(capsys, "mappings", "import", str(tmp_path / "m.toml"))[0] == 0
    code, _, err = _run(capsys, "sync")
    assert code == 2
    assert err == "recon sync: set SITOO_BASE_URL (needed to reach sitoo)\n"


def test_bad_mappings_file_says_where(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "m.toml").write_text('[tax]\n"20" = "1"\n')
    code, _, err = _run(capsys, "mappings", "import", str(tmp_path / "m.toml"))
    assert code == 2
    assert err.strip().endswith('m.toml: [tax] "20" needs { code = ..., account = ... }')


def test_unreachable_host_and_wrong_password_exit_2_without_secrets(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with world("small", f"sqlite:///{tmp_path}/w.db", tmp_path) as w:
        _settings_env(env, w.settings)
        env.setenv("SITOO_API_PASSWORD", "not-the-password")
        code, _, err = _run(capsys, "collect")
        assert code == 2 and err.count("\n") == 1
        assert "SITOO_API_ID" in err and "not-the-password" not in err

        _settings_env(env, w.settings)
        env.setenv("SAGE200_BASE_URL", "http://127.0.0.1:9/uk/sage200extra/accounts/v1")
        code, _, err = _run(capsys, "sync")
        assert code == 2 and err.count("\n") == 1
        assert "127.0.0.1:9" in err


def test_whole_path_from_the_command_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with world("small", f"sqlite:///{tmp_path}/w.db", tmp_path) as w:
        _settings_env(env, w.settings)
        for argv in (["sync"], ["collect"], ["reconcile"]):
            code, out, err = _run(capsys, *argv)
            assert (code, err) == (0, ""), argv
        code, out, _ = _run(capsys, "exceptions", "--format", "json")
        records = json.loads(out)
        assert code == 0 and len(records) == len(w.scenario.truth)
        assert list(records[0]) == list(EXCEPTION_FIELDS)

        code, out, _ = _run(capsys, "exceptions", "--format", "csv", "--kind", "missing_in_erp")
        rows = list(csv.DictReader(io.StringIO(out)))
        assert {r["kind"] for r in rows} == {"missing_in_erp"}
        assert len(rows) == sum(1 for t in w.scenario.truth if t["kind"] == "missing_in_erp")

        # Snapshot mode reads a directory, writes exceptions beside it, leaves the warehouse alone.
        snap = tmp_path / "snap"
        assert _run(capsys, "snapshot", str(snap))[0] == 0
        engine = open_warehouse(f"sqlite:///{tmp_path}/w.db")
        before = read_exceptions(engine).sort("id")
        code, out, _ = _run(capsys, "reconcile", "--snapshot", str(snap))
        assert code == 0
        written = pl.read_parquet(snap / "exceptions.parquet")
        assert written.columns == list(EXCEPTION_FIELDS)
        assert sorted(written["id"]) == sorted(before["id"])
        assert read_exceptions(engine).sort("id").equals(before)
