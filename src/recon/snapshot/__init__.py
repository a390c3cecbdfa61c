"""The snapshot directory: one Parquet file per table, the engine's input (CONTRACT.md).

This package owns the file schemas and nothing else. The warehouse writes snapshots
through it; the engine reads them through it.
"""

from recon.snapshot.location import SnapshotError
from recon.snapshot.schema import (
    DAY,
    EXCEPTION_FIELDS,
    EXCEPTIONS_SCHEMA,
    INSTANT,
    MONEY,
    QTY,
    RATE,
    TABLES,
    empty_frame,
    read_snapshot,
    scan_table,
    write_table,
)

__all__ = [
    "DAY",
    "EXCEPTIONS_SCHEMA",
    "EXCEPTION_FIELDS",
    "INSTANT",
    "MONEY",
    "QTY",
    "RATE",
    "TABLES",
    "SnapshotError",
    "empty_frame",
    "read_snapshot",
    "scan_table",
    "write_table",
]
