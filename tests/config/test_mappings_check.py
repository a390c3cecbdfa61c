"""The mappings file is checked whole at import: a section or `[settings]` key nothing reads
is refused by name (a misspelt `[tender]` would otherwise hold every sale), as is a value its
reader would refuse."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.config import ConfigError
from recon.config.mappings import (
    AGE_PREFIX,
    DUE_PREFIX,
    SECTIONS,
    SETTINGS,
    STORE_MODE,
    Mappings,
    MapSettings,
    check_document,
    parse_mappings,
)
from recon.reconcile import EngineConfig, Tolerance

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
    "due_hours": ("36", "0"),
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
    known = key in SETTINGS or key.startswith((STORE_MODE, AGE_PREFIX, DUE_PREFIX))
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


# ----------------------------------------------------------------- the typed [settings]
#  [settings] as written                         what the readers get
TYPED = [
    ({}, {"posting_mode": "per_order", "guest_customer": "CASH01", "erp_currency": "GBP",
          "sales_nominal": "4000", "sales_account": "4000", "price_list": 1,
          "sync_workers": None, "stock_buffer": Decimal(0), "writeoff_reasons": frozenset(),
          "alert_age_hours": timedelta(hours=24), "amount_tolerance": None,
          "due_hours": timedelta(hours=48), "due_hours_by_kind": {}}),
    ({"price_list": "3", "sync_workers": " 8 ", "stock_buffer": " 2.5 "},
     {"price_list": 3, "sync_workers": 8, "stock_buffer": Decimal("2.5")}),
    ({"writeoff_reasons": "DAMAGED, faulty,,"},
     {"writeoff_reasons": frozenset({"damaged", "faulty"})}),
    ({"amount_tolerance": "0.5%", "vat_rounding_max": "0.03"},
     {"amount_tolerance": Tolerance(relative=Decimal("0.005")),
      "vat_rounding_max": Tolerance(absolute=Decimal("0.03"))}),
    ({"alert_age_hours": "off", "alert_age_hours_unknown_sku": "12"},
     {"alert_age_hours": None, "alert_age_hours_by_kind": {"unknown_sku": timedelta(hours=12)}}),
    ({"due_hours": "36", "due_hours.missing_in_erp": " 12 "},
     {"due_hours": timedelta(hours=36),
      "due_hours_by_kind": {"missing_in_erp": timedelta(hours=12)}}),
    ({"posting_mode": "daily_journal", "posting_mode.7": "per_order"},
     {"posting_mode": "daily_journal", "store_modes": {"7": "per_order"}}),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "expected"), TYPED)
def test_the_settings_are_read_typed_with_the_readers_defaults(
    raw: dict[str, str], expected: dict[str, object]
) -> None:
    typed = MapSettings.parse(raw)
    assert {key: getattr(typed, key) for key in expected} == expected


@pytest.mark.parametrize("key", sorted(VALUES))
def test_the_typed_settings_refuse_what_the_import_refuses_saying_the_same(key: str) -> None:
    taken, refused = VALUES[key]
    MapSettings.parse({key: taken}, "m.toml")
    if refused is None:
        return
    with pytest.raises(ConfigError) as at_import:
        check_document({"settings": {key: refused}}, "m.toml")
    with pytest.raises(ConfigError) as typed:
        MapSettings.parse({key: refused}, "m.toml")
    assert str(typed.value) == str(at_import.value)


def test_an_unknown_key_is_refused_by_the_typed_settings_as_at_import() -> None:
    with pytest.raises(ConfigError) as at_import:
        check_document({"settings": {"sales_acount": "4000"}}, "m.toml")
    with pytest.raises(ConfigError) as typed:
        MapSettings.parse({"sales_acount": "4000"}, "m.toml")
    assert str(typed.value) == str(at_import.value)


def test_a_store_reads_its_own_posting_mode_else_the_default() -> None:
    mappings = parse_mappings(
        {"stores": {"1": "WH1", "2": "WH2"}, "settings": {"posting_mode.2": "daily_journal"}}
    )
    assert (mappings.mode_of("1"), mappings.mode_of("2")) == ("per_order", "daily_journal")
    assert mappings.modes() == {"per_order", "daily_journal"}
    assert Mappings().options == MapSettings()


# due hours as written                         kind             due after (hours)
DUE = [
    ({},                                          "missing_in_erp", 48),  # the default default
    ({"due_hours": "24"},                         "missing_in_erp", 24),
    ({"due_hours.missing_in_erp": "4"},           "missing_in_erp", 4),
    ({"due_hours.missing_in_erp": "4"},           "stock_variance", 48),
    ({"due_hours": "72", "due_hours.missing_in_erp": "0.5"}, "missing_in_erp", 0.5),
    ({"due_hours": "72", "due_hours.missing_in_erp": "0.5"}, "unknown_sku", 72),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "kind", "hours"), DUE)
def test_each_kind_is_due_after_its_own_hours_else_the_default(
    raw: dict[str, str], kind: str, hours: float
) -> None:
    assert MapSettings.parse(raw).due_after(kind) == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("due_hours.missing_in_ERP", "4", 'unknown key "due_hours.missing_in_ERP": use one of'),
        ("due_hours.no_such_kind", "4", 'unknown key "due_hours.no_such_kind": use one of'),
        ("due_hours.missing_in_erp", "0", "due_hours.missing_in_erp = '0': give hours, more"),
        ("due_hours.missing_in_erp", "-3", "due_hours.missing_in_erp = '-3': give hours, more"),
        ("due_hours", "soon", "due_hours = 'soon': give hours, more than 0"),
        ("due_hours", "nan", "due_hours = 'nan': give hours, more than 0"),
        ("due_hours", "inf", "due_hours = 'inf': give hours, more than 0"),
        ("due_hours", "24h", "due_hours = '24h': give hours, more than 0"),
        # past ten years: 1e18 overflowed timedelta (OverflowError, not this line), 1e9 the
        # datetime a worklist adds it to
        ("due_hours", "1e18", "due_hours = '1e18': give hours, more than 0 and at most 87600"),
        ("due_hours.missing_in_erp", "1e9", "= '1e9': give hours, more than 0 and at most 87600"),
        ("due_hours", "87600.01", "= '87600.01': give hours, more than 0 and at most 87600"),
        ("alert_age_hours", "1e18", "alert_age_hours = '1e18': give hours (e.g. 24, at most"),
    ],
)
def test_a_due_time_for_no_kind_or_not_positive_is_refused_at_import(
    key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_document({"settings": {key: value}}, "m.toml")


AMOUNTS = st.text(alphabet="0123456789.-% e", max_size=8)


@settings(max_examples=150, deadline=None)
@given(AMOUNTS)
def test_one_rule_reads_an_amount_or_a_percentage(text: str) -> None:
    """The import, the typed settings and the engine (reading the snapshot's text) agree."""
    raw = {"tender_tolerance": text}
    try:
        engine = EngineConfig.from_settings(raw).tender
    except ValueError:
        with pytest.raises(ConfigError, match="tender_tolerance"):
            check_document({"settings": raw}, "m.toml")
        with pytest.raises(ConfigError, match="tender_tolerance"):
            MapSettings.parse(raw)
        return
    check_document({"settings": raw}, "m.toml")
    assert MapSettings.parse(raw).tender_tolerance == engine


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=12),
        st.text(alphabet="0123456789.-+eE_ nNaIiFhH", max_size=12),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
    )
)
def test_any_hours_are_refused_in_one_line_or_make_a_due_time(text: str) -> None:
    """due_hours / alert_age_hours: a ConfigError naming the key, or a time a first-seen
    instant can be moved by (the worklist's due_by, the alerts' age)."""
    for key in ("due_hours", "alert_age_hours"):
        try:
            parsed = MapSettings.parse({key: text})
        except ConfigError as exc:
            assert key in str(exc)
            continue
        delta = parsed.due_after("missing_in_erp") if key == "due_hours" else parsed.alert_age_hours
        if delta is not None:
            assert datetime(2100, 1, 1) + delta >= datetime(2100, 1, 1)  # no OverflowError
