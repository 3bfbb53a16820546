"""ActionDispatch (intake/routes.py) answers an action's POST exactly as the FastAPI route it short-cuts does."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from ccaas_emulator.intake import routes
from tests.support.samples import fixture_bytes
from tests.support.tokens import bearer
from tests.support.urls import VOICE_URL

PER_REQUEST = {"req_id", "x-ms-service-request-id", "date"}
BUDGET = ("x-ms-ratelimit-",)  # the remaining budget moves from one request to the next: its presence is compared


def answer(client: TestClient, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    response = client.post(VOICE_URL, content=body, headers=headers)
    kept = {
        name: "<budget>" if name.startswith(BUDGET) else value
        for name, value in response.headers.items()
        if name not in PER_REQUEST
    }
    payload = response.json()
    if response.status_code == 200:
        payload = {name: value if name.startswith("@") else "<id>" for name, value in payload.items()}
    return response.status_code, kept, payload


def cases(token: str) -> list[tuple[bytes, dict[str, str]]]:
    sample = fixture_bytes("000_voice_sample.json")
    unknown_config = orjson.dumps(orjson.loads(sample) | {"ProactiveEngagementConfigId": str(uuid.uuid4())})
    return [
        (sample, bearer(token)),  # 200
        (sample, {"Content-Type": "application/json"}),  # 401 with the challenge
        (sample, {**bearer(token), "Content-Type": "text/plain"}),  # 415
        (b'{"ApiVersion": ', bearer(token)),  # 400, malformed
        (b'{"ApiVersion": "1.0", "ApiVersion": "1.0"}', bearer(token)),  # 400, a parameter twice
        (unknown_config, bearer(token)),  # 404
        (sample, {**bearer(token), "CallerObjectId": "not-a-guid"}),  # 400, impersonation header
    ]


def test_the_short_cut_and_the_route_give_the_same_answers(client, tokens, monkeypatch):
    requests = cases(tokens.for_user("agent"))
    short_cut = [answer(client, body, headers) for body, headers in requests]
    assert [status for status, _, _ in short_cut][:4] == [200, 401, 415, 400]

    passed: list[str] = []

    async def through_the_router(self: routes.ActionDispatch, scope: Any, receive: Any, send: Any) -> None:
        passed.append(scope["path"])
        await self.app(scope, receive, send)

    monkeypatch.setattr(routes.ActionDispatch, "__call__", through_the_router)
    routed = [answer(client, body, headers) for body, headers in requests]

    assert len(passed) == len(requests)
    assert routed == short_cut


@pytest.mark.parametrize("path", [VOICE_URL + "/", VOICE_URL.replace("v9.2", "v9.3")])
def test_other_paths_still_go_to_the_router(client, tokens, path):
    response = client.post(path, content=fixture_bytes("000_voice_sample.json"), headers=bearer(tokens.for_user()))

    assert response.status_code == 404
