"""A file upload as one transaction: read as it arrives, written in batches, committed only when the file ended.

    bytes --UTF-8--> text --files.FileReader--> accounts --service.write_commands (every 1,000)--> rows

Every row takes the intake rules (files.py), every account the actions' own write (service.py). The whole upload
is one transaction (Database.shared_transaction): a refusal found once rows were written (the size limit crossed,
bytes that are not UTF-8 text, the client gone) rolls back what the upload wrote, so nothing half-written
remains; what a good row's neighbours do wrong rejects only their lines. The file itself is never stored, and
at most two batches of accounts are held at a time (one written while the next is read). On SQLite the
transaction holds the write lock until the upload ends, so other writes wait for it (docs/uploads.md).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ccaas_emulator import collector
from ccaas_emulator.clock import Clock
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.domain import Channel
from ccaas_emulator.intake import repository, service
from ccaas_emulator.intake.files import Account, FileReader, Rejection
from ccaas_emulator.wire.errors import NOT_A_CSV_FILE, OBJECT_DOES_NOT_EXIST, DataverseError

BATCH_ACCOUNTS = 1000
"""Accounts written per statement set: large enough for set-based inserts, small enough to bound memory."""


@dataclass(frozen=True)
class UploadResult:
    accepted: int
    rejected: list[Rejection]
    rejected_count: int

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "rejected": [{"line": item.line, "reason": item.reason} for item in self.rejected],
            "rejectedCount": self.rejected_count,
        }


async def upload(
    chunks: AsyncIterator[bytes], *, config_id: uuid.UUID, database: Database, clock: Clock
) -> UploadResult:
    """Read, check and write one file's rows to the engagement; raises the request's refusal (nothing stored)."""
    async with database.shared_transaction():
        channel = await asyncio.to_thread(_engagement_channel, database, config_id)
        reader = FileReader(channel=channel)
        writes = _Writes(database, clock, config_id, reader)
        text = _Utf8()
        pending: list[Account] = []
        try:
            async for chunk in chunks:
                with collector.paused():  # a chunk's rows all live until their batch is written (collector.py)
                    pending += reader.feed(text.decode(chunk))
                if len(pending) >= BATCH_ACCOUNTS:
                    await writes.start(pending)
                    pending = []
            pending += reader.feed(text.decode(b"", final=True))
            pending += reader.finish()
            await writes.start(pending)
            await writes.wait()
        except BaseException:
            await writes.settle()  # the rollback must not run while a batch is still being written on the session
            raise
    rejected = sorted(reader.rejected, key=lambda item: item.line)
    return UploadResult(accepted=writes.accepted, rejected=rejected, rejected_count=reader.rejected_count)


class _Writes:
    """One batch written on a thread while the next is read: at most two batches are held at a time."""

    def __init__(self, database: Database, clock: Clock, config_id: uuid.UUID, reader: FileReader) -> None:
        self.database, self.clock, self.config_id, self.reader = database, clock, config_id, reader
        self.accepted = 0
        self._running: asyncio.Future[list[Rejection | int]] | None = None

    async def start(self, accounts: list[Account]) -> None:
        """Wait for the batch being written, then start writing these accounts."""
        await self.wait()
        if accounts:
            self._running = asyncio.ensure_future(
                asyncio.to_thread(_write, self.database, self.clock, self.config_id, accounts)
            )

    async def settle(self) -> None:
        """Let the batch being written finish (its outcome no longer matters: the upload is refused)."""
        running, self._running = self._running, None
        while running is not None and not running.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({running})
        if running is not None and not running.cancelled():
            running.exception()  # retrieved, so asyncio does not log it as never retrieved

    async def wait(self) -> None:
        """The batch being written, written; its outcomes counted (here, on the loop: the reader is not shared)."""
        running = self._running
        if running is None:
            return
        # Shielded: a cancelled request must not cancel the batch's task while its thread still writes; settle()
        # then waits for it.
        outcomes = await asyncio.shield(running)
        self._running = None
        for outcome in outcomes:
            if isinstance(outcome, Rejection):
                self.reader.reject(outcome.line, outcome.reason)
            else:
                self.accepted += outcome


def _engagement_channel(database: Database, config_id: uuid.UUID) -> Channel:
    """The engagement's channel; 404 when it does not exist or is inactive, before any byte is read."""
    with database.transaction() as session:
        config = repository.find_active_config(session, config_id=config_id)
        if config is None:
            raise OBJECT_DOES_NOT_EXIST(entity="msdyn_proactive_engagement_config", id=config_id)
        return config.outreach_type.channel


def _write(database: Database, clock: Clock, config_id: uuid.UUID, accounts: list[Account]) -> list[Rejection | int]:
    """One batch of accounts through the actions' write: the contacts each account added, or the rejection of
    each of its lines when the write refuses it."""
    with database.transaction() as session:
        outcomes = service.write_commands(
            session, [account.command(config_id) for account in accounts], writer=service.FILE_UPLOAD, now=clock.now()
        )
    results: list[Rejection | int] = []
    for account, outcome in zip(accounts, outcomes, strict=True):
        if isinstance(outcome, DataverseError):
            results += [Rejection(line, outcome.message) for line in account.lines]
        else:
            results.append(len(account.contacts))
    return results


class _Utf8:
    """UTF-8 text (a byte order mark allowed, as Excel writes one) decoded as it arrives; anything else is no CSV."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
        self._offset = 0

    def decode(self, chunk: bytes, *, final: bool = False) -> str:
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise NOT_A_CSV_FILE(detail=f"it is not UTF-8 text (byte {self._offset + exc.start}).") from None
        if "\x00" in text:
            raise NOT_A_CSV_FILE(detail="it contains NUL characters, as binary and UTF-16 files do.")
        self._offset += len(chunk)
        return text
