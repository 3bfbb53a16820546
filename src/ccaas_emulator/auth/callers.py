"""Who is calling: the system user behind a token, and whether their roles allow the action."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccaas_emulator.db.models import SystemUser
from ccaas_emulator.domain import OMNICHANNEL_ROLES
from ccaas_emulator.wire.errors import PRIVILEGE_DENIED, USER_DISABLED, USER_NOT_FOUND


@dataclass(frozen=True)
class Caller:
    """The system user a request runs as."""

    user_id: uuid.UUID
    object_id: uuid.UUID
    user_name: str
    roles: frozenset[str]


def load_caller(session: Session, *, object_id: uuid.UUID) -> Caller:
    """The active system user with this Entra object id; 403 when there is none."""
    user = session.scalars(select(SystemUser).where(SystemUser.object_id == object_id)).one_or_none()
    if user is None:
        raise USER_NOT_FOUND(object_id=object_id)
    if user.is_disabled:
        raise USER_DISABLED(user_id=user.id)
    return Caller(
        user_id=user.id,
        object_id=user.object_id,
        user_name=user.user_name,
        roles=frozenset(role.name for role in user.roles),
    )


def require_omnichannel_role(caller: Caller, *, action: str) -> None:
    """The CCaaS actions need the Omnichannel agent or supervisor role (000_..., 001_...: prerequisites)."""
    if not caller.roles & OMNICHANNEL_ROLES:
        raise PRIVILEGE_DENIED(user_id=caller.user_id, role_count=len(caller.roles), action=action)
