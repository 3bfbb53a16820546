"""Run from file (002_... File upload): a CSV contact list read as it arrives, every row checked by the intake rules.

Pure: text in, accounts (checked contacts grouped by the ID column) and per-line rejections out. The upload
(upload.py) decodes the bytes, feeds the text here piece by piece and writes the accounts in batches, so neither
the file nor all its rows are ever held at once. What 002_... documents, and how the emulator reads it:

- Required columns: `UniqueIdentifier`, and at least one of `MobilePhoneNumber`, `BusinessPhoneNumber`,
  `HomePhoneNumber`; a header without them refuses the whole file (400 naming them).
- Named fields (columns named after a contact attribute) create or update the contact: the
  CCaaS_CreateSimpleProactiveDelivery parameter names (FirstName, Email, PostalCode, TimeZone...) or the contact
  table's logical names (firstname, emailaddress1, address1_postalcode...), in any letter case.
- "Use the same value for ID column to link contacts in the same account": consecutive rows with the same `ID`
  are one account, chained as one delivery task of up to five contacts (002_... multiparty engagements); a
  sixth is rejected, as is a row that reuses the ID of an account that ended earlier in the file (ours).
- `Priority` is the account's custom call-order priority (its first row's that has one); every other column is
  passed through as the contact's Input attributes, as an action's InputAttributes are.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field

from ccaas_emulator.domain import Channel
from ccaas_emulator.intake import rules
from ccaas_emulator.intake.commands import DeliveryCommand, TaskOptions, target_for
from ccaas_emulator.intake.rules import ContactRequest
from ccaas_emulator.wire.errors import INVALID_ARGUMENT, MISSING_COLUMNS, NOT_A_CSV_FILE, DataverseError

ACTION = "Run from file"
ACCOUNT_COLUMN = "id"  # 002_...: "Use the same value for ID column to link contacts in the same account"
PRIORITY_COLUMN = "priority"
MAX_ACCOUNT_CONTACTS = rules.MAX_CONTACTS  # 002_...: "up to five contacts when you are uploading a file"
MAX_COLUMNS = 200
MAX_REJECTED = 1000
"""Rejections listed in the answer; `rejectedCount` counts them all."""

# A column's name (any letter case) -> the contact object key rules.parse_contact reads it as.
NAMED_COLUMNS = {
    "uniqueidentifier": "uniqueidentifier",
    "firstname": "firstname",
    "lastname": "lastname",
    "mobilephonenumber": "mobilephonenumber",
    "mobilephone": "mobilephonenumber",
    "businessphonenumber": "businessphonenumber",
    "telephone1": "businessphonenumber",
    "homephonenumber": "homephonenumber",
    "telephone2": "homephonenumber",
    "email": "email",
    "emailaddress1": "email",
    "postalcode": "postalcode",
    "zipcode": "postalcode",
    "address1_postalcode": "postalcode",
    "state": "state",
    "address1_stateorprovince": "state",
    "country": "country",
    "address1_country": "country",
    "addressline": "addressline",
    "address1_line1": "addressline",
    "city": "city",
    "address1_city": "city",
    "timezone": "timezone",
}
PHONE_KEYS = ("mobilephonenumber", "businessphonenumber", "homephonenumber")
# How a message names a column the file does not have (the documented names).
DOCUMENTED_NAMES = {
    "uniqueidentifier": "UniqueIdentifier",
    "firstname": "FirstName",
    "lastname": "LastName",
    "mobilephonenumber": "MobilePhoneNumber",
    "businessphonenumber": "BusinessPhoneNumber",
    "homephonenumber": "HomePhoneNumber",
    "email": "Email",
    "postalcode": "PostalCode",
    "state": "State",
    "country": "Country",
    "addressline": "AddressLine",
    "city": "City",
    "timezone": "TimeZone",
    "inputattributes": "the pass-through columns",
    "windows": "Windows",
}


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass(frozen=True)
class Columns:
    """What each column of the header is: a contact field, the account ID, the priority, or passed through."""

    names: tuple[str, ...]
    named: dict[int, str]
    """Column index -> contact object key."""
    passthrough: dict[int, str]
    """Column index -> Input attribute name."""
    account: int | None
    priority: int | None

    @classmethod
    def of(cls, header: list[str]) -> Columns:
        """The header's columns; raises the request's 400 when they cannot make contacts."""
        names = tuple(name.strip() for name in header)
        if len(names) > MAX_COLUMNS:
            raise NOT_A_CSV_FILE(detail=f"its header has {len(names)} columns; at most {MAX_COLUMNS} are allowed.")
        named: dict[int, str] = {}
        passthrough: dict[int, str] = {}
        account = priority = None
        seen: dict[str, str] = {}
        for index, name in enumerate(names):
            if not name:
                raise NOT_A_CSV_FILE(detail=f"column {index + 1} of the header has no name.")
            lowered = name.lower()
            meaning = NAMED_COLUMNS.get(lowered) or lowered
            if meaning in seen:
                raise INVALID_ARGUMENT(
                    message=f"The columns '{seen[meaning]}' and '{name}' of the file both give the same value; "
                    "keep one. Nothing was stored."
                )
            seen[meaning] = name
            if lowered == ACCOUNT_COLUMN:
                account = index
            elif lowered == PRIORITY_COLUMN:
                priority = index
            elif lowered in NAMED_COLUMNS:
                named[index] = NAMED_COLUMNS[lowered]
            else:
                passthrough[index] = name
        missing = []
        if "uniqueidentifier" not in named.values():
            missing.append("UniqueIdentifier")
        if not set(PHONE_KEYS) & set(named.values()):
            missing.append("at least one of MobilePhoneNumber, BusinessPhoneNumber or HomePhoneNumber")
        if missing:
            raise MISSING_COLUMNS(columns=" and ".join(missing))
        if len(passthrough) > rules.MAX_ATTRIBUTES:
            raise INVALID_ARGUMENT(
                message=f"The file has {len(passthrough)} pass-through columns (Input attributes); at most "
                f"{rules.MAX_ATTRIBUTES} are allowed. Nothing was stored."
            )
        return cls(names, named, passthrough, account, priority)

    def label(self, key: str) -> str:
        """How a message names the column of a contact key: as the file's header does, else its documented name."""
        lowered = key.lower()
        for index, named_key in self.named.items():
            if named_key == lowered:
                return self.names[index]
        return DOCUMENTED_NAMES.get(lowered, key)


@dataclass(frozen=True)
class FileContact:
    """A row that passed the rules: its line, its contact and the priority it gives."""

    line: int
    contact: ContactRequest
    priority: str | None


@dataclass
class Account:
    """The contacts of consecutive rows with one ID (or a row without one): one delivery task."""

    key: str | None
    contacts: list[FileContact] = field(default_factory=list)

    @property
    def lines(self) -> list[int]:
        return [contact.line for contact in self.contacts]

    def command(self, config_id: uuid.UUID) -> DeliveryCommand:
        """The account as the command CCaaS_CreateProactiveDelivery would make of the same contacts."""
        priority = next((contact.priority for contact in self.contacts if contact.priority is not None), None)
        return DeliveryCommand(
            action=ACTION,
            config_id=config_id,
            targets=tuple(target_for(contact.contact, where="The row") for contact in self.contacts),
            windows=(),
            task=TaskOptions(
                request_id=None, priority=priority, priority_number=rules.priority_number(priority), message=None
            ),
        )


class RecordSplitter:
    """Cuts arriving text after its last line break outside quotes, so each piece holds whole CSV records.

    A doubled quote inside a quoted value toggles the state twice, so counting quotes per line is exact."""

    def __init__(self) -> None:
        self._buffer = ""
        self._scanned = 0
        self._quoted = False

    def feed(self, text: str) -> str:
        """Whole records completed by `text` (possibly none); the rest waits for the next piece."""
        buffer = self._buffer + text
        position, cut = self._scanned, 0
        while (newline := buffer.find("\n", position)) >= 0:
            if buffer.count('"', position, newline) % 2:
                self._quoted = not self._quoted
            position = newline + 1
            if not self._quoted:
                cut = position
        self._buffer, self._scanned = buffer[cut:], position - cut
        return buffer[:cut]

    def finish(self) -> str:
        """The last record, which need not end with a line break."""
        rest, self._buffer, self._scanned = self._buffer, "", 0
        return rest


class FileReader:
    """The rows of one upload, checked as their text arrives: accounts to write, and rejected lines."""

    def __init__(self, *, channel: Channel) -> None:
        self.channel = channel
        self.columns: Columns | None = None
        self.rejected: list[Rejection] = []
        self.rejected_count = 0
        self._splitter = RecordSplitter()
        self._lines = 0
        self._open: Account | None = None
        self._ended: dict[str, int] = {}
        """Account IDs whose rows ended, and the line of their last row."""

    def feed(self, text: str) -> list[Account]:
        """The accounts the text completes; raises the request's error for a header that cannot make contacts."""
        return self._records(self._splitter.feed(text))

    def finish(self) -> list[Account]:
        """The accounts still open once the file has ended."""
        accounts = self._records(self._splitter.finish())
        if self.columns is None:
            raise NOT_A_CSV_FILE(detail="it is empty; the first line must be a header naming the columns.")
        if self._open is not None:
            accounts.append(self._open)
            self._open = None
        return accounts

    def reject(self, line: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTED:
            self.rejected.append(Rejection(line, reason))

    def _records(self, text: str) -> list[Account]:
        if not text:
            return []
        accounts: list[Account] = []
        reader = csv.reader(io.StringIO(text), strict=True)
        before = 0
        while True:
            line = self._lines + before + 1
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if self.columns is None:
                    raise NOT_A_CSV_FILE(detail=f"its header (line {line}) cannot be read as CSV: {exc}.") from None
                self.reject(line, f"The line cannot be read as CSV: {exc}.")
                before = reader.line_num
                continue
            before = reader.line_num
            if not values or (len(values) == 1 and not values[0].strip()):
                continue  # a blank line is no row
            if self.columns is None:
                self.columns = Columns.of(values)
                continue
            self._row(line, values, accounts)
        self._lines += reader.line_num
        return accounts

    def _row(self, line: int, values: list[str], accounts: list[Account]) -> None:
        columns = self.columns
        assert columns is not None
        try:
            if len(values) != len(columns.names):
                raise INVALID_ARGUMENT(
                    message=f"The row has {len(values)} values; the header has {len(columns.names)} columns."
                )
            contact, priority = self._contact(values, columns)
        except DataverseError as exc:
            self.reject(line, exc.message)
            return
        key = values[columns.account].strip() or None if columns.account is not None else None
        self._account(line, key, FileContact(line, contact, priority), accounts)

    def _contact(self, values: list[str], columns: Columns) -> tuple[ContactRequest, str | None]:
        """The row's contact, by the same rules as an action's contact object (names optional: 002_...)."""
        item: dict[str, object] = {key: values[index] for index, key in columns.named.items()}
        item["inputattributes"] = {name: values[index] for index, name in columns.passthrough.items() if values[index]}
        contact = rules.parse_contact(item, where="The row", label=columns.label, names_required=False)
        rules.check_channel_phones([("The row", contact.phones)], channel=self.channel)
        priority = values[columns.priority].strip() or None if columns.priority is not None else None
        rules.check_length(
            priority, attribute="priority", entity="msdyn_proactive_delivery", limit=rules.PRIORITY_LIMIT
        )
        return contact, priority

    def _account(self, line: int, key: str | None, contact: FileContact, accounts: list[Account]) -> None:
        """Chain the row into its account: consecutive rows with one ID, at most five of them."""
        current = self._open
        if key is not None and current is not None and current.key == key:
            if len(current.contacts) >= MAX_ACCOUNT_CONTACTS:
                lines = ", ".join(str(number) for number in current.lines)
                self.reject(
                    line,
                    f"The account with ID '{key}' already has {MAX_ACCOUNT_CONTACTS} contacts (lines {lines}); "
                    f"an account chains at most {MAX_ACCOUNT_CONTACTS}.",
                )
                return
            current.contacts.append(contact)
            return
        if key is not None and key in self._ended:
            self.reject(
                line,
                f"The account with ID '{key}' ended on line {self._ended[key]}; the rows of one account must be "
                "consecutive.",
            )
            return
        if current is not None:
            accounts.append(current)
            if current.key is not None:
                self._ended[current.key] = current.contacts[-1].line
        self._open = Account(key, [contact])
