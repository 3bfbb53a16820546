"""The proactive engagement vocabulary: statuses, channels, dial modes and choice values.

Each member carries its wire value: text columns of msdyn_proactive_delivery hold the label,
choice columns of msdyn_proactive_engagement_config hold the option number (wire-facts B1-B3).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class DeliveryStatus(StrEnum):
    """msdyn_proactive_delivery.msdyn_status (003_...: reporting tables)."""

    PENDING = "Pending"
    IN_PROCESS = "InProcess"
    COMPLETE = "Complete"
    EXPIRED = "Expired"
    CANCELLED = "Cancelled"
    ERROR = "Error"


class Channel(StrEnum):
    """msdyn_proactive_delivery.msdyn_channel."""

    VOICE = "Voice"
    SMS = "SMS"


class AttributeType(IntEnum):
    """msdyn_proactive_delivery_attribute.msdyn_type (wire-facts B2)."""

    INPUT = 700610000
    RESULT = 700610001


class ChoiceEnum(IntEnum):
    """A Dataverse choice: the option number is the value, the label is what people read."""

    @property
    def label(self) -> str:
        return _LABELS[type(self)][self]


class OutreachType(ChoiceEnum):
    """msdyn_proactive_engagement_config.msdyn_type."""

    VOICE = 100000000
    SMS = 100000001

    @property
    def channel(self) -> Channel:
        return Channel.VOICE if self is OutreachType.VOICE else Channel.SMS


class DialMode(ChoiceEnum):
    """msdyn_proactive_engagement_config.msdyn_dialmode_type; the delivery stores the label."""

    COPILOT = 100000000
    PROGRESSIVE = 100000001
    PREVIEW = 100000002
    PREDICTIVE = 100000003


class EngagementPriority(ChoiceEnum):
    """msdyn_proactive_engagement_config.msdyn_priority: lower number wins."""

    CRITICAL = 1
    HIGH = 2
    NORMAL = 3


class ProcessingOrder(ChoiceEnum):
    """msdyn_proactive_engagement_config.msdyn_processing_order (call order)."""

    EARLIEST_SCHEDULED_DATE = 700610000
    FIRST_IN_FIRST_OUT = 700610001
    LAST_IN_FIRST_OUT = 700610002


class StateCode(ChoiceEnum):
    """statecode of standard tables."""

    ACTIVE = 0
    INACTIVE = 1


class PhoneType(StrEnum):
    """The three phones a contact may carry, named as GetDeliveryTasks names them (wire-facts A9)."""

    MOBILE = "MobilePhoneNumber"
    BUSINESS = "BusinessPhoneNumber"
    HOME = "HomePhoneNumber"


_LABELS: dict[type[ChoiceEnum], dict[ChoiceEnum, str]] = {
    OutreachType: {OutreachType.VOICE: "Voice", OutreachType.SMS: "SMS"},
    DialMode: {
        DialMode.COPILOT: "Copilot",
        DialMode.PROGRESSIVE: "Progressive",
        DialMode.PREVIEW: "Preview",
        DialMode.PREDICTIVE: "Predictive",
    },
    EngagementPriority: {
        EngagementPriority.CRITICAL: "Critical",
        EngagementPriority.HIGH: "High",
        EngagementPriority.NORMAL: "Normal",
    },
    ProcessingOrder: {
        ProcessingOrder.EARLIEST_SCHEDULED_DATE: "Earliest Scheduled Date",
        ProcessingOrder.FIRST_IN_FIRST_OUT: "First In First Out",
        ProcessingOrder.LAST_IN_FIRST_OUT: "Last In First Out",
    },
    StateCode: {StateCode.ACTIVE: "Active", StateCode.INACTIVE: "Inactive"},
}

OMNICHANNEL_ROLES = frozenset({"Omnichannel agent", "Omnichannel supervisor"})
"""Either role may call the CCaaS actions (000_..., 001_...: prerequisites)."""
