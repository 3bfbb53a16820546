"""A "Run from file" contact list of any length with three bad rows, and what an upload of it stored: shared by
tests/test_upload_cli.py (a few thousand rows in `make test`) and bench/upload.py (100,000 rows, ~10 MB)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from ccaas_emulator.db.engine import make_engine
from ccaas_emulator.db.models import Contact, ProactiveDelivery
from ccaas_emulator.db.transaction import Database
from ccaas_emulator.domain import DeliveryStatus

HEADER = "UniqueIdentifier,FirstName,LastName,MobilePhoneNumber,Email,TimeZone,Priority,Segment\n"


def bad_lines(rows: int) -> dict[int, str]:
    """The file's bad lines (1-based, the header is line 1) and what their rejection says: near its start, middle
    and end (rows >= 2,000)."""
    return {
        1_001: "needs at least one of MobilePhoneNumber",  # no phone at all
        rows // 2 + 2: "TimeZone 'Atlantis Standard Time' is not a time zone",
        rows - 1: "The length of the 'firstname' attribute of the 'contact' entity exceeded",
    }


def write_contacts(path: Path, rows: int) -> None:
    """`rows` contacts of about 100 bytes a row (100,000 of them: just under the 10 MB limit)."""
    first_bad, middle_bad, last_bad = bad_lines(rows)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            line = n + 2
            first, phone, zone = f"First{n}", f"+1425{n:07d}", "Pacific Standard Time"
            if line == first_bad:
                phone = ""
            elif line == middle_bad:
                zone = "Atlantis Standard Time"
            elif line == last_bad:
                first = "x" * 51
            out.write(f"CUST-{n:06d},{first},Last{n},{phone},user{n}@example.com,{zone},{n % 10},seg-{n % 7}\n")


def count_stored(database_url: str) -> tuple[int, int]:
    """(pending deliveries, contacts) in the database."""
    database = Database(make_engine(database_url, pool_size=1))
    try:
        with database.read() as session:
            pending = session.scalar(
                select(func.count())
                .select_from(ProactiveDelivery)
                .where(ProactiveDelivery.status == DeliveryStatus.PENDING)
            )
            contacts = session.scalar(select(func.count()).select_from(Contact))
        return pending or 0, contacts or 0
    finally:
        database.dispose()
