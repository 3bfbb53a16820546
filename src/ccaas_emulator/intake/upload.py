"""A file upload as one transaction: read as it arrives, written in batches, committed only when the file ended.

    bytes --UTF-8--> text --files.FileReader--> accounts --service.write_commands (every 1,000)--> rows

Every row takes the intake rules (files.py), every account the actions' own write (service.py). The whole upload
is one transaction (Database.shared_transaction): a refusal found once rows were written (the size limit crossed,
bytes that are not UTF-8 text, the client gone) rolls back what the upload wrote, so nothing half-written
remains; what a good row's neighbours do wrong rejects only their lines. The file itself is never stored, and
at most one batch of accounts is held at a time. On SQLite the transaction holds the write lock until the
upload ends, so other writes wait for it (docs/uploads.md).
"""

from __future__ import annotations

import asyncio
import codecs
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

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
        text = _Utf8()
        pending: list[Account] = []
        accepted = 0
        async for chunk in chunks:
            pending += reader.feed(text.decode(chunk))
            if len(pending) >= BATCH_ACCOUNTS:
                accepted += await asyncio.to_thread(_write, database, clock, config_id, pending, reader)
                pending = []
        pending += reader.feed(text.decode(b"", final=True))
        pending += reader.finish()
        if pending:
            accepted += await asyncio.to_thread(_write, database, clock, config_id, pending, reader)
    rejected = sorted(reader.rejected, key=lambda item: item.line)
    return UploadResult(accepted=accepted, rejected=rejected, rejected_count=reader.rejected_count)


def _engagement_channel(database: Database, config_id: uuid.UUID) -> Channel:
    """The engagement's channel; 404 when it does not exist or is inactive, before any byte is read."""
    with database.transaction() as session:
        config = repository.find_active_config(session, config_id=config_id)
        if config is None:
            raise OBJECT_DOES_NOT_EXIST(entity="msdyn_proactive_engagement_config", id=config_id)
        return config.outreach_type.channel


def _write(database: Database, clock: Clock, config_id: uuid.UUID, accounts: list[Account], reader: FileReader) -> int:
    """One batch of accounts through the actions' write; an account it refuses rejects each of its lines."""
    with database.transaction() as session:
        outcomes = service.write_commands(
            session, [account.command(config_id) for account in accounts], writer=service.FILE_UPLOAD, now=clock.now()
        )
    accepted = 0
    for account, outcome in zip(accounts, outcomes, strict=True):
        if isinstance(outcome, DataverseError):
            for line in account.lines:
                reader.reject(line, outcome.message)
        else:
            accepted += len(account.contacts)
    return accepted


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
