"""The task APIs on the stopped clock while the dialer works the chain: a finished task, a task between two
loops, and a cancel while a dial is in progress (issue #13)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ccaas_emulator.domain import ReattemptReason, WaitTimeUnit, format_timestamp
from tests.support.demo import NOW, ORG_URL
from tests.support.in_process import window
from tests.support.tasks import CANCEL_URL, DEFAULT_ORGANIZATION, get_tasks_url

NO_ANSWER, LIVE_ANSWER = "+15005550002", "+15005550001"  # magic numbers: always that result
RING = timedelta(seconds=30)  # a NoAnswer rings 30 s before it ends
EXPANDO = "#Microsoft.Dynamics.CRM.expando"


def read(emulator, task_id, version="v9.2"):
    response = emulator.client.get(get_tasks_url(task_id, version), headers=emulator.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    return response.json()


@pytest.mark.parametrize("version", ["v9.0", "v9.2"])
def test_a_finished_task_reads_back_complete_and_reached_with_both_dials(emulator, version):
    config = emulator.engagement(dialMode="Copilot")
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": NO_ANSWER}, {"mobilePhoneNumber": LIVE_ANSWER, "homePhoneNumber": "+15550188"}],
        config=config, windows=[window(hours=8)], RequestId="crm-case-7",
    )  # fmt: skip
    emulator.advance("PT3H")
    first, second = emulator.task_dials(task_id)
    contacts = [contact.contact_id for contact in emulator.task(task_id).contacts.contacts]

    body = read(emulator, task_id, version)

    assert body == {
        "@odata.context": f"{ORG_URL}/api/data/{version}/$metadata#expando",
        "value": [
            {
                "@odata.type": EXPANDO,
                "deliveryTaskId": str(task_id),
                "organizationId": DEFAULT_ORGANIZATION,
                "status": "Complete",
                "retryCount": 0,
                "maxRetryCount": 0,
                "whenCreated": format_timestamp(NOW),
                "nextScheduledTime": None,
                "lastAttemptedTime": format_timestamp(second.end_date),
                "fallbackAttempted": False,
                "channelType": "Voice",
                "proactiveEngagementConfigId": config,
                "expirationDate": format_timestamp(NOW + timedelta(hours=8)),
                "reattemptDelay": 0,
                "reattemptSettings@odata.type": "#Collection(Int32)",
                "reattemptSettings": [],
                "contactIds@odata.type": "#Collection(String)",
                "contactIds": contacts,
                "requestId": "crm-case-7",
                "customerReached": True,
                "callbackAttemptCount": 0,
                "contactChainingStatus": {
                    "@odata.type": EXPANDO,
                    "currentLoopNumber": 1,
                    "currentContactIndexAttempted": 1,
                    "currentContactIdAttempted": contacts[1],
                    "currentPhoneIndexAttempted": 0,
                    "currentPhoneNumberTypeIdAttempted": "MobilePhoneNumber",
                    "totalContactsInChain": 2,
                    "totalPhonesInCurrentContact": 2,
                    "totalPhonesInChain": 3,
                    "totalEligiblePhonesInChain": 3,
                    "totalEligiblePhonesInCurrentContact": 2,
                    "areLoopsExhausted": False,
                    "isChainExhausted": False,
                    "seqNo": 2,
                    "lastDeliveryResult": "LiveAnswer",
                },
                "deliveries@odata.type": "#Collection(Microsoft.Dynamics.CRM.crmbaseentity)",
                "deliveries": [
                    {"@odata.type": EXPANDO, "id": str(first.id), "status": "Complete", "result": "NoAnswer"},
                    {"@odata.type": EXPANDO, "id": str(second.id), "status": "Complete", "result": "LiveAnswer"},
                ],
            }
        ],
    }
    assert first.end_date == NOW + RING


def test_a_task_waiting_for_its_retry_shows_the_next_loop(emulator):
    config = emulator.engagement(dialMode="Copilot")
    emulator.planner(config, reattempt_rules=(ReattemptReason.BUSY, ReattemptReason.NO_ANSWER), number_of_retries=2,
                     delay_between_retries=60, wait_time_unit=WaitTimeUnit.MINUTES)  # fmt: skip
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window(hours=8)])

    emulator.advance("PT10M")
    task = read(emulator, task_id)["value"][0]

    assert (task["status"], task["retryCount"], task["maxRetryCount"], task["reattemptDelay"]) == ("Pending", 1, 2, 60)
    assert task["reattemptSettings"] == [192360000, 192360001]
    assert task["lastAttemptedTime"] == format_timestamp(NOW + RING)
    assert task["nextScheduledTime"] == format_timestamp(NOW + RING + timedelta(minutes=60))
    status = task["contactChainingStatus"]
    assert (status["currentLoopNumber"], status["seqNo"], status["lastDeliveryResult"]) == (2, 2, "NoAnswer")
    assert (status["areLoopsExhausted"], status["isChainExhausted"]) == (False, False)
    assert [(item["status"], item["result"]) for item in task["deliveries"]] == [
        ("Complete", "NoAnswer"),
        ("Pending", None),
    ]


def test_cancel_while_a_dial_rings_lets_it_finish_and_dials_nothing_after_it(emulator):
    config = emulator.engagement(dialMode="Copilot")
    emulator.script("+15550191", {"result": "NoAnswer", "ringSeconds": 600})
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": "+15550191"}, {"mobilePhoneNumber": LIVE_ANSWER}], config=config, windows=[window()]
    )
    emulator.advance("PT1M")
    [ringing] = emulator.task_dials(task_id)
    assert ringing.status == "InProcess"

    response = emulator.client.post(
        CANCEL_URL, json={"ApiVersion": "1.0", "DeliveryTaskId": str(task_id)}, headers=emulator.headers
    )
    assert response.status_code == 204
    assert emulator.delivery(ringing.id).status == "InProcess"  # a dial in progress finishes normally

    emulator.advance("PT2H")

    [dial] = emulator.task_dials(task_id)  # contact 2 is never dialled
    assert (dial.status, dial.result) == ("Complete", "NoAnswer")
    task = read(emulator, task_id)["value"][0]
    assert (task["status"], task["customerReached"], task["nextScheduledTime"]) == ("Cancelled", False, None)
    assert task["contactChainingStatus"]["lastDeliveryResult"] == "NoAnswer"
    assert task["deliveries"] == [
        {"@odata.type": EXPANDO, "id": str(dial.id), "status": "Complete", "result": "NoAnswer"}
    ]


def test_cancel_by_engagement_cancels_a_task_whose_next_dial_waits(emulator):
    config = emulator.engagement(dialMode="Copilot")
    emulator.planner(config, reattempt_rules=(ReattemptReason.NO_ANSWER,), number_of_retries=1,
                     delay_between_retries=60, wait_time_unit=WaitTimeUnit.MINUTES)  # fmt: skip
    task_id = emulator.post_chain([{"mobilePhoneNumber": NO_ANSWER}], config=config, windows=[window(hours=8)])
    emulator.advance("PT10M")  # the first dial ended; the retry waits an hour

    response = emulator.client.post(
        "/api/data/v9.2/CCaaS_CreateOperation",
        json={"ApiVersion": "1.0", "Operation": "Cancel", "ProactiveEngagementConfigId": config},
        headers=emulator.headers,
    )
    assert response.status_code == 202
    emulator.advance("PT3H")

    task = read(emulator, task_id)["value"][0]
    assert task["status"] == "Cancelled"
    assert [(item["status"], item["result"]) for item in task["deliveries"]] == [
        ("Complete", "NoAnswer"),
        ("Cancelled", "Cancelled"),
    ]
