"""Column types that keep money exact on every backend.

PostgreSQL stores NUMERIC; SQLite has no decimal type, so the same column is TEXT
there (never REAL), and both read back as `Decimal`. Instants are stored as naive
UTC and read back as aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return self.bind_column([value], dialect)[0]

    def bind_column(self, values: Sequence[Any], dialect: Dialect) -> list[Any]:
        """`process_bind_param` over a whole column in one pass (bulk writers)."""
        q = self._quantum
        if dialect.name == "sqlite":
            return [
                None
                if v is None
                else str((v if isinstance(v, Decimal) else Decimal(str(v))).quantize(q))
                for v in values
            ]
        return [
            None if v is None else (v if isinstance(v, Decimal) else Decimal(str(v))).quantize(q)
            for v in values
        ]

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value)).quantize(self._quantum)


def Money() -> ExactDecimal:
    return ExactDecimal(18, 2)


def Qty() -> ExactDecimal:
    return ExactDecimal(18, 3)


def Rate() -> ExactDecimal:
    return ExactDecimal(5, 2)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant = datetime.fromisoformat(value) if isinstance(value, str) else value
        assert isinstance(instant, datetime)
        return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)
