"""The verifier's cache of tokens that passed (issue #17): keyed by the raw token, bounded, never past a token's
lifetime, and emptied when the signing keys change (the key reload's own tests are in test_key_reload.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ccaas_emulator.auth import tokens as token_module
from ccaas_emulator.auth.keys import LoadedKey, SigningKeys, _generate
from ccaas_emulator.auth.tokens import TokenVerifier
from ccaas_emulator.clock import real_now
from ccaas_emulator.settings import Settings
from ccaas_emulator.wire.errors import DataverseError
from tests.support.demo import ORG_URL
from tests.support.tokens import Tokens

SKEW = 300


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    return SigningKeys([LoadedKey.from_private_pem(*_generate())])


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(database_url="sqlite://", org_url=ORG_URL)


def make_verifier(keys: SigningKeys, settings: Settings, *, cache_size: int = 4096) -> TokenVerifier:
    return TokenVerifier(
        keys, org_url=settings.org_url, tenant=settings.tenant, skew_seconds=SKEW, cache_size=cache_size
    )


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token whose signature a verifier checks (what the cache saves)."""
    checked: list[str] = []
    check = TokenVerifier._check_signature

    def counted(self: TokenVerifier, token: str, now: object) -> object:
        checked.append(token)
        return check(self, token, now)  # type: ignore[arg-type]

    monkeypatch.setattr(token_module.TokenVerifier, "_check_signature", counted)
    return checked


def test_a_token_seen_before_is_not_checked_again(keys, settings, signature_checks):
    verifier = make_verifier(keys, settings)
    now = real_now()
    token = Tokens(keys, settings, now).for_user("agent")

    first = verifier.verify(token, now=now)
    again = verifier.verify(token, now=now + timedelta(minutes=5))

    assert again.object_id == first.object_id
    assert signature_checks == [token]


def test_the_cache_is_bounded_and_forgets_the_oldest_first(keys, settings, signature_checks):
    verifier = make_verifier(keys, settings, cache_size=3)
    now = real_now()
    minted = [Tokens(keys, settings, now).for_user("agent") for _ in range(10)]  # each its own uti: 10 tokens

    for token in minted:
        verifier.verify(token, now=now)
    assert len(verifier._verified) == 3

    verifier.verify(minted[-1], now=now)  # still remembered
    verifier.verify(minted[0], now=now)  # forgotten long ago: checked again
    assert signature_checks == [*minted, minted[0]]
    assert len(verifier._verified) == 3


def test_a_remembered_token_is_refused_once_it_has_expired(keys, settings):
    verifier = make_verifier(keys, settings)
    now = real_now()
    token = Tokens(keys, settings, now).for_user("agent", expires_in=600)
    verifier.verify(token, now=now)
    expiry = now + timedelta(seconds=600 + SKEW)  # the skew allowance, as for a token seen the first time

    verifier.verify(token, now=expiry - timedelta(seconds=1))
    for _ in range(2):  # and stays refused: the cached verdict is never used past the lifetime
        with pytest.raises(DataverseError) as refused:
            verifier.verify(token, now=expiry + timedelta(seconds=1))
        assert refused.value.status == 401
        assert "expired" in refused.value.message


def test_a_remembered_token_is_refused_before_its_not_before(keys, settings):
    verifier = make_verifier(keys, settings)
    now = real_now()
    token = Tokens(keys, settings, now).for_user("agent")
    verifier.verify(token, now=now)

    with pytest.raises(DataverseError) as refused:
        verifier.verify(token, now=now - timedelta(seconds=SKEW + 1))
    assert refused.value.status == 401


def test_a_refused_token_is_never_remembered_as_verified(keys, settings):
    verifier = make_verifier(keys, settings)
    now = real_now()
    expired = Tokens(keys, settings, now - timedelta(hours=3)).for_user("agent", expires_in=600)

    for _ in range(2):
        with pytest.raises(DataverseError):
            verifier.verify(expired, now=now)
    assert all(entry.token is None for entry in verifier._verified.values())


def test_the_cache_is_emptied_when_the_signing_keys_change(keys, settings, signature_checks):
    verifier = make_verifier(keys, settings)
    now = real_now()
    token = Tokens(keys, settings, now).for_user("agent")
    verifier.verify(token, now=now)
    assert len(verifier._verified) == 1

    keys.generation += 1  # what SigningKeys.reload does after reading the key set again
    try:
        verifier.verify(token, now=now)  # the key is still in the set: it passes, after a new signature check
    finally:
        keys.generation -= 1
    assert signature_checks == [token, token]
