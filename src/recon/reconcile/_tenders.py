"""Takings per store-day and tender account: POS payments against ERP tender postings.

Emits tender_variance (with the cause that explains it) and builds the takings and
waterfall frames. Must not re-judge documents: it only reads their effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from recon.reconcile._config import EngineConfig
from recon.reconcile._frames import DOC_KINDS, STORE_DAY, among, beyond, emit, join_orders
from recon.reconcile._prepare import Prepared
from recon.snapshot import MONEY

__all__ = [
    "WATERFALL_CAUSES",
    "TenderFindings",
    "add_takings",
    "compare_tenders",
    "explain_takings",
    "takings_rows",
]

_ZERO = Decimal(0)
_KEYS = ["store", "business_day", "account"]
# Explaining kinds, in the order ties are broken: POS money the ERP lacks (from the
# documents' effects), then ERP money with no POS order (receipts of orphan documents).
_POS_KINDS = ("missing_in_erp", "refund_without_credit_note", "amount_mismatch")
_ERP_KINDS = ("missing_in_pos", "credit_note_without_refund")
# ... and money a late document's receipts moved from the sale's day to theirs.
_MOVED = "day_mismatch"
_EXPLAINERS = (*_POS_KINDS, *_ERP_KINDS, _MOVED)
_PART = {k: f"explained_by_{k}" for k in _EXPLAINERS}
WATERFALL_CAUSES = (*_PART.values(), "unexplained")
# The money certainly in the variance: all but an amount mismatch (its receipt may be right).
_CERTAIN = tuple(k for k in _EXPLAINERS if k != "amount_mismatch")


@dataclass(frozen=True)
class TenderFindings:
    parts: list[pl.LazyFrame]
    takings: pl.LazyFrame
    waterfall: pl.LazyFrame


def _unposted_pending(p: Prepared) -> pl.LazyFrame:
    # Pending sales are few (and recent: their documents are in the last row groups).
    pending = p.known.filter(pl.col("eligible") & pl.col("pending")).select("order_id").collect()
    refs = (
        p.t["erp_documents"]
        .select(pl.col("pos_ref").alias("order_id"))
        .filter(among("order_id", pending.get_column("order_id")))
    )
    return pending.lazy().join(refs, on="order_id", how="anti").collect().lazy()


def _pos_side(p: Prepared, pending: pl.LazyFrame) -> pl.LazyFrame:
    orders = (
        p.orders.filter(pl.col("eligible"))
        .join(pending, on="order_id", how="anti")
        .select(
            "order_id", "_h1", "_h2", pl.col("store_id").alias("store"), "business_day", "currency"
        )
    )
    payments = p.t["pos_payments"]
    if p.scope_ids is not None:
        payments = payments.filter(among("order_id", p.scope_ids))
    payments = payments.join(p.map_tender, on="tender")
    return (
        join_orders(payments, "order_id", orders, "inner", p.exact)
        .group_by(_KEYS)
        .agg(pl.col("amount").sum().alias("pos_amount"), pl.col("currency").first())
    )


def _erp_side(p: Prepared, pending: pl.LazyFrame, erp_only: pl.LazyFrame) -> pl.LazyFrame:
    """ERP tender money per store-day-account, and how much of it belongs to orphan documents
    (a column per ERP-only kind); an orphan's receipt without a location takes its store."""
    accounts = p.map_tender.select("account").unique()
    named = p.named.select("order_id", "_h1", "_h2", pl.col("store_id").alias("_ps"))
    journal = p.t["erp_journal_lines"]
    if p.day is not None:
        journal = journal.filter(pl.col("posting_date") == p.day)
    lines = (
        journal.select("posting_date", "location", "account", "amount", "currency", "pos_ref")
        .join(accounts, on="account", how="semi")
        .join(pending, left_on="pos_ref", right_on="order_id", how="anti")
        .join(p.loc_store, on="location", how="left")
        .pipe(join_orders, "pos_ref", named, "left", p.exact)
        .join(erp_only.rename({"store": "_os"}), on="pos_ref", how="left")
    )
    # Only lines with neither a mapped location nor a POS order need the store-day pattern
    # (the regex skips the null refs this leaves elsewhere).
    unplaced = pl.when(pl.col("loc_store").is_null() & pl.col("_ps").is_null()).then("pos_ref")
    return (
        lines.with_columns(
            pl.coalesce("loc_store", "_ps", "_os", unplaced.str.extract(STORE_DAY, 1)).alias(
                "store"
            ),
            pl.col("posting_date").alias("business_day"),
        )
        .group_by(_KEYS)
        .agg(
            pl.col("amount").sum().alias("erp_amount"),
            pl.col("currency").first().alias("erp_currency"),
            *(
                pl.col("amount").filter(pl.col("kind") == k).sum().cast(MONEY).alias(k)
                for k in _ERP_KINDS
            ),
        )
    )


def _contributions(p: Prepared, effects: pl.LazyFrame) -> pl.LazyFrame:
    """Money per store-day-account that each explaining kind moves (ERP minus POS)."""
    orders = p.orders.select("order_id", pl.col("store_id").alias("store"), "business_day")
    # Only the payments of the few orders another kind explains.
    effects = effects.collect().lazy()
    explained = effects.select("order_id").collect().get_column("order_id")
    pays = p.t["pos_payments"].filter(among("order_id", explained)).join(p.map_tender, on="tender")
    kind = pl.col("kind")
    missing = (
        effects.filter(kind.is_in(["missing_in_erp", "refund_without_credit_note"]))
        .join(pays, on="order_id")
        .select("order_id", "kind", "account", (-pl.col("amount")).alias("money"))
    )
    first_account = (
        pays.sort("order_id", "payment_no").group_by("order_id").agg(pl.col("account").first())
    )
    amount = (
        effects.filter(kind == "amount_mismatch")
        .join(first_account, on="order_id")
        .select("order_id", "kind", "account", pl.col("difference").alias("money"))
    )
    per_order = pl.concat([missing, amount], how="vertical").join(orders, on="order_id")
    late = (
        effects.filter(kind == _MOVED)
        .join(orders, on="order_id")
        .select(orders.collect_schema().names())
    )
    if p.scope_ids is not None:
        late = pl.concat([late, _late_elsewhere(p)], how="vertical")
    moved = _moved(p, late)
    return (
        pl.concat([per_order.select(*_KEYS, "kind", "money"), moved], how="vertical")
        .group_by(_KEYS)
        .agg(
            pl.col("money").filter(kind == k).sum().cast(MONEY).alias(k)
            for k in (*_POS_KINDS, _MOVED)
        )
    )


def _late_elsewhere(p: Prepared) -> pl.LazyFrame:
    """For a scoped run: the orders outside its scope that its receipts name, dated another
    day than the sale, and whose (first) document is dated another day too (their
    day_mismatch belongs to another scope; the money it moved arrives in this one)."""
    journal = p.t["erp_journal_lines"]
    if p.day is not None:
        journal = journal.filter(pl.col("posting_date") == p.day)
    assert p.scope_ids is not None
    named = p.named.filter(_outside(p.scope_ids)).select("order_id", "order_type", "business_day")
    ids = (
        journal.select("pos_ref", "posting_date")
        .join(named, left_on="pos_ref", right_on="order_id")
        .filter(pl.col("posting_date") != pl.col("business_day"))
        .select("pos_ref")
        .unique()
        .collect()
        .get_column("pos_ref")
    )
    orders = (
        p.t["pos_orders"]
        .filter(among("order_id", ids))
        .sort("created_at", nulls_last=True)
        .unique("order_id", keep="first")
        .filter((pl.col("state") == "completed") & pl.col("paid").fill_null(False))
        .select("order_id", pl.col("store_id").alias("store"), "business_day", "order_type")
    )
    is_credit = pl.col("doc_type") == "credit_note"
    first_docs = (
        p.t["erp_documents"]
        .filter(among("pos_ref", ids) & pl.col("doc_type").is_in([*DOC_KINDS, "credit_note"]))
        .sort("pos_ref", "posting_date", "doc_no", "doc_id", nulls_last=True)
        .group_by("pos_ref", is_credit.alias("_credit"))
        .agg(pl.col("posting_date").first())
    )
    return (
        orders.with_columns((pl.col("order_type") == "refund").alias("_credit"))
        .join(first_docs, left_on=["order_id", "_credit"], right_on=["pos_ref", "_credit"])
        .filter(pl.col("posting_date") != pl.col("business_day"))
        .select("order_id", "store", "business_day")
    )


def _outside(ids: pl.Series) -> pl.Expr:
    return pl.col("order_id").is_in(ids.implode()).not_()


def _moved(p: Prepared, late: pl.LazyFrame) -> pl.LazyFrame:
    """The receipts of orders whose document is dated another day (day_mismatch) that are
    dated on another day than the sale too: their money leaves the sale's store-day and
    arrives on the receipt's (in the store its location maps to, else the sale's)."""
    late = late.collect().lazy()
    ids = late.select("order_id").collect().get_column("order_id")
    receipts = (
        p.t["erp_journal_lines"]
        .filter(among("pos_ref", ids))
        .join(p.map_tender.select("account").unique(), on="account", how="semi")
        .join(late, left_on="pos_ref", right_on="order_id")
        .filter(pl.col("posting_date") != pl.col("business_day"))
        .join(p.loc_store, on="location", how="left")
    )
    kind = pl.lit(_MOVED).alias("kind")
    money = pl.col("amount").cast(MONEY)
    leaves = receipts.select("store", "business_day", "account", kind, (-money).alias("money"))
    arrives = receipts.select(
        pl.coalesce("loc_store", "store").alias("store"),
        pl.col("posting_date").alias("business_day"),
        "account",
        kind,
        money.alias("money"),
    )
    return pl.concat([leaves, arrives], how="vertical")


def _explain(takings: pl.LazyFrame) -> pl.LazyFrame:
    """Pick the explaining kinds whose money equals the variance; the rest is unexplained.

    Tried in order: all kinds, the certain ones, each kind alone; when none fits exactly,
    the certain money is explained and the rest left unexplained. A zero variance has no parts.
    """
    money = {k: pl.col(k).fill_null(_ZERO) for k in _EXPLAINERS}
    v = pl.col("variance")
    sets = [_EXPLAINERS, _CERTAIN, *((k,) for k in _EXPLAINERS)]
    choice: pl.Expr = pl.lit(1)  # default: the certain money
    for i, kinds in reversed(list(enumerate(sets))):
        total = pl.sum_horizontal([money[k] for k in kinds])
        choice = pl.when((total == v) & (total != _ZERO)).then(pl.lit(i)).otherwise(choice)
    # Takings that agree need no explaining (e.g. a missing invoice whose money a per_order
    # store's daily bank journal holds): no parts, rather than a part and its opposite.
    choice = pl.when(v == _ZERO).then(pl.lit(-1)).otherwise(choice)
    lf = takings.with_columns(choice.alias("_set"))
    lf = lf.with_columns(
        pl.when(pl.col("_set").is_in([i for i, kinds in enumerate(sets) if k in kinds]))
        .then(money[k])
        .otherwise(pl.lit(_ZERO))
        .cast(MONEY)
        .alias(_PART[k])
        for k in _EXPLAINERS
    )
    explained = pl.sum_horizontal([pl.col(c) for c in _PART.values()])
    lf = lf.with_columns((v - explained).cast(MONEY).alias("unexplained"))
    # The cause is the kind explaining the most money (the first of equals).
    largest = pl.max_horizontal([pl.col(c).abs() for c in _PART.values()])
    first_largest = pl.coalesce(
        pl.when(pl.col(part).abs() == largest).then(pl.lit(part)) for part in _PART.values()
    )
    cause = (
        pl.when((pl.col("unexplained") != _ZERO) | (explained == _ZERO))
        .then(pl.lit("unexplained"))
        .otherwise(first_largest)
    )
    return lf.with_columns(cause.alias("cause"))


def takings_rows(p: Prepared, effects: pl.LazyFrame, erp_only: pl.LazyFrame) -> pl.LazyFrame:
    """Per store-day and mapped tender account: the POS and ERP money and the money each
    explaining kind moves. Sums over orders and ERP rows only, so the rows of parts of a
    snapshot that share no order add up to the whole's (`add_takings`)."""
    pending = _unposted_pending(p)
    return (
        _pos_side(p, pending)
        .join(
            _erp_side(p, pending, erp_only), on=_KEYS, how="full", coalesce=True, nulls_equal=True
        )
        .join(p.account_tender, on="account", how="left")
        .join(_contributions(p, effects), on=_KEYS, how="left", nulls_equal=True)
    )


def add_takings(rows: pl.LazyFrame) -> pl.LazyFrame:
    """`takings_rows` of several parts of a snapshot as one run's: summed per key."""
    schema = rows.collect_schema()
    return rows.group_by(_KEYS).agg(
        pl.col(name).drop_nulls().first()
        if dtype == pl.String()
        else pl.col(name).sum().cast(dtype)
        for name, dtype in schema.items()
        if name not in _KEYS
    )


def compare_tenders(
    p: Prepared, cfg: EngineConfig, effects: pl.LazyFrame, erp_only: pl.LazyFrame
) -> TenderFindings:
    return explain_takings(takings_rows(p, effects, erp_only), cfg)


def explain_takings(rows: pl.LazyFrame, cfg: EngineConfig) -> TenderFindings:
    """Takings, their waterfall and the tender variances from `takings_rows`."""
    takings = rows.with_columns(
        pl.col("pos_amount").fill_null(_ZERO).cast(MONEY),
        pl.col("erp_amount").fill_null(_ZERO).cast(MONEY),
        pl.coalesce("currency", "erp_currency").alias("currency"),
    ).with_columns((pl.col("erp_amount") - pl.col("pos_amount")).cast(MONEY).alias("variance"))
    # Small (one row per store-day and account) and read three times: collect it once.
    explained = _explain(takings).collect().lazy()
    variance = explained.filter(beyond(pl.col("variance"), pl.col("pos_amount"), cfg.tender))
    variance = variance.with_columns(
        pl.col("pos_amount").alias("pos_value"),
        pl.col("erp_amount").alias("erp_value"),
        pl.col("variance").alias("difference"),
    )
    severity = pl.when(pl.col("cause") == "unexplained").then(pl.lit("error"))
    part = emit(
        variance,
        "tender_variance",
        [pl.col("store"), pl.col("business_day").dt.to_string("%Y-%m-%d"), pl.col("account")],
        pl.col("cause"),
        severity.otherwise(pl.lit("warning")),
    )
    waterfall = (
        explained.group_by("store", "business_day")
        .agg(
            pl.col("currency").drop_nulls().first(),
            *(pl.col(c).sum().cast(MONEY) for c in WATERFALL_CAUSES),
        )
        .unpivot(
            index=["store", "business_day", "currency"],
            on=list(WATERFALL_CAUSES),
            variable_name="cause",
            value_name="amount",
        )
        .filter(pl.col("amount") != _ZERO)
        .select("store", "business_day", "cause", "amount", "currency")
        .sort("store", "business_day", "cause", nulls_last=True)
    )
    takings_out = explained.select(
        "store",
        "business_day",
        "account",
        "tender",
        "pos_amount",
        "erp_amount",
        "variance",
        "currency",
    ).sort("store", "business_day", "account", nulls_last=True)
    return TenderFindings(parts=[part], takings=takings_out, waterfall=waterfall)
