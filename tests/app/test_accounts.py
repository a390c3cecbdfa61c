"""Accounts: names, passwords, the users file, sessions that end, sign-in throttling, OIDC."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.app import auth, queries
from recon.app.auth import AuthError, TooManyAttempts, User
from tests.app.demo_warehouse import Warehouse
from tests.app.users import cheap_hash, write_users

SECRET = b"s" * 32
NOW = 1_780_000_000.0


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "oidc", "stored"),
    [
        ("ann", False, "ann"),
        ("  ann  ", False, "ann"),
        ("Zoë.o-brien_2@shop", False, "Zoë.o-brien_2@shop"),
        ("Zoe\u0308", False, "Zoë"),  # NFC: one account, however the letters were typed
        ("李小龍", False, "李小龍"),
        ("a" * 64, False, "a" * 64),
        ("a" * 65, False, None),
        ("", False, None),
        ("ann smith", False, None),
        ("o'brien", False, None),
        ("😀", False, None),  # the emoji that broke every sign-in
        ("oidc:ann", False, None),  # a local name can never look like an OIDC identity
        ("Ann@Example.com", True, "oidc:ann@example.com"),
        ("oidc:ann@example.com", True, "oidc:ann@example.com"),
        ("auth0|5f1c", True, "oidc:auth0|5f1c"),
        ("", True, None),
        ("oidc:", True, None),  # the prefix alone names nobody
        ("a b", True, None),
    ],
)
def test_account_names(name: str, oidc: bool, stored: str | None) -> None:
    if stored is None:
        with pytest.raises(AuthError, match=r"must be|not valid"):
            auth.account_name(name, oidc=oidc)
    else:
        assert auth.account_name(name, oidc=oidc) == stored


@given(st.text(max_size=70))
@settings(max_examples=200)
def test_no_local_name_can_equal_an_oidc_identity(text: str) -> None:
    try:
        name = auth.account_name(text)
    except AuthError:
        return
    assert ":" not in name and 1 <= len(name) <= 64


@pytest.mark.parametrize(
    ("claims", "identity"),
    [
        ({"sub": "248289", "email": "ann@x.com", "email_verified": True}, "oidc:ann@x.com"),
        ({"sub": "248289", "email": "Ann@X.com", "email_verified": "true"}, "oidc:ann@x.com"),
        ({"sub": "248289", "email": "ann@x.com", "email_verified": False}, "oidc:248289"),
        ({"sub": "248289", "email": "ann@x.com"}, "oidc:248289"),  # unverified e-mail
        ({"name": "admin", "email": "admin"}, None),  # a display name is no identity
        ({"name": "admin"}, None),
        ({}, None),
    ],
)
def test_oidc_identity_is_the_sub_or_a_verified_email(
    claims: dict[str, Any], identity: str | None
) -> None:
    assert auth.oidc_identity(claims) == identity


def test_an_oidc_display_name_never_gets_a_local_admins_role(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    write_users(path, {"admin": {"role": "admin", "password": cheap_hash("x" * 12)}})
    identity = auth.oidc_identity({"sub": "admin", "name": "admin", "email": "admin"})
    assert identity == "oidc:admin"
    assert auth.role_of(path, identity) is None


# --- passwords --------------------------------------------------------------------------


def test_passwords_are_scrypt_at_owasps_parameters() -> None:
    stored = auth.hash_password("correct horse battery")
    assert stored.startswith("scrypt$131072$8$1$")  # N=2^17, r=8, p=1
    assert auth.verify_password("correct horse battery", stored)
    assert not auth.verify_password("correct horse batterY", stored)
    assert auth.verify_password("old password", cheap_hash("old password"))  # still verifies


@pytest.mark.parametrize(
    ("password", "refused"),
    [("a", True), ("x" * 11, True), ("x" * 12, False), ("x" * 1025, True)],
)
def test_a_password_needs_twelve_characters(tmp_path: Path, password: str, refused: bool) -> None:
    path = tmp_path / "users.toml"
    if refused:
        with pytest.raises(AuthError, match="characters"):
            auth.add_user(path, "ann", "finance", password)
        assert auth.load_users(path) == {}
    else:
        auth.add_user(path, "ann", "finance", password)
        assert auth.load_users(path)["ann"].role == "finance"


def test_an_old_hash_is_remade_at_the_next_sign_in(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    write_users(path, {"ann": {"role": "ops", "password": cheap_hash("correct horse")}})
    assert auth.authenticate(path, "ann", "correct horse", now=NOW) == User("ann", "ops", 0)
    stored = auth.load_users(path)["ann"].password
    assert stored is not None and stored.startswith("scrypt$131072$8$1$")
    assert auth.verify_password("correct horse", stored)


# --- the users file ---------------------------------------------------------------------


def _oidc_account(text: str) -> str | None:
    try:
        return auth.account_name(text, oidc=True)
    except AuthError:
        return None


@given(
    st.dictionaries(
        # any identity the provider could give (the refused ones are test_account_names')
        st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20).filter(
            lambda t: _oidc_account(t) is not None
        ),
        st.sampled_from(auth.ROLES),
        min_size=1,
        max_size=4,
    ).filter(lambda d: len({_oidc_account(i) for i in d}) == len(d))  # one account each
)
@settings(max_examples=40, deadline=None)
def test_any_oidc_identity_round_trips_through_the_users_file(roles: dict[str, str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "users.toml"
        for identity, role in roles.items():
            auth.add_user(path, identity, role, None)
        tomllib.loads(path.read_text(encoding="utf-8"))  # valid TOML, whatever the names
        expected = {auth.account_name(i, oidc=True): r for i, r in roles.items()}
        assert {n: a.role for n, a in auth.load_users(path).items()} == expected


def test_files_are_owner_only_from_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_chmod(*_: object, **__: object) -> None:
        raise AssertionError("chmod after creation: the file was readable until then")

    monkeypatch.setattr(os, "chmod", no_chmod)
    old_umask = os.umask(0)  # the most open the process could make them
    try:
        auth.add_user(tmp_path / "users.toml", "ann", "ops", None)
        auth.session_secret(None, tmp_path)
    finally:
        os.umask(old_umask)
    for name in ("users.toml", "session.key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".users.toml.lock",
        "session.key",
        "users.toml",
    ]  # no temporary file left behind


def test_a_broken_users_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[users."ann"\nrole = "ops"\n', encoding="utf-8")
    with pytest.raises(AuthError, match=r"users.toml is not a valid users file .*fix or remove"):
        auth.load_users(path)


def test_an_older_files_oidc_entries_keep_their_role_under_the_prefix(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    write_users(path, {"ann@x.com": {"role": "finance"}})  # no password: OIDC, old style
    assert auth.role_of(path, "oidc:ann@x.com") == "finance"
    assert auth.role_of(path, "ann@x.com") is None


# --- sessions ---------------------------------------------------------------------------

PW = "correct horse"


def _ann(path: Path, role: str = "finance") -> str:
    """ann with a password, session 0; her token as issued at sign-in."""
    write_users(path, {"ann": {"role": role, "password": cheap_hash(PW), "session": 0}})
    return auth.sign_token("ann", 0, SECRET, now=NOW)


@pytest.mark.parametrize(
    ("change", "after"),
    [
        (lambda p: None, User("ann", "finance", 0)),
        (lambda p: auth.end_sessions(p, "ann"), None),  # sign-out, in any tab
        (lambda p: auth.add_user(p, "ann", "ops", "another password"), None),  # role change
        (lambda p: auth.add_user(p, "ann", "finance", "another password"), None),  # password
        (lambda p: auth.remove_user(p, "ann"), None),
        (lambda p: auth.end_sessions(p, "bob"), User("ann", "finance", 0)),  # someone else
    ],
    ids=["nothing", "sign-out", "role", "password", "removed", "other-user"],
)
def test_what_ends_a_session(tmp_path: Path, change: Any, after: User | None) -> None:
    path = tmp_path / "users.toml"
    token = _ann(path)
    change(path)
    assert auth.session_user(path, token, SECRET, now=NOW) == after


def test_the_role_is_read_on_every_check_never_from_the_token(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    token = _ann(path, "admin")
    assert auth.session_user(path, token, SECRET, now=NOW) == User("ann", "admin", 0)
    _ann(path, "ops")  # a hand edit of the file, without a session bump
    assert auth.session_user(path, token, SECRET, now=NOW) == User("ann", "ops", 0)
    later = NOW + auth.SESSION_SECONDS
    assert auth.session_user(path, token, SECRET, now=later) is None  # expired


def test_an_oidc_account_has_no_local_session(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    auth.add_user(path, "ann@x.com", "admin", None)
    token = auth.sign_token("oidc:ann@x.com", 0, SECRET, now=NOW)
    assert auth.session_user(path, token, SECRET, now=NOW) is None


# --- sign-in throttling ------------------------------------------------------------------


def test_throttle_waits_after_five_failures_doubling_to_fifteen_minutes() -> None:
    throttle = auth.Throttle(free=5)
    waits = []
    for n in range(12):
        throttle.failed("ann", NOW + n)
        waits.append(throttle.wait("ann", NOW + n))
    #        failures: 1  2  3  4  5    6    7     8     9    10   11   12
    assert waits == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900]
    throttle.succeeded("ann")
    assert throttle.wait("ann", NOW) == 0


def test_wrong_passwords_lock_the_name_without_checking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "users.toml"
    _ann(path)
    for attempt in range(5):
        assert auth.authenticate(path, "ann", f"guess {attempt}", now=NOW + attempt) is None

    checked: list[str] = []
    monkeypatch.setattr(auth, "verify_password", lambda pw, _: checked.append(pw) or True)
    with pytest.raises(TooManyAttempts, match=r"try again in 29 s\."):
        auth.authenticate(path, "ann", PW, now=NOW + 5)  # the right one, but too soon
    assert checked == []  # refused before any scrypt work
    monkeypatch.undo()
    assert auth.authenticate(path, "ann", PW, now=NOW + 35) == User("ann", "finance", 0)
    assert auth.authenticate(path, "ann", "wrong again", now=NOW + 36) is None  # count reset


def test_a_client_is_throttled_across_names(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    names = [f"u{i}" for i in range(5)]
    write_users(path, {n: {"role": "ops", "password": cheap_hash(PW)} for n in names})
    for i in range(20):  # 4 tries on each of 5 names: no name is locked
        assert auth.authenticate(path, names[i % 5], "guess", client="10.0.0.9", now=NOW) is None
    with pytest.raises(TooManyAttempts):
        auth.authenticate(path, "u0", PW, client="10.0.0.9", now=NOW + 1)
    assert auth.authenticate(path, "u0", PW, client="10.0.0.7", now=NOW + 1) is not None


# --- the audit of account changes --------------------------------------------------------


def test_account_changes_are_audited_and_never_show_a_password(
    wh: Warehouse, tmp_path: Path
) -> None:
    path = tmp_path / "users.toml"
    write_users(path, {"ann": {"role": "finance", "password": cheap_hash(PW)}})
    audit = {"engine": wh.engine, "actor": "root", "source": "cli"}
    assert auth.add_user(path, "olga", "ops", "olga's password", **audit) == "added, role ops"
    assert auth.add_user(path, "olga", "admin", "olga's new one!", **audit) == (
        "role ops -> admin, password changed"
    )
    assert auth.add_user(path, "ann@x.com", "finance", None, **audit) == "added, role finance"
    auth.remove_user(path, "ann", **audit)
    frame = wh.read(queries.account_changes)
    assert frame.select("actor", "source", "account", "change").rows()[::-1] == [
        ("root", "cli", "olga", "added, role ops"),
        ("root", "cli", "olga", "role ops -> admin, password changed"),
        ("root", "cli", "oidc:ann@x.com", "added, role finance"),
        ("root", "cli", "ann", "removed (was finance)"),
    ]
    assert not any("scrypt" in str(v) or "password'" in str(v) for v in frame.rows())


def test_a_failed_write_records_no_change(
    wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "users.toml"

    def full_disk(*_: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(auth, "_write_private", full_disk)
    with pytest.raises(OSError, match="No space"):
        auth.add_user(path, "ann@x.com", "ops", None, engine=wh.engine, actor="root")
    assert wh.read(queries.account_changes).is_empty()
    assert auth.load_users(path) == {}


def test_removing_an_unknown_account_says_so(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="no account named 'zed'"):
        auth.remove_user(tmp_path / "users.toml", "zed")


def test_a_session_key_made_meanwhile_by_another_server_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "session.key").write_text("the other server's key\n", encoding="utf-8")
    monkeypatch.setattr(Path, "exists", lambda self: False)  # it looked before the other made it
    assert auth.session_secret(None, tmp_path) == b"the other server's key"
    assert [p.name for p in tmp_path.iterdir()] == ["session.key"]


def test_an_unreadable_users_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.mkdir()  # not a file at all
    with pytest.raises(AuthError, match=r"cannot read the users file .*users.toml: Is a dir"):
        auth.load_users(path)
