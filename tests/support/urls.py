"""The Web API paths the tests call (relative to the organization, unless said otherwise)."""

from __future__ import annotations

from tests.support.demo import ORG_URL

API = "/api/data/v9.2"
VOICE_URL = f"{API}/CCaaS_CreateProactiveVoiceDelivery"
PROACTIVE_URL = f"{API}/CCaaS_CreateProactiveDelivery"
DELIVERIES = f"{API}/msdyn_proactive_deliveries"
ATTRIBUTES = f"{API}/msdyn_proactive_delivery_attributes"
CONFIGS = f"{API}/msdyn_proactive_engagement_configs"
NAV = "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery"
ROOT = f"{ORG_URL}{API}/"  # absolute: what @odata.context and @odata.nextLink start with
