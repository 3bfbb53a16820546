"""TLS material (the local CA and the server certificate) and the origins `serve` answers on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emulator_tls_material",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("host_names", sa.Text(), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_emulator_tls_material")),
    )
    op.create_table(
        "emulator_served_origin",
        sa.Column("origin", sa.String(length=300), nullable=False),
        sa.Column("is_org_url", sa.Boolean(), nullable=False),
        sa.Column("recorded_on", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_emulator_served_origin")),
    )


def downgrade() -> None:
    op.drop_table("emulator_served_origin")
    op.drop_table("emulator_tls_material")
