"""Indexes for the Web API's case-insensitive $filter on msdyn_status and the configuration id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_delivery_odata_status",
        "msdyn_proactive_delivery",
        [sa.text("lower(msdyn_status)"), "msdyn_proactive_deliveryid"],
    )
    op.create_index(
        "ix_delivery_odata_config",
        "msdyn_proactive_delivery",
        [sa.text("lower(msdyn_proactive_engagement_config_id)"), "msdyn_proactive_deliveryid"],
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_odata_config", table_name="msdyn_proactive_delivery")
    op.drop_index("ix_delivery_odata_status", table_name="msdyn_proactive_delivery")
