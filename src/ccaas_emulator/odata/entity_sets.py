"""The entity sets the emulator serves under /api/data/v9.x/, and how they relate."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ccaas_emulator import quiet_hours
from ccaas_emulator.chain import parse_phone_order
from ccaas_emulator.db.models import (
    Contact,
    DeliveryAttribute,
    EngagementConfig,
    PlannerConfig,
    ProactiveDelivery,
    QuietTimeSetting,
    SystemUser,
    TimeZoneDefinition,
)
from ccaas_emulator.odata.model import EntitySet, describe, relate

# Who may write which set is a matter of privileges (auth/privileges.py): deliveries and attributes are
# added by the Proactive Engagement service (003_...), configurations and planner settings by administrators.
DELIVERIES = describe(ProactiveDelivery, entity_set="msdyn_proactive_deliveries", primary_name="msdyn_delivery_id")
ATTRIBUTES = describe(DeliveryAttribute, entity_set="msdyn_proactive_delivery_attributes", primary_name="msdyn_keyword")
CONFIGURATIONS = describe(EngagementConfig, entity_set="msdyn_proactive_engagement_configs", primary_name="msdyn_name")
PLANNERS = describe(
    PlannerConfig,
    entity_set="msdyn_proactive_engagement_planner_configs",
    primary_name="msdyn_name",
    # A plain text column in Dataverse; the emulator refuses a phone order the dialer could not follow.
    text_rules={"msdyn_comm_phone_type_priority": parse_phone_order},
)

# The Memo columns of a quiet-time setting: text in Dataverse, whose format is undocumented; the emulator's is JSON
# (quiet_hours.py) and a value the dialer could not read is refused.
QUIET_TIME_RULES: dict[str, Callable[[str], object]] = {
    **{
        column: partial(quiet_hours.parse_weekly, column=column)
        for column in ("msdynmkt_transactionalweeklyhours", "msdynmkt_commercialweeklyhours")
    },
    **{
        column: partial(quiet_hours.parse_dates, column=column)
        for column in ("msdynmkt_transactionaldates", "msdynmkt_commercialdates")
    },
}
QUIET_TIMES = describe(
    QuietTimeSetting, entity_set="msdynmkt_quiettimesettings", primary_name="msdynmkt_name", text_rules=QUIET_TIME_RULES
)

# wire-facts B4: an engagement's planner settings, and the engagement its SMS fallback goes through.
PLANNER_ENGAGEMENT = "msdyn_proactive_engagement_config_msdyn_proactive_engagement_planner_config_engagement_config"
PLANNER_FALLBACK = (
    "msdyn_proactive_engagement_config_msdyn_proactive_engagement_planner_config_fallback_engagement_config"
)
relate(
    one=CONFIGURATIONS,
    many=PLANNERS,
    relationship=PLANNER_ENGAGEMENT,
    lookup_column="msdyn_proactive_engagement_config_id",
)
relate(
    one=CONFIGURATIONS,
    many=PLANNERS,
    relationship=PLANNER_FALLBACK,
    lookup_column="msdyn_fallback_engagement_config_id",
)

# The planner's quiet times per phone type (its generated entity reference; cascade on delete RemoveLink).
PLANNER_QUIET_TIMES = {
    "msdyn_comm_quiet_time_setting_mobile_phone": (
        "msdyn_proactive_engagement_planner_config_comm_quiet_time_setting_mobile_phone_msdynmkt_quiettimeset"
    ),
    "msdyn_comm_quiet_time_setting_business_phone": (
        "msdyn_proactive_engagement_planner_config_comm_quiet_time_setting_business_phone_msdynmkt_quiettimes"
    ),
    "msdyn_comm_quiet_time_setting_home_phone": (
        "msdyn_proactive_engagement_planner_config_comm_quiet_time_setting_home_phone_msdynmkt_quiettimesetti"
    ),
}
for _lookup_column, _relationship in PLANNER_QUIET_TIMES.items():
    relate(one=QUIET_TIMES, many=PLANNERS, relationship=_relationship, lookup_column=_lookup_column)

# wire-facts B1: the documented 1:N relationship, which is also the delivery's collection navigation property.
DELIVERY_ATTRIBUTES = "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery"
relate(one=DELIVERIES, many=ATTRIBUTES, relationship=DELIVERY_ATTRIBUTES, lookup_column="msdyn_proactive_delivery")
USERS = describe(SystemUser, entity_set="systemusers", primary_name="fullname")
# wire-facts D: the Dynamics time zone list a contact's time zone is checked against (timezones.py).
TIME_ZONES = describe(TimeZoneDefinition, entity_set="timezonedefinitions", primary_name="userinterfacename")

# The user lookups every user-owned row carries, under Dataverse's relationship names (lk_<table>_<lookup>,
# user_<table> for owninguser): expandable both ways.
for _owned in (DELIVERIES, ATTRIBUTES):
    for _lookup in ("createdby", "modifiedby", "createdonbehalfby", "modifiedonbehalfby"):
        relate(one=USERS, many=_owned, relationship=f"lk_{_owned.entity_type}_{_lookup}", lookup_column=_lookup)
    relate(one=USERS, many=_owned, relationship=f"user_{_owned.entity_type}", lookup_column="owninguser")

# Issue #16 item 5: the contacts the actions and file uploads create or update by the engagement's unique identifier.
CONTACTS = describe(Contact, entity_set="contacts", primary_name="fullname")

ENTITY_SETS: dict[str, EntitySet] = {
    entity_set.name: entity_set
    for entity_set in (DELIVERIES, ATTRIBUTES, CONFIGURATIONS, PLANNERS, QUIET_TIMES, USERS, TIME_ZONES, CONTACTS)
}
BY_LOGICAL_NAME: dict[str, EntitySet] = {entity_set.entity_type: entity_set for entity_set in ENTITY_SETS.values()}
