"""Call order within an engagement, priority and round robin between engagements of one queue (002_...)."""

from __future__ import annotations

import pytest

from tests.support.in_process import window

ONE_AT_A_TIME = {"dialMode": "Progressive", "maxCallsPerAgent": 1}


def post_in_sequence(emulator, config, windows_and_priorities):
    return [
        emulator.post_task("+15005550001", config=config, windows=[w], priority=p) for w, p in windows_and_priorities
    ]


def run_all(emulator):
    emulator.advance("PT12H")
    return emulator.dial_order()


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("First In First Out", [0, 1, 2]),
        ("Last In First Out", [2, 1, 0]),
        ("Earliest Scheduled Date", [1, 2, 0]),
    ],
)
def test_call_order(emulator, order, expected):
    config = emulator.engagement(representatives=1, processingOrder=order, **ONE_AT_A_TIME)
    ids = post_in_sequence(emulator, config, [(window(hours=8), None), (window(hours=3), None),
                                               (window(hours=5), None)])  # fmt: skip

    assert run_all(emulator) == [ids[i] for i in expected]


def test_custom_priority_ascending_falls_back_to_fifo_for_missing_or_invalid_priorities(emulator):
    config = emulator.engagement(representatives=1, processingOrder="Custom priority ascending", **ONE_AT_A_TIME)
    ids = post_in_sequence(emulator, config, [(window(), "not a number"), (window(), "5"), (window(), None),
                                               (window(), "1"), (window(), "2.5")])  # fmt: skip

    assert run_all(emulator) == [ids[3], ids[4], ids[1], ids[0], ids[2]]


def test_custom_priority_descending(emulator):
    config = emulator.engagement(representatives=1, processingOrder="Custom priority descending", **ONE_AT_A_TIME)
    ids = post_in_sequence(emulator, config, [(window(), "1"), (window(), "3"), (window(), "2")])

    assert run_all(emulator) == [ids[1], ids[2], ids[0]]


def test_a_critical_engagement_on_a_queue_goes_before_a_normal_one(emulator):
    queue = "5f2b0c5e-0000-4000-8000-0000000000b1"
    normal = emulator.engagement(queue=queue, priority="Normal", representatives=1, **ONE_AT_A_TIME)
    critical = emulator.engagement(queue=queue, priority="Critical", **ONE_AT_A_TIME)
    normal_ids = [emulator.post("+15005550001", config=normal, windows=[window()]) for _ in range(2)]
    critical_ids = [emulator.post("+15005550001", config=critical, windows=[window()]) for _ in range(2)]

    assert run_all(emulator) == critical_ids + normal_ids


def test_engagements_of_equal_priority_on_a_queue_take_turns(emulator):
    queue = "5f2b0c5e-0000-4000-8000-0000000000b2"
    first = emulator.engagement(queue=queue, representatives=1, **ONE_AT_A_TIME)
    second = emulator.engagement(queue=queue, **ONE_AT_A_TIME)
    a = [emulator.post("+15005550001", config=first, windows=[window()]) for _ in range(3)]
    b = [emulator.post("+15005550001", config=second, windows=[window()]) for _ in range(3)]

    order = run_all(emulator)

    owners = ["a" if delivery in a else "b" for delivery in order]
    assert owners in (["a", "b"] * 3, ["b", "a"] * 3)
    assert [d for d in order if d in a] == a and [d for d in order if d in b] == b


def test_engagements_on_different_queues_do_not_share_representatives(emulator):
    first = emulator.engagement(representatives=1, **ONE_AT_A_TIME)
    second = emulator.engagement(representatives=1, **ONE_AT_A_TIME)
    emulator.post("+15005550001", config=first, windows=[window()])
    emulator.post("+15005550001", config=second, windows=[window()])

    emulator.advance("PT1S")

    assert len(emulator.dial_order()) == 2
