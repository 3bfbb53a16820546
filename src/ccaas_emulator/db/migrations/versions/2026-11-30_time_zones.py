"""Time zones: Dynamics' timezonedefinition table, filled with the list a contact's time zone is checked
against (timezones.csv, issue #14), and served read-only as the timezonedefinitions entity set.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ccaas_emulator.timezones import definitions

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "timezonedefinition",
        sa.Column("timezonedefinitionid", sa.Uuid(), nullable=False),
        sa.Column("timezonecode", sa.Integer(), nullable=False),
        sa.Column("standardname", sa.String(length=100), nullable=False),
        sa.Column("userinterfacename", sa.String(length=100), nullable=False),
        sa.Column("bias", sa.Integer(), nullable=False),
        sa.Column("retiredorder", sa.Integer(), nullable=False),
        sa.Column("versionnumber", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("timezonedefinitionid", name=op.f("pk_timezonedefinition")),
        sa.UniqueConstraint("timezonecode", name=op.f("uq_timezonedefinition_timezonecode")),
    )
    op.bulk_insert(
        table,
        [
            {
                "timezonedefinitionid": definition.id,
                "timezonecode": definition.code,
                "standardname": definition.standard_name,
                "userinterfacename": definition.display_name,
                "bias": definition.bias,
                "retiredorder": 0,
                "versionnumber": 1,
            }
            for definition in definitions()
        ],
    )


def downgrade() -> None:
    op.drop_table("timezonedefinition")
