"""One tick of the dialer at a moment of simulated time: windows, call ends, then new dials.

Each step is its own unit of work, so a worker killed between two of them leaves every delivery in a
state another worker can pick up; a delivery is dialled in exactly one committed Pending -> InProcess
transition, which also stores the call's planned outcome.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ccaas_emulator import chain, compliance, journal
from ccaas_emulator.clock import real_now
from ccaas_emulator.db.models import EngagementConfig
from ccaas_emulator.db.rows import Author, attribute_rows
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.dialer import capacity, repository, tasks
from ccaas_emulator.dialer.outcomes import (
    DIALLABLE_RESULTS,
    SENDABLE_RESULTS,
    CallPlan,
    CallSimulator,
    MessageSimulator,
    ScriptedCall,
)
from ccaas_emulator.domain import (
    AttributeType,
    Channel,
    DeliveryResult,
    DeliveryStatus,
    DialMode,
    PhoneType,
    format_timestamp,
)
from ccaas_emulator.journal import StateChange

PENDING, IN_PROCESS = DeliveryStatus.PENDING, DeliveryStatus.IN_PROCESS
T = TypeVar("T")


@dataclass
class TickReport:
    """What one tick did."""

    dialled: int = 0
    completed: int = 0
    expired: int = 0
    rewindowed: int = 0
    chained: int = 0
    """Next dials of delivery tasks scheduled (a phone, a contact or a loop further on)."""
    results: dict[DeliveryResult, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, other: TickReport) -> None:
        self.dialled += other.dialled
        self.completed += other.completed
        self.expired += other.expired
        self.rewindowed += other.rewindowed
        self.chained += other.chained
        for key, value in other.results.items():
            self.results[key] += value

    @property
    def changed(self) -> int:
        return self.dialled + self.completed + self.expired + self.rewindowed + self.chained

    def to_json(self) -> dict[str, Any]:
        return {"dialled": self.dialled, "completed": self.completed, "expired": self.expired,
                "rewindowed": self.rewindowed, "chained": self.chained,
                "results": {str(r): n for r, n in self.results.items()}}  # fmt: skip


class Dispatcher:
    """Advances deliveries at a given moment; safe to run in several processes at once on PostgreSQL."""

    def __init__(
        self,
        database: Database,
        simulator: CallSimulator,
        *,
        worker: str,
        lease_seconds: float,
        batch_size: int,
        messages: MessageSimulator | None = None,
    ) -> None:
        self.database = database
        self.simulator = simulator
        self.messages = messages or MessageSimulator(seed=0)
        self.worker = worker
        self.lease = timedelta(seconds=lease_seconds)
        self.batch = batch_size
        self._next_renewal = real_now()
        self._lookups: dict[Hashable, Any] | None = None

    @contextmanager
    def lookups_kept(self) -> Iterator[None]:
        """Inside the block, read once the look-ups the dialer's own writes never change (the dialable engagements,
        ranked engagements, planner contact rules and message templates, queue sizes, cancellation policies, whether
        any opt-out exists): time travel holds one write transaction over many event times, so nobody else's change
        can land in between on SQLite, and on PostgreSQL a change lands at the next transaction, as with a tick."""
        self._lookups = {}
        try:
            yield
        finally:
            self._lookups = None

    def lock_queues_first(self) -> None:
        """Inside lookups_kept: lock, before anything else in the transaction, the queues of every voice engagement
        (those that have their row yet), kept until it commits. Time travel's transaction locks tasks at one event
        time and may need a queue at a later one: taken then, a worker dispatching that queue and waiting for one
        of those tasks would wait on each other (PostgreSQL would end one of them as a deadlock)."""
        with self.database.transaction() as session:
            engagements = self._kept("engagements", lambda: repository.dialable_engagements(session))
            queues = {config.queue_id or config.id for config in engagements
                      if config.outreach_type.channel is Channel.VOICE}  # fmt: skip
            locked = repository.lock_queues(session, queue_ids=queues)
        if self._lookups is not None:
            self._lookups.update({("queue", queue_id): pool for queue_id, pool in locked.items()})

    def _kept(self, key: Hashable, load: Callable[[], T]) -> T:
        if self._lookups is None:
            return load()
        if key not in self._lookups:
            self._lookups[key] = load()
        found: T = self._lookups[key]
        return found

    def tick(
        self,
        now: datetime,
        *,
        take_over_all: bool = False,
        due: repository.DueWork | None = None,
        posted_by: datetime | None = None,
    ) -> TickReport:
        """Everything due at `now`: close windows, finish calls, dial what capacity allows.

        `due` is what is due at `now` when the caller knows it already (time travel reads it with the next event
        time, in the same transaction); `posted_by`: dial only deliveries created by then (a running clock's
        catch-up ticks at moments already past, when later deliveries may exist)."""
        report = TickReport()
        if real_now() >= self._next_renewal:
            with self.database.transaction() as session:
                repository.renew_leases(session, worker=self.worker, until=real_now() + self.lease)
            self._next_renewal = real_now() + self.lease / 3
        if due is None:
            with self.database.read() as session:
                due = repository.due_work(session, now=now)
        # A step with nothing due takes no write transaction: with a fast clock the dialer ticks back to back,
        # and empty write transactions queued the actions' commits behind SQLite's one writer.
        if due.windows_closed:
            # Another pass only when this one may have left some behind: a full batch, or a task's next dial
            # scheduled (which could already be past its window).
            while True:
                step, claimed = self._close_windows(now)
                report.add(step)
                if claimed < self.batch and not step.chained:
                    break
        if due.calls_ending:
            while True:  # ending a call makes no other call end: another pass only after a full batch
                step, claimed = self._finish_calls(now, take_over_all)
                report.add(step)
                if claimed < self.batch:
                    break
        # A delivery moved to its next window, or a task's next dial, may be due at once.
        if due.windows_open or report.rewindowed or report.chained:
            step = self._dial(now, posted_by)
            report.add(step)
            # A dial cancelled before it was made (an opt-out, a policy) may have scheduled its task's next one,
            # due now; a chain is finite, so this ends.
            while step.chained:
                step = self._dial(now, posted_by)
                report.add(step)
        return report

    # --- windows --------------------------------------------------------------------------------------

    def _close_windows(self, now: datetime) -> tuple[TickReport, int]:
        """Move or expire the Pending deliveries whose window has closed; returns what it did and how many it
        claimed."""
        report = TickReport()
        with self.database.transaction() as session:
            rows = repository.pending_past_their_window(session, now=now, limit=self.batch)
            updates, changes, ended = [], [], []
            for row in rows:
                upcoming = [window for window in row.windows if window.end > now]
                if upcoming:
                    start, end = upcoming[0].start, upcoming[0].end
                    updates.append({"id": row.id, "window_start_date": start, "window_end_date": end,
                                    "modified_on": now, "version": row.version + 1})  # fmt: skip
                    report.rewindowed += 1
                    continue
                # 002_/C1: no valid window left -> Expired; a preview call no representative took in time
                # ends Terminated.
                preview = row.dial_mode is DialMode.PREVIEW
                result = DeliveryResult.TERMINATED if preview else DeliveryResult.EXPIRED
                updates.append({"id": row.id, "status": result.status, "result": result,
                                "result_date": now, "modified_on": now, "version": row.version + 1})  # fmt: skip
                changes.append(StateChange(row.id, now, PENDING, result.status, result))
                if row.task_id is not None:
                    ended.append(tasks.EndedDial(row.id, row.task_id, result, (), now, row.priority_number))
                report.expired += 1
                report.results[result] += 1
            repository.update_deliveries(session, updates)
            journal.record(session, changes, actor=self.worker)
            report.chained += tasks.follow(session, ended, now=now, actor=self.worker)
        return report, len(rows)

    # --- call ends ------------------------------------------------------------------------------------

    def _finish_calls(self, now: datetime, take_over_all: bool) -> tuple[TickReport, int]:
        """End the calls whose planned end has come; returns what it did and how many it claimed."""
        with self.database.transaction() as session:
            rows = repository.calls_ending(
                session, now=now, worker=self.worker, real_now=real_now(),
                take_over_all=take_over_all, limit=self.batch,
            )  # fmt: skip
            return self._end_calls(session, rows, now), len(rows)

    def end_calls_before(self, before: datetime) -> CallEnds:
        """Time travel's run of call ends: the calls ending before `before`, each as the tick at its own end would
        end it, in one claim and one write, up to the first call of a delivery task (whose next dial may be due at
        once, so it ends in a tick of its own).

        For time travel only, in its transaction, where the caller knows that until `before` no window opens or
        closes and no delivery is waiting inside its window: so no tick at any of these moments would dial, and a
        call's end changes nothing another one's end reads."""
        with self.database.transaction() as session:
            rows = repository.calls_ending_before(session, before=before, limit=self.batch)
            task_call = next((row for row in rows if row.task_id is not None), None)
            if task_call is not None:
                rows = [row for row in rows if row.call_ends_at < task_call.call_ends_at]
            if not rows:
                return CallEnds(TickReport(), None, 0, at_task_call=task_call is not None)
            report = self._end_calls(session, rows, None)
        moments = len({row.call_ends_at for row in rows})
        return CallEnds(report, rows[-1].call_ends_at, moments, at_task_call=task_call is not None)

    def _end_calls(self, session: Any, rows: list[Any], now: datetime | None) -> TickReport:
        """Write the ends of claimed calls (`now`: the tick's moment; None: each at its own end)."""
        report = TickReport()
        if rows:
            updates, attributes, changes, ended_dials, opt_outs = [], [], [], [], []
            for row in rows:
                plan = CallPlan.from_json(row.call_plan)
                ended = row.call_ends_at
                status = plan.result.status
                updates.append(
                    {
                        "id": row.id,
                        "status": status,
                        "result": plan.result,
                        "end_date": ended,
                        "result_date": ended,
                        "disposition_codes": ",".join(f'"{code}"' for code in plan.disposition_codes) or None,
                        "lease_owner": None,
                        "lease_expires_at": None,
                        "modified_on": ended if now is None else now,
                        "version": row.version + 1,
                    }
                )
                attributes += attribute_rows(delivery_id=row.id, attributes=plan.attributes, kind=AttributeType.RESULT,
                                             author=Author(user_id=None, at=ended))  # fmt: skip
                changes.append(StateChange(row.id, ended, IN_PROCESS, status, plan.result,
                                           {"sipCode": plan.sip_code, "source": plan.source}))  # fmt: skip
                opt_outs += _opt_outs_of(row, plan, ended)
                if row.task_id is not None:
                    codes = tuple(plan.disposition_codes)
                    ended_dials.append(
                        tasks.EndedDial(row.id, row.task_id, plan.result, codes, ended, row.priority_number)
                    )
                report.completed += 1
                report.results[plan.result] += 1
            repository.update_deliveries(session, updates)
            repository.insert_attributes(session, attributes)
            repository.add_opt_outs(session, opt_outs)
            if opt_outs and self._lookups is not None:
                self._lookups["opt-outs"] = True
            journal.record(session, changes, actor=self.worker)
            if ended_dials:
                assert now is not None  # a run of call ends stops before a task's call
                report.chained += tasks.follow(session, ended_dials, now=now, actor=self.worker)
        return report

    # --- new dials ------------------------------------------------------------------------------------

    def _dial(self, now: datetime, posted_by: datetime | None = None) -> TickReport:
        report = TickReport()
        by_queue: dict[uuid.UUID, list[EngagementConfig]] = defaultdict(list)
        with self.database.read() as session:
            dialable = self._kept("engagements", lambda: repository.dialable_engagements(session))
            found = repository.open_now(session, config_ids=[config.id for config in dialable], now=now)
            due = [config for config in dialable if config.id in found.engagements]
            engagements = [config for config in due if config.outreach_type.channel is Channel.VOICE]
            sms = [config for config in due if config.outreach_type.channel is Channel.SMS]
            for config in engagements:
                # An engagement without a queue gets a pool of its own.
                by_queue[config.queue_id or config.id].append(config)
            in_flight = found.in_flight
            ready = {
                queue: configs
                for queue, configs in by_queue.items()
                if self._has_room(session, queue, configs, in_flight)
            }
            ranked = self._kept("ranked", lambda: repository.ranked_engagements(session)) if ready or sms else set()
        claims = _Claims(now, ranked, few_open=found.few, posted_by=posted_by)
        for queue_id, configs in ready.items():
            report.add(self._dial_queue(queue_id, configs, claims, in_flight))
        for config in sms:
            report.add(self._send_messages(config, claims))
        return report

    def _started(
        self, row: Any, config: EngagementConfig, plan: CallPlan, now: datetime, lease_until: datetime, *, call: bool
    ) -> dict[str, Any]:
        """The Pending -> InProcess update of a dial or an SMS: what it carries, when it ends, who holds it."""
        return {
            "id": row.id,
            "status": IN_PROCESS,
            "start_date": now,
            "channel_sent_date": now,
            "call_id": str(uuid.uuid4()) if call else None,
            "conversation_id": str(uuid.uuid4()) if plan.result.answered else None,
            "queue_id": str(config.queue_id) if config.queue_id else None,
            "from_address": config.from_address,
            "call_plan": plan.to_json(),
            "call_ends_at": now + timedelta(seconds=plan.duration_seconds),
            "lease_owner": self.worker,
            "lease_expires_at": lease_until,
            "modified_on": now,
            "version": row.version + 1,
        }

    # --- consent and cancellation policies -------------------------------------------------------------

    def _suppress(
        self, session: Any, config: EngagementConfig, rows: list[Any], now: datetime, report: TickReport
    ) -> list[Any]:
        """The claimed deliveries that may be made; the others (an opt-out, a cancellation policy) end Cancelled
        here, never dialled or sent, with Result attributes saying why, and their tasks move on."""
        if self._lookups is None:
            blocked = repository.suppressed(session, config=config, rows=rows, now=now)
        else:
            blocked = repository.suppressed(
                session, config=config, rows=rows, now=now,
                policies=self._kept("policies", lambda: repository.cancellation_policies(session)),
                opt_outs=self._kept("opt-outs", lambda: repository.any_opt_out(session)),
            )  # fmt: skip
        if not blocked:
            return self._hold_capped(session, config, rows, now, report)
        updates, attributes, changes, ended = [], [], [], []
        cancelled = DeliveryResult.CANCELLED
        for row in rows:
            reason = blocked.get(row.id)
            if reason is None:
                continue
            updates.append({"id": row.id, "status": cancelled.status, "result": cancelled, "result_date": now,
                            "modified_on": now, "version": row.version + 1})  # fmt: skip
            attributes += attribute_rows(delivery_id=row.id, attributes=reason, kind=AttributeType.RESULT,
                                         author=Author(user_id=None, at=now))  # fmt: skip
            changes.append(StateChange(row.id, now, PENDING, cancelled.status, cancelled, dict(reason)))
            if row.task_id is not None:
                ended.append(tasks.EndedDial(row.id, row.task_id, cancelled, (), now, row.priority_number))
            report.results[cancelled] += 1
        repository.update_deliveries(session, updates)
        repository.insert_attributes(session, attributes)
        journal.record(session, changes, actor=self.worker)
        report.chained += tasks.follow(session, ended, now=now, actor=self.worker)
        report.completed += len(updates)
        return self._hold_capped(session, config, [row for row in rows if row.id not in blocked], now, report)

    def _hold_capped(
        self, session: Any, config: EngagementConfig, rows: list[Any], now: datetime, report: TickReport
    ) -> list[Any]:
        """The claimed deliveries the engagement's quiet hours and frequency limits allow now (issue #14 items 2-3).

        Quiet hours (per phone type, in the contact's time zone): a task's phone in quiet hours is skipped for this
        attempt, the delivery moving to the next phone of the chain that is not quiet and inside a window; when there
        is none it waits, inside its windows, until its phone's quiet time ends. Frequency limits: a contact at its
        limit waits for the local day or week to turn. A delivery with no window left by then expires."""
        rules = self._kept(("rules", config.id), lambda: repository.contact_rules(session, config_id=config.id))
        if rules is None:
            return rows
        owners = repository.lock_tasks(session, task_ids={row.task_id for row in rows if row.task_id})
        held: dict[uuid.UUID, tuple[Any, datetime, str]] = {}
        allowed = []
        for row in rows:
            task = owners.get(row.task_id) if row.task_id else None
            if task is None or not rules.quiet:  # first-generation deliveries have no planner rules (wire-facts A1)
                allowed.append(row)
                continue
            contact, phone_type = _contact_and_type(task, row, config)
            quiet = rules.quiet.get(phone_type)
            until = quiet.quiet_until(now, rules.zone_for(contact.iana if contact else None)) if quiet else None
            if until is None:
                allowed.append(row)
            elif (slot := _unquiet_slot(task, rules, now, config)) is not None:
                self._retarget(session, row, task, slot, now, report)
            else:
                held[row.id] = (row, until, "QuietHours")
        contacts = {row.contact_id for row in allowed if row.contact_id}
        if rules.cap is not None and contacts:
            engaged = repository.engagement_times(session, contact_ids=contacts, since=now - timedelta(days=8))
            capped = []
            for row in allowed:
                task = owners.get(row.task_id) if row.task_id else None
                if task is None:  # the first-generation voice action has no frequency capping (wire-facts A1)
                    capped.append(row)
                    continue
                contact = _contact_and_type(task, row, config)[0]
                zone = rules.zone_for(contact.iana if contact else None)
                reopens = compliance.cap_reopens(rules.cap, engaged.get(row.contact_id, []), now, zone)
                if reopens is None or not row.contact_id:
                    engaged.setdefault(row.contact_id, []).append(now)  # the dial about to be made counts
                    capped.append(row)
                else:
                    held[row.id] = (row, reopens, "FrequencyCap")
            allowed = capped
        if held:
            self._defer(session, held, now, report)
        return allowed

    def _retarget(
        self, session: Any, row: Any, task: Any, slot: tuple[int, int], now: datetime, report: TickReport
    ) -> None:
        """Skip the delivery's quiet phone for this attempt: the same row now dials the chain's next phone."""
        contact, phone = task.contacts.contacts[slot[0]], task.contacts.contacts[slot[0]].phones[slot[1]]
        windows = list(chain.clip(contact.windows, now))
        repository.update_deliveries(session, [{
            "id": row.id, "to_address": phone.number, "contact_id": contact.contact_id, "windows": windows,
            "window_start_date": windows[0].start, "window_end_date": windows[0].end, "earliest_schedule_date": now,
            "expiration_date": max(window.end for window in windows), "modified_on": now, "version": row.version + 1,
        }])  # fmt: skip
        if contact.contact_id != row.contact_id:  # the next contact's own input attributes
            repository.delete_input_attributes(session, delivery_id=row.id)
            repository.insert_attributes(session, attribute_rows(
                delivery_id=row.id, attributes=contact.attributes, kind=AttributeType.INPUT,
                author=Author(user_id=task.owner_id, at=now)))  # fmt: skip
        skipped = {"reason": "QuietHours", "skippedNumber": row.to_address, "skippedContactId": row.contact_id}
        dial = chain.Dial(chain.Position(task.loop_number, *slot), contact, phone, now, tuple(windows))
        change = StateChange(row.id, now, PENDING, PENDING, None, skipped | chain.step_detail(task.id, dial))
        journal.record(session, [change], actor=self.worker)
        task.contact_index, task.phone_index = slot
        task.modified_on = now
        task.version += 1
        report.chained += 1  # due now: the dial pass comes round again for it

    def _defer(
        self, session: Any, held: dict[uuid.UUID, tuple[Any, datetime, str]], now: datetime, report: TickReport
    ) -> None:
        windows = repository.delivery_windows(session, ids=list(held))
        updates, attributes, changes, ended = [], [], [], []
        for delivery_id, (row, reopens, reason) in held.items():
            later = chain.clip(windows.get(delivery_id) or [], reopens)
            if later:
                updates.append({"id": delivery_id, "window_start_date": later[0].start, "window_end_date": later[0].end,
                                "earliest_schedule_date": reopens, "windows": list(later), "modified_on": now,
                                "version": row.version + 1})  # fmt: skip
                detail = {"heldUntil": format_timestamp(reopens), "reason": reason}
                changes.append(StateChange(delivery_id, now, PENDING, PENDING, None, detail))
                report.rewindowed += 1
                continue
            expired = DeliveryResult.EXPIRED
            updates.append({"id": delivery_id, "status": expired.status, "result": expired, "result_date": now,
                            "modified_on": now, "version": row.version + 1})  # fmt: skip
            attributes += attribute_rows(delivery_id=delivery_id, attributes={"ExpiredReason": reason},
                                         kind=AttributeType.RESULT, author=Author(user_id=None, at=now))  # fmt: skip
            changes.append(StateChange(delivery_id, now, PENDING, expired.status, expired, {"reason": reason}))
            if row.task_id is not None:
                ended.append(tasks.EndedDial(delivery_id, row.task_id, expired, (), now, row.priority_number))
            report.expired += 1
            report.results[expired] += 1
        repository.update_deliveries(session, updates)
        repository.insert_attributes(session, attributes)
        journal.record(session, changes, actor=self.worker)
        report.chained += tasks.follow(session, ended, now=now, actor=self.worker)

    # --- SMS ------------------------------------------------------------------------------------------

    def _send_messages(self, config: EngagementConfig, claims: _Claims) -> TickReport:
        """Hand every due SMS of the engagement to the simulated messaging runtime (no representative or line
        limits it): InProcess until its result (sent, a reply, the first-response timeout)."""
        report = TickReport()
        with self.database.transaction() as session:
            now = claims.now
            rows = self._suppress(session, config, claims.take(session, config, self.batch), now, report)
            if not rows:
                return report
            scripted = self._scripted(session, rows, SENDABLE_RESULTS)
            texts = repository.task_messages(session, task_ids={row.task_id for row in rows if row.task_id})
            template = self._kept(
                ("template", config.id), lambda: repository.message_template(session, config_id=config.id)
            )
            lease_until = real_now() + self.lease
            updates, attributes, changes = [], [], []
            for row in rows:
                queued = scripted.get(row.to_address)
                plan = self.messages.plan(delivery_id=row.id, scripted=queued.pop(0) if queued else None)
                updates.append(self._started(row, config, plan, now, lease_until, call=False))
                text = texts.get(row.task_id) if row.task_id else row.message
                # What was sent (001_...): the request's Message (a task's, or a first-generation SMS's own), else
                # the engagement's template (its text is not modelled, so the reference is kept).
                sent_as = {"MessageText": text} if text is not None else {}
                if text is None and template is not None:
                    sent_as = {"MessageTemplateId": str(template)}
                attributes += attribute_rows(
                    delivery_id=row.id,
                    attributes=sent_as,
                    kind=AttributeType.RESULT,
                    author=Author(user_id=None, at=now),
                )
                changes.append(StateChange(row.id, now, PENDING, IN_PROCESS, None,
                                           {"plannedResult": plan.result, "source": plan.source}))  # fmt: skip
            repository.update_deliveries(session, updates)
            repository.insert_attributes(session, attributes)
            journal.record(session, changes, actor=self.worker)
            report.dialled += len(rows)
        return report

    def _scripted(
        self, session: Any, rows: list[Any], results: frozenset[DeliveryResult]
    ) -> dict[str, list[ScriptedCall]]:
        """Consume the outcomes scripted for the claimed numbers (none to look for when time travel found the
        table empty at the start of its transaction: only the control API adds to it)."""
        if not rows or not self._kept("scripted", lambda: repository.any_scripted_outcome(session)):
            return {}
        return repository.take_scripted_outcomes(session, numbers=[row.to_address for row in rows], results=results)

    def _has_room(
        self, session: Any, queue_id: uuid.UUID, configs: list[EngagementConfig], in_flight: dict[str, int]
    ) -> bool:
        """Read only: whether a queue might take one more call. A queue whose engagements are all at their
        limits is not locked and dispatched (which is a write transaction) until a call ends; _dial_queue
        decides for real, under the lock."""
        engagements = [self._engagement(config, in_flight) for config in configs]
        if any(not engagement.representative_led and capacity.copilot_slots(engagement) for engagement in engagements):
            return True
        led = [engagement for engagement in engagements if engagement.representative_led]
        if not led:
            return False
        representatives = self._kept(
            ("representatives", queue_id), lambda: repository.queue_representatives(session, queue_id=queue_id)
        )
        if representatives is None and self._lookups is not None:
            del self._lookups[("representatives", queue_id)]  # the pool row comes with the queue's first dispatch
        return representatives is None or capacity.available_representatives(representatives, led) > 0

    def _dial_queue(
        self, queue_id: uuid.UUID, configs: list[EngagementConfig], claims: _Claims, in_flight: dict[str, int]
    ) -> TickReport:
        """Dial what the queue's capacity allows.

        `in_flight` (the calls in progress, read before) counts only when this transaction held the queue's lock
        when it was read: time travel locks a queue once and keeps the lock until it commits, so no other worker
        dials the queue's engagements in between; otherwise the calls are counted again under the lock."""
        report, now = TickReport(), claims.now
        with self.database.transaction() as session:
            locked = self._lookups is not None and ("queue", queue_id) in self._lookups
            # One dispatcher per queue at a time.
            pool = self._kept(("queue", queue_id), lambda: repository.lock_queue(session, queue_id=queue_id))
            if not locked:
                in_flight = repository.calls_in_progress(session, now=now)
            engagements = {}
            for config in configs:
                ratio = 1.0
                if config.dial_mode is DialMode.PREDICTIVE:
                    ratio = self._predictive_ratio(session, config, now)
                engagements[config.id] = self._engagement(config, in_flight, ratio)
            by_id = {config.id: config for config in configs}
            handle = pool.average_handle_seconds
            # Copilot engagements need no representative: each dials up to its own concurrency limit.
            for engagement in engagements.values():
                if not engagement.representative_led:
                    limit = min(capacity.copilot_slots(engagement), self.batch)
                    rows = claims.take(session, by_id[engagement.id], limit)
                    if rows:
                        self._start_calls(session, by_id[engagement.id], rows, now, 0.0, handle, report)
            led = [e for e in engagements.values() if e.representative_led]
            if led:
                available = capacity.available_representatives(pool.representatives, led)
                self._dial_representative_led(session, led, by_id, available, pool.round_robin_cursor, now,
                                              handle, report, claims)  # fmt: skip
                pool.round_robin_cursor += 1
        return report

    @staticmethod
    def _engagement(config: EngagementConfig, in_flight: dict[str, int], ratio: float = 1.0) -> capacity.Engagement:
        return capacity.Engagement(
            id=config.id, dial_mode=config.dial_mode, priority=config.priority,
            max_concurrent_calls=config.max_concurrent_calls, max_calls_per_agent=config.max_calls_per_agent,
            in_flight=in_flight.get(str(config.id), 0), predictive_ratio=ratio,
        )  # fmt: skip

    def _dial_representative_led(
        self, session: Any, led: list[capacity.Engagement], by_id: dict[uuid.UUID, EngagementConfig],
        available: float, cursor: int, now: datetime, handle: int, report: TickReport, claims: _Claims,
    ) -> None:  # fmt: skip
        """Higher priority first; a lower priority gets representatives only once every engagement above
        it has nothing more due (002_...). An engagement that returns fewer due deliveries than it was
        granted has run dry, and what it leaves goes round again to the others."""
        budget = available
        for priority in sorted({e.priority for e in led}):
            group = [e for e in led if e.priority == priority]
            dry: set[uuid.UUID] = set()
            # Each round either spends the budget or runs someone dry, so the loop ends.
            while budget > 1e-9 and (active := [e for e in group if e.id not in dry]):
                grants = capacity.allocate(active, budget=budget, pool=available, cursor=cursor,
                                           wanted={e.id: self.batch for e in active})  # fmt: skip
                if not grants:
                    break
                for engagement in active:
                    granted = grants.get(engagement.id, 0)
                    if not granted:
                        continue
                    config = by_id[engagement.id]
                    rows = claims.take(session, config, granted)
                    if len(rows) < granted:
                        dry.add(engagement.id)
                    if rows:
                        self._start_calls(session, config, rows, now, available, handle, report)
                        budget -= len(rows) * engagement.cost_per_call(available)
            if len(dry) < len(group):
                return  # this priority still has due work the representatives cannot take yet

    def _predictive_ratio(self, session: Any, config: EngagementConfig, now: datetime) -> float:
        pacing = repository.pacing_scale(session, config_id=config.id, now=now)
        answer_rate, abandonment = repository.recent_predictive_figures(session, config_id=config.id)
        if now - pacing.updated_at >= capacity.PACING_INTERVAL:
            pacing.scale = capacity.next_scale(pacing.scale, abandonment_rate=abandonment)
            pacing.updated_at = now
        return capacity.predictive_ratio(scale=pacing.scale, answer_rate=answer_rate)

    def _start_calls(
        self, session: Any, config: EngagementConfig, rows: list[Any], now: datetime, available: float,
        handle_seconds: int, report: TickReport,
    ) -> None:  # fmt: skip
        rows = self._suppress(session, config, rows, now, report)
        scripted = self._scripted(session, rows, DIALLABLE_RESULTS)
        predictive = config.dial_mode is DialMode.PREDICTIVE and available >= capacity.PREDICTIVE_MIN_REPRESENTATIVES
        answered = 0
        lease_until = real_now() + self.lease
        updates, changes = [], []
        for row in rows:
            queued = scripted.get(row.to_address)
            plan = self.simulator.plan(
                delivery_id=row.id, to_address=row.to_address, dial_mode=config.dial_mode,
                handle_seconds=handle_seconds, scripted=queued.pop(0) if queued else None,
            )  # fmt: skip
            if predictive and plan.result is DeliveryResult.LIVE_ANSWER:
                answered += 1
                if capacity.abandoned_beyond(answered, available):
                    plan = plan.with_result(DeliveryResult.ABANDONED, "predictive-overdial")
            updates.append(self._started(row, config, plan, now, lease_until, call=True))
            changes.append(StateChange(row.id, now, PENDING, IN_PROCESS, None,
                                       {"plannedResult": plan.result, "source": plan.source}))  # fmt: skip
        repository.update_deliveries(session, updates)
        journal.record(session, changes, actor=self.worker)
        report.dialled += len(rows)


@dataclass(frozen=True)
class CallEnds:
    """What a run of call ends did (Dispatcher.end_calls_before)."""

    report: TickReport
    last: datetime | None
    """The last call's end (None: no call ended)."""
    moments: int
    """The distinct moments the calls ended at: the event times the run stands for."""
    at_task_call: bool
    """It stopped before the call of a delivery task, which ends in a tick of its own."""


@dataclass(frozen=True)
class _Claims:
    """How one dial pass claims due deliveries: at `now`; `ranked` engagements queue reattempts by their retry
    rank; `few_open`: few deliveries are open now, so claims find them by their window (repository.OpenNow);
    `posted_by`: only deliveries created by then (Dispatcher.tick)."""

    now: datetime
    ranked: set[uuid.UUID]
    few_open: bool
    posted_by: datetime | None = None

    def take(self, session: Any, config: EngagementConfig, limit: int) -> list[Any]:
        return repository.claim_due(session, config=config, now=self.now, limit=limit, ranked=config.id in self.ranked,
                                    few_open=self.few_open, posted_by=self.posted_by)  # fmt: skip


def _opt_outs_of(row: Any, plan: CallPlan, ended: datetime) -> list[dict[str, Any]]:
    """What a finished call or SMS opts out (wire-facts C4): the Do not contact disposition its number and contact,
    an SMS answered with an opt-out (OptOutReceived) its number."""
    if compliance.says_do_not_contact(plan.disposition_codes):
        source, targets = "Do not contact disposition", [{"phone_number": row.to_address}]
        if row.contact_id:
            targets.append({"contact_id": row.contact_id})
    elif plan.result is DeliveryResult.OPT_OUT_RECEIVED:
        source, targets = "OptOutReceived", [{"phone_number": row.to_address}]
    else:
        return []
    common = {"source": source, "delivery_id": row.id, "created_on": ended, "phone_number": None, "contact_id": None}
    return [common | {"id": uuid.uuid4()} | target for target in targets]


def _contact_and_type(task: Any, row: Any, config: EngagementConfig) -> tuple[Any, str]:
    """The task's contact a delivery dials, and the phone type whose quiet hours apply (an SMS: Mobile)."""
    for contact in task.contacts.contacts:
        if contact.contact_id == row.contact_id:
            phone = next((phone for phone in contact.phones if phone.number == row.to_address), None)
            if config.outreach_type.channel is Channel.SMS or phone is None:
                return contact, str(PhoneType.MOBILE)
            return contact, str(phone.type)
    return None, str(PhoneType.MOBILE)


def _unquiet_slot(
    task: Any, rules: compliance.ContactRules, now: datetime, config: EngagementConfig
) -> tuple[int, int] | None:
    """The chain's next phone in this attempt that is not in quiet hours now and whose contact has a window now."""
    sms = config.outreach_type.channel is Channel.SMS
    for contact_index, phone_index in task.contacts.slots((task.contact_index, task.phone_index)):
        contact = task.contacts.contacts[contact_index]
        if not any(window.start <= now < window.end for window in contact.windows):
            continue
        phone_type = str(PhoneType.MOBILE) if sms else str(contact.phones[phone_index].type)
        quiet = rules.quiet.get(phone_type)
        if quiet is None or quiet.quiet_until(now, rules.zone_for(contact.iana)) is None:
            return contact_index, phone_index
    return None
