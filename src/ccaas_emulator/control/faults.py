"""/emulator/v1/faults: arm, list and clear injected faults (protection/faults.py; docs/limits-and-faults.md).

The same guard as every control route (control/guard.py): loopback or the configured host, no foreign origin, the
control token when set, a JSON body within CCAAS_MAX_BODY_BYTES.
"""

from __future__ import annotations

from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from ccaas_emulator.control.guard import GuardedRoute
from ccaas_emulator.deps import SettingsDep
from ccaas_emulator.intake.rules import reject_nul
from ccaas_emulator.protection.faults import MAX_ARMED, Fault, FaultBoard
from ccaas_emulator.protection.middleware import API_PREFIX
from ccaas_emulator.wire.errors import INVALID_ARGUMENT
from ccaas_emulator.wire.responses import ODataJSONResponse, no_content

router = APIRouter(prefix="/emulator/v1", tags=["Emulator control"], route_class=GuardedRoute)

MAX_COUNT = 10_000
MAX_DELAY_MS = 60_000
MAX_RETRY_AFTER = 3600


class FaultRequest(BaseModel):
    """The body of POST /emulator/v1/faults; strict: unknown keys and values of another JSON type are a 400."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: Literal[429, 500, 503] | None = Field(default=None, description="Answer with this status.")
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(default=1, description="How many requests.")
    path: Annotated[str, Field(min_length=len(API_PREFIX), max_length=2048)] = Field(
        default=API_PREFIX, description="Only requests whose path starts with this (e.g. /api/data/v9.2/CCaaS_)."
    )
    delayMs: Annotated[int, Field(ge=1, le=MAX_DELAY_MS)] | None = Field(
        default=None, description="Wait this long first, then fail with `status` or, without one, proceed."
    )
    retryAfter: Annotated[int, Field(ge=0, le=MAX_RETRY_AFTER)] | None = Field(
        default=None, description="The 429's Retry-After in seconds (default 1)."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: object) -> object:
        reject_nul(data, parameter="The request body")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> FaultRequest:
        if self.status is None and self.delayMs is None:
            raise ValueError("give 'status' (429, 500 or 503), 'delayMs', or both")
        if self.retryAfter is not None and self.status != 429:
            raise ValueError("'retryAfter' applies to a 429 fault only")
        if not self.path.startswith(API_PREFIX):
            raise ValueError(f"'path' must start with {API_PREFIX}: faults apply to the Web API only")
        return self


async def get_fault_board(request: Request) -> FaultBoard:
    return cast(FaultBoard, request.app.state.fault_board)


FaultBoardDep = Annotated[FaultBoard, Depends(get_fault_board)]


@router.post("/faults", summary="Make the next N matching /api/data/ requests fail, wait, or both", status_code=201)
async def arm_fault(body: FaultRequest, board: FaultBoardDep, settings: SettingsDep) -> ODataJSONResponse:
    if settings.workers > 1:
        raise INVALID_ARGUMENT(
            message=f"Faults live in the memory of one API process, and this server runs {settings.workers} "
            "(CCAAS_WORKERS): a fault would catch only the requests that process happens to answer. Start the "
            "server with one worker to inject faults."
        )
    fault = Fault(status=body.status, count=body.count, path=body.path, delay_ms=body.delayMs,
                  retry_after=body.retryAfter)  # fmt: skip
    if not board.arm(fault):
        raise INVALID_ARGUMENT(message=f"{MAX_ARMED} faults are armed already; DELETE /emulator/v1/faults first.")
    return ODataJSONResponse(fault.to_json(), status_code=201)


@router.get("/faults", summary="The armed faults and how many requests each has left")
async def list_faults(board: FaultBoardDep) -> ODataJSONResponse:
    return ODataJSONResponse({"value": [fault.to_json() for fault in board.armed()]})


@router.delete("/faults", summary="Disarm every fault", status_code=204)
async def clear_faults(board: FaultBoardDep) -> Response:
    board.clear()
    return no_content()
