"""`recon serve` / `recon demo`: the dashboard listens on this machine only unless told, and
shows visitors no error details."""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import recon.cli.demo
from recon.app import ui
from recon.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _Streamlit:
    """Stands in for the `streamlit run` process: records its command line, exits at once."""

    commands: list[list[str]]

    def __init__(self, cmd: list[str], **_: Any) -> None:
        self.commands.append(cmd)
        self.returncode = 0

    def poll(self) -> int:
        return 0


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[list[str]]]:
    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    commands: list[list[str]] = []
    monkeypatch.setattr(_Streamlit, "commands", commands, raising=False)
    monkeypatch.setattr(recon.cli.demo.subprocess, "Popen", _Streamlit)
    yield commands


def _option(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_serve_listens_on_localhost_and_the_given_port(
    started: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    assert main(["serve", "--port", str(port)]) == 0
    (cmd,) = started
    assert (_option(cmd, "--server.address"), _option(cmd, "--server.port")) == (
        "127.0.0.1",
        str(port),
    )
    assert _option(cmd, "--client.showErrorDetails") == "none"
    assert f"dashboard: http://127.0.0.1:{port} " in capsys.readouterr().out


def test_serve_on_another_address_says_so(
    started: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()
    assert main(["serve", "--address", "0.0.0.0", "--port", str(port)]) == 0
    assert _option(started[0], "--server.address") == "0.0.0.0"
    assert f"dashboard: http://0.0.0.0:{port} " in capsys.readouterr().out


def test_serve_on_a_busy_port_is_one_line(
    started: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--port", str(port)])
    err = capsys.readouterr().err
    assert (code, err.count("\n"), started) == (2, 1, [])
    assert err.startswith(f"recon serve: the dashboard cannot listen on http://127.0.0.1:{port}")


def test_streamlit_run_directly_listens_on_localhost_and_hides_error_details() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"


def test_a_visitor_sees_no_traceback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken() -> None:
        raise OSError(f"cannot read {tmp_path}/users.toml")

    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.setattr(ui, "current_user", broken)
    at = AppTest.from_file(
        str(ROOT / "src" / "recon" / "app" / "main.py"), default_timeout=30
    ).run()
    (shown,) = at.exception
    assert shown.stack_trace == []
    assert str(tmp_path) not in shown.message and "OSError" not in shown.message


def test_demo_on_a_busy_port_stops_before_it_deletes_anything(
    started: list[list[str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    kept = tmp_path / "var" / "demo" / "ground_truth.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["demo", "--scenario", "small", "--port", str(port)])
    err = capsys.readouterr().err
    assert (code, err.count("\n"), started) == (2, 1, [])
    assert err.startswith(f"recon demo: the dashboard cannot listen on http://127.0.0.1:{port}")
    assert kept.read_text() == "{}"


def test_the_dashboard_gets_every_setting_with_absolute_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Started from another directory, the dashboard still finds the warehouse, the data
    directory and every vendor setting the CLI has (re-sync needs Sitoo's)."""
    monkeypatch.chdir(tmp_path)
    settings = recon.cli.demo.load_settings(
        recon_data_dir="var/demo",
        recon_warehouse_url="sqlite:///var/demo/recon.db",
        sitoo_base_url="http://127.0.0.1:9/sitoo",
        sitoo_api_password="s3cret",
    )
    env = recon.cli.demo.dashboard_env(settings)
    assert env["RECON_DATA_DIR"] == str(tmp_path / "var/demo")
    assert env["RECON_WAREHOUSE_URL"] == f"sqlite:///{tmp_path}/var/demo/recon.db"
    assert env["SITOO_BASE_URL"] == "http://127.0.0.1:9/sitoo"
    assert env["SITOO_API_PASSWORD"] == "s3cret"
    assert "NETSUITE_TOKEN" not in env  # unset stays unset


def test_demo_settings_are_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = recon.cli.demo.demo_settings({"SITOO_BASE_URL": "http://127.0.0.1:9"})
    assert settings.recon_data_dir == tmp_path / "var/demo"
    assert settings.warehouse_url == f"sqlite:///{tmp_path}/var/demo/recon.db"
