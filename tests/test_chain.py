"""chain.py's pure rules: what follows a dial, without a database or a clock (issue #13)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ccaas_emulator.chain import (
    Chain,
    ChainContact,
    ChainSettings,
    Dial,
    Finished,
    Outcome,
    Position,
    advance,
    ordered_phones,
    parse_codes,
    parse_phone_order,
)
from ccaas_emulator.domain import DeliveryResult, PhoneType, ReattemptReason, RetryPriority, WaitTimeUnit, Window

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = (Window(T0, T0 + timedelta(hours=8)),)
M, B, H = PhoneType.MOBILE, PhoneType.BUSINESS, PhoneType.HOME


def contact(*phones: tuple[PhoneType, str], windows=DAY, order=(M, B, H)) -> ChainContact:
    return ChainContact(str(uuid.uuid4()), "ext", ordered_phones(list(phones), order), windows)


def test_codes_are_read_quoted_or_plain_and_compared_without_case():
    assert parse_codes('"Wrong party", Later ,,"x"') == {"wrong party", "later", "x"}
    assert parse_codes(None) == frozenset()


def test_the_phone_order_names_phone_types_only():
    assert parse_phone_order("HomePhoneNumber, MobilePhoneNumber") == (H, M)
    assert parse_phone_order(" ") == (M, B, H)
    with pytest.raises(ValueError, match="'Fax' is not a phone type"):
        parse_phone_order("MobilePhoneNumber,Fax")


def test_settings_survive_their_json_form():
    settings = ChainSettings(
        reasons=frozenset({ReattemptReason.BUSY}), retries=2, retry_delay_value=3, retry_delay_unit=WaitTimeUnit.HOURS,
        disposition_codes=frozenset({"later"}), phone_delay=timedelta(minutes=5), contact_delay=timedelta(hours=1),
        phone_order=(H, M), retry_priority=RetryPriority.LOWER_THAN_NEW, fallback_config_id=uuid.uuid4(),
    )  # fmt: skip
    assert ChainSettings.from_json(settings.to_json()) == settings
    assert settings.retry_delay == timedelta(hours=3)


def test_a_retry_wanted_when_every_phone_dropped_out_ends_the_task_complete_not_expired():
    chain = Chain((contact((M, "+1")),))
    settings = ChainSettings(reasons=frozenset(ReattemptReason), retries=3)
    first = advance(chain, settings, Position(1, 0, 0), Outcome(DeliveryResult.NO_ANSWER, (), T0), retry_wanted=False)
    assert isinstance(first.next, Dial) and first.next.position == Position(2, 0, 0) and first.next.is_retry

    invalid = Outcome(DeliveryResult.INVALID_ADDRESS, (), T0 + timedelta(minutes=1))
    step = advance(first.chain, settings, first.next.position, invalid, retry_wanted=True)
    assert step.next == Finished(status="Complete", reached=False, loops_exhausted=True)
    assert step.chain.eligible_phones() == 0


def test_the_first_dial_is_the_first_eligible_phone_with_its_windows_as_sent_even_past_ones():
    past = (Window(T0 - timedelta(days=2), T0 - timedelta(days=1)),)
    dial = Chain((contact((B, "+1"), order=(M,)), contact((M, "+2"), windows=past), contact((M, "+3")))).first_dial(T0)
    assert dial is not None and (dial.position, dial.phone.number, dial.windows) == (Position(1, 1, 0), "+2", past)


def test_no_eligible_phone_means_no_first_dial():
    assert Chain((contact((B, "+1"), order=(M,)),)).first_dial(T0) is None
