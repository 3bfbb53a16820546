"""Who may not be contacted: opt-outs (consent) and cancellation policies, checked before every dial and SMS.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emulator_opt_out",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("phone_number", sa.String(length=300), nullable=True),
        sa.Column("contact_id", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=True),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_emulator_opt_out_phone_number", "emulator_opt_out", ["phone_number"])
    op.create_index("ix_emulator_opt_out_contact_id", "emulator_opt_out", ["contact_id"])
    op.create_table(
        "emulator_cancellation_policy",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_config_id", sa.Uuid(), nullable=True),
        sa.Column("country", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=50), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("execute_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("emulator_cancellation_policy")
    op.drop_index("ix_emulator_opt_out_contact_id", table_name="emulator_opt_out")
    op.drop_index("ix_emulator_opt_out_phone_number", table_name="emulator_opt_out")
    op.drop_table("emulator_opt_out")
