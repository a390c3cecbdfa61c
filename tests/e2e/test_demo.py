"""`recon demo --no-dashboard` finds exactly the breaks its scenario planted, on every ERP.

The README promises the planted breaks, each once, whichever ERP the demo runs against: the
demo's own ground truth (`var/demo/ground_truth.json`) must equal what `recon exceptions`
then prints. The `small` scenario plants every kind the demo's does, in far fewer orders.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.cli.main import main
from tests.e2e.harness import matches


@pytest.mark.parametrize("erp", ["sage200", "netsuite", "sapb1"])
def test_demo_finds_exactly_its_ground_truth(
    erp: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # the demo works under ./var/demo
    monkeypatch.setenv("RECON_USERS", str(tmp_path / "users.toml"))  # restored afterwards
    assert main(["demo", "--scenario", "small", "--erp", erp, "--no-dashboard"]) == 0
    demo = tmp_path / "var" / "demo"
    truth = json.loads((demo / "ground_truth.json").read_text(encoding="utf-8"))
    capsys.readouterr()
    monkeypatch.setenv("RECON_WAREHOUSE_URL", f"sqlite:///{demo / 'recon.db'}")
    monkeypatch.setenv("RECON_DATA_DIR", str(demo))
    assert main(["exceptions", "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)

    kinds = {t["kind"] for t in truth}
    assert {"stock_variance", "price_mismatch", "missing_in_erp"} <= kinds
    missed = [t for t in truth if not any(matches(f, t) for f in found)]
    unexpected = [f for f in found if not any(matches(f, t) for t in truth)]
    assert (missed, unexpected) == ([], [])
    assert len(found) == len(truth)
