"""`serve`: HTTP on CCAAS_PORT and HTTPS on CCAAS_TLS_PORT, one app and one Runtime (one dialer) per process.

uvicorn serves one kind of socket per server (its ssl context applies to every socket it is given), and its
`--factory` would build an app per server, so each process runs two `uvicorn.Server`s on one event loop around a
single app whose lifespan this module runs once: the runtime starts before either listener accepts, the HTTPS
listener stops first, and the lifespan ends after both have drained. The sockets are bound in the parent; with
CCAAS_WORKERS > 1 each spawned worker process gets both and runs the same pair (one app, one Runtime each), as
uvicorn's own supervisor does with its one socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn._subprocess import get_subprocess

from ccaas_emulator.app import create_app
from ccaas_emulator.auth.origins import origin, record_origins
from ccaas_emulator.clock import SystemClock
from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.settings import Settings, get_settings
from ccaas_emulator.tls import WILDCARD_ADDRESSES, TlsBundle, ensure_ca, ensure_tls, server_host_names, write_ca_bundle
from ccaas_emulator.wire.protocol import DataverseHttpToolsProtocol

log = logging.getLogger("ccaas_emulator.serve")
STARTUP_FAILURE = 3  # uvicorn's exit status for a worker that could not start: restarting it would fail the same way


def served_origins(settings: Settings) -> list[str]:
    """http (and https) on 127.0.0.1, localhost and CCAAS_HOST (unless a wildcard), with their ports."""
    hosts = ["127.0.0.1", "localhost"]
    host = settings.host.strip().lower()
    if host not in WILDCARD_ADDRESSES and host not in hosts:
        hosts.append(host)
    listeners = [("http", settings.port)] + ([("https", settings.tls_port)] if settings.tls_port else [])
    return [origin(scheme, name, port) for scheme, port in listeners for name in hosts]


def prepare_serving(settings: Settings) -> TlsBundle | None:
    """In the parent, once: record the origins this server answers on; with TLS on, make sure of the CA and the
    server certificate and write the CA bundle file."""
    clock = SystemClock()  # certificates and tokens live in real time, not on the simulated clock
    database = Database(make_engine(settings.database_url, pool_size=1))
    try:
        record_origins(database, served_origins(settings), org_url=settings.org_url, now=clock.now())
        if not settings.tls_port:
            return None
        bundle = ensure_tls(database, clock, server_host_names(settings))
    finally:
        database.dispose()
    write_ca_bundle(settings, bundle.ca_pem)
    return bundle


def prepare_ca(settings: Settings) -> Path:
    """The CA bundle file's path, generating the CA on first use (the server certificate is `serve`'s to make)."""
    database = Database(make_engine(settings.database_url, pool_size=1))
    try:
        ca_pem = ensure_ca(database, SystemClock())
    finally:
        database.dispose()
    return write_ca_bundle(settings, ca_pem)


def uvicorn_config(settings: Settings, app: Any, port: int, log_config: dict[str, Any] | None) -> uvicorn.Config:
    """What `serve` has always passed uvicorn; the lifespan is run here, once, not by each server."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=log_config,
        loop="uvloop",
        http=DataverseHttpToolsProtocol,
        proxy_headers=False,  # X-Forwarded-* are judged by wire/forwarded.py, from CCAAS_TRUSTED_PROXIES only
        server_header=False,
        lifespan="off",
        # uvicorn's 5 s keep-alive timer can fire while a busy loop has a request waiting unread on the idle
        # connection, resetting it unanswered (seen in the soak, docs/reliability.md); IIS keeps 120 s.
        timeout_keep_alive=75,
    )


def bind(host: str, port: int, scheme: str) -> socket.socket:
    """A listening socket bound in the parent (so workers share it), as uvicorn's Config.bind_socket does."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port} ({scheme}): {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    shown = f"[{host}]" if ":" in host else host
    log.info("listening on %s://%s:%d", scheme, shown, sock.getsockname()[1])
    return sock


def serve(settings: Settings, log_config: dict[str, Any]) -> None:
    """Bind, then run the listeners here (one process) or in CCAAS_WORKERS spawned processes."""
    sockets = [bind(settings.host, settings.port, "http")]
    if settings.tls_port:
        sockets.append(bind(settings.host, settings.tls_port, "https"))
    config = uvicorn_config(settings, "ccaas_emulator.app:app_from_environment", settings.port, log_config)
    try:
        if settings.workers == 1:
            run_listeners(sockets)
        else:
            Supervisor(config, sockets, settings.workers).run()
    finally:
        for sock in sockets:
            sock.close()


# --- one process: one app, two servers -------------------------------------------------------------------


# A connection closed at shutdown whose bytes are all sent waits only for the client's TLS close_notify; a client
# idling on a keep-alive connection (a requests Session, Postman) may never read it, and the event loop would wait
# its ssl_shutdown_timeout (30 s) before `serve` could exit. Such a connection is dropped after this grace.
CLOSE_NOTIFY_GRACE_SECONDS = 0.5


class _Listener(uvicorn.Server):
    """A uvicorn server that leaves signals to _serve_together, which stops every server of the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        reaper = asyncio.create_task(self._drop_unanswered_closes())
        try:
            await super().shutdown(sockets)
        finally:
            reaper.cancel()

    async def _drop_unanswered_closes(self) -> None:
        """Abort connections already closing with nothing left to send (see CLOSE_NOTIFY_GRACE_SECONDS); those still
        answering a request, or flushing its answer, are left to finish."""
        await asyncio.sleep(CLOSE_NOTIFY_GRACE_SECONDS)
        while True:
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)  # uvloop's TLS transport is no asyncio.Transport
                if transport is not None and transport.is_closing() and not transport.get_write_buffer_size():
                    transport.abort()
            await asyncio.sleep(0.1)


def run_listeners(sockets: list[socket.socket]) -> None:
    """Serve `sockets` (HTTP, then HTTPS when there are two) from this process until SIGINT or SIGTERM."""
    settings = get_settings()
    app = create_app(settings)
    bundle = None
    if len(sockets) > 1:
        clock = SystemClock()
        database = Database(make_engine(settings.database_url, pool_size=1))
        try:
            bundle = ensure_tls(database, clock, server_host_names(settings))  # the parent stored it: a read
        finally:
            database.dispose()
    configs = [uvicorn_config(settings, app, settings.port, None)]
    if bundle is not None:
        tls = uvicorn_config(settings, app, settings.tls_port, None)
        tls.load()
        tls.ssl = bundle.server_context()  # uvicorn builds its context from files; ours comes from the database
        configs.append(tls)
    servers = [_Listener(config) for config in configs]
    with asyncio.Runner(loop_factory=configs[0].get_loop_factory()) as runner:
        runner.run(_serve_together(app, servers, sockets))


async def _serve_together(app: Any, servers: list[_Listener], sockets: list[socket.socket]) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal() -> None:
        if stopping.is_set():  # a second Ctrl+C: do not wait for open connections
            for server in servers:
                server.force_exit = True
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    async with contextlib.AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(app.router.lifespan_context(app))
        except Exception:
            # As uvicorn does: a worker that cannot start says so, and the supervisor stops instead of respawning it.
            log.exception("the app failed to start")
            raise SystemExit(STARTUP_FAILURE) from None
        pairs = zip(servers, sockets, strict=True)
        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in pairs]
        stopped = asyncio.create_task(stopping.wait())
        await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
        # Stop the HTTPS listener first, then the HTTP one: the runtime stays up until both have drained.
        for server, task in reversed(list(zip(servers, tasks, strict=True))):
            server.should_exit = True
            await task
        stopped.cancel()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)


# --- several processes ---------------------------------------------------------------------------------------


class Supervisor:
    """CCAAS_WORKERS spawned processes sharing the parent's sockets; a worker that dies is replaced.

    uvicorn's own supervisor runs its Server in each worker, which serves one kind of socket; this one runs
    run_listeners, so each worker serves HTTP and HTTPS from one app.
    """

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], workers: int) -> None:
        self._config, self._sockets, self._workers = config, sockets, workers
        self._stop = threading.Event()
        self._processes: list[multiprocessing.process.BaseProcess] = []

    def _spawn(self) -> multiprocessing.process.BaseProcess:
        process = get_subprocess(self._config, run_listeners, self._sockets)
        process.start()
        return process

    def run(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda _sig, _frame: self._stop.set())
        self._processes = [self._spawn() for _ in range(self._workers)]
        while not self._stop.wait(0.5):
            for index, process in enumerate(self._processes):
                if process.is_alive():
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    log.error("worker %s failed to start; stopping", process.pid)
                    self._stop.set()
                    break
                log.warning("worker %s exited (%s); starting another", process.pid, process.exitcode)
                self._processes[index] = self._spawn()
        for process in self._processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: the worker drains its connections, then its runtime
        for process in self._processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        if any(process.exitcode == STARTUP_FAILURE for process in self._processes):
            sys.exit(STARTUP_FAILURE)
