"""Where a snapshot lives: a local directory or an fsspec URL (s3://, gs://, abfs://, file://,
memory://).

Listing, reading and writing go through fsspec; Polars reads the files it lists itself where
it has its own reader for the scheme (its cloud readers take their credentials from the
environment, as fsspec's do), else through the file objects fsspec opens. A URL whose
filesystem package is not installed, or that the filesystem refuses (no credentials, no
such bucket), is a `SnapshotError` naming the URL and the cause in one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import fsspec

__all__ = [
    "SnapshotError",
    "Where",
    "exists",
    "files",
    "is_dir",
    "is_url",
    "join",
    "listdir",
    "makedirs",
    "open_read",
    "open_write",
    "readable",
    "remove",
    "where",
]

Where = str | Path

# Schemes Polars reads itself (object_store); any other fsspec scheme is read through fsspec.
_POLARS_READS = frozenset(
    {"file", "s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss", "adl", "http", "https"}
)


class SnapshotError(Exception):
    """A snapshot file that does not fit the CONTRACT, or a snapshot location that cannot be
    reached: names the file (or URL) and the cause."""


def where(text: str) -> Where:
    """A snapshot location as typed: a URL stays text, anything else is a path. ValueError
    for one that names no directory: empty (it read and wrote the working directory) or a
    URL with nothing after its scheme (`file://` wrote to `/`, `s3://` to a local `s3:`)."""
    if not text.strip():
        raise ValueError("give a directory or a URL (s3://bucket/path)")
    if "://" not in text:
        return Path(text)
    scheme, rest = text.split("://", 1)
    if not scheme or not rest.strip("/"):
        raise ValueError(f"{text!r} names no directory: give one after {scheme}://")
    return text


def is_url(where: Where) -> bool:
    return isinstance(where, str) and "://" in where


def join(where: Where, *parts: str) -> Where:
    if is_url(where):
        return "/".join([str(where).rstrip("/"), *parts])
    return Path(where).joinpath(*parts)


@contextmanager
def _reaching(where: Where) -> Iterator[None]:
    """Whatever the URL's filesystem raises (a package not installed, credentials missing,
    access refused: each filesystem has its own exception types) as one SnapshotError."""
    try:
        yield
    except SnapshotError:
        raise
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        cause = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
        raise SnapshotError(f"{where}: cannot reach the snapshot ({cause})") from None


def _fs(where: Where) -> tuple[Any, str]:
    with _reaching(where):
        return fsspec.core.url_to_fs(str(where))  # type: ignore[no-any-return]


def exists(where: Where) -> bool:
    if is_url(where):
        fs, path = _fs(where)
        with _reaching(where):
            return bool(fs.exists(path))
    return Path(where).exists()


def is_dir(where: Where) -> bool:
    if is_url(where):
        fs, path = _fs(where)
        with _reaching(where):
            return bool(fs.isdir(path))
    return Path(where).is_dir()


def listdir(folder: Where) -> list[str]:
    """The names of the entries of `folder`."""
    if is_url(folder):
        fs, path = _fs(folder)
        with _reaching(folder):
            found = fs.ls(path, detail=False)
        return [str(p).rstrip("/").rsplit("/", 1)[-1] for p in found]
    return [p.name for p in Path(folder).iterdir()]


def files(folder: Where) -> list[str]:
    """Every Parquet file under `folder` (any depth), sorted, as URLs or paths."""
    if is_url(folder):
        fs, path = _fs(folder)
        with _reaching(folder):
            found = fs.glob(f"{path.rstrip('/')}/**/*.parquet")
        return sorted(str(fs.unstrip_protocol(p)) for p in found)
    return sorted(str(p) for p in Path(folder).rglob("*.parquet"))


def readable(paths: list[str]) -> list[str] | list[IO[bytes]]:
    """`paths` as Polars' scan_parquet takes them: as they are where Polars reads the scheme
    itself, else as fsspec file objects (opened lazily: only the bytes read are fetched)."""
    if not any(is_url(p) and p.split("://", 1)[0] not in _POLARS_READS for p in paths):
        return paths
    return [open_read(p) for p in paths]


def open_read(where: Where) -> IO[bytes]:
    """A binary file to read at `where`."""
    if not is_url(where):
        return open(where, "rb")
    fs, path = _fs(where)
    with _reaching(where):
        out: IO[bytes] = fs.open(path, "rb")
    return out


def makedirs(where: Where) -> None:
    if is_url(where):
        fs, path = _fs(where)
        with _reaching(where):
            fs.makedirs(path, exist_ok=True)
    else:
        with _reaching(where):  # not writable, under a file: one line, not a traceback
            Path(where).mkdir(parents=True, exist_ok=True)


def remove(where: Where) -> None:
    """Delete the file or folder (with what it holds) at `where`, if there is one."""
    if not exists(where):
        return
    fs, path = _fs(where)
    with _reaching(where):
        fs.rm(path, recursive=True)


def open_write(where: Where) -> IO[bytes]:
    """A binary file to write at `where` (its directory made first)."""
    fs, path = _fs(where)
    with _reaching(where):
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        out: IO[bytes] = fs.open(path, "wb")
    return out
