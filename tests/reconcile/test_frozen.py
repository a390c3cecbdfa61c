"""The bench snapshot with planted breaks gives exactly the frozen (pre-rework) result,
from frames and from a snapshot directory, and a scoped run equals the full run's scope."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from recon.reconcile import Findings, reconcile
from recon.snapshot import read_snapshot, write_table
from tests.reconcile._frozen import AS_OF, DATA, FRAMES, SCOPES, snapshot


@pytest.fixture(scope="module")
def snap_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("frozen")
    for name, lf in snapshot().items():
        write_table(directory, name, lf.collect())
    return directory


@pytest.fixture(scope="module")
def full(snap_dir: Path) -> Findings:
    return reconcile(read_snapshot(snap_dir), as_of=AS_OF)


def _in_scope(frame: pl.DataFrame, day: date | None, store: str | None) -> pl.DataFrame:
    if day is not None:
        frame = frame.filter(pl.col("business_day").is_null() | (pl.col("business_day") == day))
    if store is not None:
        frame = frame.filter(pl.col("store").is_null() | (pl.col("store") == store))
    return frame


def test_frames_give_the_frozen_result() -> None:
    got = reconcile(snapshot(), as_of=AS_OF)
    for name in FRAMES:
        assert_frame_equal(getattr(got, name), pl.read_parquet(DATA / f"frozen_{name}.parquet"))


def test_snapshot_directory_gives_the_frozen_result(full: Findings) -> None:
    for name in FRAMES:
        assert_frame_equal(getattr(full, name), pl.read_parquet(DATA / f"frozen_{name}.parquet"))


@pytest.mark.parametrize(("day", "store"), SCOPES)
def test_scoped_run_is_the_full_run_in_scope(
    snap_dir: Path, full: Findings, day: date | None, store: str | None
) -> None:
    scoped = reconcile(read_snapshot(snap_dir), as_of=AS_OF, day=day, store=store)
    for name in FRAMES:
        got, want = getattr(scoped, name), _in_scope(getattr(full, name), day, store)
        if name == "exceptions":  # global findings: only those the scope's orders touch
            is_global = pl.col("business_day").is_null()  # e.g. unknown SKU, unmapped store
            assert set(got.filter(is_global)["id"]) <= set(want.filter(is_global)["id"])
            got, want = got.filter(is_global.not_()), want.filter(is_global.not_())
        assert_frame_equal(got, want)


def _same_hash(column: str) -> list[pl.Expr]:
    return [pl.lit(0, dtype=pl.UInt64).alias("_h1"), pl.lit(0, dtype=pl.UInt64).alias("_h2")]


@pytest.mark.parametrize(
    ("target", "stand_in"),
    [
        ("recon.reconcile._documents._shares_hashes", lambda hits: True),  # document links
        ("recon.reconcile._prepare.id_hashes", _same_hash),  # payments and receipts to orders
    ],
)
def test_the_exact_joins_for_shared_hashes_give_the_same_result(
    monkeypatch: pytest.MonkeyPatch, target: str, stand_in: object
) -> None:
    monkeypatch.setattr(target, stand_in)
    got = reconcile(snapshot(), as_of=AS_OF)
    for name in FRAMES:
        assert_frame_equal(getattr(got, name), pl.read_parquet(DATA / f"frozen_{name}.parquet"))
