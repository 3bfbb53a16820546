"""A complete integration test against ccaas-emulator, using only its pytest fixture `ccaas`.

Install the emulator where your tests run (`pip install ccaas-emulator`), copy this file into your tests and run
`pytest`: the fixture starts `ccaas-emulator serve` once per session on a free port, with its own SQLite database,
the demo data and a stopped clock. Point the code under test at `ccaas.url` (or `ccaas.api`) with a token from
`ccaas.token()`. docs/pytest-plugin.md describes every method.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

VOICE_CONFIG = "cbbac510-3e66-ef11-a671-6045bd03d9d8"  # a demo voice engagement (Copilot dial mode)
CONTACT = "761e062f-c734-ef11-8e4f-00224808a166"  # the demo contact


@pytest.fixture(autouse=True)
def fresh(ccaas):
    """Every test starts from the state the session started with (every table, the clock)."""
    ccaas.reset()


def schedule_call(ccaas, phone: str, *, opens_in: timedelta) -> str:
    """What the code under test would do: post a voice delivery whose window opens later. Returns its id."""
    opens = datetime.fromisoformat(ccaas.now()) + opens_in
    window = {"Start": opens.isoformat().replace("+00:00", "Z"),
              "End": (opens + timedelta(hours=4)).isoformat().replace("+00:00", "Z")}  # fmt: skip
    answer = httpx.post(
        f"{ccaas.api}/CCaaS_CreateProactiveVoiceDelivery",
        headers={"Authorization": f"Bearer {ccaas.token('agent')}"},
        json={
            "ApiVersion": "1.0",
            "ProactiveEngagementConfigId": VOICE_CONFIG,
            "ContactId": CONTACT,
            "DestinationPhoneNumber": phone,
            "Windows": [window],
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["DeliveryId"]


def test_a_call_answered_live_completes_the_delivery(ccaas):
    ccaas.script("+14255550101", ["LiveAnswer"])
    delivery_id = schedule_call(ccaas, "+14255550101", opens_in=timedelta(minutes=30))

    [pending] = ccaas.deliveries(phone="+14255550101")
    assert pending["msdyn_proactive_deliveryid"] == delivery_id
    assert pending["msdyn_status"] == "Pending"  # the clock is stopped: nothing happens until a test moves it

    ccaas.advance("PT1H")

    [done] = ccaas.deliveries(phone="+14255550101")
    assert (done["msdyn_status"], done["msdyn_result"]) == ("Complete", "LiveAnswer")
    assert [event["to"] for event in ccaas.events(delivery_id)][-1] == "Complete"


def test_a_number_that_never_answers_ends_without_a_live_answer(ccaas):
    ccaas.script("+14255550102", ["NoAnswer"])
    schedule_call(ccaas, "+14255550102", opens_in=timedelta(minutes=5))

    ccaas.advance("P1D")

    assert ccaas.deliveries(status="Complete", result="LiveAnswer") == []
    assert [row["msdyn_result"] for row in ccaas.deliveries(phone="+14255550102")] == ["NoAnswer"]


def test_each_test_starts_from_the_sessions_state(ccaas):
    assert ccaas.deliveries() == []
