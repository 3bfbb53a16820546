"""`ccaas-emulator user add|list|remove` and `app add`, and seed files' users and applications: rows, with secrets
stored hashed, that the authority signs in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from ccaas_emulator.settings import Settings
from tests.support.apps import create_test_app

pytestmark = pytest.mark.slow
ORG = "http://127.0.0.1:8000"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CCAAS_")}
    environment["CCAAS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return subprocess.run(
        [sys.executable, "-m", "ccaas_emulator", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stored_hashes(tmp_path: Path) -> list[str]:
    engine = create_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as connection:
        hashes = [row[0] for row in connection.execute(text("SELECT secret_hash FROM emulator_credential"))]
    engine.dispose()
    return hashes


def token(tmp_path: Path, data: dict[str, str]) -> dict[str, str]:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'cli.db'}", org_url=ORG, dialer="off")
    with TestClient(create_test_app(settings), base_url=ORG) as client:
        response = client.post(f"/{settings.tenant}/oauth2/v2.0/token", data=data, headers=FORM)
        answer: dict[str, str] = response.json()
        who = client.get("/api/data/v9.2/WhoAmI", headers={"Authorization": f"Bearer {answer.get('access_token')}"})
        answer["status"], answer["who"] = str(response.status_code), who.text
    return answer


def test_app_add_prints_what_msal_needs_and_stores_only_a_hash(tmp_path):
    result = run(tmp_path, "app", "add", "billing-sync", "--role", "Omnichannel agent")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert set(printed) == {"clientId", "clientSecret", "tenantId", "authority", "scope"}
    assert printed["authority"] == f"https://127.0.0.1:8443/{printed['tenantId']}"
    assert printed["scope"] == f"{ORG}/.default"
    assert all(printed["clientSecret"] not in stored for stored in stored_hashes(tmp_path))
    assert all(stored.startswith("scrypt$") for stored in stored_hashes(tmp_path))
    answer = token(
        tmp_path,
        {
            "grant_type": "client_credentials",
            "client_id": printed["clientId"],
            "client_secret": printed["clientSecret"],
            "scope": printed["scope"],
        },
    )
    assert answer["status"] == "200", answer
    assert '"UserId"' in answer["who"]
    again = run(tmp_path, "app", "add", "billing-sync", "--role", "Omnichannel agent")
    assert again.returncode == 1 and "exists already" in again.stderr


def test_user_add_list_remove(tmp_path):
    added = run(tmp_path, "user", "add", "carol", "--role", "Omnichannel agent", "--password", "s3cret!")
    assert added.returncode == 0, added.stderr
    listed = [json.loads(line) for line in run(tmp_path, "user", "list").stdout.splitlines()]
    carol = next(row for row in listed if row["userName"] == "carol")
    assert carol["roles"] == ["Omnichannel agent"] and carol["canSignIn"] and carol["applicationId"] is None
    answer = token(
        tmp_path,
        {
            "grant_type": "password",
            "client_id": "51f81489-12ee-4a9e-aaae-a2591f45987d",
            "username": "carol",
            "password": "s3cret!",
            "scope": f"{ORG}/user_impersonation",
        },
    )
    assert answer["status"] == "200", answer
    assert json.loads(answer["who"])["UserId"] == carol["systemUserId"]
    assert run(tmp_path, "user", "remove", "carol").returncode == 0
    assert "carol" not in run(tmp_path, "user", "list").stdout
    missing = run(tmp_path, "user", "remove", "carol")
    assert missing.returncode == 1 and "no user named 'carol'" in missing.stderr


def test_a_seed_file_declares_users_with_passwords_and_applications(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "users": [
                    {
                        "userName": "dave@contoso.com",
                        "objectId": "11111111-2222-4333-8444-555555555555",
                        "roles": ["Omnichannel supervisor"],
                        "password": "dave-password",
                    }
                ],
                "applications": [
                    {
                        "name": "crm-sync",
                        "clientId": "22222222-3333-4444-8555-666666666666",
                        "clientSecret": "a-given-secret",
                        "roles": ["Omnichannel agent"],
                    }
                ],
            }
        )
    )
    result = run(tmp_path, "seed", str(seed))
    assert result.returncode == 0, result.stderr
    assert "1 applications" in result.stderr
    app = token(
        tmp_path,
        {
            "grant_type": "client_credentials",
            "client_id": "22222222-3333-4444-8555-666666666666",
            "client_secret": "a-given-secret",
            "scope": f"{ORG}/.default",
        },
    )
    assert app["status"] == "200", app
    user = token(
        tmp_path,
        {
            "grant_type": "password",
            "client_id": "22222222-3333-4444-8555-666666666666",
            "username": "DAVE@contoso.com",
            "password": "dave-password",
            "scope": f"{ORG}/.default",
        },
    )
    assert user["status"] == "200", user
    assert "a-given-secret" not in "".join(stored_hashes(tmp_path))
