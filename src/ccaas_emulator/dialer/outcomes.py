"""The simulated voice runtime: what happens when a number is dialled, decided once and deterministically.

In order: an outcome a test scripted for the number (consumed one per dial), a documented magic number
that always gives one result, otherwise a weighted draw seeded by CCAAS_OUTCOME_SEED and the delivery id
(so the same delivery gets the same outcome whichever worker dials it, whenever).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from ccaas_emulator.domain import CALL_RESULTS, MESSAGE_RESULTS, DeliveryResult, DialMode, parse_outcome_weights

R = DeliveryResult

# Like Twilio's test numbers: each always gives one result; the SIP code is what the result stands for
# in the real runtime (wire-facts C1).
MAGIC_NUMBERS: dict[str, tuple[DeliveryResult, int | None]] = {
    "+15005550001": (R.LIVE_ANSWER, 200),
    "+15005550002": (R.NO_ANSWER, 486),
    "+15005550003": (R.INVALID_ADDRESS, 404),
    "+15005550004": (R.CALL_FAILED, 503),
    "+15005550005": (R.NON_RETRIABLE_ERROR, 488),
    "+15005550006": (R.ANSWERING_MACHINE, 200),
    "+15005550007": (R.ANSWERING_MACHINE_HANGUP, 200),
    "+15005550008": (R.NOT_A_HANDSET, None),
    "+15005550009": (R.BOT_FAILED, 200),
    "+15005550010": (R.UNDETERMINED, None),
    "+15005550011": (R.UNKNOWN, None),
    "+15005550012": (R.ABANDONED, 200),
    "+15005550013": (R.CALL_ENDED, 200),
    "+15005550014": (R.CSR_CANCELLED, None),
}

# Results a call can end with (Expired, Cancelled, Terminated and Error come from the lifecycle instead).
DIALLABLE_RESULTS = CALL_RESULTS  # each has a magic number above
SENDABLE_RESULTS = MESSAGE_RESULTS
"""Results an SMS can end with, scripted or drawn (no magic numbers: script a number instead)."""
parse_weights = parse_outcome_weights

DEFAULT_WEIGHTS: dict[DeliveryResult, float] = {
    R.LIVE_ANSWER: 60,
    R.NO_ANSWER: 18,
    R.ANSWERING_MACHINE: 8,
    R.CALL_FAILED: 5,
    R.INVALID_ADDRESS: 3,
    R.BOT_FAILED: 2,
    R.NOT_A_HANDSET: 2,
    R.UNDETERMINED: 2,
}
_SIP_OF = {
    R.LIVE_ANSWER: 200, R.NO_ANSWER: 486, R.INVALID_ADDRESS: 404, R.CALL_FAILED: 503,
    R.NON_RETRIABLE_ERROR: 488, R.ANSWERING_MACHINE: 200, R.BOT_FAILED: 200,
}  # fmt: skip
_RING_SECONDS_NO_ANSWER = 30


@dataclass(frozen=True)
class ScriptedCall:
    """An outcome scripted for a number through the control API."""

    result: DeliveryResult
    talk_seconds: int | None = None
    ring_seconds: int | None = None
    disposition_codes: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CallPlan:
    """How a dial will go: its result, how long it rings and talks, and what it leaves behind."""

    result: DeliveryResult
    ring_seconds: int
    talk_seconds: int
    source: str
    sip_code: int | None = None
    disposition_codes: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> int:
        return self.ring_seconds + self.talk_seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "result": self.result,  # a StrEnum: JSON writes its value
            "ringSeconds": self.ring_seconds,
            "talkSeconds": self.talk_seconds,
            "source": self.source,
            "sipCode": self.sip_code,
            "dispositionCodes": self.disposition_codes,
            "attributes": self.attributes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallPlan:
        return cls(
            result=DeliveryResult(data["result"]),
            ring_seconds=int(data["ringSeconds"]),
            talk_seconds=int(data["talkSeconds"]),
            source=str(data.get("source", "")),
            sip_code=data.get("sipCode"),
            disposition_codes=list(data.get("dispositionCodes") or []),
            attributes=dict(data.get("attributes") or {}),
        )

    def with_result(self, result: DeliveryResult, source: str) -> CallPlan:
        return CallPlan(result, self.ring_seconds, self.talk_seconds, source, self.sip_code,
                        self.disposition_codes, self.attributes)  # fmt: skip


class CallSimulator:
    """The simulated voice runtime: decides call outcomes; pure apart from its seed and weights."""

    def __init__(self, *, seed: int, weights: dict[DeliveryResult, float] | None = None) -> None:
        self._seed = seed
        chosen = weights or DEFAULT_WEIGHTS
        self._results = list(chosen)
        self._weights = [chosen[result] for result in self._results]

    def plan(
        self,
        *,
        delivery_id: uuid.UUID,
        to_address: str,
        dial_mode: DialMode,
        handle_seconds: int,
        scripted: ScriptedCall | None = None,
    ) -> CallPlan:
        # A simulation, not cryptography; str seeds hash the same in every process.
        rng = random.Random(f"{self._seed}:{delivery_id}")  # noqa: S311
        if scripted is not None:
            result, source, sip = scripted.result, "scripted", _SIP_OF.get(scripted.result)
        elif to_address.strip() in MAGIC_NUMBERS:
            (result, sip), source = MAGIC_NUMBERS[to_address.strip()], "magic-number"
        else:
            result = rng.choices(self._results, self._weights)[0]
            result, source, sip = _fit_to_mode(result, dial_mode), "draw", _SIP_OF.get(result)
        ring = _ring_seconds(result, rng)
        talk = _talk_seconds(result, dial_mode, handle_seconds, rng)
        if scripted is not None:
            ring = scripted.ring_seconds if scripted.ring_seconds is not None else ring
            talk = scripted.talk_seconds if scripted.talk_seconds is not None else talk
            return CallPlan(result, ring, talk, source, sip, scripted.disposition_codes, scripted.attributes)
        return CallPlan(result, ring, talk, source, sip)


def _fit_to_mode(result: DeliveryResult, dial_mode: DialMode) -> DeliveryResult:
    """A drawn outcome in the words of the dial mode (wire-facts C1-C2)."""
    if result is R.BOT_FAILED and dial_mode is not DialMode.COPILOT:
        result = R.LIVE_ANSWER  # only AI-agent-led calls have a bot to fail
    if result is R.LIVE_ANSWER and dial_mode is DialMode.PREVIEW:
        result = R.CALL_ENDED  # a representative-led preview call ends as CallEnded
    return result


def _ring_seconds(result: DeliveryResult, rng: random.Random) -> int:
    if result is R.NO_ANSWER:
        return _RING_SECONDS_NO_ANSWER
    if result.answered:
        return rng.randint(3, 15)
    return rng.randint(1, 5)


def _talk_seconds(result: DeliveryResult, dial_mode: DialMode, handle_seconds: int, rng: random.Random) -> int:
    if result in (R.LIVE_ANSWER, R.CALL_ENDED):
        if dial_mode is DialMode.COPILOT:
            return rng.randint(60, 240)
        return max(10, round(handle_seconds * rng.uniform(0.5, 1.5)))
    if result in (R.ANSWERING_MACHINE, R.BOT_FAILED):
        return rng.randint(15, 40)
    if result in (R.ANSWERING_MACHINE_HANGUP, R.ABANDONED, R.CSR_CANCELLED):
        return rng.randint(2, 10)
    return 0


# --- SMS ----------------------------------------------------------------------------------------------------

SMS_DEFAULT_WEIGHTS: dict[DeliveryResult, float] = {
    R.MESSAGE_SENT: 85,
    R.CONSUMER_ENGAGED: 8,
    R.RESPONSE_TIMEOUT: 4,
    R.MESSAGE_FAILED: 2,
    R.OPT_OUT_RECEIVED: 1,
}
FIRST_RESPONSE_TIMEOUT_SECONDS = 5 * 60
"""How long an engaging SMS waits for the customer's first reply (wire-facts C1: 5 minutes by default)."""
CUTOFF_SECONDS = 15 * 24 * 3600
"""ConversationCutoffExceeded: 15 days without activity (wire-facts C1)."""


class MessageSimulator:
    """The simulated messaging runtime: decides what becomes of an SMS, once and deterministically."""

    def __init__(self, *, seed: int, weights: dict[DeliveryResult, float] | None = None) -> None:
        self._seed = seed
        chosen = weights or SMS_DEFAULT_WEIGHTS
        self._results = list(chosen)
        self._weights = [chosen[result] for result in self._results]

    def plan(self, *, delivery_id: uuid.UUID, scripted: ScriptedCall | None = None) -> CallPlan:
        """ring_seconds: until the carrier takes the message; talk_seconds: until its result (a reply, the
        first-response timeout, or at once)."""
        rng = random.Random(f"{self._seed}:sms:{delivery_id}")  # noqa: S311
        if scripted is not None:
            result, source = scripted.result, "scripted"
        else:
            result, source = rng.choices(self._results, self._weights)[0], "draw"
        send = rng.randint(1, 3)
        wait = _message_wait(result, rng)
        if scripted is None:
            return CallPlan(result, send, wait, source)
        send = scripted.ring_seconds if scripted.ring_seconds is not None else send
        wait = scripted.talk_seconds if scripted.talk_seconds is not None else wait
        return CallPlan(result, send, wait, source, None, scripted.disposition_codes, scripted.attributes)


def _message_wait(result: DeliveryResult, rng: random.Random) -> int:
    if result is R.RESPONSE_TIMEOUT:
        return FIRST_RESPONSE_TIMEOUT_SECONDS
    if result is R.CONVERSATION_CUTOFF_EXCEEDED:
        return CUTOFF_SECONDS
    if result in (R.CONSUMER_ENGAGED, R.OPT_OUT_RECEIVED):
        return rng.randint(20, FIRST_RESPONSE_TIMEOUT_SECONDS - 1)  # a reply inside the first-response timeout
    if result.answered:  # a conversation with a representative or agent: it runs a while
        return rng.randint(300, 1800)
    return 0  # sent, failed, or refused at once
