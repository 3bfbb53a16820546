"""The clock module: the one source of time, and of the order among deliveries created at one instant."""

from __future__ import annotations

from itertools import pairwise

from ccaas_emulator.clock import next_sequence


def test_sequences_strictly_increase_even_within_one_tick_of_the_wall_clock():
    taken = [next_sequence() for _ in range(10_000)]
    assert all(later > earlier for earlier, later in pairwise(taken))
