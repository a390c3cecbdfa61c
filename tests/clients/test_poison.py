"""Data recon did not generate: every vendor value is checked for range at the edge, a bad
record comes back with the field and the reason, and the rest of its page comes through.

Payloads are the vendors' documented examples (`payloads.py`), never the simulators'.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from recon.clients import SitooClient
from recon.clients._http import loads_json, validate_record
from recon.clients._types import EARLIEST, LATEST, QUANTITY_LIMIT
from recon.clients.sitoo import SitooOrder
from recon.erp.netsuite.client import TransactionRow
from recon.erp.sage200.client import SopOrder
from recon.erp.sapb1.client import Document
from tests.clients.payloads import (
    NETSUITE_TRANSACTION,
    SAGE_SOP_ORDER,
    SAPB1_INVOICE,
    SITOO_REFUND,
    SITOO_SALE,
    Path,
    delete_in,
    leaf_paths,
    set_in,
    shown,
    sitoo_order,
)

ROW_DISCOUNT: Path = ("orderitems", 0, "additionaldata", "orderitem-moneyrowdiscount")

# The values of the issue, one field each: value -> what the order comes to.
SEEN: list[tuple[Path, Any, str | None]] = [
    #  field                                   value                         error starts with
    (("orderdate",), Decimal("1E+20"),            "orderdate: Value error, epoch seconds outside"),
    (ROW_DISCOUNT, "abc",                         "orderitems[0].additionaldata.orderitem-moneyrowdiscount: expected money: a decimal number"),  # noqa: E501
    (("orderitems", 0, "sku"), "TEE\x00M",        "orderitems[0].sku: expected text without NUL"),
    (("moneytotal_gross_all",), Decimal("99999999999999999999.99"), "moneytotal_gross_all: expected money: a decimal number under 10^12"),  # noqa: E501
    (("payments", 0, "moneyamount"), Decimal("1E+400"), "payments[0].moneyamount: expected money: a decimal number under 10^12"),  # noqa: E501
    (("orderitems", 0, "quantity"), 10**30,       "orderitems[0].quantity: Input should be less than"),  # noqa: E501
    (("orderitems", 0, "decimalquantitytotal"), "1e30", "orderitems[0].decimalquantitytotal: expected a quantity: a decimal number under 10^15"),  # noqa: E501
    (("orderitems", 0, "vatvalue"), 1000,         "orderitems[0].vatvalue: expected a VAT rate: a number from 0 to 100"),  # noqa: E501
    # a refund's negative quantity is Sitoo's own sign (sitoo.md, order 11512): valid
    (("orderitems", 0, "quantity"), -1,           None),
    # an unknown zone is not a reason to refuse the order: the collect falls back
    (("additionaldata", "pos-timezone"), "Mars/Olympus_Mons", None),
    # the write-only `moneyrowdiscount` is not read: the raw payload keeps it, nothing fails
    (("orderitems", 0, "moneyrowdiscount"), "abc", None),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "error"), SEEN)
def test_each_seen_value_is_refused_with_its_field_or_taken(
    path: Path, value: Any, error: str | None
) -> None:
    got = validate_record(SitooOrder, set_in(SITOO_SALE, path, value), "orderid")
    assert got.key == "5120"
    if error is None:
        assert got.error is None and got.item is not None
    else:
        assert got.item is None and got.error is not None
        assert got.error.startswith(error)
        assert "\n" not in got.error


def test_a_refund_as_documented_is_valid_with_its_signs() -> None:
    got = validate_record(SitooOrder, SITOO_REFUND, "orderid")
    assert got.item is not None
    line = got.item.orderitems[0]
    assert (line.quantity, line.moneyitemtotal_net, got.item.originalsales_orderid) == (
        -1,
        Decimal("-20.83"),
        "5120",
    )


# ------------------------------------------------------------------ one field mutated
ODD_VALUES: list[Any] = [
    None, True, "", "abc", "NaN", "Infinity", "-1e400", "1e400", Decimal("1E+400"),
    Decimal("99999999999999999999.99"), Decimal("-1E+16"), Decimal("1E+20"), 10**30,
    -(10**30), 2**63, -1, 1000, "1000", "\x00", "TEE\x00M", "Mars/Olympus_Mons",
    "x" * 81, [], {}, [[[1]]], {"a": {"b": [1]}}, "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00", "2024-13-01", "6/31/2024", "20241301",
]  # fmt: skip
POISON = st.one_of(
    st.sampled_from(ODD_VALUES),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)

DOCUMENTED = [
    (SitooOrder, SITOO_SALE, "orderid"),
    (SitooOrder, SITOO_REFUND, "orderid"),
    (SopOrder, SAGE_SOP_ORDER, "id"),
    (TransactionRow, NETSUITE_TRANSACTION, "id"),
    (Document, SAPB1_INVOICE, "DocEntry"),
]


def _values(value: Any) -> list[Any]:
    if isinstance(value, BaseModel):
        return [v for field in type(value).model_fields for v in _values(getattr(value, field))]
    if isinstance(value, dict):
        return [v for x in value.values() for v in _values(x)]
    if isinstance(value, list):
        return [v for x in value for v in _values(x)]
    return [value]


def assert_in_range(item: BaseModel) -> None:
    """What passed fits the warehouse: decimals under 10^15, no NUL, instants 1970-2100."""
    for value in _values(item):
        if isinstance(value, Decimal):
            assert value.is_finite() and abs(value) < QUANTITY_LIMIT, value
        elif isinstance(value, str):
            assert "\x00" not in value
        elif isinstance(value, datetime):
            assert EARLIEST <= value < LATEST


@st.composite
def mutated(draw: st.DrawFn) -> tuple[type[BaseModel], dict[str, Any], str, Path]:
    model, payload, key = draw(st.sampled_from(DOCUMENTED))
    paths = leaf_paths(payload)
    if model is SitooOrder:
        paths.append(ROW_DISCOUNT)  # read by recon, absent from the documented example
    path = draw(st.sampled_from(paths))
    if draw(st.booleans()) and path != ROW_DISCOUNT:
        return model, delete_in(payload, path), key, path
    return model, set_in(payload, path, draw(POISON)), key, path


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_one_bad_field_is_named_or_the_record_is_within_range(
    case: tuple[type[BaseModel], dict[str, Any], str, Path],
) -> None:
    model, payload, key, path = case
    got = validate_record(model, payload, key)
    if got.item is not None:
        assert_in_range(got.item)
        return
    assert got.error is not None and "\n" not in got.error
    # the reason names the field that was changed, or the part of it that is wrong
    named = got.error.split(":", 1)[0]
    assert shown(path).startswith(named) or named.startswith(shown(path)), (named, path)
    assert len(got.key) <= 80 and "\x00" not in got.key


# ------------------------------------------------------------------ on the wire
def sitoo_page(*texts: str) -> httpx.MockTransport:
    """A Sitoo orders endpoint answering one page made of these record texts, verbatim."""
    body = f'{{"totalcount": {len(texts)}, "items": [{", ".join(texts)}]}}'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=body.encode("utf-8", "surrogatepass"),
            headers={"content-type": "application/json"},
        )  # fmt: skip

    return httpx.MockTransport(handler)


def text_of(orderid: int) -> str:
    return json.dumps(sitoo_order(orderid))


DEEP = "[" * 300 + "]" * 300
WIRE: list[tuple[str, str]] = [
    #  the middle record's text (5121)                              reason
    (text_of(5121).replace('"LON1"', f'{{"a": {DEEP}}}', 1), "additionaldata: nested deeper than the JSON parser's 200 levels"),  # noqa: E501
    (text_of(5121).replace('"TEE-BLK-M"', '"TEE\\ud800"'),       "orderitems: does not parse as JSON"),  # noqa: E501
    (text_of(5121).replace('"Card"', '"Ca\\u0000rd"'),          "payments[0].name: expected text without NUL"),  # noqa: E501
    (text_of(5121).replace('"25.00"', "1e400", 1),               "moneytotal_gross_all: expected money: a decimal number under 10^12"),  # noqa: E501
    (text_of(5121).replace("1717229850", "1e20"),                "orderdate: Value error, epoch seconds"),  # noqa: E501
    (text_of(5121).replace('"quantity": 1', '"quantity": 1000000000000000000000000000000'), "orderitems[0].quantity: Input should be less than"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("middle", "reason"), WIRE)
def test_a_page_with_one_poison_record_still_brings_the_others(middle: str, reason: str) -> None:
    transport = sitoo_page(text_of(5120), middle, text_of(5122))
    with SitooClient("https://sitoo.test", 90210, 1, "90210-7", "pw", transport=transport) as c:
        got = list(c.iter_orders())
    assert [(f.key, f.item is not None) for f in got] == [
        ("5120", True),
        ("5121", False),
        ("5122", True),
    ]
    assert got[1].error is not None and got[1].error.startswith(reason), got[1].error


def test_a_truncated_page_is_still_an_error_not_a_short_page() -> None:
    with pytest.raises(ValueError):
        loads_json(f'{{"totalcount": 2, "items": [{text_of(1)}, {text_of(2)}'.encode())


def test_an_unparsed_record_keeps_its_text_and_its_id() -> None:
    # B1's envelope, a member after the record list, scalars last in their objects
    page = loads_json(
        f'{{"value": [{{"DocEntry": 7, "Memo": {DEEP}, "DocNum": 1}}, {{"DocEntry": 8}}],'
        ' "odata.count": 2}'
    )
    got = [validate_record(Document, r, "DocEntry") for r in page["value"]]
    assert [(f.key, f.item is not None) for f in got] == [("7", False), ("8", True)]
    assert got[0].error == "Memo: nested deeper than the JSON parser's 200 levels"
    assert got[0].raw["unparsed"].startswith('{"DocEntry": 7, "Memo": [[[')
    assert (got[0].raw["DocNum"], page["odata.count"]) == (1, 2)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=4), max_size=5),
    at=st.integers(0, 5),
    spaced=st.booleans(),
)
def test_parsing_record_by_record_gives_the_others_as_a_whole_parse_would(
    records: list[dict[str, Any]], at: int, spaced: bool
) -> None:
    texts = [json.dumps(r, indent=1 if spaced else None) for r in records]
    at = min(at, len(texts))
    texts.insert(at, f'{{"orderid": 1, "deep": {DEEP}, "n": null}}')
    got = loads_json(f'{{"items": [{", ".join(texts)}], "totalcount": {len(texts)}}}')
    others = got["items"][:at] + got["items"][at + 1 :]
    assert others == records and got["totalcount"] == len(texts)
    assert got["items"][at].problem == "deep: nested deeper than the JSON parser's 200 levels"


# The ERPs' dates and instants: wire text -> the reason (a year-1 instant with an offset used
# to raise OverflowError out of validation and stop the page).
ERP_DATES: list[tuple[type[BaseModel], dict[str, Any], str, str, str, str]] = [
    (SopOrder, SAGE_SOP_ORDER, "id", "document_date", "0001-01-01T00:00:00+05:00", "document_date: Value error, instant outside 1970-2100"),  # noqa: E501
    (SopOrder, SAGE_SOP_ORDER, "id", "document_date", "9999-12-31T23:59:59-05:00", "document_date: Value error, instant outside 1970-2100"),  # noqa: E501
    (TransactionRow, NETSUITE_TRANSACTION, "id", "lastmodifieddate", "0001-01-01T00:00:00+05:00", "lastmodifieddate: Value error, instant outside 1970-2100"),  # noqa: E501
    (TransactionRow, NETSUITE_TRANSACTION, "id", "trandate", "6/1/2124", "trandate: Value error, day outside 1970-2100"),  # noqa: E501
    (Document, SAPB1_INVOICE, "DocEntry", "DocDate", "20241301", "DocDate: Value error, not a B1 date"),  # noqa: E501
    (Document, SAPB1_INVOICE, "DocEntry", "DocDate", "1899-12-30", "DocDate: Value error, day outside 1970-2100"),  # noqa: E501
]  # fmt: skip


@pytest.mark.parametrize(("model", "payload", "key", "field", "wire", "reason"), ERP_DATES)
def test_erp_dates_out_of_range_are_reasons_not_crashes(
    model: type[BaseModel], payload: dict[str, Any], key: str, field: str, wire: str, reason: str
) -> None:
    got = validate_record(model, set_in(payload, (field,), wire), key)
    assert got.item is None and got.error is not None and got.error.startswith(reason), got.error


@pytest.mark.parametrize(
    ("additionaldata", "error"),
    [  # hypothesis found it: a NUL in an additionaldata value passed into the model
        ({"pos-receiptid": "R\x001"}, "additionaldata: expected text without NUL characters "
                                      "(at 'pos-receiptid')"),
        ({"x\x00": "1"}, "additionaldata: expected text without NUL characters (at 'x\\x00')"),
        ({"pos-receiptid": 7}, None),  # a number is read as its text
    ],
)  # fmt: skip
def test_additionaldata_keeps_no_nul(additionaldata: dict[str, Any], error: str | None) -> None:
    payload = json.loads(json.dumps(SITOO_SALE))
    payload["additionaldata"] = additionaldata
    got = validate_record(SitooOrder, payload, "orderid")
    assert (got.error or "").split(" (got ")[0] == (error or "")
