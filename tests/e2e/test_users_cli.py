"""`recon users add|remove|list`: accounts, one-line refusals, and the audit of each change."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from recon.app import auth, queries
from recon.cli.main import main
from tests.app.demo_warehouse import read


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("RECON_USERS", raising=False)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    return tmp_path / "users.toml"


def _users(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(["users", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_change_remove_each_audited(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = "correct horse battery\n"
    local, oidc = ["--password-stdin"], ["--oidc"]
    #   argv                                          stdin  stdout begins
    steps = [
        (["add", "ann", "--role", "finance", *local], pw, "ann (finance): added, role finance"),
        (["add", "Olga@Shop.com", "--role", "ops", *oidc], "", "oidc:olga@shop.com (ops): added"),
        (["add", "ann", "--role", "admin", *local], pw, "ann (admin): role finance -> admin, "
                                                        "password changed"),
        (["list"], "", "ann\tadmin\tpassword\noidc:olga@shop.com\tops\toidc"),
        (["remove", "oidc:olga@shop.com"], "", "removed oidc:olga@shop.com"),
        (["list"], "", "ann\tadmin\tpassword"),
    ]  # fmt: skip
    for argv, stdin, out in steps:
        got = _users(monkeypatch, capsys, *argv, stdin=stdin)
        assert (got[0], got[2]) == (0, ""), argv
        assert got[1].startswith(out), (argv, got[1])
    audit = read(f"sqlite:///{env.parent}/w.db", queries.account_changes)
    assert audit.select("account", "change").rows()[::-1] == [
        ("ann", "added, role finance"),
        ("oidc:olga@shop.com", "added, role ops"),
        ("ann", "role finance -> admin, password changed"),
        ("oidc:olga@shop.com", "removed (was ops)"),
    ]
    assert env.stat().st_mode & 0o777 == 0o600


def test_a_role_change_from_the_cli_ends_the_open_session(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pw = "correct horse battery\n"
    _users(monkeypatch, capsys, "add", "ann", "--role", "admin", "--password-stdin", stdin=pw)
    user = auth.authenticate(env, "ann", pw.strip())
    assert user is not None
    token = auth.sign_token(user.name, user.session, b"k" * 32)
    assert auth.session_user(env, token, b"k" * 32) == auth.User("ann", "admin", 0)
    _users(monkeypatch, capsys, "add", "ann", "--role", "ops", "--password-stdin", stdin=pw)
    assert auth.session_user(env, token, b"k" * 32) is None


LOCAL = ["--role", "ops", "--password-stdin"]


@pytest.mark.parametrize(
    ("argv", "stdin", "line"),
    [
        (["add", "😀", *LOCAL], "x" * 12, "recon users: user name '😀' is not valid"),
        (["add", "a b", "--role", "ops", "--oidc"], "", "recon users: OIDC identity 'a b' must be"),
        (["add", "a b", *LOCAL], "x" * 12, "recon users: user name 'a b' is not valid: use 1-64 "
                                           "letters, digits, '.', '_', '-' or '@'"),
        (["add", "ann", *LOCAL], "a\n", "recon users: the password must have at least 12 "
                                        "characters"),
        (["remove", "zed"], "", "recon users: no account named 'zed'"),
    ],
)  # fmt: skip
def test_refusals_are_one_line_exit_2_and_change_nothing(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    line: str,
) -> None:
    code, out, err = _users(monkeypatch, capsys, *argv, stdin=stdin)
    assert (code, out) == (2, "")
    assert err.startswith(line) and err.count("\n") == 1, err
    assert auth.load_users(env) == {}


def test_a_broken_users_file_is_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_text('[users."ann"\n', encoding="utf-8")
    code, out, err = _users(monkeypatch, capsys, "list")
    assert (code, out) == (2, "")
    assert "users.toml is not a valid users file" in err and err.count("\n") == 1
