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


MAX_CLOCK_SPEED = 1_000_000.0
"""The fastest the simulated clock may run (simulated seconds per real second): CCAAS_CLOCK_SPEED and the control
API's `speed` share this bound; 0 stops the clock."""


class Settings(BaseSettings):
    """Every knob of the emulator; docs/settings.md lists them all."""

    model_config = SettingsConfigDict(env_prefix="CCAAS_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./var/ccaas.db"
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    tls_port: Annotated[int, Field(ge=0, le=65535)] = 8443
    """HTTPS port served next to the HTTP one (0: no TLS)."""
    org_url: str = ""
    """Organization URI: used in @odata.context and as the token audience (default http://<host>:<port>)."""
    tenant_id: uuid.UUID = DEFAULT_TENANT_ID
    authority_host: str = ""
    """Where the 401 challenge sends clients to get a token (WWW-Authenticate authorization_uri); empty: this
    server's own authority over HTTPS while TLS is on, else https://login.microsoftonline.com."""
    demo_seed: bool = True
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    upload_max_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024 * 1024)] = 10 * 1024 * 1024
    """The largest file a "Run from file" upload takes (002_...: "Maximum file size: 10 MB")."""
    upload_idle_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long an upload may send nothing before it is dropped (408, nothing stored): it holds a transaction."""
    bulk_max_body_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 32 * 1024 * 1024
    """The bulk actions' body limit: 15,000 contacts of about 2 KB each (docs/settings.md)."""
    state_max_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024 * 1024)] = 64 * 1024 * 1024
    """The largest state document PUT /emulator/v1/state takes (docs/state.md); it is parsed whole in memory."""
    token_lifetime_seconds: Annotated[int, Field(ge=60, le=86_400)] = 3600
    clock_skew_seconds: Annotated[int, Field(ge=0, le=300)] = 300
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 20

    clock_speed: Annotated[float, Field(ge=0, le=MAX_CLOCK_SPEED)] | None = None
    """Simulated seconds per real second (0 freezes the clock until it is set or advanced). Applied by `serve` and
    `worker` at start-up only when set; unset keeps the shared clock's speed (1 for a new database)."""
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
    trusted_proxies: str = "127.0.0.1,::1"
    """Comma-separated addresses or networks whose X-Forwarded-Proto/-Host are honoured (empty: nobody's)."""
    header_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long a connection may take to send a request's headers before it is closed (408)."""
    db_lock_timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0
    """How long a statement waits for a lock (SQLite busy timeout, PostgreSQL lock_timeout) before a 503."""
    db_statement_timeout_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    """PostgreSQL statement_timeout of the server's connections (0: none); SQLite has no such bound."""
    limits: bool = True
    """Service protection limits per user (wire-facts E13; docs/limits-and-faults.md); 0 switches them off."""
    limit_requests: Annotated[int, Field(ge=1, le=1_000_000)] = 6000
    limit_window_seconds: Annotated[int, Field(ge=1, le=3600)] = 300
    limit_execution_ms: Annotated[int, Field(ge=1, le=3_600_000_000)] = 1_200_000
    limit_concurrent: Annotated[int, Field(ge=1, le=10_000)] = 52

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

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        return ",".join(str(network) for network in parse_networks(value))

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
    def authority_origin(self) -> str:
        """The authority the 401 challenge names: CCAAS_AUTHORITY_HOST, else this server's HTTPS origin while TLS
        is on (MSAL accepts only an https authority), else Entra's."""
        if self.authority_host:
            return self.authority_host
        if self.tls_port:
            return f"https://{self.local_host}:{self.tls_port}"
        return "https://login.microsoftonline.com"

    @property
    def local_host(self) -> str:
        """The host name clients on this machine reach the server by (127.0.0.1 when it listens on every address)."""
        if self.host in ("0.0.0.0", "::", "[::]", ""):  # noqa: S104  a listening address, not a bind
            return "127.0.0.1"
        return f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """CCAAS_TRUSTED_PROXIES as networks (a single address is a /32 or /128)."""
        return parse_networks(self.trusted_proxies)

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


def parse_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """CCAAS_TRUSTED_PROXIES: comma-separated IP addresses or CIDR networks, e.g. `127.0.0.1,::1,10.0.0.0/8`."""
    networks = []
    for item in value.split(","):
        text = item.strip().removeprefix("[").removesuffix("]")
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            example = "e.g. 127.0.0.1 or 10.0.0.0/8"
            raise ValueError(f"'{item.strip()}' is not an IP address or network ({example})") from None
    return tuple(networks)


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
