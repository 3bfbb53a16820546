"""systemuser, role and systemuserroles: who may call; emulator_credential: how they sign in at the emulator's
authority; emulator_signing_key: what signs tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ccaas_emulator.db.base import Base
from ccaas_emulator.db.types import UtcDateTime


class SystemUser(Base):
    """A Dataverse user, found from a token by its Entra object id (the `oid` claim).

    An application user is a row with an `applicationid` (its app registration's client id); its object id is the
    application's service principal's, the `oid` of the app-only tokens Entra issues it.
    """

    __tablename__ = "systemuser"

    id: Mapped[uuid.UUID] = mapped_column("systemuserid", Uuid, primary_key=True)
    object_id: Mapped[uuid.UUID] = mapped_column("azureactivedirectoryobjectid", Uuid, unique=True)
    user_name: Mapped[str] = mapped_column("domainname", String(1024), unique=True)
    full_name: Mapped[str] = mapped_column("fullname", String(200))
    is_disabled: Mapped[bool] = mapped_column("isdisabled", Boolean, default=False)
    application_id: Mapped[uuid.UUID | None] = mapped_column("applicationid", Uuid, unique=True, default=None)
    created_on: Mapped[datetime] = mapped_column("createdon", UtcDateTime)
    version: Mapped[int] = mapped_column("versionnumber", BigInteger, default=1, server_default="1")

    roles: Mapped[list[SecurityRole]] = relationship(secondary="systemuserroles", lazy="selectin")


class SecurityRole(Base):
    """A security role, such as "Omnichannel agent"."""

    __tablename__ = "role"

    id: Mapped[uuid.UUID] = mapped_column("roleid", Uuid, primary_key=True)
    name: Mapped[str] = mapped_column("name", String(100), unique=True)


class SystemUserRole(Base):
    """The N:N link between users and their roles."""

    __tablename__ = "systemuserroles"
    __table_args__ = (UniqueConstraint("systemuserid", "roleid"),)

    id: Mapped[uuid.UUID] = mapped_column("systemuserroleid", Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        "systemuserid", ForeignKey("systemuser.systemuserid", ondelete="CASCADE")
    )
    role_id: Mapped[uuid.UUID] = mapped_column("roleid", ForeignKey("role.roleid", ondelete="CASCADE"))


class Credential(Base):
    """A user's password or an application's client secret, as the emulator's authority checks it (Entra's own
    store in the real service, so not a Dataverse column): a salted scrypt hash, never the secret itself."""

    __tablename__ = "emulator_credential"

    user_id: Mapped[uuid.UUID] = mapped_column(
        "systemuserid", ForeignKey("systemuser.systemuserid", ondelete="CASCADE"), primary_key=True
    )
    secret_hash: Mapped[str] = mapped_column(String(255))
    created_on: Mapped[datetime] = mapped_column(UtcDateTime)


class SigningKey(Base):
    """An RSA key the emulator signs tokens with; generated on first start and kept, published as JWKS."""

    __tablename__ = "emulator_signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_key_pem: Mapped[str] = mapped_column(Text)
    created_on: Mapped[datetime] = mapped_column(UtcDateTime)
