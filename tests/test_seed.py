"""Seed files: the shape a configuration's planner settings take, and how a wrong one is explained."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from ccaas_emulator.seed import SeedError, read_seed_file


def seed_file(tmp_path: Path, planner: dict) -> Path:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"configurations": [{"id": str(uuid.uuid4()), "name": "x", "planner": planner}]}))
    return path


def test_planner_settings_are_optional_and_default_to_no_reattempts(tmp_path):
    [config] = read_seed_file(seed_file(tmp_path, {})).configurations

    assert config.planner is not None
    assert (config.planner.reattemptRules, config.planner.numberOfRetries, config.planner.phoneTypePriority) == (
        [],
        0,
        None,
    )


@pytest.mark.parametrize(
    ("planner", "problem"),
    [
        ({"reattemptRules": ["No Answer", "Hung Up"]}, "configurations.0.planner.reattemptRules.1"),
        ({"numberOfRetries": -1}, "configurations.0.planner.numberOfRetries"),
        ({"waitTimeUnit": "Days"}, "configurations.0.planner.waitTimeUnit"),
        ({"retryOnDispositionCodes": ["A,B"]}, "configurations.0.planner.retryOnDispositionCodes.0"),
        ({"retryOnDispositionCodes": ["x" * 100] * 6}, "must fit msdyn_retry_on_disposition_codes"),
        ({"phoneTypePriority": ["PagerNumber"]}, "configurations.0.planner.phoneTypePriority.0"),
        ({"fallbackConfigurationId": "nope"}, "configurations.0.planner.fallbackConfigurationId"),
        ({"msdyn_number_of_retries": 2}, "configurations.0.planner.msdyn_number_of_retries"),
    ],
)
def test_a_wrong_planner_setting_is_explained(tmp_path, planner, problem):
    with pytest.raises(SeedError, match="is not a valid seed file") as raised:
        read_seed_file(seed_file(tmp_path, planner))

    assert problem in str(raised.value)
