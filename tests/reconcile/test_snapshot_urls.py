"""`recon reconcile --snapshot URL`: a snapshot at an fsspec URL, flat or partitioned, in one
process and on a Dask cluster, with its exceptions written beside it (issue 19)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import polars as pl
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from recon.cli.main import main
from recon.snapshot.partitioned import write_partitioned
from tests.reconcile._build import Snap

SEEN = ["first_seen", "last_seen"]


def _snap() -> Snap:
    # Order 5 of store 2 posted at store 1's location (a wrong-store document whose receipt
    # has no location), and an orphan document.
    snap = Snap().sale("4", store="1").sale("5", store="2", posted=False)
    return snap.doc("D5", "5", location="WH1").receipt("5", "1220", "12.00").doc("X", None)


def _write_flat(snap: Snap, root: str) -> None:
    fs, path = fsspec.core.url_to_fs(root)
    for name, lf in snap.tables().items():
        with fs.open(f"{path}/{name}.parquet", "wb") as out:
            lf.collect().write_parquet(out)


def _read(url: str) -> pl.DataFrame:
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as file:
        return pl.read_parquet(file)


@pytest.fixture
def memory_root() -> Iterator[str]:
    root = f"memory://snap-{uuid.uuid4().hex[:8]}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pl.DataFrame:
    """The exceptions of a plain run on a local flat snapshot directory."""
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RECON_DASK_SCHEDULER", raising=False)
    local = tmp_path / "local"
    local.mkdir()
    _write_flat(_snap(), str(local))
    assert main(["reconcile", "--snapshot", str(local)]) == 0
    found = pl.read_parquet(local / "exceptions.parquet").drop(SEEN)
    assert found.select("kind").to_series().sort().to_list() == ["missing_in_pos", "store_mismatch"]
    return found


@pytest.mark.parametrize("layout", ["flat", "partitioned"])
@pytest.mark.parametrize("scheduler", [None, "local"])
def test_a_snapshot_at_a_url_gives_the_local_findings_and_gets_its_exceptions_beside_it(
    one_process: pl.DataFrame,
    memory_root: str,
    layout: str,
    scheduler: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if layout == "flat":
        _write_flat(_snap(), memory_root)
    else:
        write_partitioned(_snap().tables(), memory_root)
    args = ["reconcile", "--snapshot", memory_root]
    args += ["--scheduler", scheduler] if scheduler else []  # local: threads of this process
    capsys.readouterr()
    assert main(args) == 0
    assert f"exceptions written to {memory_root}/exceptions.parquet" in capsys.readouterr().out
    assert _read(f"{memory_root}/exceptions.parquet").drop(SEEN).equals(one_process)
    assert main(args) == 0  # a second run reads the history back from the URL
    again = _read(f"{memory_root}/exceptions.parquet")
    assert again.get_column("status").unique().to_list() == ["persisting"]


def test_a_file_url_reads_as_its_directory(one_process: pl.DataFrame, tmp_path: Path) -> None:
    url = (tmp_path / "local").as_uri()
    assert main(["reconcile", "--snapshot", url]) == 0  # the same directory again
    again = pl.read_parquet(tmp_path / "local/exceptions.parquet").drop(SEEN)
    assert again.get_column("status").unique().to_list() == ["persisting"]
    assert again.drop("status").equals(one_process.drop("status"))


class _Locked(MemoryFileSystem):  # type: ignore[misc]
    """An object store that refuses every request, as one does without credentials."""

    protocol = "locked"

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Access Denied: no credentials in the environment")

    info = ls = exists = isdir = glob = open = _refuse


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nosuchfs://bucket/snap", "Protocol not known: nosuchfs"),
        ("locked://bucket/snap", "PermissionError: Access Denied: no credentials"),
    ],
)
@pytest.mark.parametrize("scheduler", [None, "local"])
def test_an_unreachable_url_is_one_line_and_exit_2(
    url: str,
    says: str,
    scheduler: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fsspec.register_implementation("locked", _Locked, clobber=True)
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    args = ["reconcile", "--snapshot", url] + (["--scheduler", scheduler] if scheduler else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert f"{url}: cannot reach the snapshot" in err
    assert says in err


def test_an_object_store_without_its_package_or_credentials_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # s3fs is not a dependency: without it fsspec says to install it; with it and no
    # credentials, the store refuses. Either way: one line naming the URL, exit 2.
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["reconcile", "--snapshot", "s3://recon-no-such-bucket/snap"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert "s3://recon-no-such-bucket/snap: cannot reach the snapshot" in err, err
