"""The dialer: shared clock, representative pools, pacing, scripted outcomes, journal, call state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 22:32:20.464265
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emulator_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.DateTime(timezone=True), nullable=False),
        sa.Column("real_anchor", sa.DateTime(timezone=True), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_clock")),
    )
    op.create_table(
        "emulator_delivery_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=100), nullable=True),
        sa.Column("to_status", sa.String(length=100), nullable=False),
        sa.Column("result", sa.String(length=100), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_delivery_event")),
    )
    with op.batch_alter_table("emulator_delivery_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emulator_delivery_event_delivery_id"), ["delivery_id"], unique=False)

    op.create_table(
        "emulator_pacing",
        sa.Column("engagement_config_id", sa.Uuid(), nullable=False),
        sa.Column("scale", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("engagement_config_id", name=op.f("pk_emulator_pacing")),
    )
    op.create_table(
        "emulator_queue",
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("representatives", sa.Integer(), nullable=False),
        sa.Column("average_handle_seconds", sa.Integer(), nullable=False),
        sa.Column("round_robin_cursor", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("queue_id", name=op.f("pk_emulator_queue")),
    )
    op.create_table(
        "emulator_scripted_outcome",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("phone_number", sa.String(length=300), nullable=False),
        sa.Column("result", sa.String(length=100), nullable=False),
        sa.Column("talk_seconds", sa.Integer(), nullable=True),
        sa.Column("ring_seconds", sa.Integer(), nullable=True),
        sa.Column("disposition_codes", sa.JSON(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emulator_scripted_outcome")),
    )
    with op.batch_alter_table("emulator_scripted_outcome", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emulator_scripted_outcome_phone_number"), ["phone_number"], unique=False)

    with op.batch_alter_table("msdyn_proactive_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emulator_sequence", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("emulator_priority_number", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("emulator_call_plan", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("emulator_call_ends_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("emulator_lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("emulator_lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_delivery_call_ends", ["msdyn_status", "emulator_call_ends_at"], unique=False)
        batch_op.create_index(
            "ix_delivery_claim_created",
            ["msdyn_proactive_engagement_config_id", "msdyn_status", "createdon", "emulator_sequence"],
            unique=False,
        )
        batch_op.create_index(
            "ix_delivery_claim_priority",
            [
                "msdyn_proactive_engagement_config_id",
                "msdyn_status",
                "emulator_priority_number",
                "createdon",
                "emulator_sequence",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_delivery_claim_window_end",
            [
                "msdyn_proactive_engagement_config_id",
                "msdyn_status",
                "msdyn_window_end_date",
                "createdon",
                "emulator_sequence",
            ],
            unique=False,
        )
        batch_op.create_index("ix_delivery_window_end", ["msdyn_status", "msdyn_window_end_date"], unique=False)

    with op.batch_alter_table("msdyn_proactive_engagement_config", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emulator_suspended", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("msdyn_proactive_engagement_config", schema=None) as batch_op:
        batch_op.drop_column("emulator_suspended")

    with op.batch_alter_table("msdyn_proactive_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_window_end")
        batch_op.drop_index("ix_delivery_claim_window_end")
        batch_op.drop_index("ix_delivery_claim_priority")
        batch_op.drop_index("ix_delivery_claim_created")
        batch_op.drop_index("ix_delivery_call_ends")
        batch_op.drop_column("emulator_lease_expires_at")
        batch_op.drop_column("emulator_lease_owner")
        batch_op.drop_column("emulator_call_ends_at")
        batch_op.drop_column("emulator_call_plan")
        batch_op.drop_column("emulator_priority_number")
        batch_op.drop_column("emulator_sequence")

    with op.batch_alter_table("emulator_scripted_outcome", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emulator_scripted_outcome_phone_number"))

    op.drop_table("emulator_scripted_outcome")
    op.drop_table("emulator_queue")
    op.drop_table("emulator_pacing")
    with op.batch_alter_table("emulator_delivery_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emulator_delivery_event_delivery_id"))

    op.drop_table("emulator_delivery_event")
    op.drop_table("emulator_clock")
