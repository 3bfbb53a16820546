"""The proactive engagement vocabulary: statuses, channels, dial modes and choice values.

Each member carries its wire value: text columns of msdyn_proactive_delivery hold the label,
choice columns of msdyn_proactive_engagement_config hold the option number (wire-facts B1-B3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum


@dataclass(frozen=True)
class Window:
    """A span of time in which a delivery may be dialled, in UTC."""

    start: datetime
    end: datetime

    def to_json(self) -> dict[str, str]:
        return {"start": format_timestamp(self.start), "end": format_timestamp(self.end)}

    @classmethod
    def from_json(cls, value: dict[str, str]) -> Window:
        """A window as the emulator stored it (to_json); not a validator of what callers send."""
        return cls(parse_stored_timestamp(value["start"]), parse_stored_timestamp(value["end"]))


def format_timestamp(value: datetime) -> str:
    """UTC with milliseconds and Z: the yyyy-MM-ddTHH:mm:ss.fffZ form the documents use."""
    # isoformat is several times faster than strftime (a bulk call formats tens of thousands); years are >= 1753.
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:23] + "Z"


def parse_stored_timestamp(text: str) -> datetime:
    """The inverse of format_timestamp, for the emulator's own stored values (the wire's are checked by
    intake.rules.parse_timestamp, which answers a caller's mistakes with a catalogued error)."""
    return datetime.fromisoformat(text).astimezone(UTC)


class DeliveryStatus(StrEnum):
    """msdyn_proactive_delivery.msdyn_status (003_...: reporting tables)."""

    PENDING = "Pending"
    IN_PROCESS = "InProcess"
    COMPLETE = "Complete"
    EXPIRED = "Expired"
    CANCELLED = "Cancelled"
    ERROR = "Error"


class DeliveryResult(StrEnum):
    """msdyn_proactive_delivery.msdyn_result for voice (wire-facts C1, newest list)."""

    LIVE_ANSWER = "LiveAnswer"
    ANSWERING_MACHINE = "AnsweringMachine"
    ANSWERING_MACHINE_HANGUP = "AnsweringMachineHangup"
    UNDETERMINED = "Undetermined"
    NOT_A_HANDSET = "NotAHandset"
    BOT_FAILED = "BotFailed"
    CALL_ENDED = "CallEnded"
    NO_ANSWER = "NoAnswer"
    INVALID_ADDRESS = "InvalidAddress"
    CALL_FAILED = "CallFailed"
    NON_RETRIABLE_ERROR = "NonRetriableError"
    ABANDONED = "Abandoned"
    TERMINATED = "Terminated"
    CSR_CANCELLED = "CSRCancelled"
    UNKNOWN = "Unknown"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"
    ERROR = "Error"
    # SMS (wire-facts C1: the SMS results; Cancelled, Expired, Error and Unknown are shared with voice).
    MESSAGE_SENT = "MessageSent"
    MESSAGE_FAILED = "MessageFailed"
    RESPONSE_TIMEOUT = "ResponseTimeout"
    CONSUMER_ENGAGED = "ConsumerEngaged"
    AGENT_ESCALATION = "AgentEscalation"
    AGENT_ACCEPTED = "AgentAccepted"
    CONVERSATION_ENDED = "ConversationEnded"
    CONVERSATION_CLOSED = "ConversationClosed"
    CONVERSATION_CANCELLED = "ConversationCancelled"
    CONVERSATION_CUTOFF_EXCEEDED = "ConversationCutoffExceeded"
    CONVERSATION_EXISTS = "ConversationExists"
    ENGAGEMENT_ABANDONED = "EngagementAbandoned"
    OPT_OUT_RECEIVED = "OptOutReceived"

    @property
    def status(self) -> DeliveryStatus:
        """The status a delivery ends in with this result (the README's status table)."""
        return _STATUS_OF_RESULT.get(self, DeliveryStatus.COMPLETE)

    @property
    def answered(self) -> bool:
        """Someone (or something) picked up: the call gets a conversation."""
        return self in _ANSWERED


class Channel(StrEnum):
    """msdyn_proactive_delivery.msdyn_channel."""

    VOICE = "Voice"
    SMS = "SMS"


class ChoiceEnum(IntEnum):
    """A Dataverse choice: the option number is the value, the label is what people read."""

    @property
    def label(self) -> str:
        return _LABELS[type(self)][self]


class AttributeType(ChoiceEnum):
    """msdyn_proactive_delivery_attribute.msdyn_type (wire-facts B2)."""

    INPUT = 700610000
    RESULT = 700610001


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
    """msdyn_proactive_engagement_config.msdyn_processing_order (call order).

    The first three are documented option values (wire-facts B3). 002_... also documents custom priority
    ascending/descending, whose option values are not published: 700610003/700610004 are the emulator's.
    """

    EARLIEST_SCHEDULED_DATE = 700610000
    FIRST_IN_FIRST_OUT = 700610001
    LAST_IN_FIRST_OUT = 700610002
    CUSTOM_PRIORITY_ASCENDING = 700610003
    CUSTOM_PRIORITY_DESCENDING = 700610004


class StateCode(ChoiceEnum):
    """statecode of standard tables."""

    ACTIVE = 0
    INACTIVE = 1

    @property
    def default_status(self) -> StatusCode:
        """The status reason a record gets when only its state is set (as Dataverse does)."""
        return StatusCode.ACTIVE if self is StateCode.ACTIVE else StatusCode.INACTIVE


class StatusCode(ChoiceEnum):
    """statuscode of msdyn_proactive_engagement_config: one status reason per state (wire-facts B3)."""

    ACTIVE = 1
    INACTIVE = 2

    @property
    def state(self) -> StateCode:
        return StateCode.ACTIVE if self is StatusCode.ACTIVE else StateCode.INACTIVE


class PhoneType(StrEnum):
    """The three phones a contact may carry, named as GetDeliveryTasks names them (wire-facts A9)."""

    MOBILE = "MobilePhoneNumber"
    BUSINESS = "BusinessPhoneNumber"
    HOME = "HomePhoneNumber"


class ReattemptReason(ChoiceEnum):
    """msdyn_proactive_engagement_planner_config.msdyn_reattempt_rules, a multi-select choice (wire-facts B4):
    the abandonment reasons that trigger a reattempt (002_...: "This list of systemic outcomes is fixed")."""

    NO_ANSWER = 192360000
    BUSY = 192360001
    FAILED = 192360002
    ANSWERING_MACHINE = 192360003


class WaitTimeUnit(ChoiceEnum):
    """msdyn_wait_time_unit: the unit of msdyn_delay_between_retries."""

    MINUTES = 192350000
    HOURS = 192350001


class PhoneDelayUnit(ChoiceEnum):
    """msdyn_delay_between_phone_numbers_unit."""

    MINUTES = 192350002
    HOURS = 192350003


class ContactDelayUnit(ChoiceEnum):
    """msdyn_delay_between_contacts_unit."""

    MINUTES = 192350004
    HOURS = 192350005


class TimeZoneHandling(ChoiceEnum):
    """msdyn_comm_time_zone_handling: the customer's own time zone (UTC when it has none), or the system's."""

    CUSTOMER = 192350000
    SYSTEM = 192350001


class CallerIdPolicy(ChoiceEnum):
    """msdyn_callerid_policy_type: how a display number is chosen."""

    ROTATE_THROUGH = 192350000
    RULE_BASED = 192350001


class IntegrationType(ChoiceEnum):
    """msdyn_integration_type: how the engagement's audience arrives."""

    UPLOAD_A_FILE = 192370000
    CCAAS_API = 192370001
    MCP = 192370002


class QuietTimeZoneSource(ChoiceEnum):
    """msdynmkt_quiettimesetting.msdynmkt_timezonesource (Journeys): stored; proactive engagement reads the planner's
    msdyn_comm_time_zone_handling instead."""

    JOURNEY = 1
    AUDIENCE = 2


class RetryPriority(ChoiceEnum):
    """Where reattempts queue against new deliveries (002_... Reattempts: "Same as / Higher than / Lower than
    new deliveries"). The documented planner table has no column for it: emulator_retry_priority and these
    option values are the emulator's."""

    SAME_AS_NEW = 0
    HIGHER_THAN_NEW = 1
    LOWER_THAN_NEW = 2

    @property
    def rank(self) -> int:
        """The claim's first sort key: 0 before new deliveries, 1 among them, 2 after them."""
        return {RetryPriority.HIGHER_THAN_NEW: 0, RetryPriority.SAME_AS_NEW: 1, RetryPriority.LOWER_THAN_NEW: 2}[self]


NEW_DELIVERY_RANK = 1
"""The rank of every delivery that is not a reattempt (RetryPriority.rank)."""


_LABELS: dict[type[ChoiceEnum], dict[ChoiceEnum, str]] = {
    AttributeType: {AttributeType.INPUT: "Input", AttributeType.RESULT: "Result"},
    StatusCode: {StatusCode.ACTIVE: "Active", StatusCode.INACTIVE: "Inactive"},
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
        ProcessingOrder.CUSTOM_PRIORITY_ASCENDING: "Custom priority ascending",
        ProcessingOrder.CUSTOM_PRIORITY_DESCENDING: "Custom priority descending",
    },
    StateCode: {StateCode.ACTIVE: "Active", StateCode.INACTIVE: "Inactive"},
    ReattemptReason: {
        ReattemptReason.NO_ANSWER: "No Answer",
        ReattemptReason.BUSY: "Busy",
        ReattemptReason.FAILED: "Failed",
        ReattemptReason.ANSWERING_MACHINE: "Answering Machine",
    },
    WaitTimeUnit: {WaitTimeUnit.MINUTES: "Minutes", WaitTimeUnit.HOURS: "Hours"},
    PhoneDelayUnit: {PhoneDelayUnit.MINUTES: "Minutes", PhoneDelayUnit.HOURS: "Hours"},
    ContactDelayUnit: {ContactDelayUnit.MINUTES: "Minutes", ContactDelayUnit.HOURS: "Hours"},
    TimeZoneHandling: {TimeZoneHandling.CUSTOMER: "Customer", TimeZoneHandling.SYSTEM: "System"},
    CallerIdPolicy: {CallerIdPolicy.ROTATE_THROUGH: "Rotate Through", CallerIdPolicy.RULE_BASED: "Rule Based"},
    IntegrationType: {
        IntegrationType.UPLOAD_A_FILE: "Upload a file",
        IntegrationType.CCAAS_API: "CCaaS API",
        IntegrationType.MCP: "MCP",
    },
    QuietTimeZoneSource: {
        QuietTimeZoneSource.JOURNEY: "Use journey timezone",
        QuietTimeZoneSource.AUDIENCE: "Use audience timezone",
    },
    RetryPriority: {
        RetryPriority.SAME_AS_NEW: "Same as new deliveries",
        RetryPriority.HIGHER_THAN_NEW: "Higher than new deliveries",
        RetryPriority.LOWER_THAN_NEW: "Lower than new deliveries",
    },
}

_STATUS_OF_RESULT = {
    DeliveryResult.NON_RETRIABLE_ERROR: DeliveryStatus.ERROR,
    DeliveryResult.MESSAGE_FAILED: DeliveryStatus.ERROR,
    DeliveryResult.ERROR: DeliveryStatus.ERROR,
    DeliveryResult.EXPIRED: DeliveryStatus.EXPIRED,
    DeliveryResult.TERMINATED: DeliveryStatus.EXPIRED,
    DeliveryResult.CANCELLED: DeliveryStatus.CANCELLED,
}
_ANSWERED = frozenset(
    {
        DeliveryResult.LIVE_ANSWER,
        DeliveryResult.ANSWERING_MACHINE,
        DeliveryResult.ANSWERING_MACHINE_HANGUP,
        DeliveryResult.BOT_FAILED,
        DeliveryResult.CALL_ENDED,
        DeliveryResult.ABANDONED,
        DeliveryResult.CSR_CANCELLED,
        # SMS: the customer replied, so the message became a conversation.
        DeliveryResult.CONSUMER_ENGAGED,
        DeliveryResult.AGENT_ESCALATION,
        DeliveryResult.AGENT_ACCEPTED,
        DeliveryResult.CONVERSATION_ENDED,
        DeliveryResult.CONVERSATION_CLOSED,
        DeliveryResult.CONVERSATION_CANCELLED,
        DeliveryResult.CONVERSATION_CUTOFF_EXCEEDED,
        DeliveryResult.ENGAGEMENT_ABANDONED,
        DeliveryResult.OPT_OUT_RECEIVED,
    }
)

OMNICHANNEL_ROLES = frozenset({"Omnichannel agent", "Omnichannel supervisor"})
"""Either role may call the CCaaS actions (000_..., 001_...: prerequisites)."""
ACTION_ROLES = OMNICHANNEL_ROLES | {"System Administrator"}
"""Who may call the actions: the Omnichannel roles, and the administrator, who holds every privilege."""


MESSAGE_RESULTS = frozenset(
    {
        DeliveryResult.MESSAGE_SENT,
        DeliveryResult.MESSAGE_FAILED,
        DeliveryResult.RESPONSE_TIMEOUT,
        DeliveryResult.CONSUMER_ENGAGED,
        DeliveryResult.AGENT_ESCALATION,
        DeliveryResult.AGENT_ACCEPTED,
        DeliveryResult.CONVERSATION_ENDED,
        DeliveryResult.CONVERSATION_CLOSED,
        DeliveryResult.CONVERSATION_CANCELLED,
        DeliveryResult.CONVERSATION_CUTOFF_EXCEEDED,
        DeliveryResult.CONVERSATION_EXISTS,
        DeliveryResult.ENGAGEMENT_ABANDONED,
        DeliveryResult.OPT_OUT_RECEIVED,
        DeliveryResult.UNKNOWN,
    }
)
"""Results an SMS can end with (wire-facts C1); Cancelled, Expired and Error come from the lifecycle instead."""

CALL_RESULTS = frozenset(DeliveryResult) - MESSAGE_RESULTS - {
    DeliveryResult.EXPIRED,
    DeliveryResult.CANCELLED,
    DeliveryResult.TERMINATED,
    DeliveryResult.ERROR,
} | {DeliveryResult.UNKNOWN}
"""Results a call can end with; Expired, Cancelled, Terminated and Error come from the lifecycle instead."""


def parse_outcome_weights(
    text: str, *, allowed: frozenset[DeliveryResult] = CALL_RESULTS, what: str = "a call"
) -> dict[DeliveryResult, float]:
    """'LiveAnswer=60,NoAnswer=20' -> weights; raises ValueError naming what is wrong."""
    weights: dict[DeliveryResult, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, value = part.partition("=")
        try:
            result = DeliveryResult(name.strip())
        except ValueError:
            raise ValueError(f"unknown result {name.strip()!r}") from None
        if result not in allowed:
            raise ValueError(f"{result} is not an outcome {what} can have")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"weight of {result} is not a number: {value!r}") from None
        if weight < 0:
            raise ValueError(f"weight of {result} is negative")
        weights[result] = weight
    if weights and sum(weights.values()) <= 0:
        raise ValueError("the weights add up to zero")
    return weights
