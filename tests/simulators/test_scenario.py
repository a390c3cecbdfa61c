"""Scenarios: determinism, money that adds up, and truth that matches the planted data."""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from simulators.scenario import ScenarioError, build_scenario

END = date(2024, 6, 5)
CENT = Decimal("0.01")


def r2(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def small():  # type: ignore[no-untyped-def]
    return build_scenario("small", 7, END)


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b = build_scenario("small", 3, END), build_scenario("small", 3, END)
    assert a.ground_truth_json() == b.ground_truth_json()
    assert a.sitoo.orders == b.sitoo.orders
    assert a.sage200.sop_orders == b.sage200.sop_orders and a.mappings_toml == b.mappings_toml
    assert build_scenario("small", 4, END).sitoo.orders != a.sitoo.orders


def test_unknown_scenario_is_one_clear_error() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'huge'"):
        build_scenario("huge")


@pytest.mark.parametrize("name", ["small", "clean", "demo"])
def test_every_order_adds_up(name: str) -> None:
    scenario = build_scenario(name, 2, END)
    for order in scenario.sitoo.orders.values():
        net = sum(Decimal(i["moneyitemtotal_net"]) for i in order["orderitems"])
        vat = sum(Decimal(i["moneyitemtotal_vat"]) for i in order["orderitems"])
        gross = Decimal(order["moneytotal_gross_all"])
        assert (net, vat) == (Decimal(order["moneyfinal_net"]), Decimal(order["moneyfinal_vat"]))
        assert net + vat == gross
        if order["paymentstateid"] == 20:
            assert sum(Decimal(p["moneyamount"]) for p in order["payments"]) == gross
        for item in order["orderitems"]:  # Sage's per-line VAT on the POS net: no penny drift
            rate = Decimal(item["vatvalue"])
            assert r2(Decimal(item["moneyitemtotal_net"]) * rate / 100) == Decimal(
                item["moneyitemtotal_vat"]
            )


@pytest.mark.parametrize("name", ["small", "demo"])
def test_shape_of_the_world(name: str) -> None:
    scenario = build_scenario(name, 1, END)
    orders = list(scenario.sitoo.orders.values())
    stores = {w["warehouseid"]: w["storeid"] for w in scenario.sitoo.warehouses}
    tz = {o["warehouseid"]: o["additionaldata"]["pos-timezone"] for o in orders}
    days = Counter(
        datetime.fromtimestamp(o["orderdate"], UTC)
        .astimezone(ZoneInfo(tz[o["warehouseid"]]))
        .date()
        for o in orders
    )
    assert set(days) == set(scenario.days) and max(scenario.days) == END
    states = Counter((o["ordertypeid"], o["orderstateid"], o["paymentstateid"]) for o in orders)
    assert states[(10, 10, 20)] > 0.9 * len(orders)
    assert len(states) >= 3  # never-post orders exist beside the sales
    refunds = [o for o in orders if o["creditorderid"]]
    assert refunds and all(
        o["additionaldata"]["pos-originalsales-orderid"] == str(o["creditorderid"])
        and scenario.sitoo.orders[o["creditorderid"]]["orderdate"] <= o["orderdate"]
        and Decimal(o["moneytotal_gross_all"]) < 0
        for o in refunds
    )
    assert len({o["creditorderid"] for o in refunds}) == len(refunds)
    assert any(len(o["payments"]) == 2 for o in orders)
    assert {p["name"] for o in orders for p in o["payments"]} >= {"Cash", "Card", "Gift Card"}
    mapped = tomllib.loads(scenario.mappings_toml)["stores"]
    assert len(mapped) == {"small": 2, "demo": 6}[name]
    assert len(set(stores.values())) == len(mapped) + 1  # plus the unmapped store
    if name == "demo":
        assert {o["currencycode"] for o in orders} == {"GBP", "EUR"}


def test_catalogue_prices_agree_between_pos_and_erp(small) -> None:  # type: ignore[no-untyped-def]
    rates = {t["id"]: Decimal(t["tax_rate"]) for t in small.sage200.tax_codes}
    sage = {p["code"]: rates[p["tax_code_id"]] for p in small.sage200.products}
    net = {v["product_code"]: Decimal(v["product_price_price"]) for v in small.sage200.price_views}
    for product in small.sitoo.products:
        if product["sku"] == "GHOST-1":
            assert product["sku"] not in sage
            continue
        rate = sage[product["sku"]]
        assert Decimal(product["vatvalue"]) == rate
        assert r2(net[product["sku"]] * (1 + rate / 100)) == Decimal(product["moneyprice"])


def test_pos_stock_equals_erp_free_stock(small) -> None:  # type: ignore[no-untyped-def]
    location = tomllib.loads(small.mappings_toml)["stores"]
    wh_store = {w["warehouseid"]: str(w["storeid"]) for w in small.sitoo.warehouses}
    sku = {p["id"]: p["code"] for p in small.sage200.products}
    erp = {
        (h["warehouse_name"], sku[h["product_id"]]): Decimal(
            h["free_stock_available_less_reserved"]
        )
        for h in small.sage200.holdings
    }
    pos = {
        (location[wh_store[wid]], s): Decimal(item["decimaltotal"])
        for wid, items in small.sitoo.warehouse_items.items()
        for s, item in items.items()
    }
    assert pos == erp


def test_truth_lists_each_planted_drift_once(small) -> None:  # type: ignore[no-untyped-def]
    found = Counter((t["kind"], t["cause"]) for t in small.truth)
    assert found == Counter(
        {
            ("missing_in_erp", "held_unmapped_tender"): 1,
            ("unmapped_tender", "tender_not_mapped"): 1,
            ("missing_in_erp", "held_unmapped_location"): 1,
            ("unmapped_location", "store_not_mapped"): 1,
            ("missing_in_erp", "held_unknown_sku"): 1,
            ("unknown_sku", "sku_not_in_erp"): 1,
            ("tender_variance", "explained_by_missing_in_erp"): 2,
            ("amount_mismatch", "amount_differs"): 1,
            ("duplicate_in_erp", "posted_twice"): 1,
            ("missing_in_pos", "no_pos_order"): 1,
        }
    )
    assert build_scenario("clean", 7, END).truth == []
    assert build_scenario("clean", 7, END).sage200.sop_orders == []


def test_truth_matches_the_data(small) -> None:  # type: ignore[no-untyped-def]
    orders = small.sitoo.orders
    by = {(t["kind"], t["cause"]): t for t in small.truth}
    mappings = tomllib.loads(small.mappings_toml)
    swish = orders[int(by["missing_in_erp", "held_unmapped_tender"]["pos_ref"])]
    assert [p["name"] for p in swish["payments"]] == ["Swish"] and "Swish" not in mappings[
        "tenders"
    ]
    ghost = orders[int(by["missing_in_erp", "held_unknown_sku"]["pos_ref"])]
    assert [i["sku"] for i in ghost["orderitems"]] == ["GHOST-1"]
    unmapped = by["unmapped_location", "store_not_mapped"]["store"]
    assert unmapped not in mappings["stores"]
    docs = small.sage200.sop_orders
    mismatch = by["amount_mismatch", "amount_differs"]
    doc = next(d for d in docs if d["customer_document_no"] == mismatch["pos_ref"])
    assert Decimal(mismatch["erp_value"]) == doc["total_gross_value"]
    assert Decimal(mismatch["pos_value"]) == Decimal(
        orders[int(mismatch["pos_ref"])]["moneytotal_gross_all"]
    )
    assert Decimal(mismatch["pos_value"]) != doc["total_gross_value"]
    dup = by["duplicate_in_erp", "posted_twice"]
    pair = [d for d in docs if d["customer_document_no"] == dup["pos_ref"]]
    assert (
        len(pair) == 2
        and dup["erp_ref"] == max(pair, key=lambda d: d["date_time_created"])["document_no"]
    )
    orphan = by["missing_in_pos", "no_pos_order"]
    orphan_doc = next(d for d in docs if d["document_no"] == orphan["erp_ref"])
    assert int(orphan_doc["customer_document_no"]) not in orders
    # receipts keyed by hand for the sales that Sage already holds
    posted = Counter(p["reference"] for p in small.sage200.sales_posted)
    assert posted == Counter({mismatch["pos_ref"]: 1, dup["pos_ref"]: 1})


def test_tender_variance_values_follow_from_the_orders(small) -> None:  # type: ignore[no-untyped-def]
    stores = {w["warehouseid"]: str(w["storeid"]) for w in small.sitoo.warehouses}
    for t in (t for t in small.truth if t["kind"] == "tender_variance"):
        total = Decimal("0.00")
        for o in small.sitoo.orders.values():
            local = datetime.fromtimestamp(o["orderdate"], UTC).astimezone(
                ZoneInfo(o["additionaldata"]["pos-timezone"])
            )
            if (
                stores[o["warehouseid"]] == t["store"]
                and local.date().isoformat() == t["business_day"]
                and (o["ordertypeid"], o["orderstateid"], o["paymentstateid"]) == (10, 10, 20)
            ):
                total += sum(
                    Decimal(p["moneyamount"]) for p in o["payments"] if p["name"] == t["tender"]
                )
        held = next(
            x
            for x in small.truth
            if x["kind"] == "missing_in_erp"
            and x["store"] == t["store"]
            and x["business_day"] == t["business_day"]
            and x["cause"] != "held_unmapped_tender"
        )
        assert Decimal(t["pos_value"]) == total
        assert Decimal(t["erp_value"]) == total - Decimal(held["pos_value"])
