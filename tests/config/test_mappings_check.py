"""The mappings file is checked whole at import: a section or `[settings]` key nothing reads
is refused by name (a misspelt `[tender]` would otherwise hold every sale), as is a value its
reader would refuse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.config import ConfigError
from recon.config.mappings import AGE_PREFIX, SECTIONS, SETTINGS, STORE_MODE, check_document

# A value each key's reader takes, and one it refuses.
#  key                 taken        refused
VALUES = {
    "posting_mode": ("daily_journal", "journal"),
    "guest_customer": ("CASH01", " "),
    "writeoff_reasons": ("DAMAGED,FAULTY", None),  # any text: a list of reasons
    "writeoff_location": ("9", ""),
    "amount_tolerance": ("0.05", "five"),
    "vat_rounding_max": ("0.02", "-0.01"),
    "tender_tolerance": ("0.5%", "%"),
    "stock_tolerance": ("2", "2 units"),
    "stock_buffer": ("1.5", "-1"),
    "sync_workers": ("4", "2.5"),
    "price_list": ("1", "0"),
    "erp_currency": ("GBP", ""),
    "sales_nominal": ("4000", ""),
    "sales_account": ("4000", ""),
    "alert_age_hours": ("off", "never"),
}


def test_every_key_read_has_a_value_it_takes_and_one_it_refuses() -> None:
    assert set(VALUES) == set(SETTINGS)
    for key, (taken, refused) in VALUES.items():
        check_document({"settings": {key: taken}}, "m.toml")
        if refused is not None:
            with pytest.raises(ConfigError, match=f"m.toml: \\[settings\\] {key} = "):
                check_document({"settings": {key: refused}}, "m.toml")


NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.0123456789", min_size=1, max_size=24)


@settings(max_examples=80, deadline=None)
@given(NAMES)
def test_any_other_settings_key_is_refused_by_name(key: str) -> None:
    known = key in SETTINGS or key.startswith((STORE_MODE, AGE_PREFIX))
    if known:
        return
    with pytest.raises(ConfigError) as caught:
        check_document({"settings": {key: "1"}}, "m.toml")
    assert str(caught.value).startswith(f'm.toml: [settings] unknown key "{key}": use one of ')
    assert "posting_mode, " in str(caught.value)


@settings(max_examples=40, deadline=None)
@given(NAMES)
def test_any_other_section_is_refused_by_name(section: str) -> None:
    if section in SECTIONS:
        return
    with pytest.raises(ConfigError) as caught:
        check_document({section: {}}, "m.toml")
    assert str(caught.value) == (
        f"m.toml: unknown section [{section}]: use [stores], [tenders], [tax], [settings]"
    )


def test_a_key_outside_any_section_is_named_as_a_key() -> None:
    with pytest.raises(ConfigError) as caught:
        check_document({"posting_mode": "daily_journal", "settings": {}}, "m.toml")
    assert str(caught.value) == (
        'm.toml: unknown key "posting_mode": use [stores], [tenders], [tax], [settings]'
    )
