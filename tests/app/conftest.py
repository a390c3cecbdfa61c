from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.apptest import SECRET
from tests.app.demo_warehouse import Warehouse, make_warehouse


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    warehouse = make_warehouse(tmp_path)
    yield warehouse
    warehouse.engine.dispose()


@pytest.fixture
def data(wh: Warehouse, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Warehouse:
    """The dashboard's settings pointed at `wh`, a users file and the page tests' secret."""
    monkeypatch.setenv("RECON_WAREHOUSE_URL", wh.url)
    monkeypatch.setenv("RECON_USERS", str(tmp_path / "users.toml"))
    monkeypatch.setenv("RECON_SESSION_SECRET", SECRET.decode())
    return wh


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Sign-in failures are counted per process: every test starts with none."""
    from recon.app import auth

    auth.ACCOUNT_THROTTLE.clear()
    auth.CLIENT_THROTTLE.clear()
    yield
    auth.ACCOUNT_THROTTLE.clear()
    auth.CLIENT_THROTTLE.clear()
