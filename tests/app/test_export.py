from __future__ import annotations

import csv
import io

from app import queries
from app.export import exceptions_csv
from app.filters import Filters
from snapshot.schema import EXCEPTION_FIELDS
from tests.app.demo_warehouse import Warehouse


def test_csv_has_contract_fields_and_money_with_two_decimals(wh: Warehouse) -> None:
    #            id   kind               store day           pos       erp      diff
    wh.exception("a", "amount_mismatch", "1", "2024-06-01", "10.005", "9.5", "-0.505",
                 pos_ref="5120")  # fmt: skip
    wh.exception("b", "stock_variance", "1", "2024-06-01", "5.5", "2", "-3.5")
    wh.exception("c", "unknown_sku", None, None)

    text = exceptions_csv(queries.exceptions(wh.engine, Filters()))
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
