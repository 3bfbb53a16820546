"""POST /emulator/v1/clock {"speed": ...}: stop and start the shared clock (the dashboard's buttons), on both back
ends. A speed change keeps the simulated time reached and changes only the pace, as a restart with another
CCAAS_CLOCK_SPEED does (clock._rescale, one rule for both)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ccaas_emulator.clock import CLOCK_ROW, SharedClock
from ccaas_emulator.db.models import ClockState
from tests.support.in_process import window


def _clock(emulator) -> dict:
    response = emulator.client.get("/emulator/v1/clock")
    assert response.status_code == 200
    return response.json()


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_stopped_clock_starts_and_keeps_the_time_it_had(emulator):
    assert _clock(emulator) == {"now": "2026-11-24T12:00:00.000Z", "speed": 0.0}

    started = emulator.client.post("/emulator/v1/clock", json={"speed": 50})

    assert started.status_code == 200, started.text
    assert started.json()["speed"] == 50.0 and started.json()["processed"] == {}
    assert _at(started.json()["now"]) - _at("2026-11-24T12:00:00.000Z") < _seconds(30)
    time.sleep(0.4)
    running = _clock(emulator)
    assert running["speed"] == 50.0
    assert _at(running["now"]) > _at("2026-11-24T12:00:05.000Z")  # 0.4 s at x50 is 20 simulated seconds

    stopped = emulator.client.post("/emulator/v1/clock", json={"speed": 0})

    assert stopped.status_code == 200 and stopped.json()["speed"] == 0.0
    time.sleep(0.3)
    assert _clock(emulator)["now"] == stopped.json()["now"]
    with emulator.database.read() as session:
        row = session.scalar(select(ClockState).where(ClockState.id == CLOCK_ROW))
        assert row is not None and row.speed == 0.0
        assert abs(row.anchor - _at(stopped.json()["now"])) < _seconds(0.001)  # the answer shows milliseconds


def test_speed_and_advance_together_set_the_pace_then_move_the_clock(emulator):
    emulator.script("+15550100", "LiveAnswer")
    delivery_id = emulator.post("+15550100", windows=[window()])

    response = emulator.client.post("/emulator/v1/clock", json={"speed": 0, "advance": "PT1H"})

    assert response.status_code == 200, response.text
    assert response.json()["now"] == "2026-11-24T13:00:00.000Z" and response.json()["speed"] == 0.0
    assert response.json()["processed"]["results"] == {"LiveAnswer": 1}
    assert emulator.delivery(delivery_id).status == "Complete"


@pytest.mark.parametrize(
    "body",
    [
        {"speed": -1},
        {"speed": 1_000_001},
        {"speed": "fast"},
        {"speed": None},
        {},
        {"now": "2026-11-24T13:00:00Z", "advance": "PT1H"},
        {"speed": 2, "now": "not a time"},
    ],
)
def test_a_bad_speed_is_400_and_changes_nothing(emulator, body):
    response = emulator.client.post("/emulator/v1/clock", json=body)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "0x80040203"
    assert _clock(emulator) == {"now": "2026-11-24T12:00:00.000Z", "speed": 0.0}


@pytest.mark.parametrize("raw", [b'{"speed": NaN}', b'{"speed": Infinity}', b'{"speed": 1e400}'])
def test_a_speed_that_is_not_a_finite_number_is_400(emulator, raw):
    response = emulator.client.post("/emulator/v1/clock", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    assert _clock(emulator)["speed"] == 0.0


def test_start_up_and_the_control_api_change_the_speed_by_one_rule(database):
    # ensure() (serve's start-up) after set_speed(): the same re-anchoring, so no jump in simulated time.
    clock = SharedClock(database, refresh_seconds=0)
    clock.set_speed(10)
    before = clock.now()
    SharedClock.ensure(database, speed=0)
    after = clock.now()
    assert clock.speed == 0.0
    assert _seconds(0) <= after - before < _seconds(30)
    SharedClock.ensure(database, speed=None)  # another command in another shell: leaves the clock alone
    assert clock.speed == 0.0 and clock.now() == after
