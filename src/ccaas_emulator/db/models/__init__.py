"""The tables: Dataverse names at the table edge, readable Python names inside."""

from ccaas_emulator.db.models.compliance import CancellationPolicy, OptOut
from ccaas_emulator.db.models.contact import Contact
from ccaas_emulator.db.models.delivery import DeliveryAttribute, ProactiveDelivery
from ccaas_emulator.db.models.dialer import (
    ClockState,
    DeliveryEvent,
    EngagementPacing,
    RepresentativePool,
    ScriptedOutcome,
)
from ccaas_emulator.db.models.engagement import EngagementConfig
from ccaas_emulator.db.models.identity import Credential, SecurityRole, SigningKey, SystemUser, SystemUserRole
from ccaas_emulator.db.models.planner import PlannerConfig
from ccaas_emulator.db.models.quiet_time import QuietTimeSetting
from ccaas_emulator.db.models.serving import ServedOrigin, TlsMaterial
from ccaas_emulator.db.models.task import DeliveryTask
from ccaas_emulator.db.models.timezone import TimeZoneDefinition

__all__ = [
    "CancellationPolicy",
    "ClockState",
    "Contact",
    "Credential",
    "DeliveryAttribute",
    "DeliveryEvent",
    "DeliveryTask",
    "EngagementConfig",
    "EngagementPacing",
    "OptOut",
    "PlannerConfig",
    "ProactiveDelivery",
    "QuietTimeSetting",
    "RepresentativePool",
    "ScriptedOutcome",
    "SecurityRole",
    "ServedOrigin",
    "SigningKey",
    "SystemUser",
    "SystemUserRole",
    "TimeZoneDefinition",
    "TlsMaterial",
]
