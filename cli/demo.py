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
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import app as app_package
from app.auth import add_user
from cli.jobs import collect_job, reconcile_job, sync_job, warehouse
from config import Settings, load_settings
from config.mappings import load_mappings
from simulators.serve import serve_scenario
from warehouse.mappings import import_mappings

DEMO_DIR = Path("var/demo")


def demo_settings(env: dict[str, str]) -> Settings:
    overrides = {k.lower(): v for k, v in env.items()}
    overrides["recon_data_dir"] = str(DEMO_DIR)
    overrides["recon_warehouse_url"] = f"sqlite:///{DEMO_DIR / 'recon.db'}"
    return load_settings(**overrides)


def run_demo(
    scenario: str, seed: int, port: int, *, erp: str = "sage200", dashboard: bool = True
) -> int:
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
        engine = warehouse(settings, create=True)
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
        demo_users = DEMO_DIR / "users.toml"  # never the real RECON_USERS file
        password = secrets.token_urlsafe(12)  # 16 characters
        add_user(demo_users, "demo", "admin", password, engine=engine, source="recon demo")
        os.environ["RECON_USERS"] = str(demo_users)  # serve_dashboard passes it on
        print(f"dashboard login: user demo, password {password} (admin; in {demo_users})")
        if not dashboard:
            return 0
        return serve_dashboard(settings, port=port)


def serve_dashboard(settings: Settings, *, port: int) -> int:
    """Run the Streamlit app against `settings`' warehouse until interrupted."""
    entry = Path(app_package.__file__).parent / "main.py"
    env = os.environ | {
        "RECON_WAREHOUSE_URL": settings.warehouse_url,
        "RECON_DATA_DIR": str(settings.recon_data_dir),
    }
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    print(f"dashboard: http://127.0.0.1:{port}  (Ctrl-C to stop)", flush=True)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, cwd=entry.parent.parent)
    try:
        while proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=10)
    return 0 if proc.returncode in (0, None, -15) else 1
