"""Session tokens: what a cookie must carry for a reload to stay signed in, and no more."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon.app.auth import SESSION_SECONDS, session_secret, sign_token, verify_token

SECRET = b"k" * 32
NOW = 1_780_000_000.0


def test_a_token_names_its_user_until_it_expires() -> None:
    token = sign_token("ann", 3, SECRET, now=NOW)
    #       seconds after signing            name and session version it carries
    for later, expected in [
        (0, ("ann", 3)),
        (SESSION_SECONDS - 1, ("ann", 3)),
        (SESSION_SECONDS, None),  # expired
        (SESSION_SECONDS * 10, None),
    ]:
        assert verify_token(token, SECRET, now=NOW + later) == expected


def test_an_altered_token_names_nobody() -> None:
    token = sign_token("ann", 0, SECRET, now=NOW)
    name, session, expires, signature = token.split(".")
    bob = sign_token("bob", 0, SECRET, now=NOW).split(".")[0]
    for bad in [
        f"{bob}.{session}.{expires}.{signature}",  # another name under ann's signature
        f"{name}.{session}.{int(expires) + 86400}.{signature}",  # a later expiry
        f"{name}.1.{expires}.{signature}",  # a later session version
        f"{name}.{session}.{expires}.{signature[:-2]}AA",  # another signature
        f"{name}.{session}.{expires}.é{signature[1:]}",  # a signature that is not even ASCII
        f"{name}.{session}.{expires}",  # no signature
        "",
        "....",
    ]:
        assert verify_token(bad, SECRET, now=NOW) is None, bad
    assert verify_token(token, b"another secret" * 3, now=NOW) is None


@given(st.text(min_size=1, max_size=40), st.integers(min_value=0, max_value=10**6))
def test_any_name_round_trips(name: str, session: int) -> None:
    assert verify_token(sign_token(name, session, SECRET, now=NOW), SECRET, now=NOW) == (
        name,
        session,
    )


@given(st.text(max_size=80))
def test_no_text_but_a_signed_token_names_anyone(text: str) -> None:
    assert verify_token(text, SECRET, now=NOW) is None


def test_the_secret_is_the_setting_else_one_kept_in_the_data_dir(tmp_path: Path) -> None:
    assert session_secret("from-settings", tmp_path) == b"from-settings"
    assert not (tmp_path / "session.key").exists()
    made = session_secret(None, tmp_path / "data")
    assert len(made) == 64 and session_secret(None, tmp_path / "data") == made  # kept
    assert (tmp_path / "data" / "session.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("token", ["a.b.c.d", "a.b.c.d.e", "x" * 4000])
def test_malformed_tokens_are_refused_without_an_error(token: str) -> None:
    assert verify_token(token, SECRET) is None
