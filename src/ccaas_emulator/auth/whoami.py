"""WhoAmI: the unbound function that tells a caller which user, business unit and organization it runs as."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ccaas_emulator.auth.callers import load_caller
from ccaas_emulator.deps import RuntimeDep
from ccaas_emulator.organization import organization_id, root_business_unit_id
from ccaas_emulator.wire.context import action_response_context, request_origin
from ccaas_emulator.wire.responses import ODataJSONResponse

WHO_AM_I = "WhoAmI"


def build_router(version: str, *, documented: bool) -> APIRouter:
    """GET /api/data/<version>/WhoAmI (and WhoAmI()): the caller as the WhoAmIResponse complex type."""
    router = APIRouter(prefix=f"/api/data/{version}", include_in_schema=documented, tags=["Identity"])

    async def who_am_i(request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        token = runtime.authenticator.authenticate(request)

        def unit_of_work() -> str:
            with runtime.database.read() as session:
                return str(load_caller(session, principal=token.principal).user_id)

        user_id = await run_in_threadpool(unit_of_work)
        tenant_id = runtime.settings.tenant_id
        origin = request_origin(request, runtime.settings.org_url)
        return ODataJSONResponse(
            {
                "@odata.context": action_response_context(origin, version, WHO_AM_I),
                "BusinessUnitId": str(root_business_unit_id(tenant_id)),
                "UserId": user_id,
                "OrganizationId": str(organization_id(tenant_id)),
            }
        )

    router.add_api_route(
        f"/{WHO_AM_I}",
        who_am_i,
        methods=["GET"],
        summary="The calling user's id, business unit and organization (WhoAmIResponse)",
        response_class=ODataJSONResponse,
        operation_id=f"{WHO_AM_I}_{version.replace('.', '_')}",
        name=f"{WHO_AM_I}_{version.replace('.', '_')}",
    )
    router.add_api_route(f"/{WHO_AM_I}()", who_am_i, methods=["GET"], include_in_schema=False)
    return router
