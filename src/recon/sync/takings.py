"""Daily journal contents: a store-day's takings per tender, split by tax code into net + VAT.

One journal per store, business day and tender (CONTRACT "daily journal mode"). Its amount is
the sum of that tender's POS payments (refunds negative); its analysis lines split that
amount by the ERP tax code of the order lines paid with it. An order paid with one tender
gives it all its lines; an order paid with several shares each tax code's net and VAT across
its payments in proportion to the amounts, to the penny, the last payment taking what is
left, so every journal's lines add up exactly to its amount and the store-day's lines to the
POS net and VAT. Pure: no I/O, no ERP. Limit: a payment total that differs from the order's
gross (not seen from Sitoo) puts the difference on the largest tax code's net.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from recon.clients.sitoo import SitooOrder
from recon.config.mappings import Mappings, vat_key
from recon.pos.rules import line_values, product_lines
from recon.reconcile import store_day_ref

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
Split = dict[str, tuple[Decimal, Decimal]]  # ERP tax code -> (net, VAT)


@dataclass(frozen=True)
class StoreDayJournal:
    store_id: str
    day: date
    tender: str
    amount: Decimal
    splits: Split
    order_ids: tuple[str, ...] = field(default=())

    @property
    def reference(self) -> str:
        return store_day_ref(self.store_id, self.day)

    @property
    def post_key(self) -> str:
        return f"journal:{self.reference}:{self.tender}"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def order_splits(order: SitooOrder, mappings: Mappings) -> list[tuple[str, Decimal, Split]]:
    """(tender, amount, split) per payment of `order`; the splits add up to the amounts."""
    by_code: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for item in product_lines(order):
        v = line_values(item)
        code = mappings.tax[vat_key(v["vat_rate"])].tax_code
        by_code[code][0] += v["line_gross"] - v["line_vat"]
        by_code[code][1] += v["line_vat"]
    payments = [(p.name, p.moneyamount) for p in order.payments]
    total = sum((a for _, a in payments), ZERO)
    left = {c: (n, t) for c, (n, t) in by_code.items()}
    out: list[tuple[str, Decimal, Split]] = []
    for i, (tender, amount) in enumerate(payments):
        if i == len(payments) - 1:
            split = dict(left)
        else:
            share = amount / total if total else Decimal(0)
            split = {c: (_cents(n * share), _cents(t * share)) for c, (n, t) in by_code.items()}
            left = {c: (left[c][0] - n, left[c][1] - t) for c, (n, t) in split.items()}
        off = amount - sum((n + t for n, t in split.values()), ZERO)
        if off and split:
            biggest = max(split, key=lambda c: (abs(split[c][0]), c))
            net, vat = split[biggest]
            split[biggest] = (net + off, vat)
            if i < len(payments) - 1:
                left[biggest] = (left[biggest][0] - off, left[biggest][1])
        elif off:
            split = {"": (off, ZERO)}  # a payment without product lines: nothing to split by
        out.append((tender, amount, split))
    return out


def store_day_journals(
    store_id: str, day: date, orders: Iterable[SitooOrder], mappings: Mappings
) -> list[StoreDayJournal]:
    """The journals (one per tender, sorted by tender) of one store-day's postable orders."""
    amounts: dict[str, Decimal] = defaultdict(lambda: ZERO)
    splits: dict[str, dict[str, tuple[Decimal, Decimal]]] = defaultdict(dict)
    ids: dict[str, list[str]] = defaultdict(list)
    for order in orders:
        for tender, amount, split in order_splits(order, mappings):
            amounts[tender] += amount
            ids[tender].append(str(order.orderid))
            for code, (net, vat) in split.items():
                n0, v0 = splits[tender].get(code, (ZERO, ZERO))
                splits[tender][code] = (n0 + net, v0 + vat)
    return [
        StoreDayJournal(
            store_id,
            day,
            tender,
            amounts[tender],
            {c: nv for c, nv in sorted(splits[tender].items()) if nv != (ZERO, ZERO)},
            tuple(ids[tender]),
        )
        for tender in sorted(amounts)
    ]
