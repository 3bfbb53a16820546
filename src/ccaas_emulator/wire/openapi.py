"""What every operation's OpenAPI description shares: the Dataverse error envelope and the 401 challenge."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The Dataverse error envelope.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^0x[0-9A-Fa-f]{8}$", "examples": ["0x80040203"]},
                "message": {"type": "string"},
            },
        }
    },
}
CHALLENGE_HEADER: dict[str, Any] = {
    "WWW-Authenticate": {
        "required": True,
        "description": "Where to get a token: the tenant's authorize endpoint and the organization's URI.",
        "schema": {"type": "string", "pattern": "^Bearer authorization_uri=[^ ,]+, resource_id=[^ ,]+$"},
    }
}
