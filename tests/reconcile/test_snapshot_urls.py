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


# --- hostile locations (issue 19 review) ------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "error"),
    [  # before: "" read and wrote the working directory, file:// wrote /exceptions.parquet,
        # `recon snapshot s3://` wrote a local directory called s3:
        (["reconcile", "--snapshot", ""],
         "recon reconcile: argument --snapshot: give a directory or a URL (s3://bucket/path)"),
        (["reconcile", "--snapshot", "file://"],
         "recon reconcile: argument --snapshot: 'file://' names no directory: give one after "
         "file://"),
        (["reconcile", "--snapshot", "memory:///"],
         "recon reconcile: argument --snapshot: 'memory:///' names no directory: give one after "
         "memory://"),
        (["snapshot", "s3://"],
         "recon snapshot: argument directory: 's3://' names no directory: give one after s3://"),
        (["snapshot", "--partitioned", "memory://"],
         "recon snapshot: argument directory: 'memory://' names no directory: give one after "
         "memory://"),
        (["whatif", "--tolerance", "0", "--snapshot", " "],
         "recon whatif: argument --snapshot: give a directory or a URL (s3://bucket/path)"),
    ],
)  # fmt: skip
def test_a_location_that_names_no_directory_is_one_line_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    error: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "data"))
    assert main(argv) == 2
    assert capsys.readouterr() == ("", error + "\n")
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere near


def _partitioned(root: Path) -> Path:
    write_partitioned(_snap().tables(), str(root))
    return root


@pytest.mark.parametrize("scheduler", [None, "local"])
def test_a_corrupt_or_missing_file_is_one_line_naming_it_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    scheduler: str | None,
) -> None:
    """Before: 'stopped by ComputeError' (exit 1) for a corrupt table or index file."""
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "data"))
    more = ["--scheduler", scheduler] if scheduler else []
    flat = tmp_path / "flat"
    flat.mkdir()
    _write_flat(_snap(), str(flat))
    (flat / "pos_orders.parquet").write_bytes(b"PAR1 not parquet PAR1")
    assert main(["reconcile", "--snapshot", str(flat), *more]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"recon reconcile: {flat / 'pos_orders.parquet'}: not a readable Parquet")
    assert err.count("\n") == 1

    part = _partitioned(tmp_path / "part")
    (part / "_index" / "named.parquet").write_bytes(b"garbage")
    code = main(["reconcile", "--snapshot", str(part), *more])
    err = capsys.readouterr().err
    if scheduler is None:  # one process does not read the index
        assert (code, err) == (0, "")
    else:
        assert code == 2 and err.count("\n") == 1
        assert err.startswith(
            f"recon reconcile: {part / '_index' / 'named.parquet'}: the partitioned snapshot's "
            "index does not read ("
        )
        assert err.endswith("write it again (recon snapshot DIR --partitioned)\n")


def test_a_directory_that_is_no_snapshot_is_refused_and_gets_no_exceptions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: 'reconcile: no exceptions', exit 0, and an exceptions.parquet left in it."""
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "data"))
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("not a snapshot")
    assert main(["reconcile", "--snapshot", str(home)]) == 2
    assert capsys.readouterr().err == (
        f"recon reconcile: {home}: not a snapshot directory (none of pos_orders, "
        "erp_documents, erp_journal_lines, pos_stock, erp_stock in it)\n"
    )
    assert [p.name for p in home.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("partitioned", [[], ["--partitioned"]])
def test_a_target_that_cannot_be_a_directory_is_one_line_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    partitioned: list[str],
) -> None:
    """Before: 'stopped by FileExistsError / NotADirectoryError' (exit 1) for a flat one."""
    from tests.app.demo_warehouse import make_warehouse

    wh = make_warehouse(tmp_path)
    monkeypatch.setenv("RECON_WAREHOUSE_URL", wh.url)
    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path / "data"))
    wh.order("1", gross="12.00")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert main(["snapshot", str(a_file), *partitioned]) == 2
    assert capsys.readouterr().err == f"recon snapshot: {a_file}: is a file, not a directory\n"
    assert main(["snapshot", str(a_file / "sub"), *partitioned]) == 2
    err = capsys.readouterr().err
    assert ": cannot reach the snapshot (NotADirectoryError:" in err and err.count("\n") == 1
    assert a_file.read_text() == "x"
