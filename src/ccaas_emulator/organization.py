"""The one emulated organization: its id and its root business unit, stable for a tenant.

Dataverse keeps one organization per environment and one root business unit every user belongs to until moved
(WhoAmI reports both). The emulator has one of each per tenant, derived here and nowhere else, so
CCaaS_GetDeliveryTasks' organizationId, WhoAmI's OrganizationId and BusinessUnitId agree across restarts.
"""

from __future__ import annotations

import uuid

_ORGANIZATION_NAMESPACE = uuid.UUID("6f1c2b1e-0000-4000-8000-00000000ccaa")


def organization_id(tenant_id: uuid.UUID) -> uuid.UUID:
    """The emulated organization's id (WhoAmI's OrganizationId, CCaaS_GetDeliveryTasks' organizationId)."""
    return uuid.uuid5(_ORGANIZATION_NAMESPACE, str(tenant_id))


def root_business_unit_id(tenant_id: uuid.UUID) -> uuid.UUID:
    """The organization's root business unit, the one every user belongs to (WhoAmI's BusinessUnitId)."""
    return uuid.uuid5(organization_id(tenant_id), "businessunit")
