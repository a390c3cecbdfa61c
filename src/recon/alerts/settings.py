"""Where alerts go and when an exception counts as ageing.

Channels come from the environment (also `.env` / `.streamlit/secrets.toml`, like
`recon.config.Settings`): a webhook URL and/or e-mail addresses per owner, and the SMTP server.
Webhook URLs carry their own secret (Slack, Teams), so they are `SecretStr` and never
printed. Age thresholds per kind come from the mappings' `[settings]` (imported into the
warehouse): `alert_age_hours` for every kind (default 24) and `alert_age_hours_<kind>` for
one kind; `off` turns ageing alerts off. Reads only; sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from recon.config import ConfigError
from recon.kinds import OWNERS

__all__ = ["OWNERS", "AgeThresholds", "AlertSettings", "load_alert_settings"]

DEFAULT_AGE_HOURS = 24.0


class AlertSettings(BaseSettings):
    """RECON_ALERT_* and RECON_SMTP_* variables."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, populate_by_name=True
    )

    recon_alert_webhook_finance: SecretStr | None = None
    recon_alert_webhook_ops: SecretStr | None = None
    recon_alert_email_finance: str | None = None
    recon_alert_email_ops: str | None = None
    recon_smtp_host: str | None = None
    recon_smtp_port: int = 25
    recon_smtp_from: str = "recon@localhost"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        secrets_toml = TomlConfigSettingsSource(settings_cls, Path(".streamlit/secrets.toml"))
        return (init_settings, env_settings, dotenv_settings, secrets_toml)

    def webhook(self, owner: str) -> str | None:
        value: SecretStr | None = getattr(self, f"recon_alert_webhook_{owner}", None)
        url = value.get_secret_value().strip() if value is not None else ""
        return url or None

    def emails(self, owner: str) -> list[str]:
        raw: str | None = getattr(self, f"recon_alert_email_{owner}", None)
        return [a.strip() for a in (raw or "").split(",") if a.strip()]

    def channels(self, owner: str) -> list[str]:
        """The channels configured for `owner`: `webhook`, `email`, both or none."""
        out = []
        if self.webhook(owner):
            out.append("webhook")
        if self.emails(owner):
            out.append("email")
        return out

    @property
    def configured(self) -> bool:
        return any(self.channels(owner) for owner in OWNERS)

    def check(self) -> None:
        """Raise ConfigError naming what to set when e-mail is asked for without a server."""
        if any(self.emails(o) for o in OWNERS) and not self.recon_smtp_host:
            raise ConfigError("set RECON_SMTP_HOST (needed to send RECON_ALERT_EMAIL_* alerts)")


def load_alert_settings(**overrides: object) -> AlertSettings:
    """Alert settings from the environment; a bad value becomes one ConfigError line."""
    try:
        return AlertSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(f"{where}: {first['msg']}") from None


def _hours(key: str, raw: str) -> timedelta | None:
    text = raw.strip().lower()
    if text == "off":
        return None
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not 0 <= hours < 1e6:
        raise ConfigError(f"mappings [settings] {key} = {raw!r}: give hours (e.g. 24) or off")
    return timedelta(hours=hours)


@dataclass(frozen=True)
class AgeThresholds:
    """How old an open exception must be (since first seen) before its `aged` alert."""

    default: timedelta | None = timedelta(hours=DEFAULT_AGE_HOURS)
    per_kind: Mapping[str, timedelta | None] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> AgeThresholds:
        default: timedelta | None = timedelta(hours=DEFAULT_AGE_HOURS)
        per_kind: dict[str, timedelta | None] = {}
        for key, value in settings.items():
            if key == "alert_age_hours":
                default = _hours(key, value)
            elif key.startswith("alert_age_hours_"):
                per_kind[key.removeprefix("alert_age_hours_")] = _hours(key, value)
        return cls(default, per_kind)

    def of(self, kind: str) -> timedelta | None:
        return self.per_kind.get(kind, self.default)
