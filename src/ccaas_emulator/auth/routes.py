"""The emulator's key set, where Entra publishes a tenant's: /{tenant}/discovery/v2.0/keys."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ccaas_emulator.deps import SettingsDep, SigningKeysDep

router = APIRouter(tags=["Identity"])


@router.get("/{tenant}/discovery/v2.0/keys", summary="JSON Web Key Set of the emulator's signing keys")
@router.get("/{tenant}/discovery/keys", include_in_schema=False)
async def jwks(tenant: str, settings: SettingsDep, keys: SigningKeysDep) -> JSONResponse:
    if tenant.lower() not in {settings.tenant, "common", "organizations"}:
        return JSONResponse(
            {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."},
            status_code=400,
        )
    return JSONResponse(keys.jwks())
