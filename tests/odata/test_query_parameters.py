"""Query parameters without a `$` are refused with a 400 that says what they are, never ignored (issue 15): the
Dataverse SDK's `sql=` query answered with the whole table and a 200 before."""

from __future__ import annotations

import pytest

from tests.support.tasks import get_tasks_url
from tests.support.urls import API, CONFIGS, DELIVERIES

SQL = (
    "The query parameter 'sql' (Dataverse's SQL endpoint, TDS read-only queries) is not supported by the emulator; "
    "query with $filter or fetchXml instead."
)
SAVED = (
    "The query parameter 'savedQuery' runs a saved view from the savedquery (system views) table, which the "
    "emulator does not have; query with $filter or fetchXml instead."
)
USER = (
    "The query parameter 'userQuery' runs a saved view from the userquery (personal views) table, which the "
    "emulator does not have; query with $filter or fetchXml instead."
)
UNKNOWN = (
    "The query parameter 'select' is not supported. Query options start with '$', parameter aliases with '@'; "
    "fetchXml is the one other parameter an entity set's collection takes."
)
FETCH_ELSEWHERE = (
    "The query parameter 'fetchXml' is not supported. Query options start with '$', parameter aliases with '@'; "
    "fetchXml is taken by an entity set's collection (GET /<set>?fetchXml=...) only."
)
ROW = "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"{DELIVERIES}?sql=SELECT%20msdyn_to_address%20FROM%20msdyn_proactive_delivery", SQL),
        (f"{DELIVERIES}?savedQuery=00000000-0000-0000-0000-000000000000", SAVED),
        (f"{CONFIGS}?userQuery=00000000-0000-0000-0000-000000000000", USER),
        (f"{DELIVERIES}?select=msdyn_to_address", UNKNOWN),
        (f"{DELIVERIES}/$count?sql=x", SQL),
        (f"{DELIVERIES}({ROW})?fetchXml=%3Cfetch/%3E", FETCH_ELSEWHERE),
        (f"{API}/EntityDefinitions?sql=x", SQL),
    ],
)
def test_parameters_without_a_dollar_are_refused_on_every_read(emulator, as_user, url, message):
    response = emulator.client.get(url, headers=as_user())
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": {"code": "0x80060888", "message": message}}


def test_a_function_refuses_them_too_but_keeps_its_parameter_aliases(emulator, as_user):
    url = f"{API}/CCaaS_GetDeliveryTasks(DeliveryTaskId=@p1)"
    refused = emulator.client.get(f"{url}?@p1=00000000-0000-0000-0000-000000000000&sql=x", headers=as_user())
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == SQL
    missing = emulator.client.get(f"{url}?@p1=00000000-0000-0000-0000-000000000000", headers=as_user())
    assert missing.status_code == 404  # the alias was read: no such task
    assert emulator.client.get(get_tasks_url(ROW) + "?tracking=1", headers=as_user()).status_code == 400


def test_aliases_and_dollar_options_still_work(emulator, as_user):
    response = emulator.client.get(
        f"{CONFIGS}?$select=msdyn_name&$filter=msdyn_name eq @p1&@p1='nothing'", headers=as_user()
    )
    assert response.status_code == 200
    assert response.json()["value"] == []


def test_a_refused_parameter_needs_a_token_first(emulator):
    assert emulator.client.get(f"{DELIVERIES}?sql=x").status_code == 401


def test_writes_keep_ignoring_them_as_odata_allows(emulator, as_user):
    response = emulator.client.post(f"{CONFIGS}?tracking=1", json={"msdyn_name": "Written"}, headers=as_user("admin"))
    assert response.status_code == 204
