"""The ccaas-emulator command: settings errors, migrate, seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import select

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import EngagementConfig, SystemUser
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.domain import DialMode, StateCode


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    environment |= {"CCAAS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"} | env
    return subprocess.run(
        [sys.executable, "-m", "ccaas_emulator", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_bad_setting_stops_start_up_with_a_message_that_names_it(tmp_path):
    result = run(tmp_path, "serve", CCAAS_PORT="eighty")

    assert result.returncode == 2
    assert "invalid setting CCAAS_PORT" in result.stderr


def test_an_unknown_database_scheme_is_named(tmp_path):
    result = run(tmp_path, "migrate", CCAAS_DATABASE_URL="mysql://root@localhost/x")

    assert result.returncode == 2
    assert "invalid setting CCAAS_DATABASE_URL" in result.stderr


def test_an_unreachable_database_is_reported_without_a_traceback(tmp_path):
    result = run(tmp_path, "migrate", CCAAS_DATABASE_URL="postgresql://nobody:secret@127.0.0.1:1/none")

    assert result.returncode == 1
    assert "cannot prepare the database" in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_migrate_is_idempotent(tmp_path):
    assert run(tmp_path, "migrate").returncode == 0
    assert run(tmp_path, "migrate").returncode == 0


def test_seed_loads_configurations_and_users_from_a_file(tmp_path):
    config_id = uuid.uuid4()
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "configurations": [
                    {
                        "id": str(config_id),
                        "name": "Collections",
                        "channel": "Voice",
                        "dialMode": "Predictive",
                        "priority": "High",
                        "active": False,
                    }
                ],
                "users": [{"userName": "ops", "objectId": str(uuid.uuid4()), "roles": ["Omnichannel supervisor"]}],
            }
        )
    )

    result = run(tmp_path, "seed", str(seed))

    assert result.returncode == 0, result.stderr
    database = Database(make_engine(f"sqlite:///{tmp_path / 'cli.db'}"))
    try:
        with database.read() as session:
            config = session.get(EngagementConfig, config_id)
            user = session.scalars(select(SystemUser).where(SystemUser.user_name == "ops")).one()
            roles = [role.name for role in user.roles]
    finally:
        database.dispose()
    assert (config.dial_mode, config.state) == (DialMode.PREDICTIVE, StateCode.INACTIVE)
    assert roles == ["Omnichannel supervisor"]


def test_a_seed_file_of_the_wrong_shape_is_explained(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"configurations": [{"id": "nope", "name": "x", "channel": "Fax"}]}))

    result = run(tmp_path, "seed", str(seed))

    assert result.returncode == 1
    assert "configurations.0.id" in result.stderr and "configurations.0.channel" in result.stderr


def test_token_seed_and_migrate_leave_a_stopped_clock_stopped(tmp_path):
    """Only serve/worker start-up applies CCAAS_CLOCK_SPEED; a token minted in a second shell never restarts time."""
    from ccaas_emulator.clock import CLOCK_ROW, SharedClock
    from ccaas_emulator.db.models import ClockState

    assert run(tmp_path, "migrate").returncode == 0
    database = Database(make_engine(f"sqlite:///{tmp_path / 'cli.db'}", pool_size=1))
    try:
        SharedClock.ensure(database, speed=0)  # what `serve` does with CCAAS_CLOCK_SPEED=0
        with database.read() as session:
            before = session.get(ClockState, CLOCK_ROW)
            assert before is not None
            stopped = (before.anchor, before.real_anchor, before.speed, before.version)
        seed_file = tmp_path / "seed.json"
        seed_file.write_text(json.dumps({"users": []}))

        assert run(tmp_path, "token").returncode == 0
        assert run(tmp_path, "token", CCAAS_CLOCK_SPEED="60").returncode == 0
        assert run(tmp_path, "migrate", CCAAS_CLOCK_SPEED="1").returncode == 0
        assert run(tmp_path, "seed", str(seed_file)).returncode == 0

        with database.read() as session:
            after = session.get(ClockState, CLOCK_ROW)
            assert after is not None
            assert (after.anchor, after.real_anchor, after.speed, after.version) == stopped
    finally:
        database.dispose()
