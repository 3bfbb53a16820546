"""Signing keys follow the database: a key stored after start verifies, a key gone from it stops (issue #12 item 4).

A running process once kept the keys it loaded at start, so after the database was recreated (or the key table
emptied and `ccaas-emulator token` stored a new key) every token minted with the new key got 401 until a restart.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from ccaas_emulator.auth.keys import RELOAD_INTERVAL, SigningKeys
from ccaas_emulator.auth.tokens import TokenVerifier
from ccaas_emulator.clock import FixedClock, real_now
from ccaas_emulator.db.models import SigningKey
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import Settings
from ccaas_emulator.wire.errors import DataverseError
from tests.support.samples import fixture_bytes
from tests.support.tokens import Tokens, bearer
from tests.support.urls import VOICE_URL


@pytest.fixture
def replace_keys(database: Database, clock: FixedClock) -> Iterator[Callable[[], SigningKeys]]:
    """Empties the key table and lets another process store a new key, as `ccaas-emulator token` does; the original
    keys are put back afterwards (on PostgreSQL the tests share the database, and its reset keeps the keys)."""
    with database.read() as session:
        original = [(row.kid, row.private_key_pem, row.created_on) for row in session.scalars(select(SigningKey))]

    def replace() -> SigningKeys:
        with database.transaction() as session:
            session.execute(delete(SigningKey))
        return SigningKeys.load_or_create(database, clock)  # another process: its own set, a new key

    yield replace
    with database.transaction() as session:
        session.execute(delete(SigningKey))
        for kid, pem, created_on in original:
            session.add(SigningKey(kid=kid, private_key_pem=pem, created_on=created_on))


def count_reloads(monkeypatch: pytest.MonkeyPatch, keys: SigningKeys) -> list[None]:
    calls: list[None] = []
    reload = keys.reload

    def counted() -> None:
        calls.append(None)
        reload()

    monkeypatch.setattr(keys, "reload", counted)
    return calls


def forged_kid_token(tokens: Tokens) -> str:
    return tokens.signed(tokens.claims(), kid=uuid.uuid4().hex)


def test_a_key_stored_after_start_is_trusted_without_a_restart(client, tokens, settings, replace_keys):
    old_token = tokens.for_user("agent")  # minted before: `tokens` signs with the process's set, which reloads
    new_keys = replace_keys()
    new_token = Tokens(new_keys, settings, real_now()).for_user("agent")

    body = fixture_bytes("000_voice_sample.json")

    response = client.post(VOICE_URL, content=body, headers=bearer(new_token))

    assert response.status_code == 200, response.text
    published = client.get(f"/{settings.tenant}/discovery/v2.0/keys").json()
    assert [key["kid"] for key in published["keys"]] == [new_keys.signing_key.kid]
    assert client.post(VOICE_URL, content=body, headers=bearer(old_token)).status_code == 401


def test_an_unknown_kid_is_still_refused(client, tokens):
    response = client.post(
        VOICE_URL, content=fixture_bytes("000_voice_sample.json"), headers=bearer(forged_kid_token(tokens))
    )

    assert response.status_code == 401
    assert "signing key (kid)" in response.json()["error"]["message"]


@pytest.fixture
def verifier_keys(database: Database, clock: FixedClock) -> SigningKeys:
    return SigningKeys.load_or_create(database, clock)


def make_verifier(keys: SigningKeys, settings: Settings) -> TokenVerifier:
    return TokenVerifier(keys, org_url=settings.org_url, tenant=settings.tenant, skew_seconds=300)


def test_forged_kids_reload_the_keys_at_most_once_per_interval(verifier_keys, settings, monkeypatch):
    verifier = make_verifier(verifier_keys, settings)
    reloads = count_reloads(monkeypatch, verifier_keys)
    now = real_now()
    tokens = Tokens(verifier_keys, settings, now)

    for _ in range(50):
        with pytest.raises(DataverseError) as refused:
            verifier.verify(forged_kid_token(tokens), now=now)
        assert refused.value.status == 401
    assert len(reloads) == 1

    with pytest.raises(DataverseError):
        verifier.verify(forged_kid_token(tokens), now=now + RELOAD_INTERVAL - timedelta(microseconds=1))
    assert len(reloads) == 1

    with pytest.raises(DataverseError):
        verifier.verify(forged_kid_token(tokens), now=now + RELOAD_INTERVAL)
    assert len(reloads) == 2


def test_a_key_gone_from_the_database_stops_verifying_after_a_reload(verifier_keys, settings, replace_keys):
    verifier = make_verifier(verifier_keys, settings)
    now = real_now()
    old_token = Tokens(verifier_keys, settings, now).for_user("agent")
    verifier.verify(old_token, now=now)  # its signature is now cached

    new_keys = replace_keys()
    verifier.verify(Tokens(new_keys, settings, now).for_user("agent"), now=now)  # the unknown kid reloads

    with pytest.raises(DataverseError) as refused:
        verifier.verify(old_token, now=now)
    assert refused.value.status == 401


def test_a_remembered_token_of_a_key_gone_from_the_database_is_refused(verifier_keys, settings, replace_keys):
    """The verifier remembers tokens that passed (test_token_cache.py); a key reload must forget them."""
    verifier = make_verifier(verifier_keys, settings)
    now = real_now()
    old_token = Tokens(verifier_keys, settings, now).for_user("agent")
    for _ in range(2):
        verifier.verify(old_token, now=now)  # passed, and remembered

    replace_keys()
    verifier_keys.reload()  # as a token with the new key's kid would make it do

    with pytest.raises(DataverseError) as refused:
        verifier.verify(old_token, now=now)
    assert refused.value.status == 401
    assert "signing key (kid)" in refused.value.message
