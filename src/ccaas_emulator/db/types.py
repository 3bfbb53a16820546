"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum, IntEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, DateTime, Dialect, Integer, String
from sqlalchemy.types import TypeDecorator

from ccaas_emulator.chain import Chain, ChainSettings
from ccaas_emulator.domain import ChoiceEnum, Window

E = TypeVar("E", bound=Enum)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in, timezone-aware UTC datetimes out, on every back end.

    SQLite keeps no offset, so values are stored as naive UTC there and re-labelled on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ChoiceType(TypeDecorator[Any]):
    """A Dataverse choice column: the option number in the table, a Python enum member in code."""

    impl = Integer
    cache_ok = True

    def __init__(self, enum: type[IntEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(self.enum(value))

    def process_result_value(self, value: int | None, dialect: Dialect) -> Any:
        return None if value is None else self.enum(value)


class MultiChoiceType(TypeDecorator[Any]):
    """A Dataverse multi-select choice column: the option numbers comma-separated in the table and on the wire
    ("192360000,192360002", as Dataverse writes them), a tuple of enum members in code, in option order."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[IntEnum], length: int = 1000) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        members = parse_multi_choice(self.enum, value) if isinstance(value, str) else {self.enum(v) for v in value}
        return ",".join(str(int(member)) for member in sorted(members)) or None

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return () if not value else tuple(sorted(parse_multi_choice(self.enum, value)))


def parse_multi_choice(enum: type[IntEnum], text: str) -> set[Any]:
    """'192360000,192360002' -> the members; raises ValueError naming a value that is not an option."""
    members = set()
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        try:
            if not (part.isascii() and part.isdigit()):
                raise ValueError(part)
            members.add(enum(int(part)))
        except ValueError:
            raise ValueError(f"{part!r} is not an option of {enum.__name__}") from None
    return members


class LabelType(TypeDecorator[E], Generic[E]):
    """A text column holding an enum member's label: a StrEnum's value, or a ChoiceEnum's label.

    Lenient where the wire reaches it: a plain string that names no member binds unchanged (so
    `$filter=msdyn_status eq 'Nonsense'` matches nothing), and an unknown stored label reads back as that
    string rather than failing the whole read.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length
        self._by_label: dict[str, E] = {label_of(member): member for member in enum}

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return label_of(value) if isinstance(value, self.enum) else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self._by_label.get(value, value)  # type: ignore[return-value]  # unknown labels pass through


def label_of(member: Enum) -> str:
    """The text a label column stores for a member."""
    return member.label if isinstance(member, ChoiceEnum) else str(member.value)


class WindowList(TypeDecorator[list[Window]]):
    """Dial windows: domain Windows in and out, stored as JSON [{"start": "...Z", "end": "...Z"}]."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: list[Window] | None, dialect: Dialect) -> list[dict[str, str]] | None:
        return None if value is None else [window.to_json() for window in value]

    def process_result_value(self, value: list[dict[str, str]] | None, dialect: Dialect) -> list[Window] | None:
        return None if value is None else [Window.from_json(item) for item in value]


def lookup(target: str, *, navigation: str | None = None) -> dict[str, Any]:
    """Column info of a Dataverse lookup: the table it points to, and its navigation property's name.

    The Web API shows such a column as `_<column>_value` (wire-facts B2, E10); the OData layer reads this.
    """
    return {"lookup": target, "navigation": navigation}


def bounds(minimum: int, maximum: int) -> dict[str, Any]:
    """Column info of a whole-number column's MinValue/MaxValue, enforced on Web API writes."""
    return {"min": minimum, "max": maximum}


NOT_IN_WEB_API: dict[str, Any] = {"web_api": False}
"""Column info of a column the Web API does not show as a property of its own (e.g. owneridtype)."""


class ChainType(TypeDecorator[Chain]):
    """A delivery task's contact chain (chain.Chain), stored as JSON."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Chain | None, dialect: Dialect) -> list[dict[str, Any]] | None:
        return None if value is None else value.to_json()

    def process_result_value(self, value: list[dict[str, Any]] | None, dialect: Dialect) -> Chain | None:
        return None if value is None else Chain.from_json(value)


class ChainSettingsType(TypeDecorator[ChainSettings]):
    """A delivery task's planner settings (chain.ChainSettings), stored as JSON; none stored reads as the
    defaults (no reattempts)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: ChainSettings | None, dialect: Dialect) -> dict[str, Any] | None:
        return None if value is None else value.to_json()

    def process_result_value(self, value: dict[str, Any] | None, dialect: Dialect) -> ChainSettings:
        return ChainSettings() if not value else ChainSettings.from_json(value)
