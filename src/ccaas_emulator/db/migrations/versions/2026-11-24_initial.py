"""Initial schema: the proactive delivery tables, engagement configurations, tasks, contacts, users.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 22:05:22.645954
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ccaas_delivery_task",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("engagement_config_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=100), nullable=False),
        sa.Column("request_id", sa.String(length=400), nullable=True),
        sa.Column("request_priority", sa.String(length=100), nullable=True),
        sa.Column("message", sa.String(length=4000), nullable=True),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("loop_number", sa.Integer(), nullable=False),
        sa.Column("contact_index", sa.Integer(), nullable=False),
        sa.Column("phone_index", sa.Integer(), nullable=False),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_on", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ccaas_delivery_task")),
    )
    with op.batch_alter_table("ccaas_delivery_task", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ccaas_delivery_task_engagement_config_id"), ["engagement_config_id"], unique=False
        )

    op.create_table(
        "contact",
        sa.Column("contactid", sa.Uuid(), nullable=False),
        sa.Column("emulator_external_id", sa.String(length=100), nullable=True),
        sa.Column("firstname", sa.String(length=50), nullable=True),
        sa.Column("lastname", sa.String(length=50), nullable=True),
        sa.Column("fullname", sa.String(length=160), nullable=True),
        sa.Column("mobilephone", sa.String(length=50), nullable=True),
        sa.Column("telephone1", sa.String(length=50), nullable=True),
        sa.Column("telephone2", sa.String(length=50), nullable=True),
        sa.Column("emailaddress1", sa.String(length=100), nullable=True),
        sa.Column("address1_postalcode", sa.String(length=20), nullable=True),
        sa.Column("address1_stateorprovince", sa.String(length=50), nullable=True),
        sa.Column("address1_country", sa.String(length=80), nullable=True),
        sa.Column("address1_line1", sa.String(length=250), nullable=True),
        sa.Column("address1_city", sa.String(length=80), nullable=True),
        sa.Column("createdon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modifiedon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("versionnumber", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("contactid", name=op.f("pk_contact")),
        sa.UniqueConstraint("emulator_external_id", name=op.f("uq_contact_emulator_external_id")),
    )
    op.create_table(
        "emulator_signing_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("created_on", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_emulator_signing_key")),
    )
    op.create_table(
        "msdyn_proactive_engagement_config",
        sa.Column("msdyn_proactive_engagement_configid", sa.Uuid(), nullable=False),
        sa.Column("msdyn_name", sa.String(length=100), nullable=False),
        sa.Column("msdyn_description", sa.String(length=200), nullable=False),
        sa.Column("msdyn_type", sa.Integer(), nullable=False),
        sa.Column("msdyn_dialmode_type", sa.Integer(), nullable=False),
        sa.Column("msdyn_priority", sa.Integer(), nullable=False),
        sa.Column("msdyn_processing_order", sa.Integer(), nullable=False),
        sa.Column("msdyn_max_concurrent_calls", sa.Integer(), nullable=False),
        sa.Column("msdyn_max_calls_per_agent", sa.Integer(), nullable=False),
        sa.Column("msdyn_ignore_queue_hours", sa.Boolean(), nullable=False),
        sa.Column("msdyn_queue", sa.Uuid(), nullable=True),
        sa.Column("msdyn_workstream", sa.Uuid(), nullable=True),
        sa.Column("statecode", sa.Integer(), nullable=False),
        sa.Column("statuscode", sa.Integer(), nullable=False),
        sa.Column("createdon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modifiedon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ownerid", sa.Uuid(), nullable=True),
        sa.Column("versionnumber", sa.BigInteger(), nullable=False),
        sa.Column("emulator_from_address", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint(
            "msdyn_proactive_engagement_configid", name=op.f("pk_msdyn_proactive_engagement_config")
        ),
    )
    op.create_table(
        "role",
        sa.Column("roleid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("roleid", name=op.f("pk_role")),
        sa.UniqueConstraint("name", name=op.f("uq_role_name")),
    )
    op.create_table(
        "systemuser",
        sa.Column("systemuserid", sa.Uuid(), nullable=False),
        sa.Column("azureactivedirectoryobjectid", sa.Uuid(), nullable=False),
        sa.Column("domainname", sa.String(length=1024), nullable=False),
        sa.Column("fullname", sa.String(length=200), nullable=False),
        sa.Column("isdisabled", sa.Boolean(), nullable=False),
        sa.Column("createdon", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("systemuserid", name=op.f("pk_systemuser")),
        sa.UniqueConstraint("azureactivedirectoryobjectid", name=op.f("uq_systemuser_azureactivedirectoryobjectid")),
        sa.UniqueConstraint("domainname", name=op.f("uq_systemuser_domainname")),
    )
    op.create_table(
        "msdyn_proactive_delivery",
        sa.Column("msdyn_proactive_deliveryid", sa.Uuid(), nullable=False),
        sa.Column("msdyn_delivery_id", sa.String(length=850), nullable=False),
        sa.Column("msdyn_batch_id", sa.String(length=100), nullable=True),
        sa.Column("msdyn_call_id", sa.String(length=100), nullable=True),
        sa.Column("msdyn_channel", sa.String(length=100), nullable=True),
        sa.Column("msdyn_channel_sent_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("msdyn_contact_id", sa.String(length=100), nullable=True),
        sa.Column("msdyn_conversation_id", sa.String(length=100), nullable=True),
        sa.Column("msdyn_dialmode_type", sa.String(length=100), nullable=False),
        sa.Column("msdyn_disposition_codes", sa.String(length=1000), nullable=True),
        sa.Column("msdyn_earliest_schedule_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("msdyn_end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("msdyn_expiration_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("msdyn_from_address", sa.String(length=300), nullable=True),
        sa.Column("msdyn_journey_id", sa.String(length=100), nullable=True),
        sa.Column("msdyn_journey_run_id", sa.String(length=100), nullable=True),
        sa.Column("msdyn_parent_conversation_id", sa.String(length=100), nullable=True),
        sa.Column("msdyn_proactive_engagement_config_id", sa.String(length=100), nullable=False),
        sa.Column("msdyn_queue_id", sa.String(length=100), nullable=True),
        sa.Column("msdyn_result", sa.String(length=100), nullable=True),
        sa.Column("msdyn_result_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("msdyn_start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("msdyn_status", sa.String(length=100), nullable=False),
        sa.Column("msdyn_to_address", sa.String(length=300), nullable=False),
        sa.Column("msdyn_tracking_id", sa.String(length=400), nullable=True),
        sa.Column("msdyn_window_start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("msdyn_window_end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emulator_windows", sa.JSON(), nullable=False),
        sa.Column("emulator_task_id", sa.Uuid(), nullable=True),
        sa.Column("emulator_request_priority", sa.String(length=100), nullable=True),
        sa.Column("createdon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modifiedon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("createdby", sa.Uuid(), nullable=True),
        sa.Column("modifiedby", sa.Uuid(), nullable=True),
        sa.Column("createdonbehalfby", sa.Uuid(), nullable=True),
        sa.Column("modifiedonbehalfby", sa.Uuid(), nullable=True),
        sa.Column("ownerid", sa.Uuid(), nullable=True),
        sa.Column("owneridtype", sa.String(length=64), nullable=False),
        sa.Column("owningbusinessunit", sa.Uuid(), nullable=True),
        sa.Column("owninguser", sa.Uuid(), nullable=True),
        sa.Column("owningteam", sa.Uuid(), nullable=True),
        sa.Column("versionnumber", sa.BigInteger(), nullable=False),
        sa.Column("importsequencenumber", sa.Integer(), nullable=True),
        sa.Column("overriddencreatedon", sa.DateTime(timezone=True), nullable=True),
        sa.Column("partitionid", sa.String(length=100), nullable=True),
        sa.Column("ttlinseconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["emulator_task_id"],
            ["ccaas_delivery_task.id"],
            name=op.f("fk_msdyn_proactive_delivery_emulator_task_id"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("msdyn_proactive_deliveryid", name=op.f("pk_msdyn_proactive_delivery")),
    )
    with op.batch_alter_table("msdyn_proactive_delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_msdyn_proactive_delivery_config", ["msdyn_proactive_engagement_config_id"], unique=False
        )
        batch_op.create_index("ix_msdyn_proactive_delivery_createdon", ["createdon"], unique=False)
        batch_op.create_index(
            "ix_msdyn_proactive_delivery_status_window",
            ["msdyn_status", "msdyn_window_start_date"],
            unique=False,
        )
        batch_op.create_index("ix_msdyn_proactive_delivery_task", ["emulator_task_id"], unique=False)

    op.create_table(
        "systemuserroles",
        sa.Column("systemuserroleid", sa.Uuid(), nullable=False),
        sa.Column("systemuserid", sa.Uuid(), nullable=False),
        sa.Column("roleid", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["roleid"], ["role.roleid"], name=op.f("fk_systemuserroles_roleid"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["systemuserid"],
            ["systemuser.systemuserid"],
            name=op.f("fk_systemuserroles_systemuserid"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("systemuserroleid", name=op.f("pk_systemuserroles")),
        sa.UniqueConstraint("systemuserid", "roleid", name=op.f("uq_systemuserroles_systemuserid")),
    )
    op.create_table(
        "msdyn_proactive_delivery_attribute",
        sa.Column("msdyn_proactive_delivery_attributeid", sa.Uuid(), nullable=False),
        sa.Column("msdyn_keyword", sa.String(length=850), nullable=False),
        sa.Column("msdyn_value", sa.String(length=4000), nullable=False),
        sa.Column("msdyn_type", sa.Integer(), nullable=False),
        sa.Column("msdyn_proactive_delivery", sa.Uuid(), nullable=False),
        sa.Column("createdon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modifiedon", sa.DateTime(timezone=True), nullable=False),
        sa.Column("createdby", sa.Uuid(), nullable=True),
        sa.Column("modifiedby", sa.Uuid(), nullable=True),
        sa.Column("createdonbehalfby", sa.Uuid(), nullable=True),
        sa.Column("modifiedonbehalfby", sa.Uuid(), nullable=True),
        sa.Column("ownerid", sa.Uuid(), nullable=True),
        sa.Column("owneridtype", sa.String(length=64), nullable=False),
        sa.Column("owningbusinessunit", sa.Uuid(), nullable=True),
        sa.Column("owninguser", sa.Uuid(), nullable=True),
        sa.Column("owningteam", sa.Uuid(), nullable=True),
        sa.Column("versionnumber", sa.BigInteger(), nullable=False),
        sa.Column("importsequencenumber", sa.Integer(), nullable=True),
        sa.Column("overriddencreatedon", sa.DateTime(timezone=True), nullable=True),
        sa.Column("partitionid", sa.String(length=100), nullable=True),
        sa.Column("ttlinseconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["msdyn_proactive_delivery"],
            ["msdyn_proactive_delivery.msdyn_proactive_deliveryid"],
            name=op.f("fk_msdyn_proactive_delivery_attribute_msdyn_proactive_delivery"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "msdyn_proactive_delivery_attributeid", name=op.f("pk_msdyn_proactive_delivery_attribute")
        ),
    )
    with op.batch_alter_table("msdyn_proactive_delivery_attribute", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_msdyn_proactive_delivery_attribute_msdyn_proactive_delivery"),
            ["msdyn_proactive_delivery"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("msdyn_proactive_delivery_attribute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_msdyn_proactive_delivery_attribute_msdyn_proactive_delivery"))

    op.drop_table("msdyn_proactive_delivery_attribute")
    op.drop_table("systemuserroles")
    with op.batch_alter_table("msdyn_proactive_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_msdyn_proactive_delivery_task")
        batch_op.drop_index("ix_msdyn_proactive_delivery_status_window")
        batch_op.drop_index("ix_msdyn_proactive_delivery_createdon")
        batch_op.drop_index("ix_msdyn_proactive_delivery_config")

    op.drop_table("msdyn_proactive_delivery")
    op.drop_table("systemuser")
    op.drop_table("role")
    op.drop_table("msdyn_proactive_engagement_config")
    op.drop_table("emulator_signing_key")
    op.drop_table("contact")
    with op.batch_alter_table("ccaas_delivery_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ccaas_delivery_task_engagement_config_id"))

    op.drop_table("ccaas_delivery_task")
