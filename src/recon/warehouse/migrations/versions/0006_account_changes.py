"""account changes: the audit of dashboard account edits (recon users, the Admin page)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 17:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import recon.warehouse.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", recon.warehouse.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("account", sa.String(length=300), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_account_changes_at", "account_changes", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_account_changes_at", table_name="account_changes")
    op.drop_table("account_changes")
