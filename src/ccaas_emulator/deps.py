"""The process's pieces, handed to routers as FastAPI dependencies.

create_app's lifespan builds one `Runtime` and keeps it on `app.state`; routers ask for the piece they need
(`settings: SettingsDep`) instead of importing the container, so no router imports upward and no package
is tied into a cycle through it. `Runtime` and `Authenticator` are named here for typing only.

The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency on the thread pool,
which would cost every request a thread hop for a attribute read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, Request

from ccaas_emulator.clock import Clock
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import Settings

if TYPE_CHECKING:
    from ccaas_emulator.auth.challenge import Authenticator
    from ccaas_emulator.auth.keys import SigningKeys
    from ccaas_emulator.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    """The process container create_app's lifespan started."""
    return cast("Runtime", request.app.state.runtime)


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


async def get_settings(request: Request) -> Settings:
    return runtime_of(request).settings


async def get_database(request: Request) -> Database:
    return runtime_of(request).database


async def get_clock(request: Request) -> Clock:
    return runtime_of(request).clock


async def get_authenticator(request: Request) -> Authenticator:
    return runtime_of(request).authenticator


async def get_signing_keys(request: Request) -> SigningKeys:
    return runtime_of(request).keys


RuntimeDep = Annotated["Runtime", Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
ClockDep = Annotated[Clock, Depends(get_clock)]
AuthenticatorDep = Annotated["Authenticator", Depends(get_authenticator)]
SigningKeysDep = Annotated["SigningKeys", Depends(get_signing_keys)]
