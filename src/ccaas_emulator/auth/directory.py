"""The emulator's directory: users and application users as systemuser rows, with the hashed password or client
secret its authority checks. Used by the CLI, the seed files and the token endpoint; never commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccaas_emulator.auth.passwords import MAX_SECRET_LENGTH, hash_secret, new_client_secret, verify_secret
from ccaas_emulator.db.models import Credential, SecurityRole, SystemUser

ROLE_NAMESPACE = uuid.UUID("0b7f3a52-6d0e-4c8a-9a51-ccaa5e000002")
APPLICATION_NAMESPACE = uuid.UUID("0b7f3a52-6d0e-4c8a-9a51-ccaa5e000005")


class DirectoryError(Exception):
    """A user or application cannot be added as asked (the message says why)."""


@dataclass(frozen=True)
class Account:
    """A user or application user, and whether its password or secret matched."""

    user: SystemUser
    secret_matches: bool


def service_principal_id(client_id: uuid.UUID) -> uuid.UUID:
    """The object id of the application's service principal in the tenant: the `oid` of its app-only tokens."""
    return uuid.uuid5(APPLICATION_NAMESPACE, str(client_id))


def role_named(session: Session, name: str) -> SecurityRole:
    """The security role with this name, created (with a stable id) the first time it is named."""
    role = session.scalars(select(SecurityRole).where(SecurityRole.name == name)).one_or_none()
    if role is None:
        role = SecurityRole(id=uuid.uuid5(ROLE_NAMESPACE, name), name=name)
        session.add(role)
        session.flush()
    return role


def set_secret(session: Session, user: SystemUser, secret: str | None, *, now: datetime) -> None:
    """Store the password or client secret hashed (None removes it: the account cannot sign in)."""
    existing = session.get(Credential, user.id)
    if secret is None:
        if existing is not None:
            session.delete(existing)
        return
    if not 1 <= len(secret) <= MAX_SECRET_LENGTH:
        raise DirectoryError(f"a password or secret must have 1 to {MAX_SECRET_LENGTH} characters")
    if existing is None:
        session.add(Credential(user_id=user.id, secret_hash=hash_secret(secret), created_on=now))
    else:
        existing.secret_hash, existing.created_on = hash_secret(secret), now


def upsert_user(
    session: Session,
    *,
    user_name: str,
    object_id: uuid.UUID | None = None,
    full_name: str | None = None,
    roles: Iterable[str] = (),
    disabled: bool = False,
    application_id: uuid.UUID | None = None,
    now: datetime,
) -> SystemUser:
    """The user named user_name, created or updated (roles replaced); its systemuserid follows its object id."""
    user = session.scalars(select(SystemUser).where(SystemUser.user_name == user_name)).one_or_none()
    if user is not None and user.application_id != application_id:
        kind = "an application user" if user.application_id else "a user"
        raise DirectoryError(f"{user_name!r} is {kind} already; remove it first to change what it is")
    object_id = object_id or (user.object_id if user is not None else uuid.uuid4())
    if user is None:
        user = SystemUser(id=uuid.uuid5(object_id, "systemuser"), user_name=user_name, created_on=now)
        session.add(user)
    user.object_id = object_id
    user.full_name = full_name or user_name
    user.is_disabled = disabled
    user.application_id = application_id
    user.roles = [role_named(session, name) for name in dict.fromkeys(roles)]
    session.flush()
    return user


def add_application(
    session: Session,
    *,
    name: str,
    roles: Iterable[str],
    client_id: uuid.UUID | None = None,
    client_secret: str | None = None,
    now: datetime,
) -> tuple[SystemUser, str]:
    """An application user (an app registration, its service principal and its Dataverse user) and its secret."""
    if session.scalars(select(SystemUser.id).where(SystemUser.user_name == name)).first() is not None:
        raise DirectoryError(f"a user named {name!r} exists already")
    client_id = client_id or uuid.uuid4()
    if find_application(session, client_id) is not None:
        raise DirectoryError(f"an application with client id {client_id} exists already")
    user = upsert_user(
        session,
        user_name=name,
        object_id=service_principal_id(client_id),
        full_name=name,
        roles=roles,
        application_id=client_id,
        now=now,
    )
    secret = client_secret or new_client_secret()
    set_secret(session, user, secret, now=now)
    return user, secret


def remove_user(session: Session, user_name: str) -> bool:
    """Delete the user (its roles and credential go with it). False when there is none by that name."""
    user = session.scalars(select(SystemUser).where(SystemUser.user_name == user_name)).one_or_none()
    if user is None:
        return False
    credential = session.get(Credential, user.id)
    if credential is not None:
        session.delete(credential)
    session.delete(user)
    session.flush()
    return True


def list_users(session: Session) -> list[tuple[SystemUser, bool]]:
    """Every user, by name, with whether it has a password or secret."""
    rows = session.execute(
        select(SystemUser, Credential.user_id.is_not(None))
        .outerjoin(Credential, Credential.user_id == SystemUser.id)
        .order_by(SystemUser.user_name)
    ).all()
    return [(user, bool(has_secret)) for user, has_secret in rows]


def find_application(session: Session, client_id: uuid.UUID) -> SystemUser | None:
    return session.scalars(select(SystemUser).where(SystemUser.application_id == client_id)).one_or_none()


def check_application(session: Session, client_id: uuid.UUID, secret: str) -> Account | None:
    """The application user with this client id (None when there is none) and whether the secret is its own."""
    user = find_application(session, client_id)
    if user is None:
        return None
    return Account(user, _matches(session, user, secret))


def check_user(session: Session, user_name: str, password: str) -> Account | None:
    """The (non-application) user signing in as user_name, compared without case as Entra does its UPNs."""
    from sqlalchemy import func

    user = session.scalars(
        select(SystemUser).where(
            func.lower(SystemUser.user_name) == user_name.lower(), SystemUser.application_id.is_(None)
        )
    ).first()
    if user is None:
        return None
    return Account(user, _matches(session, user, password))


def _matches(session: Session, user: SystemUser, secret: str) -> bool:
    credential = session.get(Credential, user.id)
    return credential is not None and verify_secret(secret, credential.secret_hash)
