"""schemathesis against the emulator's own OpenAPI document: no 5xx, every error in the Dataverse envelope.

The document is the one `GET /openapi.json` serves (FastAPI builds it from the routes; the actions' bodies
and answers are described precisely in intake/schemas.py and intake/routes.py). Every documented operation
gets its own test, on SQLite and on PostgreSQL, each request authenticated with a real bearer token of a
demo user (agent and admin, alternately). Requests go through the suite's TestClient, so the
emulator runs in-process with its group committer and database exactly as `serve` does.

Checks on every answer:
- not_a_server_error: no 5xx, whatever the request;
- the Dataverse envelope {"error": {"code": "0x…", "message": "…"}} on every 4xx and 5xx;
- on the actions, whose answers are documented: status code, content type, headers (OData-Version,
  WWW-Authenticate on 401) and body conform to the document.

The Web API's query options ($select, $filter, $top, …) and write bodies are not in the OpenAPI document
(the OData routes describe themselves in $metadata), so this module adds them to its copy of the document:
the fuzzer then sends query options and JSON bodies to every entity set too.

`make test` runs a short, derandomized form: 25 examples for each action, 6 for each of a selection of the
other operations. `make fuzz` (CCAAS_FUZZ=long) runs every operation, 500 examples for each action and 100
for the others, with schemathesis's coverage phase and shrinking, randomized.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ccaas_emulator.app import create_app
from ccaas_emulator.intake.routes import ACTION_NAMES
from ccaas_emulator.settings import Settings
from ccaas_emulator.tasks.routes import CANCEL_DELIVERY_TASK, CREATE_OPERATION, GET_DELIVERY_TASKS
from tests.support.demo import ORG_URL
from tests.support.fuzz_tally import FuzzTally
from tests.support.tokens import bearer

pytestmark = pytest.mark.slow  # fuzzing every operation: make test runs it, make test-fast does not

LONG = os.environ.get("CCAAS_FUZZ") == "long"
# Examples per operation: the actions, whose bodies the document describes precisely, get the most.
ACTION_EXAMPLES = int(os.environ.get("CCAAS_FUZZ_ACTION_EXAMPLES", 500 if LONG else 25))
OTHER_EXAMPLES = int(os.environ.get("CCAAS_FUZZ_EXAMPLES", 100 if LONG else 6))

# The document as a client fetches it; building it needs no database.
DOCUMENT = create_app(Settings(database_url="sqlite:///:memory:", org_url=ORG_URL)).openapi()

# The intake actions and the task APIs describe their answers precisely: they get the documented-answer checks.
DOCUMENTED = sorted(ACTION_NAMES | {CANCEL_DELIVERY_TASK, CREATE_OPERATION})
ACTIONS = f"^/api/data/v9\\.2/({'|'.join(DOCUMENTED)}|{GET_DELIVERY_TASKS}\\(\\{{arguments\\}}\\))$"

ODATA_QUERY_OPTIONS = {
    "$select": "msdyn_status,msdyn_result",
    "$filter": "msdyn_status eq 'Pending'",
    "$orderby": "createdon desc",
    "$top": "5",
    "$count": "true",
    "$expand": "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery",
    "$skip": "1",
    "$apply": "groupby((msdyn_status))",
    "$search": "x",
}


def _with_web_api_inputs(document: dict[str, Any]) -> dict[str, Any]:
    """The OData routes' query options and JSON bodies, which their OpenAPI entries leave out."""
    document = copy.deepcopy(document)
    for path, operations in document["paths"].items():
        if not path.startswith("/api/data/") or re.match(ACTIONS, path):
            continue
        for method, operation in operations.items():
            if method == "get" and not path.endswith("$metadata"):
                operation.setdefault("parameters", []).extend(
                    {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
                     "examples": {"sample": {"value": value}}}
                    for name, value in ODATA_QUERY_OPTIONS.items()
                )  # fmt: skip
            if method in ("post", "patch", "put") and "requestBody" not in operation:
                operation["requestBody"] = {
                    "required": False,
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
    return document


schema = schemathesis.openapi.from_dict(
    _with_web_api_inputs(DOCUMENT),
    config=schemathesis.Config.from_dict(
        # The coverage phase enumerates every boundary of every keyword: hundreds of cases per action
        # body. Kept for `make fuzz`; the short run samples instead.
        {"phases": {"coverage": {"enabled": LONG}}}
    ),
)
actions = schema.include(path_regex=ACTIONS)
others = schema.exclude(path_regex=ACTIONS)
SHORT_SELECTION = [
    f"{method} /api/data/v9.2/{route}"
    for method, route in [
        *(("GET", route) for route in ("$metadata", "msdyn_proactive_delivery_attributes", "systemusers")),
        ("POST", "$batch"),
        *((method, "msdyn_proactive_deliveries") for method in ("GET", "POST")),
        *((method, "msdyn_proactive_deliveries({key})") for method in ("GET", "PATCH", "DELETE")),
        ("GET", "msdyn_proactive_deliveries({key})/{segment}"),
        ("PUT", "msdyn_proactive_deliveries({key})/{segment}/$ref"),
        *((method, "msdyn_proactive_engagement_configs") for method in ("GET", "POST")),
        ("PATCH", "msdyn_proactive_engagement_configs({key})"),
    ]
] + [
    "POST /emulator/v1/clock",
    "POST /emulator/v1/outcomes",
    "PUT /emulator/v1/queues/{queue_id}",
    "POST /emulator/v1/engagements/{config_id}/files",  # streamed CSV and multipart bodies (docs/uploads.md)
]
if not LONG:
    # The four entity sets share their handlers: the short run takes the main routes of deliveries and
    # configurations, the collections of the other two, $batch, $metadata and the control API's writes.
    others = others.include(name=SHORT_SELECTION)


def dataverse_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx carries {"error": {"code": "0x…", "message": "…"}} and nothing else."""
    if response.status_code < 400 or case.operation.path.startswith("/{tenant}/discovery/"):
        # The key set is Entra's endpoint, not the organization's: it answers in Entra's error shape
        # ({"error": "invalid_tenant", "error_description": "AADSTS90002: …"}), as login.microsoftonline.com does.
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"error answer is {content_type!r}: {response.text[:300]}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, f"not the Dataverse envelope: {response.text[:300]}"
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message"}, response.text[:300]
    assert isinstance(error["code"], str) and error["code"].startswith("0x") and len(error["code"]) == 10, error
    assert isinstance(error["message"], str) and error["message"], error
    return None


USERS = ["agent", "admin"]  # alternate examples: an Omnichannel agent, a System Administrator

DOCUMENTED_ANSWERS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def send(client: Any, case: schemathesis.Case, headers: dict[str, str]) -> httpx.Response:
    """The case as schemathesis would send it, through the suite's in-process TestClient."""
    kwargs = case.as_transport_kwargs(base_url=ORG_URL, headers=headers)
    content = kwargs.get("data")
    if "json" in kwargs and kwargs["json"] is None:
        content = b"null"  # httpx would send no body at all for json=None
    return client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=kwargs.get("headers"),
        **({"cookies": kwargs["cookies"]} if kwargs.get("cookies") else {}),
        json=kwargs.get("json"),
        content=content.encode() if isinstance(content, str) else content,
    )


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not LONG,  # the short run sends the same requests every time
        database=None,
        phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if LONG else [])],
        suppress_health_check=list(HealthCheck),
    )


_TOKENS: dict[tuple[str, str, int], str] = {}


def token_for(tokens: Any, user: str) -> str:
    """A real token of the demo user; minted once per half hour (an RS256 signature costs ~40 ms)."""
    key = (tokens.keys.signing_key.kid, user, int(time.time() // 1800))
    if key not in _TOKENS:
        _TOKENS[key] = tokens.for_user(user)
    return _TOKENS[key]


# Random GUIDs name no configuration or contact (404). Two positive examples in three name seeded ones instead,
# so that generated bodies get past the look-ups into the writes and the 200 answer is checked too.
SEEDED = {
    "ProactiveEngagementConfigId": ["cbbac510-3e66-ef11-a671-6045bd03d9d8", "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
                                    None, "b2c3d4e5-f6a7-8901-bcde-f12345678901",
                                    "cbbac510-3e66-ef11-a671-6045bd03d9d8", None],
    "ContactId": ["761e062f-c734-ef11-8e4f-00224808a166"] * 2 + [None],
}  # fmt: skip


@pytest.fixture
def rotation() -> dict[str, Iterator[Any]]:
    """The users and seeded ids, restarted for each test, so that an example gets the same ones every run
    whichever xdist worker runs it and whatever ran before."""
    return {"user": itertools.cycle(USERS)} | {name: itertools.cycle(ids) for name, ids in SEEDED.items()}


def point_at_seeded_rows(case: schemathesis.Case, rotation: dict[str, Iterator[Any]]) -> None:
    if case.meta is None or not case.meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    for name in SEEDED:
        seeded = next(rotation[name])
        if seeded is not None and isinstance(case.body.get(name), str):
            case.body[name] = seeded


def call_and_check(
    case: schemathesis.Case,
    client: Any,
    tokens: Any,
    rotation: dict[str, Iterator[Any]],
    tally: FuzzTally,
    *checks: Any,
) -> None:
    point_at_seeded_rows(case, rotation)
    headers = {"Authorization": bearer(token_for(tokens, next(rotation["user"])))["Authorization"]}
    response = send(client, case, headers)
    tally.request(case.operation.label, response.status_code)
    case.validate_response(
        response, checks=[not_a_server_error, *checks], additional_checks=[dataverse_envelope], headers=headers
    )


@actions.parametrize()
@fuzz_settings(ACTION_EXAMPLES)
def test_the_actions_answer_as_documented_and_never_5xx(case, client, tokens, rotation, fuzz_tally):
    call_and_check(case, client, tokens, rotation, fuzz_tally, *DOCUMENTED_ANSWERS)


@others.parametrize()
@fuzz_settings(OTHER_EXAMPLES)
def test_every_other_operation_answers_without_5xx_in_the_dataverse_envelope(
    case, client, tokens, rotation, fuzz_tally
):
    call_and_check(case, client, tokens, rotation, fuzz_tally)
