"""Frequency limits count a contact's dials and SMS of the last days: an index on (contact, start date), so the
count reads those rows and not the whole delivery table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 04:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_delivery_contact_started", "msdyn_proactive_delivery", ["msdyn_contact_id", "msdyn_start_date"])


def downgrade() -> None:
    op.drop_index("ix_delivery_contact_started", table_name="msdyn_proactive_delivery")
