"""`serve` beyond loopback needs CCAAS_CONTROL_TOKEN (issue 12: the image and compose listened on 0.0.0.0 with an
open control API and no warning)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccaas_emulator.settings import Settings, SettingsError, load_settings, require_control_token_beyond_loopback
from tests.support.servers import free_port


def _serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    environment |= {"CCAAS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "CCAAS_PORT": str(free_port())}
    environment |= {"CCAAS_TLS_PORT": "0"} | env
    # Before the fix this served for good: the timeout turns that into a failure instead of a hang.
    return subprocess.run([sys.executable, "-m", "ccaas_emulator", "serve", *args], env=environment,
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip


def test_serve_on_every_interface_without_a_control_token_refuses_to_start(tmp_path):
    result = _serve(tmp_path, CCAAS_HOST="0.0.0.0")

    assert result.returncode == 2
    assert "CCAAS_CONTROL_TOKEN" in result.stderr and "CCAAS_HOST=0.0.0.0" in result.stderr
    assert "docker run -e CCAAS_CONTROL_TOKEN=" in result.stderr  # the image's default host: say how to set it
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()  # refused before touching the database


def test_the_host_option_is_checked_too(tmp_path):
    result = _serve(tmp_path, "--host", "192.0.2.1")

    assert result.returncode == 2 and "CCAAS_HOST=192.0.2.1" in result.stderr


def test_an_empty_control_token_is_an_invalid_setting(tmp_path):
    # `CCAAS_CONTROL_TOKEN: ${CCAAS_CONTROL_TOKEN}` with the variable unset gives an empty secret that
    # `Authorization: Bearer ` would match.
    result = _serve(tmp_path, CCAAS_HOST="0.0.0.0", CCAAS_CONTROL_TOKEN="  ")

    assert result.returncode == 2
    assert "invalid setting CCAAS_CONTROL_TOKEN" in result.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_needs_no_control_token(host):
    require_control_token_beyond_loopback(Settings(host=host))


@pytest.mark.parametrize(
    "settings",
    [{"host": "0.0.0.0", "control_token": "s3cret"}, {"host": "0.0.0.0", "control_api": False},
     {"host": "::", "control_token": "s3cret"}],
)  # fmt: skip
def test_beyond_loopback_a_token_or_no_control_api_is_enough(settings):
    require_control_token_beyond_loopback(Settings(**settings))


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1", "emulator.test", "localhost.attacker.example"])
def test_beyond_loopback_without_a_token_is_refused(host):
    with pytest.raises(SettingsError, match="CCAAS_CONTROL_TOKEN"):
        require_control_token_beyond_loopback(load_settings(host=host))
