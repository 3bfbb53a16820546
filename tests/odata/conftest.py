"""Read-side fixtures: the emulator of the dialer tests (frozen shared clock) plus headers per demo user."""

from __future__ import annotations

import pytest

from tests.conftest import Tokens, bearer
from tests.dialer.conftest import Emulator, emulator, window  # noqa: F401  (fixtures shared with the dialer tests)

API = "/api/data/v9.2"
DELIVERIES = f"{API}/msdyn_proactive_deliveries"
ATTRIBUTES = f"{API}/msdyn_proactive_delivery_attributes"
CONFIGS = f"{API}/msdyn_proactive_engagement_configs"
NAV = "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery"
ROOT = "https://contoso.crm.dynamics.com/api/data/v9.2/"


@pytest.fixture
def as_user(emulator: Emulator):  # noqa: F811  (the fixture imported above)
    """Headers carrying a token of a demo user: as_user("admin")."""
    runtime = emulator.client.app.state.runtime  # type: ignore[attr-defined]
    from ccaas_emulator.clock import real_now

    tokens = Tokens(runtime.keys, runtime.settings, real_now())

    def headers(user: str = "agent", **extra: str) -> dict[str, str]:
        return {**bearer(tokens.for_user(user)), **extra}

    return headers
