"""When an exception counts as ageing.

Where alerts go (a webhook URL and/or e-mail addresses per owner, the SMTP server) is part of
the one environment `recon.config.Settings` (`alert_channels`, `check_alerts`). Age
thresholds per kind come from the mappings' `[settings]` (imported into the warehouse):
`alert_age_hours` for every kind (default 24) and `alert_age_hours_<kind>` for one kind;
`off` turns ageing alerts off. Reads only; sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from recon.config import ConfigError
from recon.kinds import OWNERS

__all__ = ["OWNERS", "AgeThresholds"]

DEFAULT_AGE_HOURS = 24.0


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
