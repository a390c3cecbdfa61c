"""The engine on a Dask LocalCluster gives the findings of one process (issue 19)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from distributed import Client, LocalCluster
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.reconcile import Findings, reconcile
from recon.reconcile.distributed import partitioned_root, reconcile_distributed
from recon.snapshot import read_snapshot
from recon.snapshot.partitioned import read_index, stores, write_partitioned
from tests.reconcile._build import LATER, Snap, found, later
from tests.reconcile.test_properties import Order, build, orders

PROFILE = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _on_cluster(snap: Snap, client: Client, root: Path) -> Findings:
    write_partitioned(snap.tables(), root)
    return reconcile_distributed(root, client, as_of=None)


def _same(one: Findings, many: Findings) -> None:
    assert many.exceptions.equals(one.exceptions)
    for name in ("takings", "waterfall"):
        a, b = getattr(one, name), getattr(many, name)
        keys = [c for c in a.columns if c not in ("amount", "variance")]
        assert b.sort(keys, nulls_last=True).equals(a.sort(keys, nulls_last=True)), name


def test_wrong_store_document_and_location_less_receipt_meet_their_order(
    client: Client, tmp_path: Path
) -> None:
    # Order 5 of store 2 is posted at store 1's location; its receipt names it, no location.
    snap = Snap().sale("4", store="1").sale("5", store="2", posted=False)
    snap.doc("D5", "5", location="WH1").receipt("5", "1220", "12.00")
    many = _on_cluster(snap, client, tmp_path)
    assert found(many, "store", "pos_ref") == {("store_mismatch", "wrong_location", "2", "5")}
    assert many.takings.filter(pl.col("store") == "2").get_column("erp_amount").to_list() == [
        Decimal("12.00")
    ]
    _same(reconcile(snap.tables()), many)


def test_unmapped_tender_money_is_summed_over_the_stores(client: Client, tmp_path: Path) -> None:
    snap = Snap().sale("1", "5.00", store="1", tenders=(("Voucher", "5.00"),))
    snap.sale("2", "7.00", store="2", tenders=(("Voucher", "7.00"),))
    many = _on_cluster(snap, client, tmp_path)
    tender = many.exceptions.filter(pl.col("kind") == "unmapped_tender")
    assert tender.select("tender", "pos_value").rows() == [("Voucher", Decimal("12.000"))]
    _same(reconcile(snap.tables()), many)


def test_partitioned_layout_reads_back_as_the_flat_one(tmp_path: Path) -> None:
    snap = Snap().sale("1", store="1").sale("2", store="2").doc("X", None, location=None)
    write_partitioned(snap.tables(), tmp_path / "p")
    assert stores(tmp_path / "p") == ["1", "2", "__none__"]
    assert (tmp_path / "p/pos_orders/store_id=2").is_dir()
    back = read_snapshot(tmp_path / "p")
    for name, lf in snap.tables().items():
        want = lf.collect()
        got = back[name].collect()
        assert got.sort(got.columns).equals(want.sort(want.columns)), name
    url = (tmp_path / "p").as_uri()  # file://: the fsspec path workers use for s3:// etc.
    assert read_snapshot(url)["pos_orders"].collect().height == 2


def test_the_index_names_what_crosses_partitions_and_who_holds_it(tmp_path: Path) -> None:
    # Order 5 of store 2 has its document at store 1's location (and a location-less receipt,
    # which goes with the order); document X names order 77, which no store has.
    snap = Snap().sale("4", store="1").sale("5", store="2", posted=False)
    snap.doc("D5", "5", location="WH1").receipt("5", "1220", "12.00").doc("X", "77", location=None)
    write_partitioned(snap.tables(), tmp_path)
    index = read_index(tmp_path)
    assert index["named"].rows() == [("1", "5"), ("__none__", "77")]
    assert index["holders"].rows() == [
        ("5", "2", 0),  # its order
        ("5", "1", 3),  # a document carrying it
        ("77", "__none__", 3),
    ]
    assert index["latest"].get_column("store").to_list() == ["1", "2"]


def test_a_partitioned_snapshot_without_its_index_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from recon.cli.main import main

    write_partitioned(Snap().sale("1", store="1").tables(), tmp_path)
    (tmp_path / "_index" / "named.parquet").unlink()
    assert main(["reconcile", "--snapshot", str(tmp_path), "--scheduler", "local"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "partitioned snapshot without its index" in err
    assert "recon snapshot DIR --partitioned" in err


def test_flat_snapshot_is_partitioned_once_beside_its_files(tmp_path: Path) -> None:
    snap = Snap().sale("1", store="1")
    for name, lf in snap.tables().items():
        lf.collect().write_parquet(tmp_path / f"{name}.parquet")
    root = partitioned_root(tmp_path)
    assert root == tmp_path / "partitioned"
    assert stores(root) == ["1"]  # its location-less receipt goes with the order it names


_BREAKS = (
    "drop_doc",
    "wrong_store",
    "duplicate_elsewhere",
    "orphan_nowhere",
    "orphan_credit_of_other_store",
    "stray_receipt",
    "unmapped_tender",
    "repeated_order_id",
)


@PROFILE
@given(orders(), st.lists(st.sampled_from(_BREAKS), max_size=4), st.data())
def test_cluster_findings_equal_one_process(
    client: Client, rows: list[Order], breaks: list[str], data: st.DataObject
) -> None:
    posted = {o.order_id for o in rows if data.draw(st.booleans())}
    snap = build(rows, posted=posted, journal=data.draw(st.sampled_from([frozenset(), {"2"}])))
    for n, brk in enumerate(breaks):
        o = data.draw(st.sampled_from(rows))
        other = "WH1" if o.store == "2" else "WH2"
        if brk == "drop_doc":
            snap.rows["erp_documents"] = [
                r for r in snap.rows["erp_documents"] if r["pos_ref"] != o.order_id
            ]
        elif brk == "wrong_store":
            snap.doc(f"W{n}", o.order_id, location=other, posting_date=later(o.day))
        elif brk == "duplicate_elsewhere":
            snap.doc(f"W{n}", o.order_id, location=other, posting_date=later(o.day + 1))
        elif brk == "orphan_nowhere":
            snap.doc(f"X{n}", None, location=None).receipt(None, "1220", "1.00")
        elif brk == "orphan_credit_of_other_store":
            ref = f"9{n}"
            snap.doc(f"C{n}", ref, "-3.00", doc_type="credit_note", location=None, original="100")
            snap.receipt(ref, "1210", "-3.00")
        elif brk == "stray_receipt":
            snap.receipt(None, "1220", "0.50", location=other, posting_date=later(o.day))
        elif brk == "unmapped_tender":
            snap.pay(o.order_id, "Voucher", "1.00", no=9)
        else:  # the same order id again in the other store, later
            snap.order(o.order_id, store="1" if o.store == "2" else "2", day=later(o.day + 1))
    as_of = data.draw(st.sampled_from([None, LATER]))
    tasks = data.draw(st.sampled_from([None, 1, 2]))  # a task per store, or stores grouped
    with tempfile.TemporaryDirectory() as tmp:
        write_partitioned(snap.tables(), Path(tmp))
        many = reconcile_distributed(Path(tmp), client, as_of=as_of, tasks=tasks)
    _same(reconcile(snap.tables(), as_of=as_of), many)


def _flat(snap: Snap, directory: Path) -> Path:
    directory.mkdir()
    for name, lf in snap.tables().items():
        lf.collect().write_parquet(directory / f"{name}.parquet")
    return directory


def test_recon_reconcile_on_a_scheduler_writes_the_one_process_exceptions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from recon.cli.main import main

    monkeypatch.setenv("RECON_DATA_DIR", str(tmp_path))
    snap = Snap().sale("4", store="1").sale("5", store="2", posted=False)
    snap.doc("D5", "5", location="WH1").receipt("5", "1220", "12.00").doc("X", None)
    one, many = _flat(snap, tmp_path / "one"), _flat(snap, tmp_path / "many")
    assert main(["reconcile", "--snapshot", str(one)]) == 0
    monkeypatch.setenv("RECON_DASK_SCHEDULER", "local")  # threads of this process
    assert main(["reconcile", "--snapshot", str(many)]) == 0
    seen = ["first_seen", "last_seen"]
    a = pl.read_parquet(one / "exceptions.parquet").drop(seen)
    b = pl.read_parquet(many / "exceptions.parquet").drop(seen)
    assert a.height == 2
    assert b.equals(a)
    capsys.readouterr()
    assert main(["reconcile", "--snapshot", str(many), "--scheduler", "nowhere"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "dask scheduler 'nowhere': cannot connect" in err
