"""`recon demo` and `recon serve`: the whole product on one machine, and the dashboard alone.

The demo starts the Sitoo and Sage 200 simulators with a seeded scenario, imports the
scenario's mappings into a fresh warehouse under `var/demo/`, runs sync, collect and
reconcile, prints what it found, then serves the dashboard until stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import make_url

import recon.app as app_package
from recon.app.auth import add_user
from recon.config import ConfigError, Settings, load_settings
from recon.config.mappings import load_mappings
from recon.jobs import collect_job, reconcile_job, sync_job, warehouse
from recon.simulators.serve import serve_scenario
from recon.warehouse.db import exists, open_warehouse, upgrade
from recon.warehouse.mappings import import_mappings

DEMO_DIR = Path("var/demo")  # under the directory `recon demo` is run from
LOCALHOST = "127.0.0.1"  # the dashboard's default address: this machine only


def demo_settings(env: dict[str, str]) -> Settings:
    """The demo's settings: the simulators' URLs and credentials, and absolute paths, so the
    dashboard (another process, another working directory) finds the same files."""
    demo_dir = DEMO_DIR.resolve()
    overrides = {k.lower(): v for k, v in env.items()}
    overrides["recon_data_dir"] = str(demo_dir)
    overrides["recon_warehouse_url"] = f"sqlite:///{demo_dir / 'recon.db'}"
    return load_settings(**overrides)


def dashboard_env(settings: Settings) -> dict[str, str]:
    """Every setting the CLI runs with, as the dashboard's environment (secrets included:
    re-sync posts with them), paths made absolute; unset ones are left out."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Path):
            value = value.resolve()
        env[name.upper()] = str(value)
    if settings.recon_warehouse_url:
        env["RECON_WAREHOUSE_URL"] = _absolute_sqlite(settings.recon_warehouse_url)
    return env


def _absolute_sqlite(url: str) -> str:
    """A SQLite URL with a relative path, made absolute (from here); other URLs as given."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return url
    if parsed.database == ":memory:" or Path(parsed.database).is_absolute():
        return url
    return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(
        hide_password=False
    )


def run_demo(
    scenario: str,
    seed: int,
    port: int,
    *,
    erp: str = "sage200",
    dashboard: bool = True,
    address: str = LOCALHOST,
) -> int:
    if dashboard:
        check_listen(address, port)  # before anything is deleted or started
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir(parents=True)
    with ExitStack() as stack:
        served = serve_scenario(stack, scenario, seed, erp)
        (DEMO_DIR / "mappings.toml").write_text(served.mappings_toml, encoding="utf-8")
        truth = json.dumps(served.truth, indent=2, sort_keys=True)
        (DEMO_DIR / "ground_truth.json").write_text(truth, encoding="utf-8")
        settings = demo_settings(served.env)
        erp_url = served.env[f"{erp.upper()}_BASE_URL"]
        print(f"simulators up: Sitoo {settings.sitoo_base_url}, {erp} {erp_url}")
        upgrade(settings.warehouse_url)
        engine = warehouse(settings)
        import_mappings(engine, load_mappings(DEMO_DIR / "mappings.toml"))
        for name, job in (("sync", sync_job), ("collect", collect_job)):
            run = job(settings)
            shown = ", ".join(f"{k}={v}" for k, v in sorted(run.counts.items()) if v)
            print(f"{name}: {shown}")
        merged, _ = reconcile_job(settings)
        open_rows = merged.filter(merged["status"].is_in(["new", "persisting"]))
        print(f"reconcile: {open_rows.height} open exceptions")
        for kind, n in open_rows.group_by("kind").len().sort("kind").rows():
            print(f"  {kind}: {n}")
        demo_users = settings.recon_data_dir / "users.toml"  # never the real RECON_USERS file
        password = secrets.token_urlsafe(12)  # 16 characters
        add_user(demo_users, "demo", "admin", password, engine=engine, source="recon demo")
        os.environ["RECON_USERS"] = str(demo_users)  # serve_dashboard passes it on
        print(f"dashboard login: user demo, password {password} (admin; in {demo_users})")
        if not dashboard:
            return 0
        return serve_dashboard(settings, port=port, address=address)


def check_listen(address: str, port: int) -> None:
    """Refuse, in one line, an address or port the dashboard could not listen on (Streamlit
    would only exit, its reason unseen)."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)[
            0
        ]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Streamlit does
            sock.bind(where)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"the dashboard cannot listen on {dashboard_url(address, port)}: {reason}; "
            "choose another --address or --port"
        ) from None


def dashboard_command(entry: Path, *, port: int, address: str = LOCALHOST) -> list[str]:
    """The `streamlit run` command line: listens on `address`:`port` only (127.0.0.1 unless
    told otherwise) and shows visitors no error details (they go to the server's log)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",
    ]


def dashboard_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address  # an IPv6 address
    return f"http://{host}:{port}"


def serve_dashboard(settings: Settings, *, port: int, address: str = LOCALHOST) -> int:
    """Run the Streamlit app against `settings`' warehouse on `address`:`port` until
    interrupted."""
    entry = Path(app_package.__file__).parent / "entry" / "main.py"
    env = os.environ | dashboard_env(settings)
    if exists(settings.warehouse_url):  # a schema behind: one line, before anything starts
        open_warehouse(settings.warehouse_url, create=False)
    check_listen(address, port)
    cmd = dashboard_command(entry, port=port, address=address)
    print(f"dashboard: {dashboard_url(address, port)}  (Ctrl-C to stop)", flush=True)
    root = entry.parents[4]  # the repository (src/recon/app/entry/main.py): Streamlit reads
    # .streamlit/config.toml there
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, cwd=root)
    try:
        while proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=10)
    return 0 if proc.returncode in (0, None, -15) else 1
