"""Document links: each POS sale/refund against the ERP documents carrying its id.

Emits missing_in_erp, refund_without_credit_note, missing_in_pos, credit_note_without_refund,
duplicate_in_erp, incomplete_order_posted, amount_mismatch, vat_rounding, day_mismatch,
store_mismatch and line_mismatch. Reads prepared frames; must not compare tenders or master data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from recon.reconcile._config import EngineConfig
from recon.reconcile._frames import DOC_KINDS, among, beyond, emit, split_repeated
from recon.reconcile._prepare import Prepared
from recon.snapshot import MONEY, QTY

__all__ = ["DocumentFindings", "compare_documents", "money_checks"]

_ZERO = Decimal(0)
_SEED = 6  # of the line fingerprints' hashes


@dataclass(frozen=True)
class DocumentFindings:
    parts: list[pl.LazyFrame]  # exception rows
    effects: pl.LazyFrame  # order_id, kind, difference: orders whose money a kind explains
    erp_only: pl.LazyFrame  # pos_ref, kind, store: orphan documents naming no POS order at all
    lined: pl.LazyFrame  # order_id, doc_id, erp_ref, store, business_day, currency: eligible
    # linked orders whose lines may differ from their document's (line fingerprints differ)
    linked: pl.LazyFrame  # eligible orders linked to their document(s), as `money_checks` reads


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


def _doc_summary(p: Prepared, docs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per pos_ref and side `_s` (credit note or not): the first document (earliest
    posting_date, then doc_no) and counts."""
    docs = docs.filter(pl.col("pos_ref").is_not_null())
    once, more = split_repeated(docs, "pos_ref", p.doc_ref_repeats)
    # A pos_ref with one document is its own summary; only repeated refs need the sort.
    single = (
        None
        if once is None
        else once.select(
            "pos_ref",
            "_s",
            "doc_id",
            pl.col("doc_no").alias("erp_ref"),
            pl.col("location").alias("doc_location"),
            "posting_date",
            pl.col("gross_total").alias("erp_gross"),
            pl.col("vat_total").alias("erp_vat"),
            pl.col("currency").alias("erp_currency"),
            pl.col("doc_no").alias("last_ref"),
            pl.col("gross_total").cast(pl.Decimal(38, 2)).alias("erp_gross_all"),
            pl.lit(1, dtype=pl.UInt32).alias("n_docs"),
        )
    )
    if more is None:
        assert single is not None
        return single.with_columns(pl.lit(True).alias("_in_erp"))
    # Within a group polars keeps the frame's row order, so first/last follow this sort.
    multi = (
        more.sort("pos_ref", "posting_date", "doc_no", "doc_id", nulls_last=True)
        .group_by("pos_ref", "_s")
        .agg(
            pl.col("doc_id").first(),
            pl.col("doc_no").first().alias("erp_ref"),
            pl.col("location").first().alias("doc_location"),
            pl.col("posting_date").first(),
            pl.col("gross_total").first().alias("erp_gross"),
            pl.col("vat_total").first().alias("erp_vat"),
            pl.col("currency").first().alias("erp_currency"),
            pl.col("doc_no").last().alias("last_ref"),
            pl.col("gross_total").sum().cast(pl.Decimal(38, 2)).alias("erp_gross_all"),
            pl.len().cast(pl.UInt32).alias("n_docs"),
        )
    )
    parts = [multi] if single is None else [single, multi]
    return pl.concat(parts, how="vertical").with_columns(pl.lit(True).alias("_in_erp"))


def _absent() -> pl.Expr:
    # POS order with no document: missing (unless pending or covered by a daily journal).
    return (
        pl.col("_in_pos")
        & pl.col("_in_erp").not_()
        & pl.col("eligible")
        & pl.col("pending").not_()
        & (pl.col("held_cause").is_not_null() | pl.col("covered").not_())
    )


_BOTH = pl.col("_in_pos") & pl.col("_in_erp")
_OK = _BOTH & pl.col("eligible")


def _fingerprint(lines: pl.LazyFrame, key: str) -> pl.LazyFrame:
    """Per `key` (as its 64-bit hash `_k`): `_f`, the wrapping sum of hash(sku) * quantity in
    thousandths, equal for two line sets with the same quantity per SKU (and different with
    near certainty otherwise); `_z`, whether a line has no quantity (a SKU the sum cannot see).
    A hash collision only merges two keys, so it can only flag more orders, never fewer.
    """
    # A Decimal(18,3) is stored as the integer number of thousandths.
    milli = pl.col("quantity").cast(QTY).to_physical().cast(pl.Int64).fill_null(0)
    return lines.group_by(pl.col(key).hash(_SEED).alias("_k")).agg(
        (pl.col("sku").hash(_SEED) * milli.reinterpret(signed=False)).sum().alias("_f"),
        (milli == 0).any().alias("_z"),
    )


def _side_docs(p: Prepared) -> pl.LazyFrame:
    """The documents an order may link to, with their side `_s` (True: credit notes)."""
    docs = p.t["erp_documents"].filter(pl.col("doc_type").is_in([*DOC_KINDS, "credit_note"]))
    if p.scope_ids is not None:
        docs = docs.filter(among("pos_ref", p.scope_ids))
    return docs.with_columns((pl.col("doc_type") == "credit_note").alias("_s"))


def _line_suspects(p: Prepared) -> pl.Series:
    """Hashes of the pos_refs with a document whose lines have another fingerprint than the
    POS order's (a superset of the orders the line check flags)."""
    pos, erp = p.t["pos_order_lines"], p.t["erp_document_lines"]
    if p.scope_ids is not None:  # only the few orders in scope
        doc_ids = _side_docs(p).select("doc_id").collect().get_column("doc_id")
        pos = pos.filter(among("order_id", p.scope_ids))
        erp = erp.filter(among("doc_id", doc_ids))
    # Every document of a pos_ref, not only the first it links to: a superset, and no sort.
    docs = _side_docs(p).select(
        pl.col("pos_ref").hash(_SEED).alias("_k"), pl.col("doc_id").hash(_SEED).alias("_kd")
    )
    suspects = (
        docs.join(_fingerprint(erp, "doc_id").rename({"_k": "_kd"}), on="_kd")
        .join(_fingerprint(pos, "order_id"), on="_k", how="left", suffix="_pos")
        .filter(
            pl.col("_f_pos").is_null()
            | (pl.col("_f_pos") != pl.col("_f"))
            | pl.col("_z_pos").fill_null(False)
            | pl.col("_z")
        )
        .select("_k")
    )
    return suspects.collect().get_column("_k")


def _candidates(p: Prepared, cfg: EngineConfig, suspects: pl.Series, exact: bool) -> pl.DataFrame:
    """The orders linked to their documents (sales to invoices / sales orders, refunds to
    credit notes: side `_s` is True for refunds), only the rows some check flags.

    One join for both sides, on `_k`: the 64-bit hash of order_id / pos_ref, or (`exact`)
    the strings themselves, for the rare run where two of them share a hash.
    The join runs twice: first on the columns the filter reads only (a full join of every
    order gathers every column it carries), then with all columns for the few keys kept.
    The checks below run on this small frame: polars pushes each check's columns and
    filter into its own copy of the join, so sharing the join lazily would run it once
    per check.
    """

    def key(ref: str) -> pl.Expr:  # of the id and side, one column (a join on two is slower)
        if exact:
            return pl.concat_str([pl.col(ref), pl.col("_s").cast(pl.String)], separator="\x1f")
        return pl.col(ref).hash(_SEED) ^ pl.col("_s").cast(pl.UInt64)

    orders = (
        p.orders.filter(pl.col("order_type").is_in(["sale", "refund"]))
        .with_columns(pl.lit(True).alias("_in_pos"), (pl.col("order_type") == "refund").alias("_s"))
        .with_columns(key("order_id").alias("_k"))
    )
    summary = _doc_summary(p, _side_docs(p)).with_columns(key("pos_ref").alias("_k"))
    summary = summary.collect().lazy()  # read by both joins

    def link(orders: pl.LazyFrame, summary: pl.LazyFrame) -> pl.LazyFrame:
        # A full join also finds the pos_refs that name no order of that side (orphans).
        return orders.join(summary, on="_k", how="full", coalesce=True).with_columns(
            pl.col("_in_pos").fill_null(False),
            pl.col("_in_erp").fill_null(False),
            pl.coalesce("_s", "_s_right").alias("_s"),
        )

    lines_differ = pl.col("order_id").hash(_SEED).is_in(suspects.implode())

    # Keep the rows some check may flag, with plain comparisons on the raw columns (a
    # superset: the checks decide on the few rows left); derive money columns only then.
    def differs(a: str, b: str) -> pl.Expr:
        return (pl.col(a) != pl.col(b)).fill_null(False)

    flagged = (
        (pl.col("n_docs") > 1).fill_null(False)
        | differs("erp_vat", "vat_total")
        | differs("erp_gross", "gross_total")
        | differs("posting_date", "business_day")
        | differs("doc_location", "location")
        | lines_differ.fill_null(False)
    )
    if cfg.amount.absolute < 0 or cfg.amount.relative < 0:
        flagged = pl.lit(True)  # a negative tolerance flags even equal amounts
    keep = (
        pl.col("_in_pos").not_()
        | (_BOTH & (pl.col("order_id") != pl.col("pos_ref"))).fill_null(False)  # a shared hash
        | _absent().fill_null(False)
        | (_BOTH & pl.col("eligible").not_()).fill_null(False)
        | (_OK.fill_null(False) & flagged)
    )
    read = {"_k", "_s", *keep.meta.root_names()}
    narrow = link(
        orders.select(c for c in orders.collect_schema() if c in read),
        summary.select(c for c in summary.collect_schema() if c in read),
    )
    kept = narrow.filter(keep).select("_k").collect().get_column("_k")
    among_kept = pl.col("_k").is_in(kept.implode())
    vat_diff = pl.col("erp_vat") - pl.col("vat_total")
    limit = (
        pl.lit(cfg.vat_rounding_max)
        + pl.lit(cfg.vat_rounding_relative) * pl.col("vat_total").fill_null(_ZERO).abs()
    )
    is_rounding = (vat_diff != _ZERO) & (vat_diff.abs() <= limit)
    return (
        link(orders.filter(among_kept), summary.filter(among_kept))
        .filter(keep)
        .with_columns(
            pl.coalesce("order_id", "pos_ref").alias("pos_ref"),
            pl.col("pos_ref").alias("_ref"),  # as the document has it
            pl.col("store_id").alias("store"),
            pl.coalesce("currency", "erp_currency").alias("currency"),
            pl.col("gross_total").alias("pos_value"),
            pl.col("erp_gross").alias("erp_value"),
            (pl.col("erp_gross") - pl.col("gross_total")).alias("difference"),
            vat_diff.alias("_vat_diff"),
        )
        .with_columns(
            is_rounding.fill_null(False).alias("_rounding"),
            (_OK & lines_differ).fill_null(False).alias("_lines"),
        )
        .collect()
    )


def _gross_differs(cfg: EngineConfig) -> pl.Expr:
    """The gross totals disagree beyond the tolerance, and not only by a VAT rounding (an
    ERP that recomputed the VAT per line and added it on top of the same net)."""
    base = pl.col("gross_total")
    differs = beyond(pl.col("difference"), base, cfg.amount)
    by_rounding = (
        pl.col("_rounding")
        & beyond(pl.col("difference") - pl.col("_vat_diff"), base, cfg.amount).not_()
    )
    return differs & by_rounding.not_()


def money_checks(ok: pl.LazyFrame, cfg: EngineConfig) -> tuple[list[pl.LazyFrame], pl.LazyFrame]:
    """amount_mismatch and vat_rounding rows of eligible orders linked to their document
    (`DocumentFindings.linked`), and the orders whose gross differs (their money effects).

    The only document checks a money tolerance (`cfg.amount`) decides: `recon.reconcile.whatif`
    runs them again per tolerance. One kind per problem: a gross that differs is
    amount_mismatch (amount_differs); with the gross agreeing, a VAT difference up to the
    limit is vat_rounding, above it amount_mismatch (vat_differs); never two for one order.
    """
    key = [pl.col("pos_ref")]
    gross_differs = _gross_differs(cfg)
    vat_only = ok.filter(gross_differs.not_() & (pl.col("_vat_diff") != _ZERO)).with_columns(
        pl.col("vat_total").alias("pos_value"),
        pl.col("erp_vat").alias("erp_value"),
        pl.col("_vat_diff").alias("difference"),
    )
    rounding = vat_only.filter(pl.col("_rounding"))
    mismatch = ok.filter(gross_differs)
    vat_differs = vat_only.filter(pl.col("_rounding").not_())
    parts = [
        emit(
            rounding,
            "vat_rounding",
            key,
            pl.concat_str([pl.lit("rounding_"), pl.col("_vat_diff").abs().cast(pl.Decimal(18, 2))]),
            severity="info",
        ),
        emit(mismatch, "amount_mismatch", key, "amount_differs"),
        emit(vat_differs, "amount_mismatch", key, "vat_differs"),
    ]
    return parts, mismatch


def _link(p: Prepared, cfg: EngineConfig, side: _Side, hits: pl.LazyFrame) -> DocumentFindings:
    joined = hits
    key = [pl.col("pos_ref")]
    parts: list[pl.LazyFrame] = []

    absent = joined.filter(_absent()).with_columns(
        pl.lit(None).alias("erp_value"), (-pl.col("gross_total")).alias("difference")
    )
    parts.append(
        emit(absent, side.missing_kind, key, pl.coalesce("held_cause", pl.lit("not_posted")))
    )
    effects = absent.select(
        "order_id", pl.lit(side.missing_kind).alias("kind"), pl.col("difference").cast(MONEY)
    )

    both = joined.filter(_BOTH)
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

    money, mismatch = money_checks(ok, cfg)
    parts.extend(money)
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
    # Its receipts dated on other days than the sale move money between store-days.
    effects = pl.concat(
        [
            effects,
            day.select(
                "order_id",
                pl.lit("day_mismatch").alias("kind"),
                pl.lit(None, dtype=MONEY).alias("difference"),
            ),
        ],
        how="vertical",
    )
    wrong_loc = ok.filter(pl.col("doc_location") != pl.col("location"))
    parts.append(emit(wrong_loc, "store_mismatch", key, "wrong_location", severity="warning"))

    if p.day is None and p.store is None:
        unknown_refs = hits.filter(pl.col("_in_pos").not_()).select("pos_ref")
    else:  # the documents were narrowed to the orders in scope: look the refs up in `known`
        unknown_refs = None
    orphans = _orphans(p, side, unknown_refs)
    erp_only = orphans.filter(pl.col("pos_ref").is_not_null() & pl.col("_ref_store").is_null())
    # A document naming a quarantined POS order: missing_in_pos (that order's one finding).
    held = pl.col("_quarantined")
    parts.append(
        emit(orphans.filter(held.not_()), side.orphan_kind, [pl.col("erp_ref")], pl.col("cause"))
    )
    parts.append(
        emit(orphans.filter(held), "missing_in_pos", [pl.col("erp_ref")], "pos_order_quarantined")
    )
    kind = pl.when(held).then(pl.lit("missing_in_pos")).otherwise(pl.lit(side.orphan_kind))
    return DocumentFindings(
        parts=parts,
        effects=effects,
        erp_only=erp_only.select("pos_ref", kind.alias("kind"), "store"),
        lined=hits.filter(pl.col("_lines")).select(
            "order_id", "doc_id", "erp_ref", "store", "business_day", "currency"
        ),
        linked=ok,
    )


def _orphans(p: Prepared, side: _Side, unknown_refs: pl.LazyFrame | None) -> pl.LazyFrame:
    """Documents whose pos_ref names no POS order of this type, with the store their location
    or the orders they name give (null when none does: still reported) and their cause.

    `unknown_refs` (pos_refs naming no order of this type) comes from the full run's link
    join; without it they are looked up in `known`.
    """
    docs = p.t["erp_documents"].filter(pl.col("doc_type").is_in(list(side.doc_types)))
    named = p.named.select("order_id", "store_id")
    if p.day is not None:
        docs = docs.filter(pl.col("posting_date") == p.day)
    if unknown_refs is None:
        own = p.named.filter(pl.col("order_type") == side.order_type).select("order_id")
        unknown_refs = (
            docs.select("pos_ref").drop_nulls().unique()
            .join(own, left_on="pos_ref", right_on="order_id", how="anti")
        )  # fmt: skip
    refs = unknown_refs.collect().get_column("pos_ref")
    orphans = docs.filter(pl.col("pos_ref").is_null() | among("pos_ref", refs)).collect()
    # Few: look up only the orders they name (a join would hash every known order).
    ids = pl.concat([orphans.get_column("pos_ref"), orphans.get_column("original_pos_ref")])
    named = named.filter(among("order_id", ids))
    lf = (
        orphans.lazy()
        .join(p.loc_store, on="location", how="left")
        .join(
            named.rename({"store_id": "_ref_store"}),
            left_on="pos_ref",
            right_on="order_id",
            how="left",
        )
    )
    quarantined = p.quarantined.select(
        pl.col("order_id").alias("pos_ref"),
        pl.col("store_id").alias("_q_store"),
        pl.lit(True).alias("_quarantined"),
    )
    lf = lf.join(quarantined, on="pos_ref", how="left")
    stores = [pl.col("loc_store"), pl.col("_ref_store"), pl.col("_q_store")]
    if side.use_original_ref:
        lf = lf.join(
            named.rename({"store_id": "_orig_store"}),
            left_on="original_pos_ref",
            right_on="order_id",
            how="left",
        )
        stores.append(pl.col("_orig_store"))
    cause = (
        pl.when(pl.col("pos_ref").is_null())
        .then(pl.lit(side.orphan_cause_noref))
        .otherwise(pl.lit(side.orphan_cause_ref))
    )
    return lf.with_columns(
        pl.col("_quarantined").fill_null(False),
        pl.coalesce(stores).alias("store"),
        pl.col("doc_no").alias("erp_ref"),
        pl.col("posting_date").alias("business_day"),
        pl.col("gross_total").alias("erp_value"),
        pl.col("gross_total").alias("difference"),
        cause.alias("cause"),
    )


def _held_bad_data(p: Prepared) -> pl.LazyFrame:
    """missing_in_erp (held_bad_data): a POS order the collector quarantined, which no ERP
    document names (one that does is that document's missing_in_pos instead)."""
    ids = p.quarantined.select("order_id").collect().get_column("order_id")
    if ids.is_empty():  # as usual: nothing to read
        return emit(p.quarantined.rename({"order_id": "pos_ref"}), "missing_in_erp", [], "")
    named = (
        p.t["erp_documents"]
        .select(pl.col("pos_ref").alias("order_id"))
        .filter(among("order_id", ids))
    )
    lf = p.quarantined.join(named, on="order_id", how="anti").select(
        pl.col("order_id").alias("pos_ref"),
        pl.col("store_id").alias("store"),
        "business_day",
    )
    return emit(lf, "missing_in_erp", [pl.col("pos_ref")], "held_bad_data")


def _lines(p: Prepared, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """line_mismatch: per linked (eligible) order and SKU, POS quantity vs its document's,
    for the few `pairs` whose fingerprints differ."""
    pairs = pairs.collect().lazy()
    orders, docs = pl.collect_all([pairs.select("order_id"), pairs.select("doc_id")])
    erp_lines = p.t["erp_document_lines"].filter(among("doc_id", docs.get_column("doc_id")))
    pos = (
        p.t["pos_order_lines"]
        .filter(among("order_id", orders.get_column("order_id")))
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


def _shares_hashes(hits: pl.DataFrame) -> bool:
    return not hits.filter(_BOTH & (pl.col("order_id") != pl.col("_ref"))).is_empty()


def compare_documents(p: Prepared, cfg: EngineConfig) -> DocumentFindings:
    suspects = _line_suspects(p)
    hits = _candidates(p, cfg, suspects, exact=False)
    if _shares_hashes(hits):  # two ids share a 64-bit hash: join on the strings instead
        hits = _candidates(p, cfg, suspects, exact=True)
    sales = _link(p, cfg, _SALES, hits.lazy().filter(pl.col("_s").not_()))
    refunds = _link(p, cfg, _REFUNDS, hits.lazy().filter(pl.col("_s")))
    lined = pl.concat([sales.lined, refunds.lined], how="vertical")
    return DocumentFindings(
        parts=[*sales.parts, *refunds.parts, _lines(p, lined), _held_bad_data(p)],
        effects=pl.concat([sales.effects, refunds.effects], how="vertical"),
        # A pos_ref that both an orphan invoice and credit note carry counts once (the sale).
        erp_only=pl.concat([sales.erp_only, refunds.erp_only], how="vertical").unique(
            "pos_ref", keep="first", maintain_order=True
        ),
        lined=lined,
        linked=pl.concat([sales.linked, refunds.linked], how="vertical"),
    )
