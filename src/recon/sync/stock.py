"""Stock push, ERP -> POS: set each store's Sitoo stock to what the ERP says is available.

Each ERP supplies its available-to-sell levels per warehouse / location code and SKU
(`recon.erp.registry`): Sage 200 a warehouse holding's `free_stock_available_less_reserved`
(in stock - allocated - reserved), NetSuite `AggregateItemLocation.quantityavailable` (on
hand - committed), SAP B1 an item's `ItemWarehouseInfoCollection` `InStock - Committed`.
The push takes the mappings' `[settings] stock_buffer` off, never below zero. An ERP
location reaches the POS store the mappings map to it (Sage 200 warehouse `name`, NetSuite
location internal id, SAP B1 `WarehouseCode`), and that store's one sellable Sitoo
warehouse; only the SKUs whose level differs from what Sitoo holds are sent (Sitoo's items
are read first), as absolute levels, warehouse by warehouse in id order and SKU order, and
every element of Sitoo's batch answer is checked: a refused SKU is a problem of the run,
the others land. An absolute PUT is idempotent, so a killed run is simply run again.

Only Virtual warehouses take absolute levels (reference gotcha 8). A FIFO warehouse gets
warehouse transactions instead: the difference between the ERP level and the
`decimaltotal` Sitoo holds, rises in one Move In (type 10), falls in one Move Out (type 20),
at most 1000 items per POST. A transaction is a POST, never repeated after an unclear
failure: the next run reads Sitoo's levels again and sends only what is still different, so
a lost answer never moves stock twice. (Sales made between the read and the POST stay
counted: the difference is added to whatever Sitoo holds by then.)

Skipped with a one-line reason: an ERP location no store maps to, a store with no sellable
Sitoo warehouse or with several (one ERP level cannot be split between them). SKUs Sitoo
holds that the ERP has no level for are left alone. It must not post sales, read the
warehouse DB or decide mappings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from recon.clients import TerminalError
from recon.clients.sitoo import SitooClient, SitooWarehouse
from recon.config.mappings import Mappings
from recon.warehouse.runs import RunLog

__all__ = [
    "SKIP",
    "Levels",
    "StockPlan",
    "WarehouseTarget",
    "plan_targets",
    "push_stock",
]

log = logging.getLogger("recon.sync.stock")

VIRTUAL = 20  # Sitoo warehousetype that takes absolute levels (FIFO ones need transactions)
SKIP = "stock not pushed"
MOVE_IN, MOVE_OUT = 10, 20  # Sitoo warehouse transaction types for stock in / out
MILLI = Decimal("0.001")
Levels = dict[str, dict[str, Decimal]]  # ERP warehouse / location code -> SKU -> available


def _level(qty: Decimal) -> Decimal:
    return qty.quantize(MILLI)


@dataclass(frozen=True)
class WarehouseTarget:
    """One Sitoo warehouse that receives one ERP location's levels."""

    location: str
    store_id: str
    warehouseid: int
    levels: Mapping[str, Decimal]
    fifo: bool = False  # takes warehouse transactions (differences), not absolute levels


@dataclass
class StockPlan:
    """Where each Sage warehouse's stock goes, and why some goes nowhere (one line each)."""

    targets: list[WarehouseTarget] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def plan_targets(
    erp: str,
    levels: Mapping[str, Mapping[str, Decimal]],
    mappings: Mappings,
    warehouses: list[SitooWarehouse],
) -> StockPlan:
    """ERP warehouse / location -> POS store (mappings) -> its one sellable Virtual warehouse."""
    store_of_location = {m.location: m.store_id for m in mappings.stores.values()}
    by_store: dict[str, list[SitooWarehouse]] = {}
    for wh in warehouses:
        if wh.storeid is not None and wh.sellable is not False:
            by_store.setdefault(str(wh.storeid), []).append(wh)
    plan = StockPlan()
    for location in sorted(levels):
        store = store_of_location.get(location)
        if store is None:
            plan.skipped.append(
                f"{erp} warehouse {location!r}: no POS store maps to it in the mappings "
                "[stores]; not pushed"
            )
            continue
        candidates = sorted(by_store.get(store, []), key=lambda w: w.warehouseid)
        if not candidates:
            plan.skipped.append(
                f"store {store} ({location}): no sellable Sitoo warehouse belongs to it; not pushed"
            )
            continue
        if len(candidates) > 1:
            ids = ", ".join(str(w.warehouseid) for w in candidates)
            plan.skipped.append(
                f"store {store} ({location}): {len(candidates)} sellable Sitoo warehouses "
                f"({ids}); one ERP level cannot be split between them, not pushed"
            )
            continue
        wh = candidates[0]
        fifo = wh.warehousetype != VIRTUAL
        plan.targets.append(
            WarehouseTarget(location, store, wh.warehouseid, levels[location], fifo)
        )
    plan.targets.sort(key=lambda t: t.warehouseid)
    return plan


def _held(sitoo: SitooClient, target: WarehouseTarget) -> dict[str, Decimal]:
    """Sitoo's `decimaltotal` per SKU of the target warehouse."""
    return {
        f.item.sku: _level(f.item.decimaltotal)
        for f in sitoo.iter_warehouse_items(target.warehouseid)
        if f.item is not None and f.item.decimaltotal is not None
    }


def push_stock(
    erp: str, available: Levels, sitoo: SitooClient, mappings: Mappings, run: RunLog
) -> StockPlan:
    """Push the ERP's `available` levels (an ERP's `*_levels`), less the buffer, to Sitoo;
    counts and problems go to `run`.

    Returns the plan, whose `skipped` lines say which warehouses were left alone and why.
    Bad credentials or an unreachable vendor stop the run; a warehouse the vendor refuses
    is a problem and the next warehouse still goes.
    """
    buffer = mappings.options.stock_buffer
    levels = {
        location: {sku: _level(max(qty - buffer, Decimal(0))) for sku, qty in skus.items()}
        for location, skus in available.items()
    }
    warehouses = [f.item for f in sitoo.list_warehouses() if f.item is not None]
    plan = plan_targets(erp, levels, mappings, warehouses)
    for line in plan.skipped:
        log.warning("stock_push skipped: %s", line)
    run.counts["warehouses_skipped"] += len(plan.skipped)
    products: set[str] | None = None  # Sitoo's SKUs, read once if a FIFO warehouse needs them
    for target in plan.targets:
        held = _held(sitoo, target)
        changes = [(sku, q) for sku, q in sorted(target.levels.items()) if held.get(sku) != q]
        run.counts["skus_unchanged"] += len(target.levels) - len(changes)
        if not changes:
            run.counts["warehouses_unchanged"] += 1
            continue
        where = f"store {target.store_id} (Sitoo warehouse {target.warehouseid})"
        try:
            if target.fifo:
                if products is None:
                    products = {f.item.sku for f in sitoo.iter_products() if f.item is not None}
                _move(sitoo, target, changes, held, products, where, run)
            else:
                _set(sitoo, target, changes, where, run)
        except TerminalError as exc:
            run.problem(f"{where}: stock push refused: {exc}")
            continue
        run.counts["warehouses_pushed"] += 1
        log.info(
            "stock_push store=%s warehouse=%s sent=%d",
            target.store_id,
            target.warehouseid,
            len(changes),
        )
    return plan


def _set(
    sitoo: SitooClient,
    target: WarehouseTarget,
    changes: list[tuple[str, Decimal]],
    where: str,
    run: RunLog,
) -> None:
    """A Virtual warehouse: absolute levels in one batch, every element checked."""
    for result in sitoo.put_warehouse_items(target.warehouseid, changes):
        if result.ok:
            run.counts["skus_pushed"] += 1
            continue
        run.counts["skus_failed"] += 1
        run.problem(
            f"{where} sku {result.sku}: Sitoo refused the stock level (status {result.statuscode})"
        )


def _move(
    sitoo: SitooClient,
    target: WarehouseTarget,
    changes: list[tuple[str, Decimal]],
    held: Mapping[str, Decimal],
    products: set[str],
    where: str,
    run: RunLog,
) -> None:
    """A FIFO warehouse: the differences to Sitoo's levels as warehouse transactions, the
    rises as one Move In (type 10), the falls as one Move Out (type 20). A SKU Sitoo has no
    product for would fail its whole transaction, so it is left out as a problem."""
    deltas = []
    for sku, level in changes:
        if sku in products:
            deltas.append((sku, level - held.get(sku, Decimal(0))))
            continue
        run.counts["skus_failed"] += 1
        run.problem(f"{where} sku {sku}: Sitoo has no product with this SKU; stock not moved")
    for kind, moves in ((MOVE_IN, [d for d in deltas if d[1] > 0]),
                        (MOVE_OUT, [d for d in deltas if d[1] < 0])):  # fmt: skip
        if moves:
            sitoo.post_warehouse_transaction(
                target.warehouseid, kind, "recon stock push: to the ERP's level", moves
            )
            run.counts["skus_pushed"] += len(moves)
