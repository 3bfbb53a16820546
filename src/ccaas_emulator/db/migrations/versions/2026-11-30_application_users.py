"""Application users and sign-in credentials: systemuser.applicationid and emulator_credential.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("systemuser") as batch:
        batch.add_column(sa.Column("applicationid", sa.Uuid(), nullable=True))
        batch.create_unique_constraint(batch.f("uq_systemuser_applicationid"), ["applicationid"])
    op.create_table(
        "emulator_credential",
        sa.Column("systemuserid", sa.Uuid(), nullable=False),
        sa.Column("secret_hash", sa.String(length=255), nullable=False),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["systemuserid"],
            ["systemuser.systemuserid"],
            name=op.f("fk_emulator_credential_systemuserid"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("systemuserid", name=op.f("pk_emulator_credential")),
    )


def downgrade() -> None:
    op.drop_table("emulator_credential")
    with op.batch_alter_table("systemuser") as batch:
        batch.drop_constraint(batch.f("uq_systemuser_applicationid"), type_="unique")
        batch.drop_column("applicationid")
