"""Which refund lines are written off: their Sitoo return reason is a `writeoff_reasons` one."""

from __future__ import annotations

import pytest

from recon.clients.sitoo import SitooOrderItem
from recon.config.mappings import MapSettings
from recon.sync.returns import is_written_off


@pytest.mark.parametrize(
    ("setting", "reason", "written_off"),
    [
        #  [settings] writeoff_reasons   line's reasoncode-return   written off?
        ("DAMAGED, Faulty", "damaged", True),  # case and spaces do not matter
        ("DAMAGED, Faulty", " FAULTY ", True),
        ("DAMAGED, Faulty", "SIZE", False),  # another reason: back to stock
        ("DAMAGED, Faulty", None, False),  # no reason: back to stock
        ("DAMAGED, Faulty", "", False),
        (None, "DAMAGED", False),  # nothing configured: everything is restocked
        (" , ", "DAMAGED", False),
    ],
)
def test_a_line_is_written_off_only_for_a_configured_reason(
    setting: str | None, reason: str | None, written_off: bool
) -> None:
    settings = {} if setting is None else {"writeoff_reasons": setting}
    extra = {} if reason is None else {"reasoncode-return": reason}
    item = SitooOrderItem.model_validate({"sku": "TEE", "quantity": -1, "additionaldata": extra})
    assert is_written_off(item, MapSettings.parse(settings).writeoff_reasons) is written_off
