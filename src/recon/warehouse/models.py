"""The warehouse schema: raw payloads, canonical tables, mappings, bookkeeping.

Canonical tables mirror the snapshot files of CONTRACT.md column for column, so the
export is a plain SELECT. Every canonical row of a vendor record links to its raw
payload (`raw_id`). Schema changes go through an Alembic revision in
`src/recon/warehouse/migrations/versions/`, never through `create_all` in production code.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from recon.warehouse.types import Money, Qty, Rate, UTCDateTime


class Base(DeclarativeBase):
    pass


# --- raw payloads and quarantine -------------------------------------------------


class RawPayload(Base):
    """The latest payload of every vendor record, compressed JSON as received
    (`recon.warehouse.db.pack`: Zstandard, zlib before)."""

    __tablename__ = "raw_payloads"
    __table_args__ = (UniqueConstraint("source", "entity", "vendor_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    vendor_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_hash: Mapped[str] = mapped_column(String(40))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Quarantine(Base):
    """A vendor record that failed validation: kept with its body and the reason."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source", "entity", "vendor_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str] = mapped_column(String(40))
    vendor_id: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- canonical POS tables ----------------------------------------------------------


class PosOrder(Base):
    __tablename__ = "pos_orders"
    __table_args__ = (Index("ix_pos_orders_store_day", "store_id", "business_day"),)
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(40))
    business_day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    order_type: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(12))
    paid: Mapped[bool] = mapped_column(Boolean)
    original_order_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    gross_total: Mapped[Decimal] = mapped_column(Money())
    vat_total: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payloads.id"), nullable=True)


class PosOrderLine(Base):
    __tablename__ = "pos_order_lines"
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(60))
    quantity: Mapped[Decimal] = mapped_column(Qty())
    unit_price_gross: Mapped[Decimal] = mapped_column(Money())
    line_discount: Mapped[Decimal] = mapped_column(Money())
    line_gross: Mapped[Decimal] = mapped_column(Money())
    line_vat: Mapped[Decimal] = mapped_column(Money())
    vat_rate: Mapped[Decimal] = mapped_column(Rate())


class PosPayment(Base):
    __tablename__ = "pos_payments"
    order_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    tender: Mapped[str] = mapped_column(String(60))
    amount: Mapped[Decimal] = mapped_column(Money())


class PosStock(Base):
    __tablename__ = "pos_stock"
    location: Mapped[str] = mapped_column(String(40), primary_key=True)
    sku: Mapped[str] = mapped_column(String(60), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(Qty())
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payloads.id"), nullable=True)


class PosItem(Base):
    __tablename__ = "pos_items"
    sku: Mapped[str] = mapped_column(String(60), primary_key=True)
    price_gross: Mapped[Decimal] = mapped_column(Money())
    vat_rate: Mapped[Decimal] = mapped_column(Rate())
    active: Mapped[bool] = mapped_column(Boolean)
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payloads.id"), nullable=True)


# --- canonical ERP tables ----------------------------------------------------------


class ErpDocument(Base):
    __tablename__ = "erp_documents"
    __table_args__ = (Index("ix_erp_documents_pos_ref", "pos_ref"),)
    doc_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    doc_no: Mapped[str] = mapped_column(String(40))
    doc_type: Mapped[str] = mapped_column(String(16))
    pos_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    original_pos_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    location: Mapped[str | None] = mapped_column(String(40), nullable=True)
    posting_date: Mapped[date] = mapped_column(Date)
    gross_total: Mapped[Decimal] = mapped_column(Money())
    vat_total: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payloads.id"), nullable=True)


class ErpDocumentLine(Base):
    __tablename__ = "erp_document_lines"
    doc_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(60))
    quantity: Mapped[Decimal] = mapped_column(Qty())
    net: Mapped[Decimal] = mapped_column(Money())
    vat: Mapped[Decimal] = mapped_column(Money())
    tax_code: Mapped[str] = mapped_column(String(20))


class ErpJournalLine(Base):
    __tablename__ = "erp_journal_lines"
    journal_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    line_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    posting_date: Mapped[date] = mapped_column(Date)
    location: Mapped[str | None] = mapped_column(String(40), nullable=True)
    account: Mapped[str] = mapped_column(String(40))
    tender: Mapped[str | None] = mapped_column(String(60), nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    pos_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payloads.id"), nullable=True)


class ErpStock(Base):
    __tablename__ = "erp_stock"
    location: Mapped[str] = mapped_column(String(40), primary_key=True)
    sku: Mapped[str] = mapped_column(String(60), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(Qty())
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payloads.id"), nullable=True)


class ErpItem(Base):
    __tablename__ = "erp_items"
    sku: Mapped[str] = mapped_column(String(60), primary_key=True)
    price_gross: Mapped[Decimal] = mapped_column(Money())
    tax_code: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean)
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payloads.id"), nullable=True)


class ErpAccount(Base):
    __tablename__ = "erp_accounts"
    account: Mapped[str] = mapped_column(String(40), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    raw_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payloads.id"), nullable=True)


# --- mappings (loaded by `recon mappings import`) ----------------------------------


class PosStore(Base):
    """A POS store as Sitoo names it (kept from `GET stores.json` at each collect), so the
    dashboard can show names where it shows stores. Not a snapshot table: the engine keys on
    ids only."""

    __tablename__ = "pos_stores"
    store_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class MapStore(Base):
    __tablename__ = "map_store"
    store_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    location: Mapped[str] = mapped_column(String(40))
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)


class MapTender(Base):
    __tablename__ = "map_tender"
    tender: Mapped[str] = mapped_column(String(60), primary_key=True)
    account: Mapped[str] = mapped_column(String(40))


class MapTax(Base):
    __tablename__ = "map_tax"
    vat_rate: Mapped[Decimal] = mapped_column(Rate(), primary_key=True)
    tax_code: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(40))


class MapSetting(Base):
    __tablename__ = "map_settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MappingChange(Base):
    """One mapping changed by an import or the dashboard: who, when, before -> after.

    `mapping` is store, tender, tax or setting; `key` the store id, tender, VAT rate or
    setting name; `before` / `after` the mapped value as text (None: not mapped).
    """

    __tablename__ = "mapping_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(200))
    mapping: Mapped[str] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(String(60))
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)


class AccountChange(Base):
    """One dashboard account changed (`recon users add|remove`, the Admin page): who,
    when, from where, which account and what (`added, role ops`, `role ops -> admin`,
    `password changed`, `removed (was ops)`). Never a password or its hash."""

    __tablename__ = "account_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(200))
    account: Mapped[str] = mapped_column(String(300))
    change: Mapped[str] = mapped_column(Text)


class SavedView(Base):
    """A dashboard user's named worklist view: the query string of the Exceptions page
    (filters, my queue, sort, columns) as JSON, listed, applied and deleted by its owner
    only. The owner is the account name, as in the audit trail."""

    __tablename__ = "saved_views"
    owner: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    params: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- bookkeeping -----------------------------------------------------------------


class Run(Base):
    """One run of a job (sync, collect, reconcile): when, what it counted, how it ended."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # running, ok, partial, failed, abandoned
    counts: Mapped[str] = mapped_column(Text, default="{}")  # JSON object
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the process running it
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)  # ... on this host


class Watermark(Base):
    __tablename__ = "watermarks"
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    entity: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SyncPost(Base):
    """One thing the sync posts (a sale, a refund, a tender receipt, a journal).

    `post_key` names it (`sale:5120`, `receipt:5120:1`, `journal:7-2024-06-01:Card`);
    `status` is posted, exists (found already in the ERP), held (mapping or master data
    problem), failed (terminal vendor error) or retrying.
    """

    __tablename__ = "sync_posts"
    __table_args__ = (UniqueConstraint("erp", "post_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    erp: Mapped[str] = mapped_column(String(12))
    post_key: Mapped[str] = mapped_column(String(120))
    pos_order_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(12))
    erp_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(60), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    first_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExceptionRow(Base):
    """One finding of the engine, keyed by its stable id (CONTRACT "Exceptions")."""

    __tablename__ = "exceptions"
    __table_args__ = (Index("ix_exceptions_store_day", "store", "business_day"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    cause: Mapped[str] = mapped_column(String(60))
    store: Mapped[str | None] = mapped_column(String(40), nullable=True)
    business_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    pos_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    erp_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    sku: Mapped[str | None] = mapped_column(String(60), nullable=True)
    tender: Mapped[str | None] = mapped_column(String(60), nullable=True)
    account: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pos_value: Mapped[Decimal | None] = mapped_column(Qty(), nullable=True)
    erp_value: Mapped[Decimal | None] = mapped_column(Qty(), nullable=True)
    difference: Mapped[Decimal | None] = mapped_column(Qty(), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    severity: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))  # new, persisting, resolved, closed
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(60), nullable=True)


class ExceptionEvent(Base):
    """The audit trail of an exception: seen, resolved, reopened, assigned, commented."""

    __tablename__ = "exception_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    exception_id: Mapped[str] = mapped_column(ForeignKey("exceptions.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Takings(Base):
    """Per store, business day and tender account: POS takings, ERP takings, variance.

    Written by each reconcile run (the engine's `Findings.takings`) for the dashboard.
    """

    __tablename__ = "takings"
    __table_args__ = (Index("ix_takings_store_day", "store", "business_day", "account"),)
    # No primary key in the table: `store` is null for unattributed ERP money (CONTRACT).
    __mapper_args__ = {"primary_key": ["store", "business_day", "account"]}  # noqa: RUF012
    store: Mapped[str | None] = mapped_column(String(40), nullable=True)
    business_day: Mapped[date] = mapped_column(Date)
    account: Mapped[str] = mapped_column(String(40))
    tender: Mapped[str | None] = mapped_column(String(60), nullable=True)
    pos_amount: Mapped[Decimal] = mapped_column(Money())
    erp_amount: Mapped[Decimal] = mapped_column(Money())
    variance: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))


class WaterfallPart(Base):
    """One cause's share of a store-day's takings variance; the parts sum to the variance."""

    __tablename__ = "variance_waterfall"
    __table_args__ = (Index("ix_variance_waterfall_store_day", "store", "business_day", "cause"),)
    __mapper_args__ = {"primary_key": ["store", "business_day", "cause"]}  # noqa: RUF012
    store: Mapped[str | None] = mapped_column(String(40), nullable=True)
    business_day: Mapped[date] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(String(60))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))


CANONICAL: dict[str, type[Base]] = {
    "pos_orders": PosOrder,
    "pos_order_lines": PosOrderLine,
    "pos_payments": PosPayment,
    "pos_stock": PosStock,
    "pos_items": PosItem,
    "erp_documents": ErpDocument,
    "erp_document_lines": ErpDocumentLine,
    "erp_journal_lines": ErpJournalLine,
    "erp_stock": ErpStock,
    "erp_items": ErpItem,
    "erp_accounts": ErpAccount,
    "map_store": MapStore,
    "map_tender": MapTender,
    "map_tax": MapTax,
}


# --- sign-off of a store-day (or of every store of a day) ------------------------------


class Signoff(Base):
    """The sign-off of one store-day, or of every store of a day (`store` = `*`): its state
    (prepared, signed, reopened), who prepared and who reviewed it and when, their comment,
    the fingerprint of the evidence kept at preparation and the last reopen reason.
    The rules are `recon.warehouse.signoff`'s."""

    __tablename__ = "signoffs"
    __table_args__ = (UniqueConstraint("store", "business_day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    store: Mapped[str] = mapped_column(String(40))  # a store id, or "*": every store
    business_day: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(12))  # prepared, signed, reopened
    preparer: Mapped[str] = mapped_column(String(300))
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewer: Mapped[str | None] = mapped_column(String(300), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it was reopened


class SignoffEvidence(Base):
    """One line of a sign-off's evidence as it was prepared: an open exception (`item` its
    id) or a takings row of the store-day (`kind` `takings`, `item` `takings:STORE:ACCOUNT`),
    with its money (or quantity) on each side and the difference."""

    __tablename__ = "signoff_evidence"
    signoff_id: Mapped[int] = mapped_column(ForeignKey("signoffs.id"), primary_key=True)
    item: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    store: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ref: Mapped[str | None] = mapped_column(String(200), nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    pos_value: Mapped[Decimal | None] = mapped_column(Qty(), nullable=True)
    erp_value: Mapped[Decimal | None] = mapped_column(Qty(), nullable=True)
    difference: Mapped[Decimal | None] = mapped_column(Qty(), nullable=True)


class SignoffEvent(Base):
    """The append-only trail of a sign-off: prepared, signed, rejected, reopened (by whom,
    when, the comment or reason; `detail` the changes a reopen found, as JSON)."""

    __tablename__ = "signoff_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signoff_id: Mapped[int] = mapped_column(ForeignKey("signoffs.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
