"""sign-offs: a store-day's (or a whole day's) sign-off, its evidence and its events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import recon.warehouse.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _qty(name: str) -> sa.Column[object]:
    return sa.Column(name, recon.warehouse.types.ExactDecimal(precision=18, scale=3), nullable=True)


def upgrade() -> None:
    op.create_table(
        "signoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("store", sa.String(length=40), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("preparer", sa.String(length=300), nullable=False),
        sa.Column("prepared_at", recon.warehouse.types.UTCDateTime(), nullable=False),
        sa.Column("reviewer", sa.String(length=300), nullable=True),
        sa.Column("reviewed_at", recon.warehouse.types.UTCDateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("store", "business_day"),
    )
    op.create_index("ix_signoffs_business_day", "signoffs", ["business_day"])
    op.create_table(
        "signoff_evidence",
        sa.Column("signoff_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("store", sa.String(length=40), nullable=True),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        _qty("pos_value"),
        _qty("erp_value"),
        _qty("difference"),
        sa.ForeignKeyConstraint(["signoff_id"], ["signoffs.id"]),
        sa.PrimaryKeyConstraint("signoff_id", "item"),
    )
    op.create_table(
        "signoff_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("signoff_id", sa.Integer(), nullable=False),
        sa.Column("at", recon.warehouse.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["signoff_id"], ["signoffs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signoff_events_signoff_id", "signoff_events", ["signoff_id"])


def downgrade() -> None:
    op.drop_index("ix_signoff_events_signoff_id", table_name="signoff_events")
    op.drop_table("signoff_events")
    op.drop_table("signoff_evidence")
    op.drop_index("ix_signoffs_business_day", table_name="signoffs")
    op.drop_table("signoffs")
