"""create_app for the tests: every test still gets its own app, but the routes' request handling is built once per
process instead of once per app.

FastAPI (0.137 and later) includes a router lazily: `include_router` appends an `_IncludedRouter`, and the app's first
request builds every included route's dependencies, body fields and handler (`get_dependant` over ~460 routes: 70 ms
on a quiet machine, several hundred under load, more than most tests take). What it builds depends only on the
router and how it was included, not on the app: the handlers read the app's state from the request. So the first
app of a process that includes a router keeps its built `_IncludedRouter`, and every later app including the same
router the same way uses that one in its place. The app itself, its state, middleware, lifespan and runtime stay
the test's own.

FastAPI also keeps the last 4,096 callables it classified (sync, coroutine, generator) in caches that hold them,
and the /docs endpoints FastAPIOffline defines on each app hold the app: a worker kept every app it ever made, and
with them a heap of millions of objects that each full collection walked. After each test the caches are emptied
(`forget_apps`, by tests/conftest.py), so an app dies with its test.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies import models as fastapi_dependencies
from fastapi.routing import _IncludedRouter

from ccaas_emulator.app import create_app

# A router is shared once a second app includes it: the one create_app builds for each app (the fallback router) is
# seen once and never kept. Routers compare by their routes and cannot be hashed, hence the ids (checked with `is`).
_seen: dict[int, weakref.ref[APIRouter]] = {}
_built: dict[int, _IncludedRouter] = {}
_lock = threading.Lock()


def create_test_app(*args: Any, **kwargs: Any) -> FastAPI:
    """`create_app(*args, **kwargs)` whose included routers are the process's already built ones.

    A test that overrides a dependency (none does) must call create_app itself: a shared route reads the overrides
    of the app that built it.
    """
    app = create_app(*args, **kwargs)
    routes = app.router.routes
    with _lock:
        for index, route in enumerate(routes):
            if isinstance(route, _IncludedRouter):
                routes[index] = _shared(route)
    return app


def _shared(route: _IncludedRouter) -> _IncludedRouter:
    router = route.original_router
    built = _built.get(id(router))
    if built is not None and built.original_router is router:
        return built if _same_inclusion(built, route) else route
    seen = _seen.get(id(router))
    if seen is not None and seen() is router:
        _built[id(router)] = route  # built by this app's first request, used by the apps after it
    else:
        _seen[id(router)] = weakref.ref(router)
    return route


def _same_inclusion(built: _IncludedRouter, route: _IncludedRouter) -> bool:
    """Included with the same prefix, tags, dependencies, ...: everything but the app."""
    return _inclusion(built) == _inclusion(route)


def _inclusion(route: _IncludedRouter) -> dict[str, Any]:
    context = dict(vars(route.include_context))
    del context["dependency_overrides_provider"]
    return context


_CLASSIFICATION_CACHES = ("_is_gen_callable_cached", "_is_async_gen_callable_cached", "_is_coroutine_callable_cached")


def forget_apps() -> None:
    """Empty FastAPI's classification caches: once a test's fixtures are gone, nothing else holds its apps."""
    for name in _CLASSIFICATION_CACHES:
        getattr(fastapi_dependencies, name).cache_clear()
