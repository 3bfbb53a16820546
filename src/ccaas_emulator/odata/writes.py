"""Creating, changing and deleting rows of a writable entity set (configurations, planner and quiet-time settings).

A payload is read against the entity model: every property must exist and carry a value of its type,
strings fit their column, choices are options of their choice (a multi-select's comma-separated option
numbers each one), whole numbers keep to their bounds, lookups are set with `<navigation>@odata.bind` and,
when they point into a served entity set, at a row that exists. Semantics follow wire-facts E2, E11: PATCH is an
upsert unless `If-Match` says the row must exist; `If-Match` and `If-None-Match` check the ETag.

Concurrent writes of one row have one winner: a change or delete locks the row before it checks the ETag
(SELECT ... FOR UPDATE on PostgreSQL; SQLite's writers are serial anyway) and its UPDATE / DELETE names the
version it checked, and a create is one INSERT ... ON CONFLICT DO NOTHING, so a key taken by a racing request
answers as a key taken before (412), never as a unique violation that would end the transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from ccaas_emulator.auth.callers import Caller
from ccaas_emulator.auth.privileges import ROLE_PRIVILEGES, Access
from ccaas_emulator.db.rows import insert_for
from ccaas_emulator.domain import StateCode, StatusCode
from ccaas_emulator.odata.entity_sets import BY_LOGICAL_NAME
from ccaas_emulator.odata.model import Edm, EntitySet, Property
from ccaas_emulator.wire.context import NAMESPACE
from ccaas_emulator.wire.errors import (
    INVALID_ARGUMENT,
    INVALID_BIND,
    INVALID_STATUS,
    NOT_AN_OBJECT,
    NULL_NOT_ALLOWED,
    OBJECT_DOES_NOT_EXIST,
    OPTION_OUT_OF_RANGE,
    PAYLOAD_VALUE,
    PRECONDITION_FAILED,
    RECORD_EXISTS,
    STRING_TOO_LONG,
    TARGET_WITHOUT_ID,
    TARGET_WRONG_TYPE,
    TARGETS_MISSING,
    TARGETS_TOO_MANY,
    UNDECLARED_PROPERTY,
    UNKNOWN_PARAMETER,
    VALUE_OUT_OF_RANGE,
)

# The entity set each lookup target is bound through (`msdyn_queue@odata.bind: "/queues(<id>)"`).
BIND_SETS = {
    "queue": "queues",
    "msdyn_liveworkstream": "msdyn_liveworkstreams",
    "systemuser": "systemusers",
    "team": "teams",
    "owner": "systemusers",
}
# Values a new configuration gets for what the payload leaves out (the table's defaults).
CREATE_DEFAULTS: dict[str, Any] = {
    "msdyn_name": "",
    "msdyn_description": "",
    "msdyn_type": 100000000,  # Voice
    "msdyn_dialmode_type": 100000000,  # Copilot
    "msdyn_priority": 3,  # Normal
    "msdyn_processing_order": 700610000,  # Earliest Scheduled Date (wire-facts B3: the default)
    "msdyn_max_concurrent_calls": 10,
    "msdyn_max_calls_per_agent": 1,
    "msdyn_ignore_queue_hours": False,
}
# A plain upsert that loses the race to create its row updates that row instead; a row created and deleted
# again between each look could keep it going, so it gives up (412, the client may retry) after this many.
_UPSERT_ATTEMPTS = 3
_BIND = re.compile(r"(?:.*/)?([A-Za-z_][A-Za-z0-9_]*)\(([0-9A-Fa-f-]{36})\)\Z")
# A *Multiple target's @odata.id: `<set>(<guid>)` or `<set>(<key>=<guid>)`; the Dataverse SDK quotes the value of
# the key it is given (`<set>(<key>='<guid>')`), which is taken too.
_REFERENCE = re.compile(
    r"(?:.*/)?(?P<set>[A-Za-z_][A-Za-z0-9_]*)\((?:(?P<key>[A-Za-z_][A-Za-z0-9_]*)=)?"
    r"(?P<quote>'?)(?P<guid>[0-9A-Fa-f-]{36})(?P=quote)\)\Z"
)


@dataclass(frozen=True)
class Preconditions:
    """If-Match / If-None-Match of a request: None, "*", or the ETags listed."""

    if_match: str | None = None
    if_none_match: str | None = None


def create(session: Session, *, entity_set: EntitySet, payload: Any, caller: Caller, now: datetime) -> uuid.UUID:
    """POST: a new row; its id is the payload's key if it names one, else a new GUID."""
    values = _column_values(entity_set, payload)
    _require_lookup_targets(session, entity_set, values)
    key_column = entity_set.key.column.name
    row_id = values.pop(key_column, None) or uuid.uuid4()
    if not _insert(session, entity_set, row_id, values, caller, now):
        raise RECORD_EXISTS()
    return row_id


def upsert(
    session: Session,
    *,
    entity_set: EntitySet,
    key: uuid.UUID,
    payload: Any,
    caller: Caller,
    now: datetime,
    preconditions: Preconditions,
) -> bool:
    """PATCH: change the row, or create it under this key when it does not exist. True if created."""
    values = _column_values(entity_set, payload)
    _require_lookup_targets(session, entity_set, values)
    key_column = entity_set.key.column.name
    if values.pop(key_column, key) != key:
        raise PAYLOAD_VALUE(entity_set=entity_set.name, value=payload.get(entity_set.key.name), edm="Edm.Guid")
    for _ in range(_UPSERT_ATTEMPTS):
        current = _locked_row(session, entity_set, key)
        if current is None:
            _check_if_match(entity_set, key, None, preconditions.if_match)
            if _insert(session, entity_set, key, values, caller, now):
                return True
            # A racing request created the row after we looked: the key is taken, as it would have been
            # had it come first. If-None-Match refuses that; a plain upsert updates the row it created.
            if preconditions.if_none_match is not None:
                raise RECORD_EXISTS()
            continue
        if preconditions.if_none_match is not None:
            raise RECORD_EXISTS()
        version: int = current["versionnumber"]
        _check_if_match(entity_set, key, version, preconditions.if_match)
        _settle_state(entity_set, key, values, current)
        values["modifiedon"] = now
        if "modifiedby" in entity_set.table.c:
            values["modifiedby"] = caller.user_id
        if "modifiedonbehalfby" in entity_set.table.c:
            values["modifiedonbehalfby"] = caller.on_behalf_by
        values["versionnumber"] = version + 1
        statement = update(entity_set.table).where(_at_version(entity_set, key, version)).values(values)
        _require_one_row(session.execute(statement))
        return False
    raise RECORD_EXISTS()


def remove(session: Session, *, entity_set: EntitySet, key: uuid.UUID, preconditions: Preconditions) -> None:
    """DELETE: the row must exist (404) and match If-Match when given (412)."""
    current = _locked_row(session, entity_set, key)
    if current is None:
        raise OBJECT_DOES_NOT_EXIST(entity=entity_set.entity_type, id=key)
    version: int = current["versionnumber"]
    _check_if_match(entity_set, key, version, preconditions.if_match)
    _require_one_row(session.execute(delete(entity_set.table).where(_at_version(entity_set, key, version))))
    _remove_links(session, entity_set, key)


def _remove_links(session: Session, entity_set: EntitySet, key: uuid.UUID) -> None:
    """Rows whose optional lookup named the deleted row lose that link (the relationships' cascade on delete is
    RemoveLink: wire-facts B4's planner settings keep existing when their engagement is deleted)."""
    for navigation in entity_set.navigations.values():
        column = navigation.remote_column
        if navigation.collection and column.nullable and not column.foreign_keys:
            table = column.table
            session.execute(
                update(table)
                .where(column == key)
                .values({column.name: None, "versionnumber": table.c.versionnumber + 1})
            )


# --- CreateMultiple / UpdateMultiple / UpsertMultiple ----------------------------------------------------------
# Bound actions on a writable entity set: `POST <set>/Microsoft.Dynamics.CRM.CreateMultiple {"Targets": [...]}`.
# Each target goes through the same rules as a single create or update (the functions above) inside the request's
# one transaction, so a bad target fails the whole call and nothing is written (as Dataverse's own: "if any
# individual operation fails, the entire request rolls back").

MAX_TARGETS = 1000
"""Targets per call: Dataverse sets no documented number (it advises batches of 100-1000); the emulator's bound
is the top of that advice, the same as a $batch's requests."""


def targets_of(entity_set: EntitySet, body: Any, action: str) -> list[dict[str, Any]]:
    """The Targets of a *Multiple call, each an object typed as a row of this entity set."""
    if not isinstance(body, dict):
        raise NOT_AN_OBJECT()
    for name in body:
        if name != "Targets":
            raise UNKNOWN_PARAMETER(name=name[:100], action=action)
    targets = body.get("Targets")
    if not isinstance(targets, list) or not targets:
        raise TARGETS_MISSING(action=action)
    if len(targets) > MAX_TARGETS:
        raise TARGETS_TOO_MANY(action=action, limit=MAX_TARGETS, count=len(targets))
    expected = f"{NAMESPACE}.{entity_set.entity_type}"
    for target in targets:
        if not isinstance(target, dict):
            raise NOT_AN_OBJECT()
        found = target.get("@odata.type")
        # Targets is a collection of the abstract crmbaseentity: each names its type (the SDK always does).
        if not isinstance(found, str) or found.removeprefix("#") != expected:
            raise TARGET_WRONG_TYPE(expected=entity_set.entity_type, found=_literal(found))
    return targets


def create_many(
    session: Session, *, entity_set: EntitySet, targets: list[dict[str, Any]], caller: Caller, now: datetime
) -> list[uuid.UUID]:
    """CreateMultiple: every target created as a POST would create it; their ids in order."""
    return [create(session, entity_set=entity_set, payload=target, caller=caller, now=now) for target in targets]


def update_many(
    session: Session, *, entity_set: EntitySet, targets: list[dict[str, Any]], caller: Caller, now: datetime
) -> None:
    """UpdateMultiple: every target names an existing row by its key and changes it as a PATCH with If-Match: *."""
    _upsert_each(
        session, entity_set, targets, caller, now, operation="Update", preconditions=Preconditions(if_match="*")
    )


def upsert_many(
    session: Session, *, entity_set: EntitySet, targets: list[dict[str, Any]], caller: Caller, now: datetime
) -> list[bool]:
    """UpsertMultiple: each target changed, or created under its key when there is none; True where created."""
    return _upsert_each(session, entity_set, targets, caller, now, operation="Upsert", preconditions=Preconditions())


def _upsert_each(
    session: Session,
    entity_set: EntitySet,
    targets: list[dict[str, Any]],
    caller: Caller,
    now: datetime,
    *,
    operation: str,
    preconditions: Preconditions,
) -> list[bool]:
    """Each target written by the single-row upsert under the key it names; True where a row was created."""
    return [
        upsert(
            session,
            entity_set=entity_set,
            key=_target_key(entity_set, target, operation=operation),
            payload=target,
            caller=caller,
            now=now,
            preconditions=preconditions,
        )
        for target in targets
    ]


def _target_key(entity_set: EntitySet, target: dict[str, Any], *, operation: str) -> uuid.UUID:
    """The row a target names: its primary key property, or `@odata.id` as `<set>(<guid>)`."""
    value = target.get(entity_set.key.name)
    reference = target.get("@odata.id")
    if value is None and isinstance(reference, str):
        match = _REFERENCE.match(reference)
        named = match.group("key") if match is not None else None
        if match is None or match.group("set") != entity_set.name or named not in (None, entity_set.key.name):
            raise TARGET_WITHOUT_ID(operation=operation)
        value = match.group("guid")
    if value is None:
        raise TARGET_WITHOUT_ID(operation=operation)
    if not isinstance(value, str):
        raise PAYLOAD_VALUE(entity_set=entity_set.name, value=_literal(value), edm="Edm.Guid")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise PAYLOAD_VALUE(entity_set=entity_set.name, value=_literal(value), edm="Edm.Guid") from None


# --- internals -----------------------------------------------------------------------------------------


def _locked_row(session: Session, entity_set: EntitySet, key: uuid.UUID) -> dict[str, Any] | None:
    """The row as it is now, locked until the transaction ends: a racing change waits, then sees ours."""
    statement = select(entity_set.table).where(entity_set.key.column == key).with_for_update()
    row = session.execute(statement).mappings().one_or_none()
    return None if row is None else dict(row)


def _at_version(entity_set: EntitySet, key: uuid.UUID, version: int) -> Any:
    """WHERE the row is still at the version whose ETag was checked."""
    return (entity_set.key.column == key) & (entity_set.table.c.versionnumber == version)


def _require_one_row(result: Any) -> None:
    # The row is locked, so this holds; if a write ever got past the lock, its change is refused, not lost.
    if cast(CursorResult[Any], result).rowcount != 1:
        raise PRECONDITION_FAILED()


def _check_if_match(entity_set: EntitySet, key: uuid.UUID, version: int | None, if_match: str | None) -> None:
    if if_match is None:
        return
    if version is None:
        raise OBJECT_DOES_NOT_EXIST(entity=entity_set.entity_type, id=key)
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        return
    current = {f'W/"{version}"', f'"{version}"'}
    if not current.intersection(tags):
        raise PRECONDITION_FAILED()


def _insert(
    session: Session, entity_set: EntitySet, row_id: uuid.UUID, values: dict[str, Any], caller: Caller, now: datetime
) -> bool:
    """Create the row unless its key is taken (also by a request not yet committed: it waits for that one).

    False when taken; one statement that never fails on the key, so a `$batch` change set it runs in stays usable.
    """
    row = {**CREATE_DEFAULTS, **values}
    row = {name: value for name, value in row.items() if name in entity_set.table.c}
    _settle_state(entity_set, row_id, row, {})
    row.update(
        {
            entity_set.key.column.name: row_id,
            "createdon": now,
            "modifiedon": now,
            "versionnumber": 1,
        }
    )
    row.setdefault("ownerid", caller.user_id)
    for column in ("createdonbehalfby", "modifiedonbehalfby"):
        if column in entity_set.table.c:
            row[column] = caller.on_behalf_by
    statement = insert_for(session.get_bind().dialect.name, entity_set.table).values(row)
    # RETURNING rather than rowcount: drivers need not count the rows of an INSERT (psycopg's reads -1).
    created = statement.on_conflict_do_nothing(index_elements=[entity_set.key.column]).returning(entity_set.key.column)
    return session.execute(created).first() is not None


def _settle_state(entity_set: EntitySet, key: uuid.UUID, values: dict[str, Any], current: dict[str, Any]) -> None:
    """statecode alone brings its default statuscode; a statuscode must belong to its state."""
    if "statecode" not in entity_set.table.c:
        return
    state = values.get("statecode", current.get("statecode", StateCode.ACTIVE))
    state = StateCode(state)
    if "statuscode" not in values:
        if "statecode" in values or not current:
            values["statuscode"] = state.default_status
        return
    status = StatusCode(values["statuscode"])
    if "statecode" not in values:
        values["statecode"] = state = status.state
    if status.state is not state:
        raise INVALID_STATUS(
            status=int(status),
            state=f"{entity_set.entity_type}State.{state.label}",
            entity=entity_set.entity_type,
            id=key,
        )


def _column_values(entity_set: EntitySet, payload: Any) -> dict[str, Any]:
    """The payload as column values, or the error Dataverse gives for its first problem."""
    if not isinstance(payload, dict):
        raise NOT_AN_OBJECT()
    values: dict[str, Any] = {}
    for name, value in payload.items():
        if name.endswith("@odata.bind"):
            column, target = _bind(entity_set, name[: -len("@odata.bind")], value)
            values[column] = target
            continue
        if "@" in name:
            continue  # instance annotations (@odata.type, @odata.etag) carry no value
        prop = entity_set.properties.get(name)
        if prop is None or prop.lookup_target is not None:
            raise UNDECLARED_PROPERTY(entity_set=entity_set.name, name=name, entity=entity_set.entity_type)
        if prop.service_written:
            continue  # the platform keeps these (createdon, versionnumber, ...)
        values[prop.column.name] = _value(entity_set, prop, value)
    return values


def _value(entity_set: EntitySet, prop: Property, value: Any) -> Any:
    if value is None:
        if not prop.column.nullable:
            raise NULL_NOT_ALLOWED(name=prop.name)
        return None
    mismatch = PAYLOAD_VALUE(entity_set=entity_set.name, value=_literal(value), edm=prop.edm.value)
    if prop.edm is Edm.STRING:
        if not isinstance(value, str) or "\x00" in value:
            raise mismatch
        if prop.max_length is not None and len(value) > prop.max_length:
            raise STRING_TOO_LONG(attribute=prop.name, entity=entity_set.entity_type, limit=prop.max_length)
        if prop.options is not None:
            _check_options(entity_set, prop, value)
        rule = entity_set.text_rules.get(prop.name)
        if rule is not None:
            try:
                rule(value)
            except ValueError as exc:
                # The rule's own words, ending in one full stop whether or not they bring theirs.
                reason = str(exc).rstrip(".")
                raise INVALID_ARGUMENT(message=f"The value of '{prop.name}' is not valid: {reason}.") from None
        return value
    if prop.edm is Edm.BOOLEAN:
        if not isinstance(value, bool):
            raise mismatch
        return value
    if prop.edm in (Edm.INT32, Edm.INT64):
        if isinstance(value, bool) or not isinstance(value, int):
            raise mismatch
        if prop.choice is not None:
            accepted = [int(member) for member in prop.choice]
            if value not in accepted:
                raise OPTION_OUT_OF_RANGE(
                    value=value,
                    attribute=prop.name,
                    entity=entity_set.entity_type,
                    accepted=",".join(str(option) for option in accepted),
                )
            return value
        low = prop.minimum if prop.minimum is not None else -(2**31)
        high = prop.maximum if prop.maximum is not None else 2**31 - 1
        if not low <= value <= high:
            raise VALUE_OUT_OF_RANGE(
                value=value, attribute=prop.name, entity=entity_set.entity_type, minimum=low, maximum=high
            )
        return value
    if prop.edm is Edm.GUID:
        try:
            return uuid.UUID(str(value)) if isinstance(value, str) else _raise(mismatch)
        except ValueError:
            raise mismatch from None
    if prop.edm is Edm.DATE_TIME:
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else _raise(mismatch)
        except ValueError:
            raise mismatch from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    raise mismatch


def _check_options(entity_set: EntitySet, prop: Property, value: str) -> None:
    """A multi-select choice: each comma-separated part an option number, refused as a choice's unknown option
    is. An empty string clears the column."""
    assert prop.options is not None
    accepted = [str(int(option)) for option in prop.options]
    for part in value.split(",") if value else ():
        if part.strip() not in accepted:
            raise OPTION_OUT_OF_RANGE(
                value=_literal(part.strip()),
                attribute=prop.name,
                entity=entity_set.entity_type,
                accepted=",".join(accepted),
            )


def _require_lookup_targets(session: Session, entity_set: EntitySet, values: dict[str, Any]) -> None:
    """A lookup into a served entity set must name a row of it (404, as Dataverse answers a bind to none)."""
    for prop in entity_set.properties.values():
        target = BY_LOGICAL_NAME.get(prop.lookup_target or "")
        row_id = values.get(prop.column.name)
        if target is None or row_id is None:
            continue
        if session.execute(select(target.key.column).where(target.key.column == row_id)).first() is None:
            raise OBJECT_DOES_NOT_EXIST(entity=target.entity_type, id=row_id)


def _bind(entity_set: EntitySet, navigation: str, value: Any) -> tuple[str, uuid.UUID | None]:
    """`msdyn_queue@odata.bind: "/queues(<id>)"` -> (msdyn_queue, id); null clears the lookup."""
    prop = entity_set.lookup_by_column(navigation)
    if prop is None or prop.lookup_target is None or prop.service_written:
        raise UNDECLARED_PROPERTY(
            entity_set=entity_set.name, name=f"{navigation}@odata.bind", entity=entity_set.entity_type
        )
    if value is None:
        return prop.column.name, None
    match = _BIND.match(value) if isinstance(value, str) else None
    expected = BIND_SETS.get(prop.lookup_target, f"{prop.lookup_target}s")
    if match is None or match.group(1) != expected:
        raise INVALID_BIND(
            entity_set=entity_set.name,
            detail=f"The value of '{navigation}@odata.bind' must be an entity reference such as "
            f"'/{expected}(00000000-0000-0000-0000-000000000000)'.",
        )
    return prop.column.name, uuid.UUID(match.group(2))


def _literal(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text if len(text) <= 100 else text[:100] + "…"


def _raise(error: Exception) -> Any:
    raise error


def writable_sets() -> list[EntitySet]:
    """The entity sets some role may create rows in (auth/privileges.py): the ones the *Multiple actions serve."""
    creatable = {table for granted in ROLE_PRIVILEGES.values() for access, table in granted if access is Access.CREATE}
    return [entity_set for entity_set in BY_LOGICAL_NAME.values() if entity_set.entity_type in creatable]
