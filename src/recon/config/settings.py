"""Environment settings (CONTRACT.md "Configuration").

Variables come from the environment, then `.env`, then `.streamlit/secrets.toml`.
Secrets are `SecretStr` so they never print; `redacted()` is what logs and the
dashboard may show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from recon.config.errors import ConfigError
from recon.kinds import OWNERS

ErpName = Literal["sage200", "netsuite", "sapb1"]

# The most one vendor response may be, as sent and once decompressed (RECON_MAX_RESPONSE_MB).
DEFAULT_MAX_RESPONSE_MB = 256

# Which variables each vendor needs before a client can be built.
REQUIRED: dict[str, tuple[str, ...]] = {
    "sitoo": (
        "sitoo_base_url",
        "sitoo_account_id",
        "sitoo_site_id",
        "sitoo_api_id",
        "sitoo_api_password",
    ),
    "sage200": (
        "sage200_base_url",
        "sage200_token",
        "sage200_subscription_key",
        "sage200_site_id",
        "sage200_company_id",
    ),
    "netsuite": ("netsuite_base_url", "netsuite_token"),
    "sapb1": ("sapb1_base_url", "sapb1_company_db", "sapb1_user", "sapb1_password"),
}


def _whole_minutes(value: object) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError("give a whole number of minutes")
    return int(text)


def _hour_or_off(value: object) -> int | None:
    text = "" if value is None else str(value).strip().lower()
    if text == "off":
        return None
    if not text.isdigit() or int(text) > 23:
        raise ValueError("give an hour 0-23, or off")
    return int(text)


Minutes = Annotated[int, BeforeValidator(_whole_minutes)]
HourOrOff = Annotated[int | None, BeforeValidator(_hour_or_off)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, populate_by_name=True
    )

    recon_warehouse_url: str | None = None
    recon_data_dir: Path = Path("var")
    recon_erp: ErpName = "sage200"
    recon_timezone: str = "Europe/London"
    recon_mappings: Path | None = None
    recon_session_secret: SecretStr | None = None  # signs dashboard sign-in cookies
    recon_users: Path | None = None  # the dashboard's accounts file (see `users_file`)
    recon_max_response_mb: float = Field(default=DEFAULT_MAX_RESPONSE_MB, gt=0)
    # `recon reconcile` runs its comparisons on this Dask scheduler (tcp://host:8786, or
    # local:N for N worker processes here); unset: in this process
    recon_dask_scheduler: str | None = None

    # `recon scheduler`: the pipeline ticks (and syncs) every RECON_SYNC_MINUTES, collects and
    # reconciles when their minutes have passed, sweeps fully once a day after the hour (local)
    recon_sync_minutes: Minutes = 5
    recon_collect_minutes: Minutes = 15
    recon_reconcile_minutes: Minutes = 30
    recon_stock_minutes: Minutes = 15
    recon_full_sweep_hour: HourOrOff = 2

    # alerts: a webhook URL (its own secret) and/or e-mail addresses per owner, the SMTP server
    recon_alert_webhook_finance: SecretStr | None = None
    recon_alert_webhook_ops: SecretStr | None = None
    recon_alert_email_finance: str | None = None
    recon_alert_email_ops: str | None = None
    recon_smtp_host: str | None = None
    recon_smtp_port: int = 25
    recon_smtp_from: str = "recon@localhost"

    sitoo_base_url: str | None = None
    sitoo_account_id: str | None = None
    sitoo_site_id: str | None = None
    sitoo_api_id: str | None = None
    sitoo_api_password: SecretStr | None = None

    sage200_base_url: str | None = None
    sage200_token: SecretStr | None = None
    sage200_subscription_key: SecretStr | None = None
    sage200_site_id: str | None = None
    sage200_company_id: str | None = None

    netsuite_base_url: str | None = None
    netsuite_token: SecretStr | None = None

    sapb1_base_url: str | None = None
    sapb1_company_db: str | None = None
    sapb1_user: str | None = None
    sapb1_password: SecretStr | None = None

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

    @property
    def warehouse_url(self) -> str:
        if self.recon_warehouse_url:
            return self.recon_warehouse_url
        return f"sqlite:///{self.recon_data_dir / 'recon.db'}"

    @property
    def users_file(self) -> Path:
        """The dashboard's accounts: `RECON_USERS`, else `users.toml` in RECON_DATA_DIR."""
        return self.recon_users or self.recon_data_dir / "users.toml"

    def require(self, vendor: str) -> None:
        """Raise ConfigError naming the first missing variable for `vendor`."""
        for name in REQUIRED[vendor]:
            value = getattr(self, name)
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                raise ConfigError(f"set {name.upper()} (needed to reach {vendor})")
            if value == "":
                raise ConfigError(f"set {name.upper()} (needed to reach {vendor})")

    def credentials(self, vendor: str) -> list[str]:
        """`vendor`'s variables in REQUIRED order, secrets unwrapped (the clients' arguments)."""
        self.require(vendor)
        values = [getattr(self, name) for name in REQUIRED[vendor]]
        return [v.get_secret_value() if isinstance(v, SecretStr) else str(v) for v in values]

    def alert_webhook(self, owner: str) -> str | None:
        value: SecretStr | None = getattr(self, f"recon_alert_webhook_{owner}", None)
        url = value.get_secret_value().strip() if value is not None else ""
        return url or None

    def alert_emails(self, owner: str) -> list[str]:
        raw: str | None = getattr(self, f"recon_alert_email_{owner}", None)
        return [a.strip() for a in (raw or "").split(",") if a.strip()]

    def alert_channels(self, owner: str) -> list[str]:
        """The channels configured for `owner`: `webhook`, `email`, both or none."""
        out = []
        if self.alert_webhook(owner):
            out.append("webhook")
        if self.alert_emails(owner):
            out.append("email")
        return out

    @property
    def alerts_configured(self) -> bool:
        return any(self.alert_channels(owner) for owner in OWNERS)

    def check_alerts(self) -> None:
        """Raise ConfigError naming what to set when e-mail is asked for without a server."""
        if any(self.alert_emails(o) for o in OWNERS) and not self.recon_smtp_host:
            raise ConfigError("set RECON_SMTP_HOST (needed to send RECON_ALERT_EMAIL_* alerts)")

    def redacted(self) -> dict[str, str | None]:
        """Every setting as text, secrets replaced by '***'."""
        out: dict[str, str | None] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name.upper()] = "***"
            else:
                out[name.upper()] = None if value is None else str(value)
        return out


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad value becomes one ConfigError line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]).upper()
        if first["type"] == "value_error":  # our own rule: VARIABLE='value': what to give
            raise ConfigError(f"{where}={first['input']!r}: {first['ctx']['error']}") from None
        raise ConfigError(f"{where}: {first['msg']}") from None
