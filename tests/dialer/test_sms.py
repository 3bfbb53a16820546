"""The simulated messaging runtime: SMS deliveries are sent, get an SMS result, and can be scripted (issue #14
item 4; wire-facts C1's SMS results)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from ccaas_emulator.dialer.outcomes import FIRST_RESPONSE_TIMEOUT_SECONDS, MessageSimulator
from ccaas_emulator.domain import MESSAGE_RESULTS, DeliveryResult, ReattemptReason
from ccaas_emulator.settings import Settings
from tests.support.demo import NOW
from tests.support.in_process import window

SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"  # the demo SMS engagement
NO_ANSWER, LIVE_ANSWER = "+15005550002", "+15005550001"
TEXT = "Your appointment is confirmed for tomorrow at 10:00 AM. Reply STOP to opt out."


def send(emulator, number: str, **extra) -> uuid.UUID:
    return emulator.post_chain([{"mobilePhoneNumber": number}], config=SMS_CONFIG, windows=[window()], **extra)


def test_an_sms_is_sent_and_keeps_the_text_it_sent(emulator):
    emulator.script("+15552001", "MessageSent")
    task_id = send(emulator, "+15552001", Message=TEXT)

    emulator.advance("PT1M")

    [sms] = emulator.task_dials(task_id)
    assert (sms.channel, sms.status, sms.result) == ("SMS", "Complete", "MessageSent")
    assert sms.channel_sent_date == NOW and sms.start_date == NOW
    assert NOW < sms.end_date <= NOW + timedelta(seconds=3)  # the carrier took it
    assert sms.call_id is None and sms.conversation_id is None  # no call; nobody replied
    assert emulator.result_attributes(sms.id) == {"MessageText": TEXT}
    task = emulator.task(task_id)
    assert (task.status, task.customer_reached) == ("Complete", True)


def test_an_sms_scripted_to_fail_ends_error_and_the_chain_tries_the_next_contact(emulator):
    emulator.script("+15552002", "MessageFailed")
    emulator.script("+15552003", "MessageSent")
    task_id = emulator.post_chain([{"mobilePhoneNumber": "+15552002"}, {"mobilePhoneNumber": "+15552003"}],
                                  config=SMS_CONFIG, windows=[window()])  # fmt: skip

    emulator.advance("PT5M")

    assert [(d.to_address, d.status, d.result) for d in emulator.task_dials(task_id)] == [
        ("+15552002", "Error", "MessageFailed"), ("+15552003", "Complete", "MessageSent")]  # fmt: skip


def test_a_reply_makes_a_conversation_and_no_reply_ends_at_the_first_response_timeout(emulator):
    emulator.script("+15552004", {"result": "ConsumerEngaged", "talkSeconds": 90})
    emulator.script("+15552005", "ResponseTimeout")
    engaged, silent = send(emulator, "+15552004"), send(emulator, "+15552005")

    emulator.advance("PT4M")
    [replied] = emulator.task_dials(engaged)
    [waiting] = emulator.task_dials(silent)
    assert (replied.status, replied.result) == ("Complete", "ConsumerEngaged") and replied.conversation_id
    assert waiting.status == "InProcess"  # still waiting for a first reply

    emulator.advance("PT2M")
    [timed_out] = emulator.task_dials(silent)
    assert (timed_out.status, timed_out.result) == ("Complete", "ResponseTimeout")
    timeout = timedelta(seconds=FIRST_RESPONSE_TIMEOUT_SECONDS)  # 5 minutes, after the 1-3 s the carrier takes
    assert timeout < timed_out.end_date - timed_out.start_date <= timeout + timedelta(seconds=3)


def test_a_number_scripted_for_a_call_keeps_its_script_for_the_call(emulator):
    emulator.script("+15552006", "NoAnswer", "MessageFailed")
    task_id = send(emulator, "+15552006")

    emulator.advance("PT1M")

    assert emulator.task_dials(task_id)[0].result == "MessageFailed"  # the SMS took the SMS result, not NoAnswer
    remaining = emulator.client.get("/emulator/v1/outcomes").json()["value"]
    assert [(o["phoneNumber"], o["result"]) for o in remaining] == [("+15552006", "NoAnswer")]


def test_unscripted_sms_draw_a_seeded_sms_result(emulator):
    tasks = [send(emulator, f"+1555210{n}") for n in range(10)]

    emulator.advance("PT10M")

    results = [emulator.task_dials(task_id)[0].result for task_id in tasks]
    assert set(results) <= MESSAGE_RESULTS and "MessageSent" in results
    assert all(emulator.task_dials(task_id)[0].status in ("Complete", "Error") for task_id in tasks)


def test_the_draw_is_deterministic_and_follows_the_weights():
    simulator = MessageSimulator(seed=7, weights={DeliveryResult.MESSAGE_FAILED: 1})
    delivery = uuid.uuid4()
    assert simulator.plan(delivery_id=delivery) == simulator.plan(delivery_id=delivery)
    assert simulator.plan(delivery_id=delivery).result is DeliveryResult.MESSAGE_FAILED


def test_sms_weights_are_checked_at_start_up():
    assert Settings(sms_outcome_weights="MessageSent=9,MessageFailed=1").sms_outcome_weights
    with pytest.raises(ValueError, match="LiveAnswer is not an outcome an SMS can have"):
        Settings(sms_outcome_weights="LiveAnswer=1")


# --- SMS fallback (issue #14 item 5; 002_... "Follow up on SMS") ------------------------------------------


def voice_with_fallback(emulator, *, fallback: str = SMS_CONFIG, retries: int = 1) -> str:
    config = emulator.engagement(dialMode="Copilot")
    emulator.planner(config, reattempt_rules=(ReattemptReason.NO_ANSWER,), number_of_retries=retries,
                     delay_between_retries=10, fallback_engagement_config_id=uuid.UUID(fallback))  # fmt: skip
    return config


def test_exhausted_voice_attempts_fall_back_to_one_sms_to_the_first_mobile(emulator):
    config = voice_with_fallback(emulator)
    emulator.script("+15552301", "MessageSent")
    task_id = emulator.post_chain(
        [{"homePhoneNumber": NO_ANSWER}, {"mobilePhoneNumber": "+15552301", "businessPhoneNumber": NO_ANSWER}],
        config=config, windows=[window()], RequestId="case-sms-1",
    )  # fmt: skip
    emulator.script("+15552301", "NoAnswer", "NoAnswer")  # the mobile's two calls ring out too

    emulator.advance("PT2H")

    dials = emulator.task_dials(task_id)
    voice, [sms] = dials[:-1], dials[-1:]
    assert {d.channel for d in voice} == {"Voice"} and len(voice) == 6  # 3 phones x 2 loops
    assert (sms.channel, sms.to_address, sms.tracking_id) == ("SMS", "+15552301", "case-sms-1")
    assert (sms.status, sms.result, sms.engagement_config_id) == ("Complete", "MessageSent", SMS_CONFIG)
    assert sms.start_date == voice[-1].end_date  # sent as soon as the last attempt ended
    task = emulator.task(task_id)
    assert (task.status, task.customer_reached, task.fallback_attempted) == ("Complete", False, True)
    body = emulator.client.get(f"/api/data/v9.0/CCaaS_GetDeliveryTasks(DeliveryTaskId={task_id})",
                               headers=emulator.headers).json()["value"][0]  # fmt: skip
    assert body["fallbackAttempted"] is True and body["deliveries"][-1]["result"] == "MessageSent"


def test_no_fallback_when_someone_answered_or_no_contact_has_a_mobile(emulator):
    config = voice_with_fallback(emulator, retries=0)
    answered = emulator.post_chain([{"mobilePhoneNumber": LIVE_ANSWER}], config=config, windows=[window()])
    no_mobile = emulator.post_chain([{"homePhoneNumber": NO_ANSWER}], config=config, windows=[window()])

    emulator.advance("PT1H")

    for task_id in (answered, no_mobile):
        assert {d.channel for d in emulator.task_dials(task_id)} == {"Voice"}
        assert emulator.task(task_id).fallback_attempted is False


def test_a_fallback_that_is_not_an_sms_engagement_sends_nothing(emulator):
    voice_fallback = emulator.engagement(dialMode="Copilot")
    config = voice_with_fallback(emulator, fallback=voice_fallback, retries=0)
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window()])

    emulator.advance("PT1H")

    assert len(emulator.task_dials(task_id)) == 1 and emulator.task(task_id).fallback_attempted is False


def test_an_sms_without_message_keeps_the_template_it_was_sent_from(emulator):
    template = uuid.uuid4()
    config = emulator.engagement(channel="SMS")
    emulator.planner(config, message_template_id=template)
    emulator.script("+15552401", "MessageSent")
    task_id = emulator.post_chain([{"mobilePhoneNumber": "+15552401"}], config=config, windows=[window()])

    emulator.advance("PT1M")

    [sms] = emulator.task_dials(task_id)
    assert emulator.result_attributes(sms.id) == {"MessageTemplateId": str(template)}
