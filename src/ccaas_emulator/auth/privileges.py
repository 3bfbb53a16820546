"""Table privileges of the security roles: who may read, create, change and delete which table's rows.

Dataverse names a privilege `prv<Access><table>` (prvReadmsdyn_proactive_delivery) and answers a caller
without it with 403 0x80040220 (wire-facts E5, E7). The emulator's roles hold what their real
counterparts need for proactive engagement: the Omnichannel roles read the engagement tables, the
administrator roles also configure engagements (their configurations, planner settings and the quiet-time settings
those name). Delivery and
attribute rows are written only by the Proactive Engagement service (003_...), so no role creates, changes or
deletes them over the Web API. Contacts are read by the same roles and written only by the intake actions and
file uploads, which create or update them by the engagement's unique identifier (docs/read-side.md). Time zone
definitions have no privilege in Dataverse ("There is no privilege metadata for the time zone definition
entity"): every user of the org reads them, and nobody writes them.
"""

from __future__ import annotations

import uuid
import zlib
from enum import StrEnum

from ccaas_emulator.auth.callers import Caller
from ccaas_emulator.wire.errors import TABLE_PRIVILEGE_DENIED

PRIVILEGE_NAMESPACE = uuid.UUID("0b7f3a52-6d0e-4c8a-9a51-ccaa5e000003")


class Access(StrEnum):
    READ = "Read"
    CREATE = "Create"
    WRITE = "Write"
    DELETE = "Delete"


ENGAGEMENT_TABLES = ("msdyn_proactive_delivery", "msdyn_proactive_delivery_attribute")
CONFIGURATION_TABLES = (
    "msdyn_proactive_engagement_config",
    "msdyn_proactive_engagement_planner_config",
    "msdynmkt_quiettimesetting",
)
_READ_ALL = {(Access.READ, table) for table in (*ENGAGEMENT_TABLES, *CONFIGURATION_TABLES, "systemuser", "contact")}
_CONFIGURE = {(access, table) for access in Access for table in CONFIGURATION_TABLES}
READ_BY_EVERYONE = frozenset({"timezonedefinition"})

DISPLAY_NAMES = {
    "msdyn_proactive_delivery": "Proactive Delivery",
    "msdyn_proactive_delivery_attribute": "Proactive Delivery Attribute",
    "msdyn_proactive_engagement_config": "Proactive Engagement Configuration",
    "msdyn_proactive_engagement_planner_config": "Proactive Engagement Planner Configuration",
    "msdynmkt_quiettimesetting": "Quiet Time Setting",
    "systemuser": "User",
    "contact": "Contact",
    "timezonedefinition": "Time Zone Definition",
}
ROLE_PRIVILEGES: dict[str, frozenset[tuple[Access, str]]] = {
    "Omnichannel agent": frozenset(_READ_ALL),
    "Omnichannel supervisor": frozenset(_READ_ALL),
    "Omnichannel administrator": frozenset(_READ_ALL | _CONFIGURE),
    "System Administrator": frozenset(_READ_ALL | _CONFIGURE),
}


def has_privilege(caller: Caller, access: Access, table: str) -> bool:
    if access is Access.READ and table in READ_BY_EVERYONE:
        return True
    return any((access, table) in ROLE_PRIVILEGES.get(role, frozenset()) for role in caller.roles)


def require_privilege(caller: Caller, access: Access, table: str) -> None:
    """403 in Dataverse's words when none of the caller's roles holds prv<access><table>."""
    if has_privilege(caller, access, table):
        return
    privilege = f"prv{access.value}{table}"
    raise TABLE_PRIVILEGE_DENIED(
        user_id=caller.user_id,
        role_count=len(caller.roles),
        privilege=privilege,
        privilege_id=uuid.uuid5(PRIVILEGE_NAMESPACE, privilege),
        otc=object_type_code(table),
        entity=table,
        display_name=DISPLAY_NAMES.get(table, table),
        object_id=caller.object_id,
    )


def object_type_code(table: str) -> int:
    """A stable object type code in the custom-table range (10000 and up), as custom tables get."""
    return 10000 + zlib.crc32(table.encode()) % 900
