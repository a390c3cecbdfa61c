"""The one environment object: every variable recon reads is a field of `Settings`, so a bad
value is one line naming the variable when the settings load."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.config import ConfigError, Settings, load_settings


def loaded(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[call-arg]


#  variables                                        users file
USERS = [
    ({}, Path("var/users.toml")),
    ({"recon_data_dir": "/srv/recon"}, Path("/srv/recon/users.toml")),
    ({"recon_data_dir": "/srv/recon", "recon_users": "/etc/u.toml"}, Path("/etc/u.toml")),
]  # fmt: skip


@pytest.mark.parametrize(("env", "expected"), USERS)
def test_the_users_file_is_recon_users_else_in_the_data_dir(
    env: dict[str, str], expected: Path
) -> None:
    assert loaded(**env).users_file == expected


#  variable                 value    its value, or the one line refusing it
SCHEDULE = [
    ("RECON_SYNC_MINUTES",    "10",  10),
    ("RECON_STOCK_MINUTES",   " 3 ", 3),
    ("RECON_FULL_SWEEP_HOUR", "OFF", None),
    ("RECON_FULL_SWEEP_HOUR", "0",   0),
    ("RECON_COLLECT_MINUTES", "0",   "RECON_COLLECT_MINUTES='0': give a whole number of minutes"),
    ("RECON_RECONCILE_MINUTES", "1.5",
     "RECON_RECONCILE_MINUTES='1.5': give a whole number of minutes"),
    ("RECON_FULL_SWEEP_HOUR", "24",  "RECON_FULL_SWEEP_HOUR='24': give an hour 0-23, or off"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "expected"), SCHEDULE)
def test_the_scheduler_intervals_are_settings(
    name: str, value: str, expected: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    if isinstance(expected, str):
        with pytest.raises(ConfigError) as caught:
            load_settings()
        assert str(caught.value) == expected
    else:
        assert getattr(load_settings(), name.lower()) == expected


def test_alert_channels_are_settings_and_their_secrets_never_print(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECON_ALERT_WEBHOOK_FINANCE", "https://hooks.example.com/T0KEN")
    monkeypatch.setenv("RECON_ALERT_EMAIL_OPS", "a@example.com, b@example.com")
    settings = load_settings()
    assert (settings.alert_channels("finance"), settings.alert_channels("ops")) == (
        ["webhook"],
        ["email"],
    )
    assert "T0KEN" not in repr(settings) and "T0KEN" not in str(settings.redacted())
    with pytest.raises(ConfigError, match="set RECON_SMTP_HOST"):
        settings.check_alerts()
