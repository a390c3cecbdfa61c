"""What the browser tests share: chromium (required under CI=true), and a dashboard served
over the small scenario's findings (sync, collect and reconcile through `recon.jobs`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from recon.app.auth import add_user
from recon.app.bench import CHROMIUM, serve
from recon.jobs import collect_job, reconcile_job, sync_job
from tests.e2e.harness import world

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is required under CI=true (make browser installs it)")
    pytest.skip(f"{CHROMIUM} not installed")


def launch(pw: Any) -> Any:
    """Debian's chromium, headless, through playwright."""
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


@contextmanager
def small_dashboard(tmp: Path, accounts: dict[str, tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """(base URL, warehouse URL) of a dashboard just started over the small scenario, with
    `accounts` (name -> (role, password)) able to sign in."""
    require_chromium()
    url = f"sqlite:///{tmp / 'recon.db'}"
    with world("small", url, tmp) as w:
        sync_job(w.settings)
        collect_job(w.settings)
        reconcile_job(w.settings)
    users = tmp / "users.toml"
    for name, (role, password) in accounts.items():
        add_user(users, name, role, password)
    with serve(url, tmp, users) as base:
        yield base, url
