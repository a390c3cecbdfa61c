"""The `recon` command line: exit codes, one-line errors, output formats, snapshot mode."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import recon.cli.main as cli_main
from recon.cli.main import main
from recon.config.settings import REQUIRED
from recon.snapshot import EXCEPTION_FIELDS
from recon.warehouse.db import newest_revision, open_warehouse
from recon.warehouse.exceptions import read_exceptions
from recon.warehouse.runs import record_run
from tests.e2e.harness import world
from tests.warehouse.test_warehouse import at_revision

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


ROOT = Path(__file__).resolve().parents[2]
VENDOR_PREFIXES = ("RECON_", "SITOO_", "SAGE200_", "NETSUITE_", "SAPB1_")


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
        (["simulate", "sitoo", "--port", "70000"], "'70000' is not a TCP port (0-65535)"),
    ]
    for argv, names in cases:
        code, _, err = _run(capsys, *argv)
        assert (code, err.count("\n")) == (2, 1), (argv, err)
        assert names in err


def test_a_schema_behind_is_one_line_naming_db_upgrade_which_brings_it_up(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/w.db"
    at_revision(url, "0005")
    (tmp_path / "m.toml").write_text(MAPPINGS)
    for argv in (
        ["exceptions"],
        ["reconcile"],
        ["mappings", "import", str(tmp_path / "m.toml")],
        ["serve", "--port", "0"],
    ):
        code, out, err = _run(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert err.endswith(": run `recon db upgrade`\n") and err.count("\n") == 1, (argv, err)
        assert err.startswith(f"recon {argv[0]}: the warehouse schema is behind (revision 0005")
    newest = newest_revision()
    assert _run(capsys, "db", "upgrade") == (
        0,
        f"warehouse schema at revision {newest}: upgraded from 0005\n",
        "",
    )
    assert (
        _run(capsys, "db", "upgrade")[1] == f"warehouse schema at revision {newest}: up to date\n"
    )
    assert _run(capsys, "exceptions")[0] == 0


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
        engine = open_warehouse(f"sqlite:///{tmp_path}/w.db").engine
        before = read_exceptions(engine).sort("id")
        code, out, _ = _run(capsys, "reconcile", "--snapshot", str(snap))
        assert code == 0
        written = pl.read_parquet(snap / "exceptions.parquet")
        assert written.columns == list(EXCEPTION_FIELDS)
        assert sorted(written["id"]) == sorted(before["id"])
        assert read_exceptions(engine).sort("id").equals(before)


# ----------------------------------------------------------------- faults and bad input
def _one_line(code: int, err: str, expected_code: int) -> None:
    assert (code, err.count("\n")) == (expected_code, 1), err
    assert "Traceback" not in err


def test_unknown_demo_scenario_deletes_nothing(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env.chdir(tmp_path)
    kept = tmp_path / "var" / "demo" / "ground_truth.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    code, _, err = _run(capsys, "demo", "--scenario", "nope", "--no-dashboard")
    _one_line(code, err, 2)
    assert err == (
        "recon demo: --scenario 'nope' is not a scenario: use one of small, demo, clean\n"
    )
    assert kept.read_text() == "{}"


def test_simulate_on_a_busy_port_is_one_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = _run(capsys, "simulate", "sitoo", "--port", str(port))
    _one_line(code, err, 2)
    assert err == f"recon simulate: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert out == ""


def test_an_unreachable_postgres_warehouse_is_one_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("RECON_WAREHOUSE_URL", "postgresql+psycopg://recon@127.0.0.1:9/recon")
    code, _, err = _run(capsys, "exceptions")
    _one_line(code, err, 2)
    assert err.startswith(
        "recon exceptions: cannot open the warehouse at 127.0.0.1 (check RECON_WAREHOUSE_URL): "
    )


@pytest.mark.parametrize(
    ("erp", "variable", "argv"),
    [
        ("sage200", "SAGE200_BASE_URL", "sync"),
        ("sage200", "SITOO_BASE_URL", "collect"),
        ("netsuite", "NETSUITE_BASE_URL", "sync"),
        ("sapb1", "SAPB1_BASE_URL", "collect"),  # .../b1s/v2: no such service root
    ],
)
def test_a_base_url_that_answers_404_is_configuration(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    erp: str,
    variable: str,
    argv: str,
) -> None:
    with world("small", f"sqlite:///{tmp_path}/w.db", tmp_path, erp=erp) as w:
        env.setenv("RECON_ERP", erp)
        for name in (*REQUIRED["sitoo"], *REQUIRED[erp]):
            value = getattr(w.settings, name)
            secret = getattr(value, "get_secret_value", None)
            env.setenv(name.upper(), str(secret() if secret else value))
        right = getattr(w.settings, variable.lower()).rstrip("/")
        wrong = right[:-1] + "2" if erp == "sapb1" else right + "/wrong"  # a path segment off
        env.setenv(variable, wrong)
        code, _, err = _run(capsys, argv)
    _one_line(code, err, 2)
    assert "(404 on the first call)" in err and f"check {variable} is the root" in err


S = "[settings]\n"
ONE_STORE = '[stores]\n"1" = "WH"\n' + S
MAPPINGS_CASES = [
    # the file's text -> the start of the one line, after the file's name
    ('[tender]\n"Card" = "1"', "unknown section [tender]: use [stores], [tenders], [tax], [settings]"),  # noqa: E501
    ('[stores]\n"1" = { location = "WH", tz = "UTC" }', '[stores] "1" unknown key "tz": use one of location, timezone'),  # noqa: E501
    ('[stores]\n"1" = { location = "WH", timezone = "Mars" }', "[stores] \"1\" timezone 'Mars' is not an IANA"),  # noqa: E501
    ('[tax]\n"20" = { code = "1", acount = "2200" }', '[tax] "20" unknown key "acount": use one of code, account'),  # noqa: E501
    (S + 'posting_mod = "per_order"', '[settings] unknown key "posting_mod": use one of alert_age_hours, '),  # noqa: E501
    (S + 'posting_mode = "weekly"', "[settings] posting_mode = 'weekly': use per_order or daily_journal"),  # noqa: E501
    (ONE_STORE + '"posting_mode.1" = "journal"', "[settings] posting_mode.1 = 'journal': use per_order or"),  # noqa: E501
    (ONE_STORE + '"posting_mode.9" = "per_order"', '[settings] "posting_mode.9": store "9" is not in [stores]'),  # noqa: E501
    (S + 'amount_tolerance = "5p"', "[settings] amount_tolerance = '5p': give an amount (e.g. 0.05) or a"),  # noqa: E501
    (S + 'stock_tolerance = "-1%"', "[settings] stock_tolerance = '-1%': give an amount"),
    (S + "sync_workers = 0", "[settings] sync_workers = 0: give a whole number, 1 or more"),
    (S + "alert_age_hours_missing_in_pso = 4", '[settings] unknown key "alert_age_hours_missing_in_pso"'),  # noqa: E501
    (S + 'alert_age_hours = "soon"', "[settings] alert_age_hours = 'soon': give hours (e.g. 24, at most 87600) or off"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("text", "names"), MAPPINGS_CASES)
def test_a_mappings_file_nothing_would_read_is_refused_before_the_warehouse_exists(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str,
    names: str,
) -> None:
    (tmp_path / "m.toml").write_text(text + "\n")
    code, _, err = _run(capsys, "mappings", "import", str(tmp_path / "m.toml"))
    _one_line(code, err, 2)
    assert err.startswith(f"recon mappings: {tmp_path / 'm.toml'}: {names}"), err
    assert not (tmp_path / "w.db").exists()


def test_every_known_setting_imports(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "m.toml").write_text(
        MAPPINGS
        + "[settings]\n"
        + 'posting_mode = "per_order"\n"posting_mode.1" = "daily_journal"\n'
        + 'guest_customer = "CASH01"\nwriteoff_reasons = "DAMAGED,FAULTY"\n'
        + 'writeoff_location = "9"\namount_tolerance = 0.05\nvat_rounding_max = "0.02"\n'
        + 'tender_tolerance = "0.5%"\nstock_tolerance = "1%"\nstock_buffer = 2\n'
        + 'sync_workers = 8\nprice_list = 1\nerp_currency = "GBP"\nsales_nominal = "4000"\n'
        + 'sales_account = "4000"\nalert_age_hours = "off"\nalert_age_hours_stock_variance = 48\n'
    )
    code, out, err = _run(capsys, "mappings", "import", str(tmp_path / "m.toml"))
    assert (code, err) == (0, "")
    assert "map_settings=17" in out  # the 17 keys above


def test_sync_without_configuration_leaves_the_directory_untouched(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)}
    env["PYTHONPATH"] = f"{ROOT / 'src'}:{ROOT}"
    done = subprocess.run(
        [sys.executable, "-m", "recon.cli.main", "sync"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr.count("\n")) == (2, 1), done.stderr
    assert "no mappings in the warehouse" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unexpected_error_is_one_line_exit_1(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError("disk on fire\nsecond line")

    env.setitem(cli_main.COMMANDS, "exceptions", broken)
    code, _, err = _run(capsys, "exceptions")
    _one_line(code, err, 1)
    assert err == (
        "recon exceptions: stopped by RuntimeError: disk on fire second line "
        "(run with -v for details)\n"
    )


def test_a_reader_that_stops_reading_is_no_error(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def piped_to_head(args: object) -> int:  # `recon exceptions | head -1`
        raise BrokenPipeError(32, "Broken pipe")

    env.setitem(cli_main.COMMANDS, "exceptions", piped_to_head)
    code, _, err = _run(capsys, "exceptions")
    assert (code, err) == (0, "")


def test_reconcile_beside_a_running_collect_is_refused_in_one_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    engine = open_warehouse(f"sqlite:///{tmp_path}/w.db").engine
    with record_run(engine, "collect") as collect:  # this process, alive: under way
        code, _, err = _run(capsys, "reconcile")
    _one_line(code, err, 1)
    assert err == (
        f"recon reconcile: a collect is under way (run {collect.id}): reconcile once it has "
        "finished\n"
    )
    assert not (tmp_path / "snapshot").exists()  # it read nothing


def test_a_vendor_page_over_the_cap_stops_the_collect_in_one_line(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with world("demo", f"sqlite:///{tmp_path}/w.db", tmp_path) as w:
        _settings_env(env, w.settings)
        env.setenv("RECON_MAX_RESPONSE_MB", "0.25")  # a page of the demo's orders is over 256 KB
        code, _, err = _run(capsys, "collect")
    _one_line(code, err, 1)
    assert err.startswith(f"recon collect: Sitoo answered {w.settings.sitoo_base_url}/v2/")
    assert "with a body over 0.25 MB (as sent); stopped reading it" in err


@pytest.mark.parametrize(
    ("tolerance", "kinds"),
    [
        (None, ["amount_mismatch"]),  # default amount_tolerance 0: 0.03 apart is a finding
        ("0.05", []),  # the snapshot's [settings] tolerance is read by the run
    ],
)
def test_reconcile_reads_the_tolerances_of_the_snapshots_settings(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    tolerance: str | None,
    kinds: list[str],
) -> None:
    from recon.snapshot import write_table
    from tests.reconcile._build import Snap

    snap = (
        Snap().sale("1", "12.00").sale("2", "12.00").order("3", "12.00").pay("3", "Card", "12.00")
    )
    snap.line("3", "SKU-3", "1", "12.00").doc("D3", "3", "12.03").receipt("3", "1220", "12.00")
    if tolerance is not None:
        snap.setting("amount_tolerance", tolerance)
    for name, frame in snap.tables().items():
        write_table(tmp_path, name, frame.collect())
    code, _, _ = _run(capsys, "reconcile", "--snapshot", str(tmp_path))
    assert code == 0
    found = pl.read_parquet(tmp_path / "exceptions.parquet")
    assert found.filter(pl.col("pos_ref") == "3")["kind"].to_list() == kinds
