"""Wire helpers shared by the simulators: money rounding, JSON with Decimals, UTC stamps.

Pure functions only; must not know about any vendor's routes or state.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.responses import Response

CENT = Decimal("0.01")
MILLI = Decimal("0.001")

__all__ = [
    "CENT",
    "MILLI",
    "Clock",
    "dumps",
    "epoch",
    "fmt2",
    "fmt3",
    "json_response",
    "round2",
    "sage_date",
    "sage_instant",
]


def round2(value: Decimal) -> Decimal:
    """Round half up to two places (the rounding both vendors use for money)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt2(value: Decimal) -> str:
    """Sitoo money: a string with exactly two decimals."""
    return str(round2(value))


def fmt3(value: Decimal) -> str:
    """Sitoo decimal (stock, unit quantities): a string with exactly three decimals."""
    return str(value.quantize(MILLI, rounding=ROUND_HALF_UP))


def epoch(instant: datetime) -> int:
    """Sitoo date: whole seconds since the Unix epoch."""
    return int(instant.astimezone(UTC).timestamp())


def sage_instant(instant: datetime) -> str:
    """Sage `date_time_created/updated`: UTC, milliseconds, trailing Z."""
    utc = instant.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def sage_date(day: date) -> str:
    """Sage document / transaction dates: a date-time with a meaningless midnight time."""
    return f"{day.isoformat()}T00:00:00"


# Decimals leave the C encoder as marked strings and lose their quotes afterwards: a whole
# page of orders is encoded at C speed (a Python walk of it cost the Sitoo simulator most of
# its CPU in recon.collectors.bench). No simulator sends text holding the NUL-led mark.
_DECIMAL_MARK = "\x00decimal:"
_MARKED_DECIMAL = re.compile(r'"\\u0000decimal:([^"]*)"')
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=lambda v: _plain(v))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _DECIMAL_MARK + format(value, "f")
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """JSON text in which Decimals are written as exact JSON numbers."""
    return _MARKED_DECIMAL.sub(r"\1", _ENCODER.encode(value))


def json_response(
    value: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        dumps(value), status_code=status_code, media_type="application/json", headers=headers
    )


class Clock:
    """Strictly increasing UTC instants (ms steps), so every write gets a later stamp."""

    def __init__(self) -> None:
        self._last = datetime(1970, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            wall = datetime.now(UTC)
            current = wall.replace(microsecond=(wall.microsecond // 1000) * 1000)
            if current <= self._last:
                current = self._last + timedelta(milliseconds=1)
            self._last = current
            return current
