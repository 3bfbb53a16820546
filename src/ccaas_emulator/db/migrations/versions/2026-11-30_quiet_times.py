"""Quiet times: msdynmkt_quiettimesetting, the table a planner's three quiet-time lookups point to.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEMO = 1_000_000


def upgrade() -> None:
    op.create_table(
        "msdynmkt_quiettimesetting",
        sa.Column("msdynmkt_quiettimesettingid", sa.Uuid(), nullable=False),
        sa.Column("msdynmkt_name", sa.String(length=100), nullable=True),
        sa.Column("msdynmkt_timezonesource", sa.Integer(), nullable=True),
        *(
            sa.Column(name, sa.String(length=MEMO), nullable=True)
            for name in (
                "msdynmkt_commercialweeklyhours",
                "msdynmkt_transactionalweeklyhours",
                "msdynmkt_commercialdates",
                "msdynmkt_transactionaldates",
                "msdynmkt_advancedquiettimes",
            )
        ),
        sa.Column("statecode", sa.Integer(), nullable=False),
        sa.Column("statuscode", sa.Integer(), nullable=False),
        sa.Column("createdon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modifiedon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ownerid", sa.Uuid(), nullable=True),
        sa.Column("versionnumber", sa.BigInteger(), nullable=False),
        sa.Column("importsequencenumber", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("msdynmkt_quiettimesettingid"),
    )


def downgrade() -> None:
    op.drop_table("msdynmkt_quiettimesetting")
