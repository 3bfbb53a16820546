"""Contact chaining and reattempts: which dial of a delivery task comes next, and when the task ends.

Pure rules, no database and no clock: the intake builds a task's chain and its first dial from here, the
dialer asks `advance` what follows each dial's outcome. 002_... ("Reattempts", "Configure multiparty
(account) engagements") and wire-facts C3:

- within an attempt (a loop) the chain dials its contacts in array order and each contact's eligible phones
  in the planner's phone-type order, waiting the delay between phone numbers (same contact) or between
  contacts (next contact) after each dial ends;
- it stops as soon as a customer is reached: an answered call (REACHED) with no disposition code chosen
  for retry;
- when every phone of the loop has been dialled, the task loops again after the retry delay if retries are
  left and some dial of the loop ended with a chosen abandonment reason or a chosen disposition code;
  otherwise it ends, its loops exhausted;
- InvalidAddress and NonRetriableError never trigger a retry and take their phone out of later loops;
- a dial whose windows are all past is skipped; when nothing is left to dial for that reason the task ends
  Expired.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from ccaas_emulator import timezones
from ccaas_emulator.domain import (
    MESSAGE_RESULTS,
    ContactDelayUnit,
    DeliveryResult,
    DeliveryStatus,
    PhoneDelayUnit,
    PhoneType,
    ReattemptReason,
    RetryPriority,
    WaitTimeUnit,
    Window,
    format_timestamp,
)

R = DeliveryResult
DEFAULT_PHONE_ORDER = (PhoneType.MOBILE, PhoneType.BUSINESS, PhoneType.HOME)
"""The phone-type order when the planner gives none (issue #13; the admin UI's default order)."""

REACHED = frozenset({R.LIVE_ANSWER, R.CALL_ENDED, R.BOT_FAILED, R.ABANDONED}) | (
    MESSAGE_RESULTS - {R.MESSAGE_FAILED, R.CONVERSATION_EXISTS, R.UNKNOWN}
)
"""Results where the customer was reached: a person answered the call (the AI agent or a representative took or
dropped it), or the SMS was delivered (whether or not they replied). Answering machines, no answer, failures and
preview cancellations do not reach the customer; neither does an SMS that failed or was not sent."""

NEVER_RETRIED = frozenset({R.INVALID_ADDRESS, R.NON_RETRIABLE_ERROR, R.ERROR})
"""Results that never trigger a reattempt (wire-facts C1); their phone is left out of later loops."""

_REASON_RESULTS: dict[ReattemptReason, frozenset[DeliveryResult]] = {
    # The service reports busy as NoAnswer (wire-facts C1): either choice retries a NoAnswer.
    ReattemptReason.NO_ANSWER: frozenset({R.NO_ANSWER}),
    ReattemptReason.BUSY: frozenset({R.NO_ANSWER}),
    ReattemptReason.FAILED: frozenset({R.CALL_FAILED}),
    ReattemptReason.ANSWERING_MACHINE: frozenset({R.ANSWERING_MACHINE, R.ANSWERING_MACHINE_HANGUP}),
}


class PlannerColumns(Protocol):
    """What the chain reads of a planner settings row (db.models.PlannerConfig)."""

    reattempt_rules: tuple[ReattemptReason, ...]
    number_of_retries: int | None
    delay_between_retries: int | None
    wait_time_unit: WaitTimeUnit | None
    retry_on_disposition_codes: str | None
    retry_priority: RetryPriority | None
    delay_between_contacts: int | None
    delay_between_contacts_unit: ContactDelayUnit | None
    delay_between_phone_numbers: int | None
    delay_between_phone_numbers_unit: PhoneDelayUnit | None
    phone_type_priority: str | None
    fallback_engagement_config_id: uuid.UUID | None


def _duration(value: int | None, hours: bool) -> timedelta:
    return timedelta(hours=value or 0) if hours else timedelta(minutes=value or 0)


def parse_codes(text: str | None) -> frozenset[str]:
    """Disposition codes as the tables write them ('"Wrong party","Callback"' or 'Wrong party, Callback'),
    compared without regard to case."""
    if not text:
        return frozenset()
    return frozenset(code for part in text.split(",") if (code := part.strip().strip('"').strip().casefold()))


def parse_phone_order(text: str | None) -> tuple[PhoneType, ...]:
    """msdyn_comm_phone_type_priority: 'HomePhoneNumber,MobilePhoneNumber'; a type it leaves out is not dialled.
    Raises ValueError naming an unknown type (the Web API refuses such a value)."""
    if text is None or not text.strip():
        return DEFAULT_PHONE_ORDER
    order: list[PhoneType] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        try:
            phone_type = PhoneType(part)
        except ValueError:
            names = ", ".join(DEFAULT_PHONE_ORDER)
            raise ValueError(f"'{part}' is not a phone type; use {names}") from None
        if phone_type not in order:
            order.append(phone_type)
    return tuple(order)


@dataclass(frozen=True)
class ChainSettings:
    """The planner settings a task keeps from the moment it was created."""

    reasons: frozenset[ReattemptReason] = frozenset()
    retries: int = 0
    retry_delay_value: int = 0
    retry_delay_unit: WaitTimeUnit = WaitTimeUnit.MINUTES
    disposition_codes: frozenset[str] = frozenset()
    phone_delay: timedelta = timedelta(0)
    contact_delay: timedelta = timedelta(0)
    phone_order: tuple[PhoneType, ...] = DEFAULT_PHONE_ORDER
    retry_priority: RetryPriority = RetryPriority.SAME_AS_NEW
    fallback_config_id: uuid.UUID | None = None

    @classmethod
    def of(cls, planner: PlannerColumns | None) -> ChainSettings:
        """An engagement's settings; no planner row means no reattempts and the default phone order."""
        if planner is None:
            return cls()
        try:
            phone_order = parse_phone_order(planner.phone_type_priority)
        except ValueError:
            phone_order = DEFAULT_PHONE_ORDER  # a bad value written before the Web API checked it
        return cls(
            reasons=frozenset(planner.reattempt_rules or ()),
            retries=planner.number_of_retries or 0,
            retry_delay_value=planner.delay_between_retries or 0,
            retry_delay_unit=planner.wait_time_unit or WaitTimeUnit.MINUTES,
            disposition_codes=parse_codes(planner.retry_on_disposition_codes),
            phone_delay=_duration(
                planner.delay_between_phone_numbers, planner.delay_between_phone_numbers_unit is PhoneDelayUnit.HOURS
            ),
            contact_delay=_duration(
                planner.delay_between_contacts, planner.delay_between_contacts_unit is ContactDelayUnit.HOURS
            ),
            phone_order=phone_order,
            retry_priority=planner.retry_priority or RetryPriority.SAME_AS_NEW,
            fallback_config_id=planner.fallback_engagement_config_id,
        )

    @property
    def retry_delay(self) -> timedelta:
        return _duration(self.retry_delay_value, self.retry_delay_unit is WaitTimeUnit.HOURS)

    def retry_wanted(self, result: DeliveryResult, disposition_codes: Sequence[str]) -> bool:
        """Whether this outcome asks for another loop: a chosen reason, or a code chosen for retry."""
        if result in NEVER_RETRIED:
            return False
        if any(result in _REASON_RESULTS[reason] for reason in self.reasons):
            return True
        return bool(self.disposition_codes & {code.strip().casefold() for code in disposition_codes})

    def to_json(self) -> dict[str, Any]:
        return {
            "reasons": sorted(int(reason) for reason in self.reasons),
            "retries": self.retries,
            "retryDelay": self.retry_delay_value,
            "retryDelayUnit": int(self.retry_delay_unit),
            "dispositionCodes": sorted(self.disposition_codes),
            "phoneDelaySeconds": int(self.phone_delay.total_seconds()),
            "contactDelaySeconds": int(self.contact_delay.total_seconds()),
            "phoneOrder": list(self.phone_order),
            "retryPriority": int(self.retry_priority),
            "fallbackConfigId": str(self.fallback_config_id) if self.fallback_config_id else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChainSettings:
        fallback = data.get("fallbackConfigId")
        return cls(
            reasons=frozenset(ReattemptReason(value) for value in data["reasons"]),
            retries=int(data["retries"]),
            retry_delay_value=int(data["retryDelay"]),
            retry_delay_unit=WaitTimeUnit(data["retryDelayUnit"]),
            disposition_codes=frozenset(data["dispositionCodes"]),
            phone_delay=timedelta(seconds=data["phoneDelaySeconds"]),
            contact_delay=timedelta(seconds=data["contactDelaySeconds"]),
            phone_order=tuple(PhoneType(value) for value in data["phoneOrder"]),
            retry_priority=RetryPriority(data["retryPriority"]),
            fallback_config_id=uuid.UUID(fallback) if fallback else None,
        )


@dataclass(frozen=True)
class ChainPhone:
    type: PhoneType
    number: str
    eligible: bool = True
    """False for a type the planner does not dial, and once a dial of it ended InvalidAddress/NonRetriableError."""


@dataclass(frozen=True)
class ChainContact:
    contact_id: str
    unique_identifier: str
    phones: tuple[ChainPhone, ...]
    windows: tuple[Window, ...]
    """The contact's own windows, else the request's, else the 24 hours after the request (fixed at intake)."""
    attributes: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None
    iana: str | None = None
    """The IANA zone of `timezone` (timezones.py), worked out here rather than stored: the stored chain keeps the
    caller's text only, so chains written before time zones were checked get their zone too (None when that
    old text names none)."""

    def __post_init__(self) -> None:
        if self.iana is None and self.timezone is not None:
            object.__setattr__(self, "iana", timezones.iana_name_or_none(self.timezone))

    def to_json(self) -> dict[str, Any]:
        return {
            "contactId": self.contact_id,
            "uniqueIdentifier": self.unique_identifier,
            "timezone": self.timezone,
            "phones": [{"type": p.type, "number": p.number, "eligible": p.eligible} for p in self.phones],
            "windows": [window.to_json() for window in self.windows],
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChainContact:
        return cls(
            contact_id=str(data["contactId"]),
            unique_identifier=str(data["uniqueIdentifier"]),
            phones=tuple(
                ChainPhone(PhoneType(p["type"]), str(p["number"]), bool(p.get("eligible", True)))
                for p in data["phones"]
            ),
            windows=tuple(Window.from_json(window) for window in data["windows"]),
            attributes=dict(data.get("attributes") or {}),
            timezone=data.get("timezone"),
        )


def ordered_phones(phones: Sequence[tuple[PhoneType, str]], order: Sequence[PhoneType]) -> tuple[ChainPhone, ...]:
    """A contact's phones in the planner's order; types the planner leaves out come last, not eligible."""
    rank = {phone_type: index for index, phone_type in enumerate(order)}
    ranked = sorted(phones, key=lambda phone: rank.get(phone[0], len(order)))
    return tuple(ChainPhone(phone_type, number, phone_type in rank) for phone_type, number in ranked)


@dataclass(frozen=True)
class Position:
    """Where the chain is: loop (1 = the first attempt), contact index and phone index (0-based)."""

    loop: int
    contact: int
    phone: int


@dataclass(frozen=True)
class Dial:
    """The next dial: whom, which phone, not before when, inside which (clipped) windows."""

    position: Position
    contact: ChainContact
    phone: ChainPhone
    not_before: datetime
    windows: tuple[Window, ...]

    @property
    def is_retry(self) -> bool:
        return self.position.loop > 1


@dataclass(frozen=True)
class Finished:
    """The task is over: Complete (reached, or every loop used) or Expired (nothing left inside a window)."""

    status: DeliveryStatus
    reached: bool
    loops_exhausted: bool


@dataclass(frozen=True)
class Chain:
    """A task's contacts, in array order."""

    contacts: tuple[ChainContact, ...]

    def to_json(self) -> list[dict[str, Any]]:
        return [contact.to_json() for contact in self.contacts]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Chain:
        return cls(tuple(ChainContact.from_json(item) for item in data))

    @property
    def expiration(self) -> datetime:
        return max(window.end for contact in self.contacts for window in contact.windows)

    def eligible_phones(self) -> int:
        return sum(phone.eligible for contact in self.contacts for phone in contact.phones)

    def _slots(self, after: tuple[int, int] | None) -> Iterator[tuple[int, int]]:
        """(contact, phone) of every eligible phone after `after` in dialling order (from the start if None)."""
        for contact_index, contact in enumerate(self.contacts):
            for phone_index, phone in enumerate(contact.phones):
                if phone.eligible and (after is None or (contact_index, phone_index) > after):
                    yield contact_index, phone_index

    def slots(self, after: tuple[int, int] | None = None) -> list[tuple[int, int]]:
        """(contact, phone) of every eligible phone after `after` in dialling order (from the start if None)."""
        return list(self._slots(after))

    def _dial_at(self, loop: int, slot: tuple[int, int], not_before: datetime) -> Dial | None:
        contact = self.contacts[slot[0]]
        windows = clip(contact.windows, not_before)
        if not windows:
            return None
        return Dial(Position(loop, *slot), contact, contact.phones[slot[1]], not_before, windows)

    def first_dial(self, now: datetime) -> Dial | None:
        """The task's first dial: the first eligible phone of the chain, with its contact's windows exactly as sent
        (the row shows them as the caller wrote them; if they are all past, the dial expires at once and the chain
        moves on as after any expired dial). None when no phone is eligible."""
        slot = next(self._slots(None), None)
        if slot is None:
            return None
        contact = self.contacts[slot[0]]
        return Dial(Position(1, *slot), contact, contact.phones[slot[1]], now, contact.windows)

    def without_phone(self, contact_index: int, phone_index: int) -> Chain:
        contact = self.contacts[contact_index]
        phones = list(contact.phones)
        phones[phone_index] = replace(phones[phone_index], eligible=False)
        contacts = list(self.contacts)
        contacts[contact_index] = replace(contact, phones=tuple(phones))
        return Chain(tuple(contacts))


def clip(windows: Sequence[Window], not_before: datetime) -> tuple[Window, ...]:
    """The windows that still have time after `not_before`, each starting no earlier than it."""
    return tuple(Window(max(window.start, not_before), window.end) for window in windows if window.end > not_before)


@dataclass(frozen=True)
class Outcome:
    """How one dial of the task ended."""

    result: DeliveryResult
    disposition_codes: tuple[str, ...]
    ended_at: datetime


@dataclass(frozen=True)
class Step:
    """What follows a dial: the chain (phones may have dropped out), whether this loop wants a retry, and the
    next dial or the end."""

    chain: Chain
    retry_wanted: bool
    next: Dial | Finished
    reached: bool = False


def advance(chain: Chain, settings: ChainSettings, position: Position, outcome: Outcome, *, retry_wanted: bool) -> Step:
    """What the task does after the dial at `position` ended with `outcome` (see the module's rules)."""
    codes = outcome.disposition_codes
    retry_code = bool(settings.disposition_codes & {code.strip().casefold() for code in codes})
    if outcome.result in REACHED and not retry_code:
        return Step(chain, retry_wanted, Finished(DeliveryStatus.COMPLETE, reached=True, loops_exhausted=False), True)
    if outcome.result in NEVER_RETRIED:
        chain = chain.without_phone(position.contact, position.phone)
    retry_wanted = retry_wanted or settings.retry_wanted(outcome.result, codes)
    skipped = False
    for slot in chain._slots((position.contact, position.phone)):
        delay = settings.phone_delay if slot[0] == position.contact else settings.contact_delay
        dial = chain._dial_at(position.loop, slot, outcome.ended_at + delay)
        if dial is not None:
            return Step(chain, retry_wanted, dial)
        skipped = True
    retries_made = position.loop - 1
    if retry_wanted and retries_made < settings.retries and chain.eligible_phones():
        not_before = outcome.ended_at + settings.retry_delay
        for slot in chain._slots(None):
            dial = chain._dial_at(position.loop + 1, slot, not_before)
            if dial is not None:
                return Step(chain, False, dial)
        return Step(chain, retry_wanted, Finished(DeliveryStatus.EXPIRED, reached=False, loops_exhausted=False))
    if outcome.result is R.CANCELLED:  # its last dial was cancelled before it was made (an opt-out, a policy)
        status = DeliveryStatus.CANCELLED
    else:
        status = DeliveryStatus.EXPIRED if skipped or outcome.result is R.EXPIRED else DeliveryStatus.COMPLETE
    return Step(chain, retry_wanted, Finished(status, reached=False, loops_exhausted=status is DeliveryStatus.COMPLETE))


def step_detail(
    task_id: uuid.UUID, dial: Dial, *, after: uuid.UUID | None = None, after_result: DeliveryResult | None = None
) -> dict[str, Any]:
    """What the journal keeps of a chain step: the task, which loop, contact and phone, and what it follows."""
    detail: dict[str, Any] = {
        "deliveryTaskId": str(task_id),
        "loop": dial.position.loop,
        "contactIndex": dial.position.contact,
        "contactId": dial.contact.contact_id,
        "phoneIndex": dial.position.phone,
        "phoneType": dial.phone.type,
        "notBefore": format_timestamp(dial.not_before),
    }
    if after is not None:
        detail |= {"after": str(after), "afterResult": after_result}
    return detail
