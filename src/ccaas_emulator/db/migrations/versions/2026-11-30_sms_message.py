"""A first-generation SMS (CCaaS_CreateProactiveSMSDelivery) has no task to hold its Message: the delivery keeps it.

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("msdyn_proactive_delivery", sa.Column("emulator_message", sa.String(length=4000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("msdyn_proactive_delivery") as batch:
        batch.drop_column("emulator_message")
