"""Where a snapshot lives: a local directory or an fsspec URL (s3://, gs://, abfs://, file://).

Listing and writing go through fsspec; Polars reads the files it lists (with its own cloud
readers, which take their credentials from the environment, as fsspec's do).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import fsspec

__all__ = ["Where", "exists", "files", "is_dir", "is_url", "join", "makedirs", "open_write"]

Where = str | Path


def is_url(where: Where) -> bool:
    return isinstance(where, str) and "://" in where


def join(where: Where, *parts: str) -> Where:
    if is_url(where):
        return "/".join([str(where).rstrip("/"), *parts])
    return Path(where).joinpath(*parts)


def exists(where: Where) -> bool:
    if is_url(where):
        fs, path = fsspec.core.url_to_fs(str(where))
        return bool(fs.exists(path))
    return Path(where).exists()


def is_dir(where: Where) -> bool:
    if is_url(where):
        fs, path = fsspec.core.url_to_fs(str(where))
        return bool(fs.isdir(path))
    return Path(where).is_dir()


def files(folder: Where) -> list[str]:
    """Every Parquet file under `folder` (any depth), sorted, as Polars can read them."""
    if is_url(folder):
        fs, path = fsspec.core.url_to_fs(str(folder))
        found = fs.glob(f"{path.rstrip('/')}/**/*.parquet")
        return sorted(str(fs.unstrip_protocol(p)) for p in found)
    return sorted(str(p) for p in Path(folder).rglob("*.parquet"))


def makedirs(where: Where) -> None:
    if is_url(where):
        fs, path = fsspec.core.url_to_fs(str(where))
        fs.makedirs(path, exist_ok=True)
    else:
        Path(where).mkdir(parents=True, exist_ok=True)


def open_write(where: Where) -> IO[bytes]:
    """A binary file to write at `where` (its directory made first)."""
    fs, path = fsspec.core.url_to_fs(str(where))
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    out: IO[bytes] = fs.open(path, "wb")
    return out
