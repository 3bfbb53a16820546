"""emulator_tls_material: the local CA and the server certificate; emulator_served_origin: where `serve` answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import UtcDateTime


class TlsMaterial(Base):
    """A certificate and its private key, kept with the data so every process sharing it serves the same CA."""

    __tablename__ = "emulator_tls_material"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)  # "ca" or "server"
    certificate_pem: Mapped[str] = mapped_column(Text)
    private_key_pem: Mapped[str] = mapped_column(Text)
    host_names: Mapped[str] = mapped_column(Text)  # the server certificate's names, sorted, comma-separated
    not_after: Mapped[datetime] = mapped_column(UtcDateTime)
    created_on: Mapped[datetime] = mapped_column(UtcDateTime)


class ServedOrigin(Base):
    """An origin (scheme://host:port) a `serve` process answers on: tokens for it are accepted (wire-facts F)."""

    __tablename__ = "emulator_served_origin"

    origin: Mapped[str] = mapped_column(String(300), primary_key=True)  # lower-case, no trailing slash
    is_org_url: Mapped[bool] = mapped_column(Boolean, default=False)  # that server's CCAAS_ORG_URL
    recorded_on: Mapped[datetime] = mapped_column(UtcDateTime)
