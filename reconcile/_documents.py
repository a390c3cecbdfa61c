"""Document links: each POS sale/refund against the ERP documents carrying its id.

Emits missing_in_erp, refund_without_credit_note, missing_in_pos, credit_note_without_refund,
duplicate_in_erp, incomplete_order_posted, amount_mismatch, vat_rounding, day_mismatch,
store_mismatch and line_mismatch. Reads prepared frames; must not compare tenders or master data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from reconcile._config import EngineConfig
from reconcile._frames import DOC_KINDS, beyond, emit
from reconcile._prepare import Prepared
from snapshot import MONEY

__all__ = ["DocumentFindings", "compare_documents"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class DocumentFindings:
    parts: list[pl.LazyFrame]  # exception rows
    effects: pl.LazyFrame  # order_id, kind, diff: orders whose money another kind explains
    pairs: pl.LazyFrame  # order_id, doc_id, erp_ref, store, business_day, currency (eligible)


@dataclass(frozen=True)
class _Side:
    order_type: str
    doc_types: tuple[str, ...]
    missing_kind: str
    orphan_kind: str
    orphan_cause_ref: str
    orphan_cause_noref: str
    use_original_ref: bool


_SALES = _Side(
    "sale", DOC_KINDS, "missing_in_erp", "missing_in_pos", "no_pos_order", "no_pos_ref", False
)
_REFUNDS = _Side(
    "refund",
    ("credit_note",),
    "refund_without_credit_note",
    "credit_note_without_refund",
    "no_pos_refund",
    "no_pos_refund",
    True,
)


def _doc_summary(docs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per pos_ref: the first document (earliest posting_date, then doc_no) and counts."""
    # Within a group polars keeps the frame's row order, so first/last follow this sort.
    return (
        docs.filter(pl.col("pos_ref").is_not_null())
        .sort("pos_ref", "posting_date", "doc_no", "doc_id", nulls_last=True)
        .group_by("pos_ref")
        .agg(
            pl.col("doc_id").first(),
            pl.col("doc_no").first().alias("erp_ref"),
            pl.col("location").first().alias("doc_location"),
            pl.col("posting_date").first(),
            pl.col("gross_total").first().alias("erp_gross"),
            pl.col("vat_total").first().alias("erp_vat"),
            pl.col("currency").first().alias("erp_currency"),
            pl.col("doc_no").last().alias("last_ref"),
            pl.col("gross_total").sum().alias("erp_gross_all"),
            pl.len().alias("n_docs"),
        )
        .with_columns(pl.lit(True).alias("_in_erp"))
    )


def _link(p: Prepared, cfg: EngineConfig, side: _Side) -> DocumentFindings:
    orders = p.orders.filter(pl.col("order_type") == side.order_type).with_columns(
        pl.lit(True).alias("_in_pos")
    )
    docs = p.t["erp_documents"].filter(pl.col("doc_type").is_in(list(side.doc_types)))
    joined = orders.join(
        _doc_summary(docs), left_on="order_id", right_on="pos_ref", how="full", coalesce=True
    ).with_columns(
        pl.col("_in_pos").fill_null(False),
        pl.col("_in_erp").fill_null(False),
        pl.col("order_id").alias("pos_ref"),
        pl.col("store_id").alias("store"),
        pl.coalesce("currency", "erp_currency").alias("currency"),
        pl.col("gross_total").alias("pos_value"),
        pl.col("erp_gross").alias("erp_value"),
        (pl.col("erp_gross") - pl.col("gross_total")).alias("difference"),
    )
    key = [pl.col("pos_ref")]
    parts: list[pl.LazyFrame] = []

    # POS order with no document: missing (unless pending or covered by a daily journal).
    absent = joined.filter(
        pl.col("_in_pos")
        & pl.col("_in_erp").not_()
        & pl.col("eligible")
        & pl.col("pending").not_()
        & (pl.col("held_cause").is_not_null() | pl.col("covered").not_())
    ).with_columns(pl.lit(None).alias("erp_value"), (-pl.col("gross_total")).alias("difference"))
    parts.append(
        emit(absent, side.missing_kind, key, pl.coalesce("held_cause", pl.lit("not_posted")))
    )
    effects = absent.select(
        "order_id", pl.lit(side.missing_kind).alias("kind"), pl.col("difference").cast(MONEY)
    )

    both = joined.filter(pl.col("_in_pos") & pl.col("_in_erp"))
    incomplete = both.filter(pl.col("eligible").not_())
    parts.append(
        emit(
            incomplete,
            "incomplete_order_posted",
            key,
            pl.when(pl.col("state") == "cancelled")
            .then(pl.lit("order_cancelled"))
            .when(pl.col("state") != "completed")
            .then(pl.lit("order_open"))
            .otherwise(pl.lit("order_unpaid")),
        )
    )
    ok = both.filter(pl.col("eligible"))
    dup = ok.filter(pl.col("n_docs") > 1).with_columns(
        pl.col("last_ref").alias("erp_ref"),
        pl.col("erp_gross_all").alias("erp_value"),
        (pl.col("erp_gross_all") - pl.col("gross_total")).alias("difference"),
    )
    parts.append(emit(dup, "duplicate_in_erp", key, "posted_twice"))

    vat_diff = pl.col("erp_vat") - pl.col("vat_total")
    is_rounding = (vat_diff != _ZERO) & (vat_diff.abs() <= pl.lit(cfg.vat_rounding_max))
    checked = ok.with_columns(
        vat_diff.alias("_vat_diff"), is_rounding.fill_null(False).alias("_rounding")
    )
    rounding = checked.filter(pl.col("_rounding")).with_columns(
        pl.col("vat_total").alias("pos_value"),
        pl.col("erp_vat").alias("erp_value"),
        pl.col("_vat_diff").alias("difference"),
    )
    parts.append(
        emit(
            rounding,
            "vat_rounding",
            key,
            pl.concat_str([pl.lit("rounding_"), pl.col("_vat_diff").abs().cast(pl.Decimal(18, 2))]),
            severity="info",
        )
    )
    residual = pl.col("difference") - pl.when(pl.col("_rounding")).then(
        pl.col("_vat_diff")
    ).otherwise(pl.lit(_ZERO))
    mismatch = checked.filter(beyond(residual, pl.col("gross_total"), cfg.amount))
    parts.append(emit(mismatch, "amount_mismatch", key, "amount_differs"))
    effects = pl.concat(
        [
            effects,
            mismatch.select(
                "order_id",
                pl.lit("amount_mismatch").alias("kind"),
                pl.col("difference").cast(MONEY),
            ),
        ],
        how="vertical",
    )

    day = ok.filter(pl.col("posting_date") != pl.col("business_day"))
    next_day = pl.col("posting_date") == pl.col("business_day") + pl.duration(days=1)
    parts.append(
        emit(
            day,
            "day_mismatch",
            key,
            pl.when(next_day).then(pl.lit("posted_next_day")).otherwise(pl.lit("posted_other_day")),
            severity="warning",
        )
    )
    wrong_loc = ok.filter(pl.col("doc_location") != pl.col("location"))
    parts.append(emit(wrong_loc, "store_mismatch", key, "wrong_location", severity="warning"))

    parts.append(_orphans(p, docs, orders, side))
    pairs = ok.select("order_id", "doc_id", "erp_ref", "store", "business_day", "currency")
    return DocumentFindings(parts=parts, effects=effects, pairs=pairs)


def _orphans(p: Prepared, docs: pl.LazyFrame, orders: pl.LazyFrame, side: _Side) -> pl.LazyFrame:
    """Documents whose pos_ref names no POS order of this type, when they belong to a store."""
    named = p.orders.select("order_id", "store_id")
    lf = (
        docs.join(orders.select("order_id"), left_on="pos_ref", right_on="order_id", how="anti")
        .join(p.loc_store, on="location", how="left")
        .join(
            named.rename({"store_id": "_ref_store"}),
            left_on="pos_ref",
            right_on="order_id",
            how="left",
        )
    )
    stores = [pl.col("loc_store"), pl.col("_ref_store")]
    if side.use_original_ref:
        lf = lf.join(
            named.rename({"store_id": "_orig_store"}),
            left_on="original_pos_ref",
            right_on="order_id",
            how="left",
        )
        stores.append(pl.col("_orig_store"))
    lf = lf.with_columns(pl.coalesce(stores).alias("store")).filter(pl.col("store").is_not_null())
    lf = lf.with_columns(
        pl.col("doc_no").alias("erp_ref"),
        pl.col("posting_date").alias("business_day"),
        pl.col("gross_total").alias("erp_value"),
        pl.col("gross_total").alias("difference"),
    )
    cause = (
        pl.when(pl.col("pos_ref").is_null())
        .then(pl.lit(side.orphan_cause_noref))
        .otherwise(pl.lit(side.orphan_cause_ref))
    )
    return emit(lf, side.orphan_kind, [pl.col("erp_ref")], cause)


def _lines(p: Prepared, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """line_mismatch: per linked (eligible) order and SKU, POS quantity vs its document's."""
    erp_lines = p.t["erp_document_lines"]
    pairs = pairs.join(erp_lines.select("doc_id").unique(), on="doc_id", how="semi")
    pos = (
        p.t["pos_order_lines"]
        .join(pairs.select("order_id"), on="order_id", how="semi")
        .group_by("order_id", "sku")
        .agg(pl.col("quantity").sum().alias("pos_value"))
    )
    erp = (
        erp_lines.join(pairs.select("order_id", "doc_id"), on="doc_id")
        .group_by("order_id", "sku")
        .agg(pl.col("quantity").sum().alias("erp_value"))
    )
    joined = (
        pos.join(erp, on=["order_id", "sku"], how="full", coalesce=True, nulls_equal=True)
        .join(pairs, on="order_id", how="left")
        .with_columns(
            pl.col("order_id").alias("pos_ref"),
            (pl.col("erp_value").fill_null(_ZERO) - pl.col("pos_value").fill_null(_ZERO)).alias(
                "difference"
            ),
        )
    )
    broken = joined.filter(
        pl.col("pos_value").is_null()
        | pl.col("erp_value").is_null()
        | (pl.col("pos_value") != pl.col("erp_value"))
    )
    cause = (
        pl.when(pl.col("erp_value").is_null())
        .then(pl.lit("sku_missing_in_erp"))
        .when(pl.col("pos_value").is_null())
        .then(pl.lit("sku_missing_in_pos"))
        .otherwise(pl.lit("quantity_differs"))
    )
    return emit(broken, "line_mismatch", [pl.col("pos_ref"), pl.col("sku")], cause, "warning")


def compare_documents(p: Prepared, cfg: EngineConfig) -> DocumentFindings:
    sales, refunds = _link(p, cfg, _SALES), _link(p, cfg, _REFUNDS)
    pairs = pl.concat([sales.pairs, refunds.pairs], how="vertical")
    return DocumentFindings(
        parts=[*sales.parts, *refunds.parts, _lines(p, pairs)],
        effects=pl.concat([sales.effects, refunds.effects], how="vertical"),
        pairs=pairs,
    )
