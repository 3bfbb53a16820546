"""Delivery tasks on the stopped clock: contact chaining, reattempts, phone order and delays (issue #13; 002_...
"Reattempts" and "Configure multiparty (account) engagements"; wire-facts C3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from ccaas_emulator.db.models import DeliveryEvent, DeliveryTask
from ccaas_emulator.domain import ContactDelayUnit, PhoneDelayUnit, ReattemptReason, WaitTimeUnit
from tests.support.demo import NOW
from tests.support.in_process import window

NO_ANSWER, LIVE_ANSWER = "+15005550002", "+15005550001"  # magic numbers: always that result
INVALID_ADDRESS, NON_RETRIABLE = "+15005550003", "+15005550005"
RING = timedelta(seconds=30)  # a NoAnswer rings 30 s before it ends


def retrying(emulator, *, retries=2, delay=60, unit=WaitTimeUnit.MINUTES, reasons=(ReattemptReason.NO_ANSWER,),
             **columns):  # fmt: skip
    config = emulator.engagement(dialMode="Copilot", maxConcurrentCalls=10)
    emulator.planner(config, reattempt_rules=reasons, number_of_retries=retries, delay_between_retries=delay,
                     wait_time_unit=unit, **columns)  # fmt: skip
    return config


def test_contact_one_no_answer_then_contact_two_answers_and_contact_three_is_never_dialled(emulator):
    config = emulator.engagement(dialMode="Copilot")
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": NO_ANSWER}, {"mobilePhoneNumber": LIVE_ANSWER}, {"mobilePhoneNumber": "+15550177"}],
        config=config, windows=[window()], RequestId="crm-case-42",
    )  # fmt: skip

    emulator.advance("PT3H")

    dials = emulator.task_dials(task_id)
    task = emulator.task(task_id)
    assert [(d.to_address, d.result) for d in dials] == [(NO_ANSWER, "NoAnswer"), (LIVE_ANSWER, "LiveAnswer")]
    assert [d.contact_id for d in dials] == [c.contact_id for c in task.contacts.contacts[:2]]
    assert {d.tracking_id for d in dials} == {"crm-case-42"}
    assert dials[1].start_date == dials[0].end_date  # no delay between contacts configured
    assert (task.status, task.customer_reached, task.chain_exhausted) == ("Complete", True, False)
    assert (task.contact_index, task.seq_no, task.last_result) == (1, 2, "LiveAnswer")


def test_two_retries_an_hour_apart_dial_three_times_and_never_a_fourth(emulator):
    config = retrying(emulator, retries=2, delay=60)
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window(30)])

    emulator.advance("PT8H")

    starts = [d.start_date for d in emulator.task_dials(task_id)]
    # Each wait counts from the end of the dial before it.
    first = NOW + timedelta(minutes=30)
    assert starts == [first, first + RING + timedelta(minutes=60), first + 2 * (RING + timedelta(minutes=60))]
    task = emulator.task(task_id)
    assert (task.status, task.customer_reached, task.loops_exhausted) == ("Complete", False, True)
    assert (task.loop_number, task.retry_count, task.seq_no) == (3, 2, 3)
    assert task.next_scheduled_at is None


def test_the_retry_delay_in_hours(emulator):
    config = retrying(emulator, retries=1, delay=2, unit=WaitTimeUnit.HOURS)
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window(hours=12)])

    emulator.advance("PT1H")
    assert len(emulator.task_dials(task_id)) == 2  # the retry is scheduled, not yet dialled
    assert emulator.task(task_id).next_scheduled_at == NOW + RING + timedelta(hours=2)

    emulator.advance("PT3H")
    assert [d.start_date for d in emulator.task_dials(task_id)] == [NOW, NOW + RING + timedelta(hours=2)]


def test_no_retry_after_invalid_address_or_non_retriable_error(emulator):
    config = retrying(emulator, retries=3, delay=1, reasons=tuple(ReattemptReason))
    tasks = [
        emulator.post_chain([{"mobilePhoneNumber": number}], config=config, windows=[window()])
        for number in (INVALID_ADDRESS, NON_RETRIABLE)
    ]

    emulator.advance("PT2H")

    for task_id, result in zip(tasks, ("InvalidAddress", "NonRetriableError"), strict=True):
        assert [d.result for d in emulator.task_dials(task_id)] == [result]
        task = emulator.task(task_id)
        assert (task.status, task.customer_reached, task.retry_count) == ("Complete", False, 0)
        assert [phone.eligible for phone in task.contacts.contacts[0].phones] == [False]


def test_no_retry_after_an_outcome_not_chosen_as_a_reason(emulator):
    config = retrying(emulator, retries=3, delay=1, reasons=(ReattemptReason.FAILED,))
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window()])

    emulator.advance("PT2H")

    assert [d.result for d in emulator.task_dials(task_id)] == ["NoAnswer"]
    assert emulator.task(task_id).status == "Complete"


def test_busy_as_a_reason_retries_a_no_answer_which_is_how_busy_is_reported(emulator):
    config = retrying(emulator, retries=1, delay=1, reasons=(ReattemptReason.BUSY,))
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window()])

    emulator.advance("PT2H")

    assert [d.result for d in emulator.task_dials(task_id)] == ["NoAnswer", "NoAnswer"]


def test_a_failed_call_and_an_answering_machine_retry_when_chosen(emulator):
    config = retrying(emulator, retries=1, delay=1,
                      reasons=(ReattemptReason.FAILED, ReattemptReason.ANSWERING_MACHINE))  # fmt: skip
    emulator.script("+15550510", "CallFailed", "LiveAnswer")
    emulator.script("+15550511", "AnsweringMachineHangup", "AnsweringMachine")
    failed = emulator.post_chain([{"mobilePhoneNumber": "+15550510"}], config=config, windows=[window()])
    machine = emulator.post_chain([{"mobilePhoneNumber": "+15550511"}], config=config, windows=[window()])

    emulator.advance("PT2H")

    assert [d.result for d in emulator.task_dials(failed)] == ["CallFailed", "LiveAnswer"]
    assert emulator.task(failed).customer_reached is True
    assert [d.result for d in emulator.task_dials(machine)] == ["AnsweringMachineHangup", "AnsweringMachine"]
    assert (emulator.task(machine).customer_reached, emulator.task(machine).loops_exhausted) == (False, True)


def test_a_disposition_code_chosen_for_retry_on_an_answered_call_retries_it(emulator):
    config = retrying(emulator, retries=1, delay=10, reasons=(), retry_on_disposition_codes='"Wrong party","Later"')
    emulator.script(
        "+15550401",
        {"result": "LiveAnswer", "dispositionCodes": ["wrong party"], "ringSeconds": 5, "talkSeconds": 55},
        {"result": "LiveAnswer", "dispositionCodes": ["Resolved"], "ringSeconds": 5, "talkSeconds": 55},
    )
    task_id = emulator.post_chain([{"mobilePhoneNumber": "+15550401"}], config=config, windows=[window()])

    emulator.advance("PT1H")

    dials = emulator.task_dials(task_id)
    assert [(d.result, d.disposition_codes) for d in dials] == [
        ("LiveAnswer", '"wrong party"'), ("LiveAnswer", '"Resolved"')]  # fmt: skip
    assert dials[1].start_date == NOW + timedelta(minutes=11)  # a 60 s call, then the 10 min wait
    task = emulator.task(task_id)
    assert (task.status, task.customer_reached, task.retry_count) == ("Complete", True, 1)


def test_two_contacts_with_one_retry_dial_c1_c2_c1_c2_and_exhaust_the_loops(emulator):
    config = retrying(emulator, retries=1, delay=30)
    emulator.script("+15550601", "NoAnswer", "NoAnswer")
    emulator.script("+15550602", "NoAnswer", "NoAnswer")
    task_id = emulator.post_chain([{"mobilePhoneNumber": "+15550601"}, {"mobilePhoneNumber": "+15550602"}],
                                  config=config, windows=[window()])  # fmt: skip

    emulator.advance("PT4H")

    dials = emulator.task_dials(task_id)
    assert [d.to_address for d in dials] == ["+15550601", "+15550602", "+15550601", "+15550602"]
    assert [d.retry_rank for d in dials] == [1, 1, 1, 1]  # reattempts queue as new deliveries by default
    task = emulator.task(task_id)
    assert (task.status, task.loops_exhausted, task.chain_exhausted, task.customer_reached) == (
        "Complete", True, True, False)  # fmt: skip
    assert (task.loop_number, task.contact_index, task.seq_no) == (2, 1, 4)


def test_home_before_mobile_when_the_planner_says_so_and_unlisted_types_are_never_dialled(emulator):
    config = emulator.engagement(dialMode="Copilot")
    emulator.planner(config, phone_type_priority="HomePhoneNumber,MobilePhoneNumber")
    emulator.script("+15550701", "NoAnswer")
    emulator.script("+15550703", "NoAnswer")
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": "+15550701", "businessPhoneNumber": "+15550702", "homePhoneNumber": "+15550703"}],
        config=config, windows=[window()],
    )  # fmt: skip

    emulator.advance("PT1H")

    assert [d.to_address for d in emulator.task_dials(task_id)] == ["+15550703", "+15550701"]
    phones = emulator.task(task_id).contacts.contacts[0].phones
    assert [(p.type, p.eligible) for p in phones] == [
        ("HomePhoneNumber", True), ("MobilePhoneNumber", True), ("BusinessPhoneNumber", False)]  # fmt: skip


def test_the_delays_between_phone_numbers_and_between_contacts(emulator):
    config = emulator.engagement(dialMode="Copilot")
    emulator.planner(config, delay_between_phone_numbers=5, delay_between_phone_numbers_unit=PhoneDelayUnit.MINUTES,
                     delay_between_contacts=1, delay_between_contacts_unit=ContactDelayUnit.HOURS)  # fmt: skip
    emulator.script("+15550802", "NoAnswer")
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": NO_ANSWER, "businessPhoneNumber": "+15550802"}, {"mobilePhoneNumber": LIVE_ANSWER}],
        config=config, windows=[window()],
    )  # fmt: skip

    emulator.advance("PT3H")

    starts = [d.start_date for d in emulator.task_dials(task_id)]
    second = NOW + RING + timedelta(minutes=5)
    assert starts == [NOW, second, second + RING + timedelta(hours=1)]


def test_a_retry_with_no_window_left_ends_the_task_expired(emulator):
    config = retrying(emulator, retries=3, delay=60)
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window(hours=2)])

    emulator.advance("PT4H")

    assert len(emulator.task_dials(task_id)) == 2  # at 0 and 1 h 0.5 min; the next would start after the window
    task = emulator.task(task_id)
    assert (task.status, task.customer_reached, task.loops_exhausted) == ("Expired", False, False)


def test_a_contact_whose_windows_passed_is_skipped_for_the_next(emulator):
    config = emulator.engagement(dialMode="Copilot")
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": NO_ANSWER},
         {"mobilePhoneNumber": "+15550901",
          "windows": [{"start": "2026-11-23T09:00:00Z", "end": "2026-11-23T10:00:00Z"}]},
         {"mobilePhoneNumber": LIVE_ANSWER}],
        config=config, windows=[window()],
    )  # fmt: skip

    emulator.advance("PT1H")

    assert [d.to_address for d in emulator.task_dials(task_id)] == [NO_ANSWER, LIVE_ANSWER]
    assert emulator.task(task_id).customer_reached is True


def test_higher_retry_priority_puts_reattempts_before_new_deliveries(emulator):
    config = emulator.engagement(dialMode="Copilot", maxConcurrentCalls=1, processingOrder="First In First Out")
    emulator.planner(config, reattempt_rules=(ReattemptReason.NO_ANSWER,), number_of_retries=1, delay_between_retries=0,
                     retry_priority=1)  # fmt: skip
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window()])
    emulator.advance("PT1S")  # the task's first dial is in progress; the line is taken
    later = emulator.post_chain([{"mobilePhoneNumber": "+15550950"}], config=config, windows=[window()])

    emulator.advance("PT1M")

    retry = emulator.task_dials(task_id)[1]
    newer = emulator.task_dials(later)[0]
    assert retry.retry_rank == 0
    assert retry.start_date < newer.start_date  # older-first would have dialled the newer task's first


def test_a_cancelled_task_schedules_nothing_after_the_dial_in_progress(emulator):
    config = emulator.engagement(dialMode="Copilot")
    emulator.script("+15551001", {"result": "NoAnswer", "ringSeconds": 60})
    task_id = emulator.post_chain([{"mobilePhoneNumber": "+15551001"}, {"mobilePhoneNumber": LIVE_ANSWER}],
                                  config=config, windows=[window()])  # fmt: skip
    emulator.advance("PT10S")
    with emulator.database.transaction() as session:
        session.execute(update(DeliveryTask).where(DeliveryTask.id == task_id).values(status="Cancelled"))

    emulator.advance("PT1H")

    assert [d.result for d in emulator.task_dials(task_id)] == ["NoAnswer"]  # the call finished; nothing followed
    task = emulator.task(task_id)
    assert (task.status, task.last_result) == ("Cancelled", "NoAnswer")


def test_the_journal_records_each_chain_step(emulator):
    config = emulator.engagement(dialMode="Copilot")
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": NO_ANSWER, "homePhoneNumber": LIVE_ANSWER}], config=config, windows=[window()]
    )

    emulator.advance("PT1H")

    dials = emulator.task_dials(task_id)
    with emulator.database.read() as session:
        created = session.scalars(
            select(DeliveryEvent.detail)
            .where(DeliveryEvent.delivery_id.in_([d.id for d in dials]), DeliveryEvent.from_status.is_(None))
            .order_by(DeliveryEvent.at, DeliveryEvent.id)
        ).all()
    contact = str(emulator.task(task_id).contacts.contacts[0].contact_id)
    assert [(e["loop"], e["contactIndex"], e["contactId"], e["phoneIndex"], e["phoneType"]) for e in created] == [
        (1, 0, contact, 0, "MobilePhoneNumber"), (1, 0, contact, 1, "HomePhoneNumber")]  # fmt: skip
    assert created[1]["after"] == str(dials[0].id) and created[1]["afterResult"] == "NoAnswer"
    assert {e["deliveryTaskId"] for e in created} == {str(task_id)}


def test_a_first_contact_whose_windows_passed_expires_and_the_chain_dials_the_next(emulator):
    config = emulator.engagement(dialMode="Copilot")
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": "+15551101",
          "windows": [{"start": "2026-11-23T09:00:00Z", "end": "2026-11-23T10:00:00Z"}]},
         {"mobilePhoneNumber": LIVE_ANSWER}],
        config=config, windows=[window()],
    )  # fmt: skip

    emulator.advance("PT1H")

    dials = emulator.task_dials(task_id)
    assert [(d.to_address, d.status, d.result) for d in dials] == [
        ("+15551101", "Expired", "Expired"), (LIVE_ANSWER, "Complete", "LiveAnswer")]  # fmt: skip
    assert dials[0].window_start_date.isoformat() == "2026-11-23T09:00:00+00:00"  # stored as sent
    assert emulator.task(task_id).customer_reached is True
