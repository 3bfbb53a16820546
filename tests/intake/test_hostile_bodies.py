"""No body a client can send gets a 5xx: every answer is a 200 or an error in the Dataverse envelope.

Hypothesis mutates the reference samples (each parameter, each contact field, each window key) with
arbitrary JSON values, odd strings and encodings. Derandomized, so CI sees the same examples every run.
"""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.samples import fixture_json

VOICE = fixture_json("000_voice_sample.json")
CHAINED = fixture_json("001_voice_sample.json")
CHAINED["Contacts"] = orjson.loads(CHAINED["Contacts"])

text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["", " ", "\x00", "1.0", "NaN", "2024-09-10T13:00:00Z", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00",
     "{", "[]", "[{}]", '[{"start":1}]', "cbbac510-3e66-ef11-a671-6045bd03d9d8", "x" * 5000]
)  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def mutate(base: dict, draw_value, draw_key) -> dict:
    body = orjson.loads(orjson.dumps(base))
    if draw_key == "drop" and body:
        body.pop(sorted(body)[0])
    elif draw_key in body or draw_key.startswith("new"):
        body[draw_key] = draw_value
    return body


def assert_answer_is_well_formed(response):
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        error = response.json()["error"]
        assert set(error) == {"code", "message"} and error["code"].startswith("0x")


COMMON = settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip


@COMMON
@given(key=st.sampled_from([*VOICE, "drop", "new"]), value=json_values)
def test_the_voice_action_never_answers_5xx(client, agent_headers, key, value):
    body = mutate(VOICE, value, key)

    assert_answer_is_well_formed(
        client.post("/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery", json=body, headers=agent_headers)
    )


@COMMON
@given(
    field=st.sampled_from([*CHAINED["Contacts"][0], "windows", "inputAttributes"]),
    value=json_values,
    encode=st.booleans(),
)
def test_the_chained_action_never_answers_5xx(client, agent_headers, field, value, encode):
    body = orjson.loads(orjson.dumps(CHAINED))
    body["Contacts"][0][field] = value
    if encode:
        body["Contacts"] = json.dumps(body["Contacts"])  # the stdlib writes integers of any size

    assert_answer_is_well_formed(
        client.post("/api/data/v9.2/CCaaS_CreateProactiveDelivery", json=body, headers=agent_headers)
    )


@COMMON
@given(raw=st.binary(max_size=200) | text.map(str.encode))
def test_arbitrary_bytes_never_answer_5xx(client, agent_headers, raw):
    assert_answer_is_well_formed(
        client.post("/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery", content=raw, headers=agent_headers)
    )
