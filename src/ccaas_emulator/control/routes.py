"""/emulator/v1: the control API (outside /api/data/, no Dataverse token; who may call it: control/guard.py)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Annotated, Any, cast

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from ccaas_emulator.clock import Clock, SharedClock
from ccaas_emulator.control import service, state
from ccaas_emulator.control.guard import GuardedRoute, StateRoute
from ccaas_emulator.db.models import CancellationPolicy
from ccaas_emulator.deps import ClockDep, DatabaseDep, RuntimeDep
from ccaas_emulator.dialer.outcomes import DIALLABLE_RESULTS, MAGIC_NUMBERS, SENDABLE_RESULTS, ScriptedCall
from ccaas_emulator.dialer.runner import AdvanceProgress, ProgressCallback
from ccaas_emulator.domain import DeliveryResult, format_timestamp
from ccaas_emulator.intake.rules import parse_timestamp, reject_nul
from ccaas_emulator.settings import MAX_CLOCK_SPEED
from ccaas_emulator.wire.body import parse_json
from ccaas_emulator.wire.errors import INTERNAL_ERROR, INVALID_ARGUMENT, OBJECT_DOES_NOT_EXIST, DataverseError
from ccaas_emulator.wire.responses import ODataJSONResponse, no_content

# Every route checks its caller (Host, Origin, the control token, the content type) and reads its body within
# CCAAS_MAX_BODY_BYTES before FastAPI parses it: control/guard.py.
log = logging.getLogger("ccaas_emulator.control")
router = APIRouter(prefix="/emulator/v1", tags=["Emulator control"], route_class=GuardedRoute)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # PostgreSQL text cannot hold U+0000; refused here on both back ends, as the actions refuse it.
        reject_nul(data, parameter="The request body")
        return data


class ClockChange(_Body):
    now: str | None = Field(default=None, description="Set the clock to this UTC time (ISO 8601).")
    advance: timedelta | None = Field(
        default=None, description="Move the clock forward by an ISO 8601 duration, e.g. PT2H."
    )
    speed: Annotated[float, Field(ge=0, le=MAX_CLOCK_SPEED, allow_inf_nan=False)] | None = Field(
        default=None,
        description="Simulated seconds per real second from now on (0 stops the clock, 1 is real time); "
        "applied before `now` or `advance` when given with one of them.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> ClockChange:
        if self.now is not None and self.advance is not None:
            raise ValueError("give at most one of 'now' and 'advance'")
        if self.now is None and self.advance is None and self.speed is None:
            raise ValueError("give 'now', 'advance' or 'speed'")
        if self.advance is not None and self.advance < timedelta(0):
            raise ValueError("'advance' must not be negative; set 'now' to go back in time")
        return self


class OutcomeSpec(_Body):
    result: DeliveryResult
    talkSeconds: Annotated[int, Field(ge=0, le=86_400)] | None = None
    ringSeconds: Annotated[int, Field(ge=0, le=3_600)] | None = None
    dispositionCodes: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    attributes: dict[Annotated[str, Field(min_length=1, max_length=850)], Annotated[str, Field(max_length=4000)]] = {}


class OutcomeScript(_Body):
    phoneNumber: Annotated[str, Field(min_length=1, max_length=300)]
    outcomes: Annotated[list[DeliveryResult | OutcomeSpec], Field(min_length=1, max_length=100)]


class QueueSettings(_Body):
    representatives: Annotated[int, Field(ge=0, le=10_000)]
    averageHandleSeconds: Annotated[int, Field(ge=1, le=86_400)] = 180


class ResetRequest(_Body):
    reseed: bool = False


def _shared_clock(clock: Clock) -> SharedClock:
    if not isinstance(clock, SharedClock):
        raise INVALID_ARGUMENT(message="This emulator runs on a fixed clock; it cannot be set.")
    return clock


def _clock_body(clock: Clock, **extra: Any) -> dict[str, Any]:
    speed = clock.speed if isinstance(clock, SharedClock) else 0.0
    return {"now": format_timestamp(clock.now()), "speed": speed, **extra}


@router.get("/clock", summary="The emulator's current (simulated) time")
async def read_clock(clock: ClockDep) -> ODataJSONResponse:
    return ODataJSONResponse(await run_in_threadpool(_clock_body, clock))


NDJSON = "application/x-ndjson"
PROGRESS_EVERY_SECONDS = 0.25
"""A streamed advance writes a progress line at most this often (and after its last transaction)."""


@router.post(
    "/clock",
    summary="Set or advance the clock; every delivery that becomes due runs before it returns",
    description="With `Accept: application/x-ndjson` an advance streams its progress, one JSON line per "
    '`PROGRESS_EVERY_SECONDS` (`{"progress": {...}}`), then the answer it would give as JSON (docs/control-api.md).',
)
async def change_clock(change: ClockChange, runtime: RuntimeDep, request: Request) -> Response:
    clock = _shared_clock(runtime.clock)

    def apply(progress: ProgressCallback | None = None) -> dict[str, Any]:
        # A bad timestamp is refused before the speed changes: nothing is half-applied.
        moment = parse_timestamp(change.now, parameter="now") if change.now is not None else None
        if change.speed is not None:
            clock.set_speed(change.speed)
        target = moment if change.advance is None else clock.now() + change.advance
        if target is None:
            return _clock_body(clock, processed={})
        if runtime.dialer is None or target <= clock.now():
            clock.set(target)
            return _clock_body(clock, processed={})
        report = runtime.dialer.advance_to(target, progress=progress)
        return _clock_body(clock, processed=report.to_json())

    if not _wants_ndjson(request.headers.get("accept", "")):
        return ODataJSONResponse(await run_in_threadpool(apply))
    if change.now is not None:  # a bad timestamp is a 400, not a line in a 200 stream
        await run_in_threadpool(parse_timestamp, change.now, parameter="now")
    return StreamingResponse(_progress_lines(apply), media_type=NDJSON, headers={"Cache-Control": "no-store"})


def _wants_ndjson(accept: str) -> bool:
    return any(part.split(";")[0].strip().lower() == NDJSON for part in accept.split(","))


async def _progress_lines(apply: Callable[[ProgressCallback], dict[str, Any]]) -> AsyncIterator[bytes]:
    """Run the advance on a thread; yield a progress line as its transactions commit (throttled), then the answer."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[AdvanceProgress] = asyncio.Queue()
    last_sent = [0.0]

    def heard(progress: AdvanceProgress) -> None:
        if time.monotonic() - last_sent[0] >= PROGRESS_EVERY_SECONDS or progress.reached >= progress.target:
            last_sent[0] = time.monotonic()
            loop.call_soon_threadsafe(lines.put_nowait, progress)

    work = loop.run_in_executor(None, apply, heard)
    while not work.done() or not lines.empty():
        getter: asyncio.Future[Any] = asyncio.ensure_future(lines.get())
        await asyncio.wait({getter, cast("asyncio.Future[Any]", work)}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            yield orjson.dumps({"progress": _progress_body(getter.result())}) + b"\n"
        else:
            getter.cancel()
    try:
        answer = work.result()
    except DataverseError as refused:
        answer = {"error": {"code": refused.code, "message": refused.message}}
    except Exception:  # the stream's 200 is sent: the failure is its last line, in the envelope
        request_id = uuid.uuid4().hex
        log.exception("clock advance failed (request id %s)", request_id)
        failed = INTERNAL_ERROR(request_id=request_id)
        answer = {"error": {"code": failed.code, "message": failed.message}}
    yield orjson.dumps(answer) + b"\n"


def _progress_body(progress: AdvanceProgress) -> dict[str, Any]:
    return {"start": format_timestamp(progress.start), "reached": format_timestamp(progress.reached),
            "target": format_timestamp(progress.target), "fraction": round(progress.fraction, 4),
            "eventTimes": progress.steps, "processed": progress.report.to_json()}  # fmt: skip


SCRIPTABLE_RESULTS = DIALLABLE_RESULTS | SENDABLE_RESULTS
"""A script's results: a call's for the number's next dials, an SMS's for the next messages to it."""


def _calls(script: OutcomeScript) -> list[ScriptedCall]:
    calls = []
    for item in script.outcomes:
        spec = item if isinstance(item, OutcomeSpec) else OutcomeSpec(result=item)
        if spec.result not in SCRIPTABLE_RESULTS:
            raise INVALID_ARGUMENT(
                message=f"'{spec.result.value}' is not an outcome a call or an SMS can have; scriptable results: "
                + ", ".join(sorted(result.value for result in SCRIPTABLE_RESULTS))
            )
        calls.append(ScriptedCall(spec.result, spec.talkSeconds, spec.ringSeconds, spec.dispositionCodes,
                                  spec.attributes))  # fmt: skip
    return calls


@router.post("/outcomes", summary="Script the outcomes of the next dials of a number")
async def post_outcomes(script: OutcomeScript, database: DatabaseDep, clock: ClockDep) -> ODataJSONResponse:
    calls = _calls(script)

    def apply() -> int:
        with database.transaction() as session:
            return service.script_outcomes(session, phone_number=script.phoneNumber.strip(), calls=calls,
                                           clock=clock)  # fmt: skip

    queued = await run_in_threadpool(apply)
    return ODataJSONResponse({"phoneNumber": script.phoneNumber.strip(), "queued": queued}, status_code=201)


@router.get("/outcomes", summary="Scripted outcomes not consumed yet")
async def get_outcomes(database: DatabaseDep) -> ODataJSONResponse:

    def read() -> list[dict[str, Any]]:
        with database.read() as session:
            return service.scripted_outcomes(session)

    return ODataJSONResponse({"value": await run_in_threadpool(read)})


@router.delete("/outcomes", summary="Forget every scripted outcome", status_code=204)
async def delete_outcomes(database: DatabaseDep) -> Response:

    def apply() -> None:
        with database.transaction() as session:
            service.clear_outcomes(session)

    await run_in_threadpool(apply)
    return no_content()


@router.get("/magic-numbers", summary="Destination numbers that always give one result")
async def magic_numbers() -> ODataJSONResponse:
    return ODataJSONResponse({"value": [{"phoneNumber": number, "result": result.value, "sipCode": sip}
                                        for number, (result, sip) in MAGIC_NUMBERS.items()]})  # fmt: skip


@router.get("/queues", summary="Simulated representative pools")
async def get_queues(database: DatabaseDep) -> ODataJSONResponse:

    def read() -> list[dict[str, Any]]:
        with database.read() as session:
            return service.queues(session)

    return ODataJSONResponse({"value": await run_in_threadpool(read)})


@router.put("/queues/{queue_id}", summary="Set a queue's representatives and average handle time")
async def put_queue(queue_id: uuid.UUID, settings: QueueSettings, database: DatabaseDep) -> ODataJSONResponse:

    def apply() -> None:
        with database.transaction() as session:
            service.set_queue(session, queue_id=queue_id, representatives=settings.representatives,
                              handle_seconds=settings.averageHandleSeconds)  # fmt: skip

    await run_in_threadpool(apply)
    return ODataJSONResponse({"queueId": str(queue_id), **settings.model_dump()})


@router.post("/reset", summary="Empty deliveries, tasks, attributes, scripted outcomes and the journal")
async def reset(database: DatabaseDep, clock: ClockDep, body: ResetRequest | None = None) -> Response:

    def apply() -> None:
        with database.transaction() as session:
            service.reset(session, reseed=bool(body and body.reseed), clock=clock)

    await run_in_threadpool(apply)
    return no_content()


# --- consent and cancellation policies (issue #14 items 6-7) ------------------------------------------


class SmsReply(_Body):
    from_: Annotated[str, Field(alias="from", min_length=1, max_length=300)]
    text: Annotated[str, Field(max_length=1600)]


class PolicyRequest(_Body):
    proactiveEngagementConfigId: uuid.UUID | None = None
    country: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    state: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    postalCode: Annotated[str, Field(min_length=1, max_length=20)] | None = None
    executeUntil: str | None = Field(default=None, description="Until when the policy applies (UTC, ISO 8601).")
    comment: Annotated[str, Field(max_length=1000)] | None = None

    @model_validator(mode="after")
    def _some_criterion(self) -> PolicyRequest:
        if not (self.proactiveEngagementConfigId or self.country or self.state or self.postalCode):
            raise ValueError("give at least one of proactiveEngagementConfigId, country, state, postalCode")
        return self


@router.post("/sms/replies", summary="A customer's SMS reply: STOP opts the number out, START back in")
async def sms_reply(reply: SmsReply, database: DatabaseDep, clock: ClockDep) -> ODataJSONResponse:
    def apply() -> str | None:
        with database.transaction() as session:
            return service.sms_reply(session, sender=reply.from_.strip(), text=reply.text, clock=clock)

    keyword = await run_in_threadpool(apply)
    return ODataJSONResponse({"from": reply.from_.strip(), "keyword": keyword})


@router.get("/opt-outs", summary="Numbers and contacts that may not be contacted")
async def get_opt_outs(database: DatabaseDep) -> ODataJSONResponse:
    def read() -> list[dict[str, Any]]:
        with database.read() as session:
            return service.opt_outs(session)

    return ODataJSONResponse({"value": await run_in_threadpool(read)})


@router.delete("/opt-outs/{opt_out_id}", summary="Remove an opt-out", status_code=204)
async def delete_opt_out(opt_out_id: uuid.UUID, database: DatabaseDep) -> Response:
    def apply() -> bool:
        with database.transaction() as session:
            return service.remove_opt_out(session, opt_out_id=opt_out_id)

    if not await run_in_threadpool(apply):
        raise OBJECT_DOES_NOT_EXIST(entity="opt-out", id=opt_out_id)
    return no_content()


@router.post("/cancellation-policies", summary="Cancel and suppress queued deliveries that match", status_code=201)
async def post_policy(request: PolicyRequest, database: DatabaseDep, clock: ClockDep) -> ODataJSONResponse:
    until = parse_timestamp(request.executeUntil, parameter="executeUntil") if request.executeUntil else None

    def apply() -> dict[str, Any]:
        policy = CancellationPolicy(
            id=uuid.uuid4(), engagement_config_id=request.proactiveEngagementConfigId, country=request.country,
            state=request.state, postal_code=request.postalCode, execute_until=until, comment=request.comment,
            created_on=clock.now(),
        )  # fmt: skip
        with database.transaction() as session:
            return service.add_policy(session, policy=policy)

    return ODataJSONResponse(await run_in_threadpool(apply), status_code=201)


@router.get("/cancellation-policies", summary="Cancellation policies")
async def get_policies(database: DatabaseDep) -> ODataJSONResponse:
    def read() -> list[dict[str, Any]]:
        with database.read() as session:
            return service.policies(session)

    return ODataJSONResponse({"value": await run_in_threadpool(read)})


@router.delete("/cancellation-policies/{policy_id}", summary="Remove a cancellation policy", status_code=204)
async def delete_policy(policy_id: uuid.UUID, database: DatabaseDep) -> Response:
    def apply() -> bool:
        with database.transaction() as session:
            return service.remove_policy(session, policy_id=policy_id)

    if not await run_in_threadpool(apply):
        raise OBJECT_DOES_NOT_EXIST(entity="cancellation policy", id=policy_id)
    return no_content()


@router.get("/deliveries/{delivery_id}/events", summary="The journal of one delivery's state changes")
async def delivery_events(delivery_id: uuid.UUID, database: DatabaseDep) -> ODataJSONResponse:

    def read() -> list[dict[str, Any]] | None:
        with database.read() as session:
            return service.delivery_events(session, delivery_id=delivery_id)

    events = await run_in_threadpool(read)
    if events is None:
        raise OBJECT_DOES_NOT_EXIST(entity="msdyn_proactive_delivery", id=delivery_id)
    return ODataJSONResponse({"value": events})


# --- the whole state, exported and imported (issue #18 item 3; docs/state.md) ------------------------------------


@router.get("/state", summary="Every table's rows as one versioned JSON document (secrets included)")
async def get_state(database: DatabaseDep) -> ODataJSONResponse:
    def read() -> dict[str, Any]:
        with database.read() as session:
            return state.export_state(session)

    return ODataJSONResponse(await run_in_threadpool(read), headers={"Cache-Control": "no-store"})


async def put_state(request: Request, runtime: RuntimeDep) -> Response:
    """Replace the whole state with a document GET /emulator/v1/state gave, in one transaction."""
    document = parse_json(await request.body())
    rows = await run_in_threadpool(state.decode_state, document, runtime.database.engine.dialect)

    def apply() -> None:
        # This process's dialer waits between ticks, so no tick works on rows the import is replacing.
        with runtime.dialer.paused() if runtime.dialer else nullcontext(), runtime.database.transaction() as session:
            state.replace_state(session, rows)
        runtime.keys.reload()  # sign and verify with the imported keys from now on
        if isinstance(runtime.clock, SharedClock):
            runtime.clock.forget()

    await run_in_threadpool(apply)
    return no_content()


router.add_api_route(
    "/state",
    put_state,
    methods=["PUT"],
    status_code=204,
    summary="Replace the whole state with an exported document, in one transaction",
    description="The body is a document from `GET /emulator/v1/state` (`{\"version\": 1, \"schema\": ..., "
    "\"tables\": {...}}`), at most `CCAAS_STATE_MAX_BYTES`; another version, schema revision or shape is 400 and "
    "changes nothing (docs/state.md).",
    route_class_override=StateRoute,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["version", "schema", "tables"], "additionalProperties": False,
        "properties": {"version": {"type": "integer"}, "schema": {"type": "string"},
                       "tables": {"type": "object"}}}}}}},
)  # fmt: skip
