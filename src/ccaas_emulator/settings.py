"""One Settings class, read from CCAAS_* environment variables and validated at start-up."""

from __future__ import annotations

import ipaddress
import uuid
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ccaas_emulator.domain import MESSAGE_RESULTS, parse_outcome_weights

DEFAULT_TENANT_ID = uuid.UUID("72f988bf-0000-4000-8000-00000000ccaa")


class Settings(BaseSettings):
    """Every knob of the emulator; docs/settings.md lists them all."""

    model_config = SettingsConfigDict(env_prefix="CCAAS_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./var/ccaas.db"
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    org_url: str = ""
    """Organization URI: used in @odata.context and as the token audience (default http://<host>:<port>)."""
    tenant_id: uuid.UUID = DEFAULT_TENANT_ID
    authority_host: str = "https://login.microsoftonline.com"
    """Where the 401 challenge sends clients to get a token (WWW-Authenticate authorization_uri)."""
    demo_seed: bool = True
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    bulk_max_body_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 32 * 1024 * 1024
    """The bulk actions' body limit: 15,000 contacts of about 2 KB each (docs/settings.md)."""
    token_lifetime_seconds: Annotated[int, Field(ge=60, le=86_400)] = 3600
    clock_skew_seconds: Annotated[int, Field(ge=0, le=300)] = 300
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 20

    clock_speed: Annotated[float, Field(ge=0, le=1_000_000)] = 1.0
    """Simulated seconds per real second (0 freezes the clock until it is set or advanced)."""
    dialer: Literal["embedded", "off"] = "embedded"
    dialer_poll_seconds: Annotated[float, Field(gt=0, le=60)] = 0.2
    dialer_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    dialer_batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    outcome_seed: int = 0
    outcome_weights: str = ""
    """e.g. "LiveAnswer=60,NoAnswer=20,CallFailed=5"; empty means the documented defaults."""
    sms_outcome_weights: str = ""
    """The same for SMS, e.g. "MessageSent=90,MessageFailed=10"; empty means the documented defaults."""
    control_api: bool = True
    control_token: SecretStr | None = None
    cors_origins: str = ""
    """Comma-separated origins whose browser apps may call /api/data/ (CORS), or `*`; empty: CORS off."""
    header_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long a connection may take to send a request's headers before it is closed (408)."""
    db_lock_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long a statement waits for a lock (SQLite busy timeout, PostgreSQL lock_timeout) before a 503."""
    db_statement_timeout_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    """PostgreSQL statement_timeout of the server's connections (0: none); SQLite has no such bound."""

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].lower()
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql") or scheme == "postgres"):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("org_url", "authority_host")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.lower().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("control_token")
    @classmethod
    def _usable_token(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty secret would be matched by `Authorization: Bearer ` with nothing after it.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("must not be empty; leave the variable unset to run without a control token")
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        return ",".join(sorted(parse_origins(value)))

    @field_validator("outcome_weights")
    @classmethod
    def _weights(cls, value: str) -> str:
        parse_outcome_weights(value)
        return value

    @field_validator("sms_outcome_weights")
    @classmethod
    def _sms_weights(cls, value: str) -> str:
        parse_outcome_weights(value, allowed=MESSAGE_RESULTS, what="an SMS")
        return value

    @model_validator(mode="after")
    def _default_org_url(self) -> Settings:
        if not self.org_url:
            object.__setattr__(self, "org_url", f"http://{self.host}:{self.port}")
        return self

    @property
    def cors_origin_set(self) -> frozenset[str]:
        """CCAAS_CORS_ORIGINS as a set (empty when CORS is off)."""
        return parse_origins(self.cors_origins)

    @property
    def tenant(self) -> str:
        """The tenant id as Entra writes it: lowercase, hyphenated."""
        return str(self.tenant_id)


def parse_origins(value: str) -> frozenset[str]:
    """CCAAS_CORS_ORIGINS: comma-separated `scheme://host[:port]` origins, or `*` for any; lower-cased."""
    origins: set[str] = set()
    for item in value.split(","):
        origin = item.strip().rstrip("/").lower()
        if not origin:
            continue
        if origin != "*":
            scheme, separator, rest = origin.partition("://")
            if scheme not in ("http", "https") or not separator or not rest or any(c in rest for c in "/?#@ "):
                raise ValueError(
                    f"'{item.strip()}' is not an origin: write scheme://host[:port], e.g. http://localhost:5173"
                )
        origins.add(origin)
    return frozenset(origins)


class SettingsError(Exception):
    """A setting is invalid; the message names the environment variable."""


def is_loopback_host(name: str) -> bool:
    """localhost, an address in 127.0.0.0/8 or ::1 (brackets and one trailing dot allowed): only this machine."""
    name = name.strip().lower().removesuffix(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def require_control_token_beyond_loopback(settings: Settings) -> None:
    """`serve` refuses to listen beyond loopback while the control API is open to anyone who reaches the port."""
    if not settings.control_api or settings.control_token is not None or is_loopback_host(settings.host):
        return
    raise SettingsError(
        f"CCAAS_HOST={settings.host} listens beyond this machine, so the control API (/emulator/v1, which can "
        "move the clock and empty the database) needs a secret: set CCAAS_CONTROL_TOKEN (e.g. "
        "`docker run -e CCAAS_CONTROL_TOKEN=$(openssl rand -hex 16) ...`, or in the environment of "
        "docker-compose.yml) and send it as `Authorization: Bearer <secret>`; or set CCAAS_CONTROL_API=0 to "
        "switch the control API off, or CCAAS_HOST=127.0.0.1 to listen on loopback only."
    )


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings, turning pydantic's error into one line per bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "CCAAS_" + str(error["loc"][0]).upper() if error["loc"] else "settings"
            lines.append(f"invalid setting {name}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
