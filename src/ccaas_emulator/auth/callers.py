"""Who is calling: the system user behind a token, and whether their roles allow the action."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ccaas_emulator.db.models import SecurityRole, SystemUser, SystemUserRole
from ccaas_emulator.domain import ACTION_ROLES
from ccaas_emulator.wire.errors import PRIVILEGE_DENIED, USER_DISABLED, USER_NOT_FOUND, DataverseError


@dataclass(frozen=True)
class Caller:
    """The system user a request runs as."""

    user_id: uuid.UUID
    object_id: uuid.UUID
    user_name: str
    roles: frozenset[str]


# Built once: every request looks its caller up, and building (and keying) this join each time cost more than
# running it (a third of a by-key GET's Python time). SQLAlchemy memoizes a statement object's cache key.
_USERS_AND_ROLES = (
    select(SystemUser.object_id, SystemUser.id, SystemUser.user_name, SystemUser.is_disabled, SecurityRole.name)
    .outerjoin(SystemUserRole, SystemUserRole.user_id == SystemUser.id)
    .outerjoin(SecurityRole, SecurityRole.id == SystemUserRole.role_id)
    .where(SystemUser.object_id.in_(bindparam("object_ids", expanding=True)))
)


def load_caller(session: Session, *, object_id: uuid.UUID) -> Caller:
    """The active system user with this Entra object id; 403 when there is none."""
    found = load_callers(session, object_ids=[object_id])[object_id]
    if isinstance(found, DataverseError):
        raise found
    return found


def load_callers(session: Session, *, object_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Caller | DataverseError]:
    """Each object id's caller, or the 403 it gets; one round trip for all the users and their roles."""
    wanted = set(object_ids)
    rows = session.execute(_USERS_AND_ROLES, {"object_ids": list(wanted)}).all()
    found: dict[uuid.UUID, list[Any]] = {}
    for object_id, *rest in rows:
        found.setdefault(object_id, []).append(rest)
    callers: dict[uuid.UUID, Caller | DataverseError] = {}
    for object_id in wanted:
        user_rows = found.get(object_id)
        if not user_rows:
            callers[object_id] = USER_NOT_FOUND()
            continue
        user_id, user_name, is_disabled, _ = user_rows[0]
        if is_disabled:
            callers[object_id] = USER_DISABLED(user_id=user_id)
            continue
        callers[object_id] = Caller(
            user_id=user_id,
            object_id=object_id,
            user_name=user_name,
            roles=frozenset(role for *_, role in user_rows if role is not None),
        )
    return callers


def require_omnichannel_role(caller: Caller, *, action: str) -> None:
    """The CCaaS actions need the Omnichannel agent or supervisor role (000_..., 001_...: prerequisites)."""
    if not caller.roles & ACTION_ROLES:
        raise PRIVILEGE_DENIED(user_id=caller.user_id, role_count=len(caller.roles), action=action)
