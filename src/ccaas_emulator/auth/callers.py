"""Who is calling: the system user behind a token, and whether their roles allow the action."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from ccaas_emulator.auth.tokens import Principal
from ccaas_emulator.db.models import SecurityRole, SystemUser, SystemUserRole
from ccaas_emulator.domain import ACTION_ROLES
from ccaas_emulator.wire.errors import (
    CANNOT_ACT_ON_BEHALF,
    IMPERSONATED_USER_NOT_FOUND,
    PRIVILEGE_DENIED,
    USER_DISABLED,
    USER_NOT_FOUND,
    DataverseError,
)


@dataclass(frozen=True)
class Caller:
    """The system user a request runs as; `on_behalf_by` is the real caller's systemuserid when it impersonates."""

    user_id: uuid.UUID
    object_id: uuid.UUID
    user_name: str
    roles: frozenset[str]
    on_behalf_by: uuid.UUID | None = None


_UserRows = Select[uuid.UUID, uuid.UUID, str, bool, str]


ACT_ON_BEHALF_ROLES = frozenset({"System Administrator", "Delegate"})
"""The roles holding prvActOnBehalfOfAnotherUser: System Administrator has every privilege, and Delegate is the role
Dataverse ships for exactly this one ("Delegate: allows a user to act on behalf of another user")."""


def _users_and_roles(key: Any) -> _UserRows:
    return (
        select(SystemUser.object_id, SystemUser.id, SystemUser.user_name, SystemUser.is_disabled, SecurityRole.name)
        .outerjoin(SystemUserRole, SystemUserRole.user_id == SystemUser.id)
        .outerjoin(SecurityRole, SecurityRole.id == SystemUserRole.role_id)
        .where(key.in_(bindparam("keys", expanding=True)))
    )


# Built once: every request looks its caller up, and building (and keying) this join each time cost more than
# running it (a third of a by-key GET's Python time). SQLAlchemy memoizes a statement object's cache key.
_BY_OBJECT_ID = _users_and_roles(SystemUser.object_id)
_BY_USER_ID = _users_and_roles(SystemUser.id)


def load_caller(session: Session, *, principal: Principal) -> Caller:
    """The active system user the request runs as; 403 (or 404 for an unknown MSCRMCallerID) when there is none."""
    found = load_callers(session, principals=[principal])[principal]
    if isinstance(found, DataverseError):
        raise found
    return found


def load_callers(session: Session, *, principals: Iterable[Principal]) -> dict[Principal, Caller | DataverseError]:
    """Each principal's caller, or the error it gets; one round trip for the token users, one more for the users
    they impersonate."""
    wanted = set(principals)
    real = _load(session, _BY_OBJECT_ID, {principal.object_id for principal in wanted})
    impersonated_ids = {p.act_as_user_id for p in wanted if p.act_as_user_id is not None}
    impersonated_objects = {
        p.act_as_object_id for p in wanted if p.act_as_object_id is not None and not p.act_as_user_id
    }
    by_user_id = _load(session, _BY_USER_ID, impersonated_ids, key_index=1) if impersonated_ids else {}
    by_object_id = _load(session, _BY_OBJECT_ID, impersonated_objects) if impersonated_objects else {}
    callers: dict[Principal, Caller | DataverseError] = {}
    for principal in wanted:
        caller = real[principal.object_id]
        if isinstance(caller, DataverseError) or not principal.impersonates:
            callers[principal] = caller
        elif not caller.roles & ACT_ON_BEHALF_ROLES:
            callers[principal] = CANNOT_ACT_ON_BEHALF()
        else:
            if principal.act_as_user_id is not None:
                target = by_user_id[principal.act_as_user_id]
                if target is USER_NOT_FOUND_MARK:
                    target = IMPERSONATED_USER_NOT_FOUND(user_id=principal.act_as_user_id)
            else:
                assert principal.act_as_object_id is not None
                target = by_object_id[principal.act_as_object_id]
            callers[principal] = (
                target
                if isinstance(target, DataverseError)
                else dataclasses.replace(target, on_behalf_by=caller.user_id)
            )
    return callers


USER_NOT_FOUND_MARK = USER_NOT_FOUND()
"""What _load answers for a key that names no user (compared by identity)."""


def _load(
    session: Session, statement: _UserRows, keys: set[uuid.UUID], *, key_index: int = 0
) -> dict[uuid.UUID, Caller | DataverseError]:
    """The users (with their roles) the keys name, each as a Caller or the 403 it gets."""
    rows = session.execute(statement, {"keys": list(keys)}).all()
    found: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        found.setdefault(row[1] if key_index else row[0], []).append(row)
    callers: dict[uuid.UUID, Caller | DataverseError] = {}
    for key in keys:
        user_rows = found.get(key)
        if not user_rows:
            callers[key] = USER_NOT_FOUND_MARK if key_index else USER_NOT_FOUND()
            continue
        object_id, user_id, user_name, is_disabled, _ = user_rows[0]
        if is_disabled:
            callers[key] = USER_DISABLED(user_id=user_id)
            continue
        callers[key] = Caller(
            user_id=user_id,
            object_id=object_id,
            user_name=user_name,
            roles=frozenset(row[4] for row in user_rows if row[4] is not None),
        )
    return callers


def require_omnichannel_role(caller: Caller, *, action: str) -> None:
    """The CCaaS actions need the Omnichannel agent or supervisor role (000_..., 001_...: prerequisites)."""
    if not caller.roles & ACTION_ROLES:
        raise PRIVILEGE_DENIED(user_id=caller.user_id, role_count=len(caller.roles), action=action)
