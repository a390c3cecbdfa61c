"""A hold a mapping fixes names its store, tender or VAT rate so that it can be read back
(mapping health's "map it, then re-post what it held")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.sync.holds import UNMAPPED, unmapped, unmapped_key


@pytest.mark.parametrize(
    ("reason", "key", "message"),
    [
        ("held_unmapped_tender", "Swish", "map tender 'Swish' in mappings"),
        ("held_unmapped_location", "7", "map store '7' to an ERP warehouse in mappings"),
        ("held_unmapped_tax_code", "12.50", "map VAT rate 12.50 to a tax code in mappings"),
    ],
)
def test_an_unmapped_hold_says_what_to_map(reason: str, key: str, message: str) -> None:
    assert unmapped(reason, key).message == message
    assert unmapped_key(reason, message) == key


def test_other_holds_name_nothing_to_map() -> None:
    assert unmapped_key("held_unknown_sku", "SKU 'X' is not in the ERP item master") is None
    assert unmapped_key("held_unmapped_tender", "something else") is None


@settings(max_examples=50)
@given(reason=st.sampled_from(sorted(UNMAPPED)), key=st.text(min_size=1, max_size=30))
def test_what_a_hold_names_reads_back_whatever_it_is(reason: str, key: str) -> None:
    """Tender names are the POS's text: quotes, spaces, anything round-trips."""
    assert unmapped_key(reason, unmapped(reason, key).message) == key
