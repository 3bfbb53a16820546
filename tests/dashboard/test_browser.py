"""/dashboard and /docs in headless Chromium (Debian's package, driven by Playwright) against a real `serve`: a
delivery posted through the Web API shows Pending, "advance 1 hour" moves it on to Complete with its result, and
neither page fetches anything outside the emulator's origin (issue 18 items 1 and 4)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from tests.support.browser import browse
from tests.support.demo import DEMO_CONTACT, DEMO_VOICE_CONFIG
from tests.support.servers import Server, start_server, stop

pytestmark = pytest.mark.slow  # a `serve` subprocess and a browser per test


@pytest.fixture
def server(database_for_server: str) -> Iterator[Server]:
    # The clock stopped: the delivery waits for its window until the test presses "advance 1 hour".
    server, process = start_server(database_for_server, CCAAS_CLOCK_SPEED="0")
    try:
        yield server
    finally:
        stop(process)


STATUS_IS = (
    '([id, status]) => document.querySelector(`#deliveries tr[data-id="${id}"] td:nth-child(4)`)?.innerText === status'
)
"""The dashboard shows this delivery with this status (it polls: the test waits for the next snapshot)."""


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _post_delivery(server: Server, number: str) -> str:
    """A voice delivery whose window opens 30 simulated minutes from now, its call scripted to be answered."""
    with httpx.Client(base_url=server.base, timeout=15) as http:
        now = datetime.fromisoformat(http.get("/emulator/v1/clock").json()["now"].replace("Z", "+00:00"))
        scripted = http.post(
            "/emulator/v1/outcomes",
            json={"phoneNumber": number, "outcomes": [{"result": "LiveAnswer", "ringSeconds": 5, "talkSeconds": 90}]},
        )
        assert scripted.status_code == 201, scripted.text
        headers = {"Authorization": f"Bearer {server.token()}"}
        posted = http.post("/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery", headers=headers, json={
            "ApiVersion": "1.0", "ProactiveEngagementConfigId": DEMO_VOICE_CONFIG, "DestinationPhoneNumber": number,
            "ContactId": DEMO_CONTACT,
            "Windows": [{"Start": _stamp(now + timedelta(minutes=30)), "End": _stamp(now + timedelta(hours=8))}],
        })  # fmt: skip
    assert posted.status_code == 200, posted.text
    return str(posted.json()["DeliveryId"])


def test_the_dashboard_shows_a_posted_delivery_and_the_advance_button_completes_it(server, request):
    delivery_id = _post_delivery(server, "+15550142")

    with browse(server.base, request.node.name) as browsing:
        page = browsing.page
        page.goto(f"{server.base}/dashboard")
        row = page.locator(f'#deliveries tbody tr[data-id="{delivery_id}"]')
        row.wait_for()
        cells = row.locator("td")
        assert cells.nth(1).inner_text() == "+15550142"
        page.wait_for_function(STATUS_IS, arg=[delivery_id, "Pending"])
        assert cells.nth(4).inner_text() == ""
        assert page.locator("#clock-speed").inner_text() == "stopped"
        before = page.locator("#clock-now").get_attribute("datetime")
        engagements = page.locator("#engagements tbody tr", has_text="Progressive")
        assert engagements.count() >= 1

        page.get_by_role("button", name="advance 1 hour").click()

        page.wait_for_function(STATUS_IS, arg=[delivery_id, "Complete"])
        assert cells.nth(4).inner_text() == "LiveAnswer"
        assert "Pending" in cells.nth(6).inner_text() and "Complete · LiveAnswer" in cells.nth(6).inner_text()
        after = page.locator("#clock-now").get_attribute("datetime")
        assert before is not None and after is not None
        moved = datetime.fromisoformat(after.replace("Z", "+00:00")) - datetime.fromisoformat(
            before.replace("Z", "+00:00")
        )
        assert moved == timedelta(hours=1)
        assert page.locator("#chart-results svg text", has_text="LiveAnswer").count() == 1
        assert "advance 1 hour: now" in page.locator("#last-action").inner_text()
        assert "LiveAnswer 1" in page.locator("#last-action").inner_text()

        assert browsing.outside == [], browsing.outside
        assert any(url.endswith("/emulator/v1/dashboard") for url in browsing.seen)


def test_the_api_docs_list_the_operations_with_every_other_origin_blocked(server, request):
    with browse(server.base, request.node.name) as browsing:
        page = browsing.page
        page.goto(f"{server.base}/docs")
        page.locator(".opblock-summary-path", has_text="CCaaS_CreateProactiveVoiceDelivery").first.wait_for()
        page.locator(".opblock-summary-path", has_text="/emulator/v1/dashboard").first.wait_for()

        page.goto(f"{server.base}/redoc")
        page.get_by_text("CCaaS_CreateProactiveVoiceDelivery").first.wait_for()

        assert browsing.outside == [], browsing.outside
