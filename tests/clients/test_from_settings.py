"""`from_settings` passes `Settings.credentials(vendor)` positionally: each client's constructor
must take exactly the REQUIRED variables, in order, and a missing one names itself."""

from __future__ import annotations

import inspect

import pytest

from recon.clients import SitooClient
from recon.clients._base import VendorClient
from recon.config import ConfigError, load_settings
from recon.config.settings import REQUIRED
from recon.erp.netsuite.client import NetSuiteClient
from recon.erp.sage200.client import Sage200Client
from recon.erp.sapb1.client import SapB1Client


@pytest.mark.parametrize("client", [SitooClient, Sage200Client, NetSuiteClient, SapB1Client])
def test_constructor_takes_the_vendor_variables_in_order(client: type[VendorClient]) -> None:
    params = [
        p.name
        for p in inspect.signature(client.__init__).parameters.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]
    #  constructor arguments == the variables without their vendor prefix
    assert params == [name.removeprefix(f"{client.vendor}_") for name in REQUIRED[client.vendor]]


def test_credentials_unwrap_secrets_and_name_what_is_missing() -> None:
    settings = load_settings(netsuite_base_url="http://ns.example", netsuite_token="t0k")
    assert settings.credentials("netsuite") == ["http://ns.example", "t0k"]
    with pytest.raises(ConfigError, match="set SAPB1_BASE_URL"):
        load_settings().credentials("sapb1")
