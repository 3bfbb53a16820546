"""Who is calling: the system user behind a token, and whether their roles allow the action."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccaas_emulator.db.models import SecurityRole, SystemUser, SystemUserRole
from ccaas_emulator.domain import ACTION_ROLES
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
    rows = session.execute(  # one round trip for the user and the names of their roles
        select(SystemUser.id, SystemUser.user_name, SystemUser.is_disabled, SecurityRole.name)
        .outerjoin(SystemUserRole, SystemUserRole.user_id == SystemUser.id)
        .outerjoin(SecurityRole, SecurityRole.id == SystemUserRole.role_id)
        .where(SystemUser.object_id == object_id)
    ).all()
    if not rows:
        raise USER_NOT_FOUND()
    user_id, user_name, is_disabled, _ = rows[0]
    if is_disabled:
        raise USER_DISABLED(user_id=user_id)
    return Caller(
        user_id=user_id,
        object_id=object_id,
        user_name=user_name,
        roles=frozenset(role for *_, role in rows if role is not None),
    )


def require_omnichannel_role(caller: Caller, *, action: str) -> None:
    """The CCaaS actions need the Omnichannel agent or supervisor role (000_..., 001_...: prerequisites)."""
    if not caller.roles & ACTION_ROLES:
        raise PRIVILEGE_DENIED(user_id=caller.user_id, role_count=len(caller.roles), action=action)
