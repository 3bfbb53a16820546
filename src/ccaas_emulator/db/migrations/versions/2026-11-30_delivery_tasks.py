"""Delivery tasks: the planner settings table, each task's chain state and settings, and reattempt ranks.

msdyn_proactive_engagement_planner_config (wire-facts B4) holds an engagement's reattempts, chaining delays,
phone order, frequency limits and time zones. A task now keeps its settings and where its chain is. A
delivery's emulator_retry_rank puts reattempts before, among or after new deliveries (it leads the claim's
sort only for engagements whose planner asks for it, so the claim indexes stay as they are). Tasks written before this revision get their effective windows (the request's, else
the 24 hours after creation) and every phone marked eligible, as the chain now expects.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 03:40:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counts(*names: str) -> list[sa.Column[Any]]:
    return [sa.Column(name, sa.Integer(), nullable=True) for name in names]


def upgrade() -> None:
    op.create_table(
        "msdyn_proactive_engagement_planner_config",
        sa.Column("msdyn_proactive_engagement_planner_configid", sa.Uuid(), nullable=False),
        sa.Column("msdyn_name", sa.String(length=100), nullable=True),
        sa.Column("msdyn_proactive_engagement_config_id", sa.Uuid(), nullable=True),
        sa.Column("msdyn_reattempt_rules", sa.String(length=1000), nullable=True),
        *_counts("msdyn_number_of_retries", "msdyn_delay_between_retries"),
        sa.Column("msdyn_wait_time_unit", sa.Integer(), nullable=True),
        sa.Column("msdyn_retry_on_disposition_codes", sa.String(length=500), nullable=True),
        sa.Column("emulator_retry_priority", sa.Integer(), nullable=True),
        sa.Column("msdyn_fallback_engagement_config_id", sa.Uuid(), nullable=True),
        *_counts("msdyn_delay_between_contacts"),
        sa.Column("msdyn_delay_between_contacts_unit", sa.Integer(), nullable=True),
        *_counts("msdyn_delay_between_phone_numbers"),
        sa.Column("msdyn_delay_between_phone_numbers_unit", sa.Integer(), nullable=True),
        sa.Column("msdyn_comm_phone_type_priority", sa.String(length=100), nullable=True),
        sa.Column("msdyn_comm_frequency_limit_enabled", sa.Boolean(), nullable=False),
        sa.Column("msdyn_comm_frequency_global_limit_respected", sa.Boolean(), nullable=False),
        *_counts(
            "msdyn_comm_max_frequency_per_day",
            "msdyn_comm_max_frequency_per_week",
            "msdyn_comm_max_frequency_per_month",
            "msdyn_comm_max_phone_frequency_per_day",
            "msdyn_comm_max_phone_frequency_per_week",
            "msdyn_comm_max_phone_frequency_per_month",
            "msdyn_comm_max_deliverytask_frequency_per_day",
            "msdyn_comm_max_deliverytask_frequency_per_week",
            "msdyn_comm_max_deliverytask_frequency_per_month",
        ),
        sa.Column("msdyn_comm_time_zone_handling", sa.Integer(), nullable=True),
        sa.Column("msdyn_comm_default_timezone", sa.String(length=300), nullable=True),
        sa.Column("msdyn_comm_timezone_inference_enabled", sa.Boolean(), nullable=False),
        sa.Column("msdyn_comm_quiet_time_setting_mobile_phone", sa.Uuid(), nullable=True),
        sa.Column("msdyn_comm_quiet_time_setting_business_phone", sa.Uuid(), nullable=True),
        sa.Column("msdyn_comm_quiet_time_setting_home_phone", sa.Uuid(), nullable=True),
        sa.Column("msdyn_callerid_policy_type", sa.Integer(), nullable=True),
        sa.Column("msdyn_integration_type", sa.Integer(), nullable=True),
        sa.Column("msdyn_external_contact_id_column_name", sa.String(length=100), nullable=True),
        sa.Column("msdyn_proactive_engagement_message_templateid", sa.Uuid(), nullable=True),
        sa.Column("statecode", sa.Integer(), nullable=False),
        sa.Column("statuscode", sa.Integer(), nullable=False),
        sa.Column("createdon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modifiedon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ownerid", sa.Uuid(), nullable=True),
        sa.Column("versionnumber", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("msdyn_proactive_engagement_planner_configid"),
    )
    op.create_index(
        "ix_planner_config_engagement",
        "msdyn_proactive_engagement_planner_config",
        ["msdyn_proactive_engagement_config_id"],
    )
    with op.batch_alter_table("ccaas_delivery_task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("seq_no", sa.Integer(), server_default="1", nullable=False))
        for flag in ("retry_wanted", "customer_reached", "loops_exhausted", "chain_exhausted", "fallback_attempted"):
            batch_op.add_column(sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("last_result", sa.String(length=100), nullable=True))
        for moment in ("last_attempted_at", "next_scheduled_at", "expiration_date"):
            batch_op.add_column(sa.Column(moment, sa.DateTime(timezone=True), nullable=True))
    _upgrade_task_chains()
    with op.batch_alter_table("msdyn_proactive_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emulator_retry_rank", sa.SmallInteger(), server_default="1", nullable=False))


def _upgrade_task_chains() -> None:
    """Tasks of the previous revision: each contact gets its effective windows, each phone `eligible`."""
    tasks = sa.table(
        "ccaas_delivery_task",
        sa.column("id", sa.Uuid()),
        sa.column("contacts", sa.JSON()),
        sa.column("windows", sa.JSON()),
        sa.column("created_on", sa.DateTime(timezone=True)),
        sa.column("expiration_date", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    for task_id, contacts, windows, created_on in connection.execute(
        sa.select(tasks.c.id, tasks.c.contacts, tasks.c.windows, tasks.c.created_on)
    ):
        created = created_on if created_on.tzinfo else created_on.replace(tzinfo=UTC)
        default = [{"start": _stamp(created), "end": _stamp(created + timedelta(hours=24))}]
        for contact in contacts:
            contact["windows"] = contact.get("windows") or windows or default
            for phone in contact["phones"]:
                phone.setdefault("eligible", True)
        ends = [window["end"] for contact in contacts for window in contact["windows"]]
        connection.execute(
            tasks.update()
            .where(tasks.c.id == task_id)
            .values(contacts=contacts, expiration_date=datetime.fromisoformat(max(ends)).astimezone(UTC))
        )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def downgrade() -> None:
    with op.batch_alter_table("msdyn_proactive_delivery", schema=None) as batch_op:
        batch_op.drop_column("emulator_retry_rank")
    with op.batch_alter_table("ccaas_delivery_task", schema=None) as batch_op:
        for column in (
            "expiration_date", "next_scheduled_at", "last_attempted_at", "last_result", "fallback_attempted",
            "chain_exhausted", "loops_exhausted", "customer_reached", "retry_wanted", "seq_no", "settings",
        ):  # fmt: skip
            batch_op.drop_column(column)
    op.drop_index(
        "ix_planner_config_engagement",
        table_name="msdyn_proactive_engagement_planner_config",
    )
    op.drop_table("msdyn_proactive_engagement_planner_config")
