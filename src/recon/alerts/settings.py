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

from recon.config.mappings import MapSettings
from recon.kinds import OWNERS

__all__ = ["OWNERS", "AgeThresholds"]


@dataclass(frozen=True)
class AgeThresholds:
    """How old an open exception must be (since first seen) before its `aged` alert."""

    default: timedelta | None = MapSettings().alert_age_hours  # the one default (24h)
    per_kind: Mapping[str, timedelta | None] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: MapSettings) -> AgeThresholds:
        return cls(settings.alert_age_hours, settings.alert_age_hours_by_kind)

    def of(self, kind: str) -> timedelta | None:
        return self.per_kind.get(kind, self.default)
