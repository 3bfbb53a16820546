"""The baseline of bench/actions.py: a bare FastAPI + pydantic app answering CCaaS_CreateProactiveVoiceDelivery.

It parses the same body into a pydantic model of the action's parameters (same names, same strict types)
and returns the same JSON the emulator returns, in the same content type, without any database, token
or rule: the least the stack (uvicorn with uvloop + httptools, FastAPI, pydantic, orjson) costs per call.

    .venv/bin/uvicorn bench.bare_app:app --loop uvloop --http httptools --workers 1 --port 8100
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

ORG_URL = os.environ.get("CCAAS_ORG_URL", "http://127.0.0.1:8000")  # bench/actions.py sets the emulator's
CONTEXT = f"{ORG_URL}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.CCaaS_CreateProactiveVoiceDeliveryResponse"


class VoiceDeliveryParameters(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    ApiVersion: str
    ProactiveEngagementConfigId: str
    DestinationPhoneNumber: str
    ContactId: str
    Windows: list[Any] | str | None = None
    InputAttributes: dict[str, Any] | str | None = None


app = FastAPI(title="bare baseline")


@app.post("/api/data/v9.2/CCaaS_CreateProactiveVoiceDelivery")
async def create_voice_delivery(request: Request) -> Response:
    VoiceDeliveryParameters.model_validate_json(await request.body())
    return Response(
        orjson.dumps({"@odata.context": CONTEXT, "DeliveryId": str(uuid.uuid4())}),
        media_type="application/json; odata.metadata=minimal",
    )


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
