"""serve_in_thread and run_simulator over real sockets."""

from __future__ import annotations

import io
import json
import threading

import httpx
import pytest

from recon.simulators import serve
from recon.simulators.scenario import build_scenario
from recon.simulators.sitoo import SitooCredentials, create_app


def test_serve_in_thread_answers_then_stops() -> None:
    app = create_app(build_scenario("clean", 1).sitoo, SitooCredentials())
    with serve.serve_in_thread(app) as root:
        creds = SitooCredentials()
        response = httpx.get(
            f"{root}/v2/accounts/90210/sites.json", auth=(creds.api_id, creds.password)
        )
        assert response.json()["items"][0]["eshopid"] == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{root}/v2/accounts/90210/sites.json", timeout=1)


class _FirstLine(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.ready = threading.Event()

    def flush(self) -> None:
        self.ready.set()


@pytest.mark.parametrize(
    ("vendor", "probe", "keys"),
    [
        (
            "sitoo",
            "/v2/accounts/90210/sites.json",
            {"SITOO_ACCOUNT_ID", "SITOO_SITE_ID", "SITOO_API_ID", "SITOO_API_PASSWORD"},
        ),
        (
            "sage200",
            "/sites",
            {"SAGE200_TOKEN", "SAGE200_SUBSCRIPTION_KEY", "SAGE200_SITE_ID", "SAGE200_COMPANY_ID"},
        ),
    ],
)
def test_run_simulator_prints_base_url_and_credentials_first(
    vendor: str, probe: str, keys: set[str]
) -> None:
    out = _FirstLine()
    stop = threading.Event()
    worker = threading.Thread(
        target=serve.run_simulator, args=(vendor, 0, "clean", 1, out), kwargs={"stop": stop}
    )
    worker.start()
    try:
        assert out.ready.wait(10)
        first = json.loads(out.getvalue().splitlines()[0])
        assert set(first["credentials"]) == keys
        c = first["credentials"]
        if vendor == "sitoo":
            assert (
                first["base_url"].startswith("http://127.0.0.1:") and "/v2" not in first["base_url"]
            )
            got = httpx.get(
                first["base_url"] + probe, auth=(c["SITOO_API_ID"], c["SITOO_API_PASSWORD"])
            )
        else:
            assert first["base_url"].endswith("/uk/sage200extra/accounts/v1")
            headers = {
                "Authorization": f"Bearer {c['SAGE200_TOKEN']}",
                "ocp-apim-subscription-key": c["SAGE200_SUBSCRIPTION_KEY"],
            }
            got = httpx.get(first["base_url"] + probe, headers=headers)
        assert got.status_code == 200
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()


@pytest.mark.parametrize(("vendor", "message"), [("oracle", "unknown vendor")])
def test_run_simulator_refuses_other_vendors(vendor: str, message: str) -> None:
    with pytest.raises(serve.SimulatorError, match=message):
        serve.run_simulator(vendor, 0, "clean", 1, io.StringIO())
