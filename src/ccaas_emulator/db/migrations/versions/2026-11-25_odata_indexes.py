"""The Web API: indexes for its case-insensitive $filter on msdyn_status, the configuration id, the number
called and the RequestId (msdyn_tracking_id); a configuration's name and description may be null
(ApplicationRequired, which the Web API does not enforce); users get a versionnumber (their rows are served
as systemusers, with ETags).

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
    op.create_index(
        "ix_delivery_odata_to_address",
        "msdyn_proactive_delivery",
        [sa.text("lower(msdyn_to_address)"), "msdyn_proactive_deliveryid"],
    )
    op.create_index(
        "ix_delivery_odata_tracking",
        "msdyn_proactive_delivery",
        [sa.text("lower(msdyn_tracking_id)"), "msdyn_proactive_deliveryid"],
    )

    with op.batch_alter_table("msdyn_proactive_engagement_config") as batch_op:
        batch_op.alter_column("msdyn_name", existing_type=sa.String(length=100), nullable=True)
        batch_op.alter_column("msdyn_description", existing_type=sa.String(length=200), nullable=True)
    with op.batch_alter_table("systemuser") as batch_op:
        batch_op.add_column(sa.Column("versionnumber", sa.BigInteger(), nullable=False, server_default="1"))


def downgrade() -> None:
    op.drop_index("ix_delivery_odata_tracking", table_name="msdyn_proactive_delivery")
    op.drop_index("ix_delivery_odata_to_address", table_name="msdyn_proactive_delivery")
    with op.batch_alter_table("systemuser") as batch_op:
        batch_op.drop_column("versionnumber")
    with op.batch_alter_table("msdyn_proactive_engagement_config") as batch_op:
        batch_op.alter_column("msdyn_description", existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column("msdyn_name", existing_type=sa.String(length=100), nullable=False)
    op.drop_index("ix_delivery_odata_config", table_name="msdyn_proactive_delivery")
    op.drop_index("ix_delivery_odata_status", table_name="msdyn_proactive_delivery")
