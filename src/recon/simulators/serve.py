"""Run a simulator app over real HTTP: in a background thread (tests, `recon demo`) or in
the foreground until interrupted (`recon simulate`).

Binds 127.0.0.1 only. Must not build scenario content itself (that is `scenario`).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TextIO

import uvicorn
from starlette.types import ASGIApp

__all__ = [
    "ServedScenario",
    "SimulatorError",
    "run_simulator",
    "serve_in_thread",
    "serve_scenario",
    "simulator_app",
]

if TYPE_CHECKING:
    from recon.simulators.faults import Faults
    from recon.simulators.scenario import Scenario

VENDORS = ("sitoo", "sage200", "netsuite", "sapb1")


class SimulatorError(Exception):
    """A simulator that cannot be started as asked (one line: what and how to fix)."""


@contextmanager
def serve_in_thread(app: ASGIApp, port: int = 0) -> Iterator[str]:
    """Serve `app` on 127.0.0.1:`port` (0 = any free port); yields `http://127.0.0.1:PORT`
    once the server accepts connections, and stops it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise SimulatorError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    bound = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="critical", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise SimulatorError(f"simulator on 127.0.0.1:{bound} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def simulator_app(
    vendor: str, scenario: str = "demo", seed: int = 1
) -> tuple[ASGIApp, str, dict[str, str]]:
    """The app for `vendor` loaded with the scenario, its base-URL suffix and credentials."""
    from recon.simulators import sage200, sitoo
    from recon.simulators.scenario import build_scenario

    if vendor not in VENDORS:
        raise SimulatorError(f"unknown vendor {vendor!r}: use one of {', '.join(VENDORS)}")
    built = build_scenario(scenario, seed)
    if vendor == "sapb1":
        from recon.simulators import sapb1

        b1_creds = sapb1.SapB1Credentials()
        b1_app = sapb1.create_app(sapb1.seed_from_scenario(built), b1_creds)
        return b1_app, sapb1.BASE_PATH, b1_creds.env("")
    if vendor == "netsuite":
        from recon.simulators import netsuite

        ns_creds = netsuite.NetSuiteCredentials()
        ns_app = netsuite.create_app(netsuite.seed_from_scenario(built), ns_creds)
        return ns_app, netsuite.BASE_PATH, ns_creds.env("")
    if vendor == "sitoo":
        creds = sitoo.SitooCredentials()
        return sitoo.create_app(built.sitoo, creds), "", creds.env("")
    sage_creds = sage200.Sage200Credentials()
    return sage200.create_app(built.sage200, sage_creds), sage200.BASE_PATH, sage_creds.env("")


def run_simulator(
    vendor: str,
    port: int,
    scenario: str,
    seed: int,
    out: TextIO,
    *,
    stop: threading.Event | None = None,
) -> None:
    """Serve one simulator until interrupted (Ctrl-C, or `stop` set); the first line on
    `out` is `{"base_url": ..., "credentials": {...}}`."""
    app, suffix, env = simulator_app(vendor, scenario, seed)
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    with serve_in_thread(app, port) as root:
        base_url = root + suffix
        credentials = {k: v for k, v in env.items() if not k.endswith("_BASE_URL")}
        out.write(json.dumps({"base_url": base_url, "credentials": credentials}) + "\n")
        out.flush()
        stop = stop or threading.Event()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            return


@dataclass(frozen=True)
class ServedScenario:
    """A scenario served on localhost: what recon needs to reach it and what it should find."""

    scenario: Scenario
    erp_state: Any  # the ERP simulator's state (to count documents in tests)
    env: dict[str, str]  # SITOO_* and the ERP's variables, plus RECON_ERP
    mappings_toml: str  # the scenario's mappings in the ERP's own codes
    truth: list[dict[str, str | None]]


def serve_scenario(
    stack: ExitStack,
    name: str,
    seed: int,
    erp: str = "sage200",
    end_day: date | None = None,
    *,
    faults: Faults | None = None,
    posting_mode: str = "per_order",
) -> ServedScenario:
    """Serve the Sitoo simulator and `erp`'s simulator with scenario `name` until `stack` closes.

    `faults` are injected by the ERP simulator only (tests of the sync's retries and
    look-ups). `posting_mode` is written into the mappings' `[settings]`; SAP B1 is also
    seeded for it, as per-order documents move stock and daily journals do not.
    """
    from recon.simulators import netsuite, sage200, sapb1, sitoo
    from recon.simulators.scenario import build_scenario

    built = build_scenario(name, seed, end_day)
    sitoo_creds = sitoo.SitooCredentials()
    sitoo_root = stack.enter_context(serve_in_thread(sitoo.create_app(built.sitoo, sitoo_creds)))
    env = sitoo_creds.env(sitoo_root) | {"RECON_ERP": erp}
    mappings, truth = built.mappings_toml, built.truth
    state: Any
    if erp == "sage200":
        state, creds = built.sage200, sage200.Sage200Credentials()
        root = stack.enter_context(serve_in_thread(sage200.create_app(state, creds, faults)))
        env |= creds.env(root + sage200.BASE_PATH)
    elif erp == "netsuite":
        state, ns_creds = netsuite.seed_from_scenario(built), netsuite.NetSuiteCredentials()
        root = stack.enter_context(serve_in_thread(netsuite.create_app(state, ns_creds, faults)))
        env |= ns_creds.env(root + netsuite.BASE_PATH)
        mappings = netsuite.mappings_toml(built, state)
    elif erp == "sapb1":
        state = sapb1.seed_from_scenario(built, posting_mode=posting_mode)
        b1_creds = sapb1.SapB1Credentials()
        root = stack.enter_context(serve_in_thread(sapb1.create_app(state, b1_creds, faults)))
        env |= b1_creds.env(root + sapb1.BASE_PATH)
        truth = sapb1.truth_for_sapb1(built)
    else:
        raise SimulatorError(f"unknown ERP {erp!r}: use sage200, netsuite or sapb1")
    mappings = mappings.replace('posting_mode = "per_order"', f'posting_mode = "{posting_mode}"')
    return ServedScenario(built, state, env, mappings, truth)
