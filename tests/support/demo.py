"""The demo organization every test talks to: its URL, the moment the tests freeze, the seeded ids."""

from __future__ import annotations

from datetime import UTC, datetime

from ccaas_emulator.seed import demo_seed

ORG_URL = "https://contoso.crm.dynamics.com"
NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
DEMO_USERS = {user.userName: user.objectId for user in demo_seed().users}
DEMO_CONTACT = "761e062f-c734-ef11-8e4f-00224808a166"
DEMO_VOICE_CONFIG = "cbbac510-3e66-ef11-a671-6045bd03d9d8"
