"""Read-side fixtures: the in-process emulator of the dialer tests (tests/support/in_process.py, frozen shared
clock) plus headers per demo user."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ccaas_emulator.clock import real_now
from tests.support.in_process import InProcessEmulator
from tests.support.tokens import Tokens, bearer


@pytest.fixture
def as_user(emulator: InProcessEmulator) -> Callable[..., dict[str, str]]:
    """Headers carrying a token of a demo user: as_user("admin")."""
    runtime = emulator.client.app.state.runtime  # type: ignore[attr-defined]
    tokens = Tokens(runtime.keys, runtime.settings, real_now())

    def headers(user: str = "agent", **extra: str) -> dict[str, str]:
        return {**bearer(tokens.for_user(user)), **extra}

    return headers
