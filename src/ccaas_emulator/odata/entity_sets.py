"""The entity sets the emulator serves under /api/data/v9.x/, and how they relate."""

from __future__ import annotations

from ccaas_emulator.db.models import DeliveryAttribute, EngagementConfig, ProactiveDelivery, SystemUser
from ccaas_emulator.odata.model import EntitySet, describe, relate

# Who may write which set is a matter of privileges (auth/privileges.py): deliveries and attributes are
# added by the Proactive Engagement service (003_...), configurations by administrators.
DELIVERIES = describe(ProactiveDelivery, entity_set="msdyn_proactive_deliveries", primary_name="msdyn_delivery_id")
ATTRIBUTES = describe(DeliveryAttribute, entity_set="msdyn_proactive_delivery_attributes", primary_name="msdyn_keyword")
CONFIGURATIONS = describe(EngagementConfig, entity_set="msdyn_proactive_engagement_configs", primary_name="msdyn_name")

# wire-facts B1: the documented 1:N relationship, which is also the delivery's collection navigation property.
DELIVERY_ATTRIBUTES = "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery"
relate(one=DELIVERIES, many=ATTRIBUTES, relationship=DELIVERY_ATTRIBUTES, lookup_column="msdyn_proactive_delivery")
USERS = describe(SystemUser, entity_set="systemusers", primary_name="fullname")

# The user lookups every user-owned row carries, under Dataverse's relationship names (lk_<table>_<lookup>,
# user_<table> for owninguser): expandable both ways.
for _owned in (DELIVERIES, ATTRIBUTES):
    for _lookup in ("createdby", "modifiedby", "createdonbehalfby", "modifiedonbehalfby"):
        relate(one=USERS, many=_owned, relationship=f"lk_{_owned.entity_type}_{_lookup}", lookup_column=_lookup)
    relate(one=USERS, many=_owned, relationship=f"user_{_owned.entity_type}", lookup_column="owninguser")

ENTITY_SETS: dict[str, EntitySet] = {
    entity_set.name: entity_set for entity_set in (DELIVERIES, ATTRIBUTES, CONFIGURATIONS, USERS)
}
BY_LOGICAL_NAME: dict[str, EntitySet] = {entity_set.entity_type: entity_set for entity_set in ENTITY_SETS.values()}
