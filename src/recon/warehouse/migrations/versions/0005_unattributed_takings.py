"""unattributed takings: `store` may be null in takings and variance_waterfall

ERP money that no POS order, location or mapping places in a store (an orphan payment with
no location) is kept with `store = null` (CONTRACT "Snapshot directory"). A primary key
cannot hold a null, so both tables lose theirs for an index on the same columns; each
reconcile run replaces its rows, so no key is needed to update them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import recon.warehouse.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MONEY = recon.warehouse.types.ExactDecimal(precision=18, scale=2)


def _takings(name: str, keyed: bool) -> None:
    op.create_table(
        name,
        sa.Column("store", sa.String(length=40), nullable=not keyed),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("account", sa.String(length=40), nullable=False),
        sa.Column("tender", sa.String(length=60), nullable=True),
        sa.Column("pos_amount", _MONEY, nullable=False),
        sa.Column("erp_amount", _MONEY, nullable=False),
        sa.Column("variance", _MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *([sa.PrimaryKeyConstraint("store", "business_day", "account")] if keyed else []),
    )


def _waterfall(name: str, keyed: bool) -> None:
    op.create_table(
        name,
        sa.Column("store", sa.String(length=40), nullable=not keyed),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("cause", sa.String(length=60), nullable=False),
        sa.Column("amount", _MONEY, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *([sa.PrimaryKeyConstraint("store", "business_day", "cause")] if keyed else []),
    )


_COLUMNS = {
    "takings": "store, business_day, account, tender, pos_amount, erp_amount, variance, currency",
    "variance_waterfall": "store, business_day, cause, amount, currency",
}
_INDEX = {
    "takings": "ix_takings_store_day",
    "variance_waterfall": "ix_variance_waterfall_store_day",
}
_THIRD = {"takings": "account", "variance_waterfall": "cause"}


def _rebuild(keyed: bool) -> None:
    """Each table copied into a new one with (keyed) or without the primary key."""
    for name, create in (("takings", _takings), ("variance_waterfall", _waterfall)):
        cols = _COLUMNS[name]
        if keyed:
            op.drop_index(_INDEX[name], table_name=name)
        create(f"{name}_new", keyed)
        where = " WHERE store IS NOT NULL" if keyed else ""
        op.execute(f"INSERT INTO {name}_new ({cols}) SELECT {cols} FROM {name}{where}")
        op.drop_table(name)
        op.rename_table(f"{name}_new", name)
        if not keyed:
            op.create_index(_INDEX[name], name, ["store", "business_day", _THIRD[name]])


def upgrade() -> None:
    _rebuild(keyed=False)


def downgrade() -> None:
    _rebuild(keyed=True)  # unattributed rows have no place in the keyed tables
