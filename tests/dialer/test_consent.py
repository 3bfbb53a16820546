"""Who may not be contacted: opt-outs (SMS STOP, the Do not contact disposition, OptOutReceived) and cancellation
policies, checked before every dial and SMS (issue #14 items 6-7; wire-facts C4; 002_... "Configure call
cancellation and suppression")."""

from __future__ import annotations

from datetime import timedelta

from ccaas_emulator.domain import format_timestamp
from tests.support.demo import NOW
from tests.support.in_process import window

SMS_CONFIG = "b2c3d4e5-f6a7-8901-bcde-f12345678901"
LIVE_ANSWER = "+15005550001"


def reply(emulator, sender: str, text: str):
    response = emulator.client.post("/emulator/v1/sms/replies", json={"from": sender, "text": text})
    assert response.status_code == 200, response.text
    return response.json()


def test_stop_opts_a_number_out_of_calls_and_sms_and_start_opts_it_back_in(emulator):
    config = emulator.engagement(dialMode="Copilot")
    assert reply(emulator, "+15553001", " stop ") == {"from": "+15553001", "keyword": "STOP"}
    call = emulator.post_chain([{"mobilePhoneNumber": "+15553001"}], config=config, windows=[window()])
    sms = emulator.post_chain([{"mobilePhoneNumber": "+15553001"}], config=SMS_CONFIG, windows=[window()])

    emulator.advance("PT10M")

    for task_id in (call, sms):
        [delivery] = emulator.task_dials(task_id)
        assert (delivery.status, delivery.result, delivery.start_date) == ("Cancelled", "Cancelled", None)
        assert emulator.result_attributes(delivery.id) == {"CancellationReason": "OptedOut",
                                                            "OptOutSource": "SMS reply STOP"}  # fmt: skip
    [opt_out] = emulator.client.get("/emulator/v1/opt-outs").json()["value"]
    assert (opt_out["phoneNumber"], opt_out["source"]) == ("+15553001", "SMS reply STOP")
    assert emulator.task(call).status == "Cancelled"  # its only dial was cancelled before it was made

    assert reply(emulator, "+15553001", "START")["keyword"] == "START"
    emulator.script("+15553001", "LiveAnswer")
    again = emulator.post_chain([{"mobilePhoneNumber": "+15553001"}], config=config, windows=[window(10)])
    emulator.advance("PT30M")
    assert emulator.task_dials(again)[0].result == "LiveAnswer"
    assert reply(emulator, "+15553001", "thanks!")["keyword"] is None


def test_a_suppressed_phone_moves_the_chain_to_the_next_one(emulator):
    config = emulator.engagement(dialMode="Copilot")
    reply(emulator, "+15553002", "STOP")
    task_id = emulator.post_chain([{"mobilePhoneNumber": "+15553002", "homePhoneNumber": LIVE_ANSWER}],
                                  config=config, windows=[window()])  # fmt: skip

    emulator.advance("PT10M")

    assert [(d.to_address, d.result) for d in emulator.task_dials(task_id)] == [
        ("+15553002", "Cancelled"), (LIVE_ANSWER, "LiveAnswer")]  # fmt: skip
    assert emulator.task(task_id).customer_reached is True


def test_do_not_contact_opts_the_contact_and_its_number_out(emulator):
    config = emulator.engagement(dialMode="Copilot")
    emulator.script("+15553003", {"result": "LiveAnswer", "dispositionCodes": ["Do not contact"]})
    contact = {"uniqueIdentifier": "dnc-1", "mobilePhoneNumber": "+15553003"}
    first = emulator.post_chain([contact], config=config, windows=[window()])
    emulator.advance("PT10M")
    later = emulator.post_chain([contact | {"mobilePhoneNumber": "+15553004"}], config=config, windows=[window(20)])

    emulator.advance("PT30M")

    assert emulator.task_dials(first)[0].result == "LiveAnswer"
    [suppressed] = emulator.task_dials(later)
    assert (suppressed.status, suppressed.result) == ("Cancelled", "Cancelled")  # a new number, the same contact
    assert emulator.result_attributes(suppressed.id)["OptOutSource"] == "Do not contact disposition"
    sources = {
        (o["phoneNumber"], o["contactId"] is not None)
        for o in emulator.client.get("/emulator/v1/opt-outs").json()["value"]
    }
    assert sources == {("+15553003", False), (None, True)}


def test_an_sms_answered_with_an_opt_out_opts_the_number_out_and_an_opt_out_can_be_removed(emulator):
    emulator.script("+15553005", "OptOutReceived")
    emulator.post_chain([{"mobilePhoneNumber": "+15553005"}], config=SMS_CONFIG, windows=[window()])
    emulator.advance("PT10M")
    [opt_out] = emulator.client.get("/emulator/v1/opt-outs").json()["value"]
    assert (opt_out["phoneNumber"], opt_out["source"]) == ("+15553005", "OptOutReceived")

    assert emulator.client.delete(f"/emulator/v1/opt-outs/{opt_out['id']}").status_code == 204
    assert emulator.client.get("/emulator/v1/opt-outs").json()["value"] == []
    missing = emulator.client.delete(f"/emulator/v1/opt-outs/{opt_out['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"


def test_a_state_policy_cancels_washington_and_not_oregon_with_a_reference_to_the_policy(emulator):
    config = emulator.engagement(dialMode="Copilot")
    created = emulator.client.post(
        "/emulator/v1/cancellation-policies",
        json={"state": "WA", "comment": "storm", "proactiveEngagementConfigId": config},
    )
    assert created.status_code == 201, created.text
    policy = created.json()
    assert (policy["state"], policy["comment"], policy["executeUntil"]) == ("WA", "storm", None)
    wa = emulator.post_chain([{"mobilePhoneNumber": "+15553006", "state": "wa"}], config=config, windows=[window()])
    oregon = emulator.post_chain([{"mobilePhoneNumber": LIVE_ANSWER, "state": "OR"}], config=config,
                                 windows=[window()])  # fmt: skip
    elsewhere = emulator.engagement(dialMode="Copilot")
    other = emulator.post_chain([{"mobilePhoneNumber": LIVE_ANSWER, "state": "WA"}], config=elsewhere,
                                windows=[window()])  # fmt: skip

    emulator.advance("PT10M")

    [cancelled] = emulator.task_dials(wa)
    assert (cancelled.status, cancelled.result) == ("Cancelled", "Cancelled")
    assert emulator.result_attributes(cancelled.id) == {"CancellationReason": "CancellationPolicy",
                                                         "CancellationPolicyId": policy["id"]}  # fmt: skip
    assert emulator.task_dials(oregon)[0].result == "LiveAnswer"
    assert emulator.task_dials(other)[0].result == "LiveAnswer"  # the policy names another engagement


def test_a_policy_applies_until_its_date_and_can_be_removed(emulator):
    config = emulator.engagement(dialMode="Copilot")
    until = format_timestamp(NOW + timedelta(hours=1))
    policy = emulator.client.post("/emulator/v1/cancellation-policies",
                                  json={"postalCode": "98101", "executeUntil": until}).json()  # fmt: skip
    late = emulator.post_chain([{"mobilePhoneNumber": LIVE_ANSWER, "postalcode": "98101"}], config=config,
                               windows=[window(90)])  # fmt: skip
    emulator.advance("PT3H")
    assert emulator.task_dials(late)[0].result == "LiveAnswer"  # dialled after the policy ran out

    assert [p["id"] for p in emulator.client.get("/emulator/v1/cancellation-policies").json()["value"]] == [
        policy["id"]
    ]
    assert emulator.client.delete(f"/emulator/v1/cancellation-policies/{policy['id']}").status_code == 204
    assert emulator.client.get("/emulator/v1/cancellation-policies").json()["value"] == []


def test_a_policy_needs_a_criterion_and_a_valid_date(emulator):
    for body in ({"comment": "all"}, {"state": "WA", "executeUntil": "tomorrow"}, {"state": "WA", "city": "x"}):
        response = emulator.client.post("/emulator/v1/cancellation-policies", json=body)
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()["error"]) == {"code", "message"}


def test_reset_forgets_opt_outs_and_keeps_policies(emulator):
    reply(emulator, "+15553007", "STOP")
    emulator.client.post("/emulator/v1/cancellation-policies", json={"country": "USA"})

    assert emulator.client.post("/emulator/v1/reset", json={}).status_code == 204

    assert emulator.client.get("/emulator/v1/opt-outs").json()["value"] == []
    assert len(emulator.client.get("/emulator/v1/cancellation-policies").json()["value"]) == 1


def test_a_seed_file_sets_cancellation_policies(emulator):
    policy_id = "5eed0000-0000-4000-8000-00000000c0de"
    emulator.seed(cancellationPolicies=[{"id": policy_id, "state": "WA", "comment": "seeded",
                                         "executeUntil": "2026-12-31T00:00:00Z"}])  # fmt: skip
    config = emulator.engagement(dialMode="Copilot")
    task_id = emulator.post_chain([{"mobilePhoneNumber": LIVE_ANSWER, "state": "WA"}], config=config,
                                  windows=[window()])  # fmt: skip

    emulator.advance("PT10M")

    [seeded] = emulator.client.get("/emulator/v1/cancellation-policies").json()["value"]
    assert (seeded["id"], seeded["executeUntil"]) == (policy_id, "2026-12-31T00:00:00.000Z")
    [delivery] = emulator.task_dials(task_id)
    assert emulator.result_attributes(delivery.id)["CancellationPolicyId"] == policy_id
