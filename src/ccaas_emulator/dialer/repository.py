"""Every query the dialer makes. Claims lock rows FOR UPDATE SKIP LOCKED on PostgreSQL, so any number of
workers share the work; SQLite ignores the clause (its one writer holds the whole database)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Row,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from ccaas_emulator import compliance, quiet_hours, timezones
from ccaas_emulator.db.functions import NotIndexed
from ccaas_emulator.db.models import (
    CancellationPolicy,
    Contact,
    DeliveryAttribute,
    DeliveryTask,
    EngagementConfig,
    EngagementPacing,
    OptOut,
    PlannerConfig,
    ProactiveDelivery,
    QuietTimeSetting,
    RepresentativePool,
    ScriptedOutcome,
)
from ccaas_emulator.db.models.planner import applicable_planners
from ccaas_emulator.db.rows import insert_for, insert_rows
from ccaas_emulator.dialer.outcomes import ScriptedCall
from ccaas_emulator.domain import (
    AttributeType,
    DeliveryResult,
    DeliveryStatus,
    PhoneType,
    ProcessingOrder,
    RetryPriority,
    StateCode,
    TimeZoneHandling,
    Window,
)

D = ProactiveDelivery
PENDING, IN_PROCESS = DeliveryStatus.PENDING, DeliveryStatus.IN_PROCESS


# The dialer's hot statements are Core, on the table's columns labelled with the model's attribute names, built
# once with bound parameters and run on the session's connection: time travel runs them at every event time, where
# building, keying and ORM result set-up cost more than the statement itself (SQLAlchemy memoizes a statement
# object's cache key, so a prebuilt statement is compiled once per dialect).
C = D.__mapper__.columns
"""The delivery table's columns by attribute name."""


def _bind(name: str, attribute: str) -> Any:
    return bindparam(name, type_=C[attribute].type)


def _columns(*attributes: str) -> list[Any]:
    return [C[attribute].label(attribute) for attribute in attributes]


def _rows(session: Session, statement: Any, parameters: dict[str, Any]) -> list[Row[Any]]:
    return list(session.connection().execute(statement, parameters))


_NOW = _bind("now", "window_start_date")
# Constants of the statements are written into their SQL (at execution, each its one value), so that PostgreSQL's
# generic plan of a prepared statement knows them: with a parameter for the status and the open scan's limit, it
# estimated a sequential scan of the whole table cheaper than the index.
_PENDING = bindparam("pending", type_=C.status.type, literal_execute=True)
_IN_PROCESS = bindparam("in_process", type_=C.status.type, literal_execute=True)
_LIMIT: Any = bindparam("limit")
_PAST_THEIR_WINDOW = (
    select(*_columns("id", "status", "windows", "dial_mode", "version", "task_id", "priority_number"))
    .where(C.status == _PENDING, C.window_end_date <= _NOW)
    .order_by(C.window_end_date, C.sequence)  # ties in posting order, the same on every database
    .limit(_LIMIT)
    .with_for_update(skip_locked=True)
)


def pending_past_their_window(session: Session, *, now: datetime, limit: int) -> list[Row[Any]]:
    """Pending deliveries whose current window has closed: they move to their next window or expire."""
    return _rows(session, _PAST_THEIR_WINDOW, {"pending": PENDING, "now": now, "limit": limit})


_ENDING = ("id", "call_plan", "call_ends_at", "version", "task_id", "priority_number", "to_address", "contact_id")
_CALLS_ENDING = select(*_columns(*_ENDING)).where(C.status == _IN_PROCESS, C.call_ends_at <= _NOW)
_CALLS_ENDING_ALL = _CALLS_ENDING.order_by(C.call_ends_at, C.sequence).limit(_LIMIT).with_for_update(skip_locked=True)
_CALLS_ENDING_MINE = (
    _CALLS_ENDING.where(
        (C.lease_owner == bindparam("worker", type_=C.lease_owner.type))
        | (C.lease_owner.is_(None))
        | (C.lease_expires_at < bindparam("real_now", type_=C.lease_expires_at.type))
    )
    .order_by(C.call_ends_at, C.sequence)
    .limit(_LIMIT)
    .with_for_update(skip_locked=True)
)


_CALLS_ENDING_BEFORE = (
    select(*_columns(*_ENDING))
    .where(C.status == _IN_PROCESS, C.call_ends_at < bindparam("before", type_=C.call_ends_at.type))
    .order_by(C.call_ends_at, C.sequence)
    .limit(_LIMIT)
    .with_for_update(skip_locked=True)
)


def calls_ending_before(session: Session, *, before: datetime, limit: int) -> list[Row[Any]]:
    """Calls whose planned end comes before `before`, whichever worker holds them (time travel's run of call
    ends), in the order ticks end them."""
    return _rows(session, _CALLS_ENDING_BEFORE, {"in_process": IN_PROCESS, "before": before, "limit": limit})


def calls_ending(
    session: Session, *, now: datetime, worker: str, real_now: datetime, take_over_all: bool, limit: int
) -> list[Row[Any]]:
    """Calls whose planned end has come, held by this worker or by one whose lease ran out."""
    parameters = {"in_process": IN_PROCESS, "now": now, "limit": limit}
    if take_over_all:
        return _rows(session, _CALLS_ENDING_ALL, parameters)
    return _rows(session, _CALLS_ENDING_MINE, parameters | {"worker": worker, "real_now": real_now})


def renew_leases(session: Session, *, worker: str, until: datetime) -> None:
    session.execute(update(D).where(D.status == IN_PROCESS, D.lease_owner == worker).values(lease_expires_at=until))


def dialable_engagements(session: Session) -> list[EngagementConfig]:
    """Active, not suspended engagements of either channel (voice ones are dialled, SMS ones sent)."""
    return list(
        session.scalars(
            select(EngagementConfig)
            .where(
                EngagementConfig.state == StateCode.ACTIVE,
                EngagementConfig.suspended.is_(False),
            )
            .order_by(EngagementConfig.id)  # one order on every database, so runs repeat event for event
        )
    )


_CALLS_IN_PROGRESS = (
    select(C.engagement_config_id, func.count())
    .where(C.status == _IN_PROCESS, C.call_ends_at > _NOW)
    .group_by(C.engagement_config_id)
)


def calls_in_progress(session: Session, *, now: datetime) -> dict[str, int]:
    """Calls still going on at `now`, per engagement configuration id (as the delivery stores it).

    A call whose planned end has passed holds no line, even before the worker that dialled it has marked it
    finished: so every worker sees the same free capacity, not only the one whose calls just ended (which
    would otherwise refill it in its own tick and leave the other workers nothing to dial)."""
    rows = session.connection().execute(_CALLS_IN_PROGRESS, {"in_process": IN_PROCESS, "now": now})
    return {config_id: count for config_id, count in rows}


def queue_representatives(session: Session, *, queue_id: uuid.UUID) -> int | None:
    """The queue's representatives, read without a lock; None when its pool row does not exist yet."""
    return session.scalar(select(RepresentativePool.representatives).where(RepresentativePool.queue_id == queue_id))


def lock_queues(session: Session, *, queue_ids: set[uuid.UUID]) -> dict[uuid.UUID, RepresentativePool]:
    """The pool rows these queues already have, locked in id order (a queue without one yet gets it from
    lock_queue)."""
    if not queue_ids:
        return {}
    pools = session.scalars(
        select(RepresentativePool)
        .where(RepresentativePool.queue_id.in_(sorted(queue_ids)))
        .order_by(RepresentativePool.queue_id)
        .with_for_update()
    )
    return {pool.queue_id: pool for pool in pools}


def lock_queue(session: Session, *, queue_id: uuid.UUID) -> RepresentativePool:
    """The queue's pool row, created with defaults if new, locked so one worker dispatches it at a time."""
    session.execute(
        insert_for(session.get_bind().dialect.name, RepresentativePool)
        .values(queue_id=queue_id, representatives=5, average_handle_seconds=180, round_robin_cursor=0)
        .on_conflict_do_nothing(index_elements=["queue_id"])
    )
    return session.scalars(
        select(RepresentativePool).where(RepresentativePool.queue_id == queue_id).with_for_update()
    ).one()


def _call_order(order: ProcessingOrder, *, ranked: bool = False) -> list[Any]:
    """The claim's ORDER BY: the engagement's call order, each served by an index carrying all of it
    (models/delivery.py). `ranked` (a planner that queues reattempts before or after new deliveries) puts the
    retry rank first; that order has no index of its own, so such an engagement's claims sort its due rows."""
    fifo = [C.created_on.asc(), C.sequence.asc()]
    if order is ProcessingOrder.EARLIEST_SCHEDULED_DATE:
        keys = [C.window_end_date.asc(), *fifo]  # 002_...: closest to the end of its window first
    elif order is ProcessingOrder.LAST_IN_FIRST_OUT:
        keys = [C.created_on.desc(), C.sequence.desc()]
    elif order is ProcessingOrder.CUSTOM_PRIORITY_ASCENDING:
        keys = [C.priority_number.asc().nulls_last(), *fifo]  # a missing priority falls back to FIFO
    elif order is ProcessingOrder.CUSTOM_PRIORITY_DESCENDING:
        keys = [C.priority_number.desc().nulls_last(), *fifo]
    else:
        keys = fifo
    return [C.retry_rank.asc(), *keys] if ranked else keys


def ranked_engagements(session: Session) -> set[uuid.UUID]:
    """Engagements whose active planner settings queue reattempts before or after new deliveries."""
    return {
        config_id
        for config_id in session.scalars(
            select(PlannerConfig.engagement_config_id).where(
                PlannerConfig.state == StateCode.ACTIVE,
                PlannerConfig.retry_priority.is_not(None),
                PlannerConfig.retry_priority != RetryPriority.SAME_AS_NEW,
            )
        )
        if config_id is not None
    }


def _open_now(config: Any, *, by_window: bool = False) -> list[Any]:
    """A Pending delivery of the engagement (a bound parameter) inside its current window now.

    `by_window`: found through the window-start index (the few deliveries whose window has started), not through
    the engagement's call-order indexes (which read every Pending delivery of the engagement until enough of them
    are open)."""
    engagement, end = (NotIndexed(C.engagement_config_id), NotIndexed(C.window_end_date)) if by_window else (
        C.engagement_config_id, C.window_end_date)  # fmt: skip
    return [engagement == config, C.status == _PENDING, C.window_start_date <= _NOW, end > _NOW]


OPEN_SCAN_LIMIT = 1_000
"""Up to this many deliveries inside their window, the dialer finds and sorts them through the window-start index;
beyond it, each engagement's claim reads its call-order index until it has enough."""

_OPEN = (
    select(C.engagement_config_id.label("engagement"))
    .where(C.status == _PENDING, C.window_start_date <= _NOW, NotIndexed(C.window_end_date) > _NOW)
    .limit(bindparam("open_limit", type_=Integer(), literal_execute=True))
    .subquery()
)
_OPEN_AND_BUSY = union_all(
    select(literal_column("0").label("busy"), _OPEN.c.engagement, func.count()).group_by(_OPEN.c.engagement),
    select(literal_column("1"), C.engagement_config_id, func.count())
    .where(C.status == _IN_PROCESS, C.call_ends_at > _NOW)
    .group_by(C.engagement_config_id),
)


@cache
def _dial_state(engagements: int) -> Select[Any]:
    return select(  # type: ignore[return-value]
        *(exists().where(*_open_now(_bind(f"config_{index}", "engagement_config_id"))) for index in range(engagements))
    )


@dataclass(frozen=True)
class OpenNow:
    """The engagements with a delivery inside its window now, whether there are few such deliveries, and the calls
    in progress."""

    engagements: set[uuid.UUID]
    few: bool
    """At most OPEN_SCAN_LIMIT deliveries are open: claims find them through the window-start index."""
    in_flight: dict[str, int]
    """calls_in_progress, read in the same statement."""


def open_now(session: Session, *, config_ids: list[uuid.UUID], now: datetime) -> OpenNow:
    """Which of `config_ids` have a delivery inside its window now, and the calls in progress, in one statement:
    the open deliveries are counted through the window-start index, up to OPEN_SCAN_LIMIT; when there are more,
    one index seek per engagement follows instead (one statement for all of them)."""
    if not config_ids:
        return OpenNow(set(), few=True, in_flight={})
    connection = session.connection()
    parameters: dict[str, Any] = {
        "pending": PENDING,
        "in_process": IN_PROCESS,
        "now": now,
        "open_limit": OPEN_SCAN_LIMIT,
    }
    counts: dict[str, int] = {}
    in_flight: dict[str, int] = {}
    for busy, config_id, count in connection.execute(_OPEN_AND_BUSY, parameters):
        (in_flight if busy else counts)[config_id] = count
    due = {config_id for config_id in config_ids if str(config_id) in counts}
    if sum(counts.values()) < OPEN_SCAN_LIMIT:
        return OpenNow(due, few=True, in_flight=in_flight)
    # Only the engagements the scan did not meet: for one it met, the seek could read all its Pending deliveries
    # before an open one (PostgreSQL's generic plan took 60-100 ms per dial at 100,000).
    unseen = [config_id for config_id in config_ids if config_id not in due]
    if unseen:
        parameters |= {f"config_{index}": str(config_id) for index, config_id in enumerate(unseen)}
        found = connection.execute(_dial_state(len(unseen)), parameters).one()
        due |= {config_id for config_id, open_ in zip(unseen, found, strict=True) if open_}
    return OpenNow(due, few=False, in_flight=in_flight)


_CLAIMED = ("id", "to_address", "version", "task_id", "contact_id", "priority_number", "message")


@cache
def _claim(order: ProcessingOrder, ranked: bool, by_window: bool, posted_by: bool) -> Select[Any]:
    statement = select(*_columns(*_CLAIMED)).where(
        *_open_now(_bind("config", "engagement_config_id"), by_window=by_window)
    )
    if posted_by:
        statement = statement.where(C.created_on <= _bind("posted_by", "created_on"))
    return statement.order_by(*_call_order(order, ranked=ranked)).limit(_LIMIT).with_for_update(skip_locked=True)


def claim_due(
    session: Session, *, config: EngagementConfig, now: datetime, limit: int, ranked: bool = False,
    few_open: bool = False, posted_by: datetime | None = None,
) -> list[Row[Any]]:  # fmt: skip
    """Up to `limit` Pending deliveries of the engagement inside their current window, in its call order;
    `few_open`: few deliveries of any engagement are open now (OpenNow.few), so they are found by their window;
    `posted_by`: only those created by then."""
    if limit <= 0:
        return []
    parameters = {"config": str(config.id), "pending": PENDING, "now": now, "limit": limit, "posted_by": posted_by}
    return _rows(session, _claim(config.processing_order, ranked, few_open, posted_by is not None), parameters)


def take_scripted_outcomes(
    session: Session, *, numbers: list[str], results: frozenset[DeliveryResult]
) -> dict[str, list[ScriptedCall]]:
    """Consume the scripted outcomes for these numbers: one per occurrence of the number, oldest first, among
    those of this channel (`results`: a number scripted for a call is not consumed by an SMS, and back)."""
    wanted: dict[str, int] = defaultdict(int)
    for number in numbers:
        wanted[number] += 1
    rows = session.scalars(
        select(ScriptedOutcome)
        .where(ScriptedOutcome.phone_number.in_(list(wanted)), ScriptedOutcome.result.in_(sorted(results)))
        .order_by(ScriptedOutcome.id)
        .with_for_update(skip_locked=True)
    ).all()
    taken: dict[str, list[ScriptedCall]] = defaultdict(list)
    used: list[int] = []
    for row in rows:
        if len(taken[row.phone_number]) < wanted[row.phone_number]:
            taken[row.phone_number].append(
                ScriptedCall(
                    result=row.result,
                    talk_seconds=row.talk_seconds,
                    ring_seconds=row.ring_seconds,
                    disposition_codes=list(row.disposition_codes or []),
                    attributes=dict(row.attributes or {}),
                )
            )
            used.append(row.id)
    if used:
        session.execute(delete(ScriptedOutcome).where(ScriptedOutcome.id.in_(used)))
    return taken


@cache
def _update(keys: tuple[str, ...]) -> Update:
    """UPDATE of these attributes by primary key, its parameters named after the attributes (prefixed: a bound
    parameter may not take a column's name)."""
    return (
        update(cast(Table, D.__table__))
        .where(C.id == _bind("p_id", "id"))
        .values({C[key]: _bind(f"p_{key}", key) for key in keys if key != "id"})
    )


def update_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key: one executemany per set of attributes, no ORM object per row."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        shapes[tuple(row)].append({f"p_{key}": value for key, value in row.items()})
    connection = session.connection() if shapes else None
    for keys, parameters in shapes.items():
        assert connection is not None
        connection.execute(_update(keys), parameters)


def insert_attributes(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_rows(session, DeliveryAttribute, rows)


def cancellation_policies(session: Session) -> list[CancellationPolicy]:
    """Every policy, oldest first: a delivery two policies cover is cancelled under the first one made."""
    return list(
        session.scalars(select(CancellationPolicy).order_by(CancellationPolicy.created_on, CancellationPolicy.id))
    )


def any_scripted_outcome(session: Session) -> bool:
    return session.execute(select(ScriptedOutcome.id).limit(1)).first() is not None


def any_opt_out(session: Session) -> bool:
    return session.execute(select(OptOut.id).limit(1)).first() is not None


def suppressed(
    session: Session,
    *,
    config: EngagementConfig,
    rows: list[Row[Any]],
    now: datetime,
    policies: list[CancellationPolicy] | None = None,
    opt_outs: bool = True,
) -> dict[uuid.UUID, dict[str, str]]:
    """The claimed deliveries that may not be made, each with the Result attributes that say why: an opt-out of
    its number or its contact, or a cancellation policy in force that covers it (issue #14 items 6-7).

    `policies` (every cancellation policy, already read) and `opt_outs=False` (the table is known to be empty)
    save the look-ups when time travel has read them already in its transaction."""
    if not rows:
        return {}
    numbers = {row.to_address for row in rows}
    contacts = {row.contact_id for row in rows if row.contact_id}
    opted = (
        session.execute(
            select(OptOut.phone_number, OptOut.contact_id, OptOut.source).where(
                OptOut.phone_number.in_(numbers) | OptOut.contact_id.in_(contacts)
            )
        ).all()
        if opt_outs
        else []
    )
    by_number = {number: source for number, _, source in opted if number}
    by_contact = {contact: source for _, contact, source in opted if contact}
    every = cancellation_policies(session) if policies is None else policies
    policies = [policy for policy in every if compliance.in_force(policy, now)]
    addresses = _addresses(session, contacts) if policies else {}
    found: dict[uuid.UUID, dict[str, str]] = {}
    for row in rows:
        source = by_number.get(row.to_address) or by_contact.get(row.contact_id or "")
        if source is not None:
            found[row.id] = {"CancellationReason": "OptedOut", "OptOutSource": source}
            continue
        country, state, postal_code = addresses.get(row.contact_id or "", (None, None, None))
        where = compliance.Whereabouts(str(config.id), country, state, postal_code)
        policy = next((policy for policy in policies if compliance.covers(policy, where)), None)
        if policy is not None:  # 002_...: "marked in the delivery tables with a reference to the cancellation policy"
            found[row.id] = {"CancellationReason": "CancellationPolicy", "CancellationPolicyId": str(policy.id)}
    return found


def _addresses(session: Session, contact_ids: set[str]) -> dict[str, tuple[str | None, str | None, str | None]]:
    keys = []
    for contact_id in contact_ids:
        try:
            keys.append(uuid.UUID(contact_id))
        except ValueError:
            continue
    rows = session.execute(
        select(Contact.id, Contact.country, Contact.state, Contact.postal_code).where(Contact.id.in_(keys))
    )
    return {str(contact_id): (country, state, postal_code) for contact_id, country, state, postal_code in rows}


def contact_rules(session: Session, *, config_id: uuid.UUID) -> compliance.ContactRules | None:
    """The engagement's frequency limits (when switched on) and quiet hours per phone type, from its active planner
    settings (the first created); None when it has neither."""
    planner = session.scalars(applicable_planners([config_id]).limit(1)).first()
    if planner is None:
        return None
    limits = compliance.FrequencyCap(planner.max_frequency_per_day, planner.max_frequency_per_week)
    cap = limits if planner.frequency_limit_enabled and limits.limits else None
    lookups = {
        PhoneType.MOBILE: planner.quiet_time_mobile_phone,
        PhoneType.BUSINESS: planner.quiet_time_business_phone,
        PhoneType.HOME: planner.quiet_time_home_phone,
    }
    wanted = {setting_id for setting_id in lookups.values() if setting_id is not None}
    settings = {
        setting.id: setting
        for setting in session.scalars(
            select(QuietTimeSetting).where(QuietTimeSetting.id.in_(wanted), QuietTimeSetting.state == StateCode.ACTIVE)
        )
    } if wanted else {}  # fmt: skip
    quiet = {}
    for phone_type, setting_id in lookups.items():
        setting = settings.get(setting_id) if setting_id else None
        if setting is not None:
            try:
                quiet[str(phone_type)] = quiet_hours.of(setting)
            except quiet_hours.QuietHoursError:
                continue  # written before the Web API checked it: no quiet hours rather than a dialer that stops
    if cap is None and not quiet:
        return None
    return compliance.ContactRules(
        cap=cap,
        quiet=quiet,
        customer_time_zone=planner.time_zone_handling is not TimeZoneHandling.SYSTEM,
        default_zone=timezones.iana_name_or_none(planner.default_timezone),
    )


def engagement_times(session: Session, *, contact_ids: set[str], since: datetime) -> dict[str, list[datetime]]:
    """When each contact was dialled or sent an SMS since `since`, on any engagement and channel."""
    rows = session.execute(
        select(D.contact_id, D.start_date).where(
            D.contact_id.in_(contact_ids), D.start_date.is_not(None), D.start_date >= since
        )
    )
    found: dict[str, list[datetime]] = defaultdict(list)
    for contact_id, started in rows:
        if contact_id is not None and started is not None:
            found[contact_id].append(started)
    return found


def lock_task_chains(session: Session, *, task_ids: set[uuid.UUID]) -> dict[uuid.UUID, DeliveryTask]:
    """The tasks of claimed deliveries, locked (after their deliveries: dialer/tasks.py's lock order)."""
    return lock_tasks(session, task_ids=task_ids)


def delivery_windows(session: Session, *, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Window]]:
    return {row.id: row.windows for row in session.execute(select(D.id, D.windows).where(D.id.in_(ids)))}


def add_opt_outs(session: Session, rows: list[dict[str, Any]]) -> None:
    """New opt-outs (a number or a contact that said no), written with the call or SMS that said it."""
    insert_rows(session, OptOut, rows)


def message_template(session: Session, *, config_id: uuid.UUID) -> uuid.UUID | None:
    """The message template the engagement's active planner settings name (its message template lookup)."""
    planner = session.scalars(applicable_planners([config_id]).limit(1)).first()
    return None if planner is None else planner.message_template_id


def task_messages(session: Session, *, task_ids: set[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """The SMS text each task's request carried (CCaaS_CreateProactiveDelivery's Message)."""
    if not task_ids:
        return {}
    rows = session.execute(select(DeliveryTask.id, DeliveryTask.message).where(DeliveryTask.id.in_(task_ids)))
    return {task_id: message for task_id, message in rows}


def delete_input_attributes(session: Session, *, delivery_id: uuid.UUID) -> None:
    """A delivery's Input attributes, before it takes another contact's (a quiet phone skipped)."""
    session.execute(
        delete(DeliveryAttribute).where(
            DeliveryAttribute.delivery_id == delivery_id, DeliveryAttribute.type == AttributeType.INPUT
        )
    )


def insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """The next dials of delivery tasks (db.rows.delivery_row), one executemany."""
    insert_rows(session, D, rows)


def lock_tasks(session: Session, *, task_ids: set[uuid.UUID]) -> dict[uuid.UUID, DeliveryTask]:
    """The delivery tasks, locked in id order (after their deliveries: dialer/tasks.py's lock order)."""
    if not task_ids:
        return {}
    tasks = session.scalars(
        select(DeliveryTask).where(DeliveryTask.id.in_(sorted(task_ids))).order_by(DeliveryTask.id).with_for_update()
    )
    return {task.id: task for task in tasks}


def configs_by_id(session: Session, *, config_ids: set[uuid.UUID]) -> dict[uuid.UUID, EngagementConfig]:
    if not config_ids:
        return {}
    return {
        config.id: config
        for config in session.scalars(select(EngagementConfig).where(EngagementConfig.id.in_(config_ids)))
    }


def recent_predictive_figures(
    session: Session, *, config_id: uuid.UUID, sample: int = 100
) -> tuple[float | None, float | None]:
    """(live-answer rate, abandonment rate among answered) over the engagement's latest finished calls."""
    results = list(
        session.scalars(
            select(D.result)
            .where(D.engagement_config_id == str(config_id), D.result.is_not(None), D.call_plan.is_not(None))
            .order_by(D.result_date.desc(), D.sequence.desc())  # ties the same way on every database
            .limit(sample)
        )
    )
    if not results:
        return None, None
    answered = [r for r in results if r in (DeliveryResult.LIVE_ANSWER, DeliveryResult.ABANDONED)]
    abandoned = sum(1 for r in answered if r is DeliveryResult.ABANDONED)
    return len(answered) / len(results), (abandoned / len(answered) if answered else None)


def pacing_scale(session: Session, *, config_id: uuid.UUID, now: datetime) -> EngagementPacing:
    session.execute(
        insert_for(session.get_bind().dialect.name, EngagementPacing)
        .values(engagement_config_id=config_id, scale=1.0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["engagement_config_id"])
    )
    return session.scalars(
        select(EngagementPacing).where(EngagementPacing.engagement_config_id == config_id).with_for_update()
    ).one()


@dataclass(frozen=True)
class DueWork:
    """What there is to do at a moment; each is one index seek."""

    windows_open: bool
    """A Pending delivery whose window has started (it may be dialled, capacity permitting)."""
    calls_ending: bool
    """An InProcess call whose planned end has come."""
    windows_closed: bool
    """A Pending delivery whose window has ended (it moves to its next window or expires)."""


def _earliest(column: Any, *conditions: Any) -> Any:
    return select(func.min(column)).where(*conditions).scalar_subquery()


def _any(*conditions: Any) -> Any:
    return exists().where(*conditions)


# Each of these is one round trip (three index seeks in one statement), built once: time travel asks them at every
# event time, where building and compiling three statements cost more than running them.
_MOMENT = bindparam("moment", type_=D.window_start_date.type)
_DUE_WORK = select(
    _any(C.status == _PENDING, C.window_start_date <= _MOMENT),
    _any(C.status == _IN_PROCESS, C.call_ends_at <= _MOMENT),
    _any(C.status == _PENDING, C.window_end_date <= _MOMENT),
)
_NEXT_EVENT = select(
    _earliest(C.call_ends_at, C.status == _IN_PROCESS),
    _earliest(C.window_start_date, C.status == _PENDING, C.window_start_date > _MOMENT),
    _earliest(C.window_end_date, C.status == _PENDING, C.window_end_date > _MOMENT),
)
_STATUSES = {"pending": PENDING, "in_process": IN_PROCESS}


def due_work(session: Session, *, now: datetime) -> DueWork:
    """Which kinds of work are due at `now`, so a tick takes SQLite's write lock only for those."""
    windows_open, calls_ending, windows_closed = session.execute(_DUE_WORK, {"moment": now} | _STATUSES).one()
    return DueWork(
        windows_open=bool(windows_open), calls_ending=bool(calls_ending), windows_closed=bool(windows_closed)
    )


def next_event_after(session: Session, *, moment: datetime) -> datetime | None:
    """The earliest moment after `moment` when something can happen: a call ends, a window opens or closes."""
    found = session.execute(_NEXT_EVENT, {"moment": moment} | _STATUSES).one()
    present = [value for value in found if value is not None]
    return min(present) if present else None


_NEXT_EVENT_AND_DUE = select(
    _earliest(C.call_ends_at, C.status == _IN_PROCESS),
    _earliest(C.window_start_date, C.status == _PENDING, C.window_start_date > _MOMENT),
    _earliest(C.window_end_date, C.status == _PENDING, C.window_end_date > _MOMENT),
    _earliest(C.window_start_date, C.status == _PENDING),
    _earliest(C.window_end_date, C.status == _PENDING),
)


@dataclass(frozen=True)
class Upcoming:
    """The next event time after a moment, what is due then, and until when only calls can end."""

    at: datetime | None
    due: DueWork
    quiet_until: datetime | None
    """The next window opening or closing after the moment (None: none)."""

    @property
    def calls_only(self) -> bool:
        """Only calls end at `at`, and no delivery waits inside its window: until quiet_until, ticks only end
        calls."""
        return self.due.calls_ending and not self.due.windows_open and not self.due.windows_closed


def next_event_and_due(session: Session, *, moment: datetime) -> Upcoming:
    """next_event_after and, in the same statement, due_work at that moment (as far as this transaction sees,
    which on SQLite is all there is: time travel holds the writer between the two)."""
    parameters = {"moment": moment, "pending": PENDING, "in_process": IN_PROCESS}
    ending, opening, closing, opened, closed = session.connection().execute(_NEXT_EVENT_AND_DUE, parameters).one()
    present = [value for value in (ending, opening, closing) if value is not None]
    upcoming = min(present) if present else None

    def by(value: datetime | None) -> bool:
        return value is not None and upcoming is not None and value <= upcoming

    due = DueWork(windows_open=by(opened), calls_ending=by(ending), windows_closed=by(closed))
    windows = [value for value in (opening, closing) if value is not None]
    return Upcoming(upcoming, due, min(windows) if windows else None)
