"""/dashboard and its data at /emulator/v1/dashboard, in process on both back ends (the browser test is
test_browser.py): what the JSON holds as the dialer works, who may read it (the control API's rule), and bounds."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app
from tests.support.demo import DEMO_VOICE_CONFIG, ORG_URL
from tests.support.in_process import window

ACCESS_DENIED = "0x80048405"


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def _data(emulator, **params):
    response = emulator.client.get("/emulator/v1/dashboard", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def test_a_posted_delivery_shows_pending_then_complete_with_its_result_and_journal(emulator):
    emulator.script("+15550100", "LiveAnswer")
    delivery_id = emulator.post("+15550100", windows=[window()])

    before = _data(emulator)
    shown = before["deliveries"][0]
    assert (shown["id"], shown["to"], shown["status"], shown["result"]) == (str(delivery_id), "+15550100",
                                                                            "Pending", None)  # fmt: skip
    assert [event["to"] for event in shown["events"]] == ["Pending"]
    engagement = next(row for row in before["engagements"]["value"] if row["id"] == DEMO_VOICE_CONFIG)
    assert (engagement["pending"], engagement["inProcess"]) == (1, 0)
    assert engagement["dialMode"] and engagement["priority"]
    assert before["totals"]["byStatus"] == {"Pending": 1}
    assert before["scriptedOutcomes"]["total"] == 1
    assert before["scriptedOutcomes"]["value"][0]["result"] == "LiveAnswer"
    assert before["clock"] == {"now": "2026-11-24T12:00:00.000Z", "speed": 0.0}

    emulator.advance("PT1H")

    after = _data(emulator)
    shown = after["deliveries"][0]
    assert (shown["status"], shown["result"]) == ("Complete", "LiveAnswer")
    assert [event["to"] for event in shown["events"]] == ["Pending", "InProcess", "Complete"]
    assert after["totals"]["byResult"] == {"LiveAnswer": 1}
    assert after["scriptedOutcomes"]["total"] == 0
    engagement = next(row for row in after["engagements"]["value"] if row["id"] == DEMO_VOICE_CONFIG)
    assert (engagement["pending"], engagement["inProcess"]) == (0, 0)
    assert after["clock"]["now"] == "2026-11-24T13:00:00.000Z"
    timeline = after["timeline"]
    assert sum(timeline["created"]) == 1 and sum(timeline["finished"]) == 1
    assert len(timeline["created"]) == 24 and timeline["bucketSeconds"] >= 300


def test_a_task_s_delivery_carries_its_chain_step_from_the_journal(emulator):
    task_id = emulator.post_chain(
        [{"mobilePhoneNumber": "+15550111", "homePhoneNumber": "+15550112"}], config=DEMO_VOICE_CONFIG,
        windows=[window()],
    )  # fmt: skip

    data = _data(emulator)

    shown = data["deliveries"][0]
    assert shown["taskId"] == str(task_id)
    assert shown["chainStep"]["loop"] == 1 and shown["chainStep"]["contactIndex"] == 0
    assert shown["chainStep"]["phoneIndex"] == 0
    assert [task["id"] for task in data["tasks"]] == [str(task_id)]
    assert data["tasks"][0]["phones"] == 2 and data["tasks"][0]["status"] == "Pending"


def test_the_list_is_bounded_and_the_totals_count_every_row(emulator):
    ids = [emulator.post(f"+1555010{index}", windows=[window()]) for index in range(5)]

    data = _data(emulator, limit=2)

    assert [row["id"] for row in data["deliveries"]] == [str(ids[4]), str(ids[3])]  # newest first
    assert data["totals"]["deliveries"] == 5
    assert sum(data["timeline"]["created"]) == 5


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=ten", "since=2026-01-01", "limit=5&top=3"])
def test_a_bad_or_unknown_query_parameter_is_400(emulator, query):
    _refused(emulator.client.get(f"/emulator/v1/dashboard?{query}"), 400, "0x80040203")


def test_an_empty_emulator_has_an_empty_timeline(emulator):
    emulator.client.post("/emulator/v1/reset", json={})

    data = _data(emulator)

    assert data["deliveries"] == [] and data["tasks"] == []
    assert data["timeline"] == {"start": None, "bucketSeconds": None, "created": [], "finished": []}


# --- the page ----------------------------------------------------------------------------------------------------

EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE)


def test_the_page_and_its_files_come_from_the_package_and_name_no_other_origin(emulator):
    page = emulator.client.get("/dashboard")

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert not EXTERNAL.search(page.text)
    assets = re.findall(r'(?:src|href)="(/dashboard/assets/[^"]+)"', page.text)
    assert sorted(assets) == ["/dashboard/assets/dashboard.css", "/dashboard/assets/dashboard.js"]
    types = {"/dashboard/assets/dashboard.css": "text/css", "/dashboard/assets/dashboard.js": "text/javascript"}
    for path in assets:
        asset = emulator.client.get(path)
        assert asset.status_code == 200
        assert asset.headers["content-type"].split(";")[0] == types[path]
        assert not EXTERNAL.search(asset.text)
        assert 'fetch("http' not in asset.text and "url(http" not in asset.text


@pytest.mark.parametrize("name", ["index.html", "..%2fqueries.py", "nope.js", "dashboard.js.map"])
def test_only_the_page_s_own_files_are_served(emulator, name):
    _refused(emulator.client.get(f"/dashboard/assets/{name}"), 404, "0x8006088a")


@pytest.mark.parametrize("path", ["/dashboard", "/dashboard/assets/dashboard.js", "/emulator/v1/dashboard"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Host": "rebind.attacker.example"},
    ],
)
def test_another_site_or_a_rebound_name_is_refused_as_the_control_api_refuses_it(emulator, path, headers):
    _refused(emulator.client.get(path, headers=headers), 403, ACCESS_DENIED)
    _refused(emulator.client.get("/emulator/v1/clock", headers=headers), 403, ACCESS_DENIED)


@pytest.fixture
def token_guarded(database_url: str, database: Database) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, org_url=ORG_URL, dialer="off", clock_speed=0,
                        control_token="s3cret-dashboard")  # fmt: skip
    with TestClient(create_test_app(settings, database=database), base_url="http://127.0.0.1:8000") as client:
        yield client


def test_with_a_control_token_the_page_opens_and_its_data_needs_the_token(token_guarded):
    page = token_guarded.get("/dashboard", headers={"Sec-Fetch-Site": "none"})
    assert page.status_code == 200
    assert "s3cret" not in page.text

    refused = token_guarded.get("/emulator/v1/dashboard")
    _refused(refused, 401, "0x8004A103")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    allowed = token_guarded.get("/emulator/v1/dashboard", headers={"Authorization": "Bearer s3cret-dashboard"})
    assert allowed.status_code == 200, allowed.text


def test_without_the_control_api_there_is_no_dashboard(database_url: str, database: Database):
    settings = Settings(database_url=database_url, org_url=ORG_URL, dialer="off", control_api=False)
    with TestClient(create_test_app(settings, database=database), base_url="http://127.0.0.1:8000") as client:
        for path in ("/dashboard", "/dashboard/assets/dashboard.js", "/emulator/v1/dashboard"):
            assert client.get(path).status_code == 404
