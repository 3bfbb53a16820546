"""A contact's time zone, as callers write it, turned into an IANA zone: one resolver for every intake path.

The documents ask for "a value from the Dynamics 365-approved list" and write it three ways (wire-facts D):
the display name ("(GMT-03:00) Brasilia"), a shortened one ("(GMT-08:00) Pacific Time") and the Windows id
("Central European Standard Time"). The Dynamics list is timezones.csv (the timezonedefinitions entity set
serves the same rows); Windows ids become IANA names through CLDR's windowsZones mapping as tzlocal ships it,
and IANA names through zoneinfo with the tzdata package. Pure: no tables, no HTTP.
"""

from __future__ import annotations

import csv
import difflib
import re
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

from tzlocal.windows_tz import win_tz

DEFINITION_NAMESPACE = uuid.UUID("0b7f3a52-6d0e-4c8a-9a51-ccaa5e000005")
"""uuid5 namespace of the timezonedefinitionids: one stable id per timezonecode."""

MAX_CLOSE_MATCHES = 5

# The one Dynamics zone CLDR no longer maps: Windows retired "Mid-Atlantic Standard Time" (UTC-02:00, no DST
# since 2014) without an IANA counterpart, so it keeps its fixed offset (docs/choices.md).
_RETIRED_WINDOWS_IDS = {"Mid-Atlantic Standard Time": "Etc/GMT+2"}


@dataclass(frozen=True)
class TimeZoneDefinition:
    """One row of Dynamics' timezonedefinition table, with the IANA zone it stands for."""

    code: int
    standard_name: str
    """The Windows zone id, e.g. Pacific Standard Time."""
    display_name: str
    """userinterfacename, e.g. (GMT-08:00) Pacific Time (US & Canada)."""
    bias: int
    """Minutes to add to local standard time to get UTC (480 for Pacific), as Windows and Dataverse count."""
    iana: str

    @property
    def id(self) -> uuid.UUID:
        return uuid.uuid5(DEFINITION_NAMESPACE, str(self.code))


class UnknownTimeZone(ValueError):
    """The text names no time zone (close_matches: the nearest names), or begins several display names."""

    def __init__(self, given: str, *, close_matches: list[str], ambiguous: bool = False) -> None:
        super().__init__(given)
        self.given = given
        self.close_matches = close_matches
        self.ambiguous = ambiguous


@cache
def definitions() -> tuple[TimeZoneDefinition, ...]:
    """The Dynamics list, in timezonecode order."""
    text = resources.files("ccaas_emulator").joinpath("timezones.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return tuple(
        TimeZoneDefinition(
            code=int(row["timezonecode"]),
            standard_name=row["standardname"],
            display_name=row["userinterfacename"],
            bias=int(row["bias"]),
            iana=_windows_to_iana(row["standardname"]),
        )
        for row in rows
    )


def resolve(text: str) -> ZoneInfo:
    """The zone a caller's time zone text names; raises UnknownTimeZone."""
    return ZoneInfo(iana_name(text))


def iana_name(text: str) -> str:
    """The IANA name of a display name, an unambiguous beginning of one, a Windows id or an IANA name (case
    and spacing aside); raises UnknownTimeZone."""
    key = _normal(text)
    index = _index()
    found = index.exact.get(key)
    if found is not None:
        return found
    beginning = [name for normal, name in index.display_names if normal.startswith(key)] if key else []
    if len(beginning) == 1:
        return index.exact[_normal(beginning[0])]
    if beginning:
        raise UnknownTimeZone(text, close_matches=beginning[:MAX_CLOSE_MATCHES], ambiguous=True)
    raise UnknownTimeZone(text, close_matches=close_matches(text))


def iana_name_or_none(text: str | None) -> str | None:
    """iana_name, or None for no text or text that names no single zone (rows stored before the check)."""
    if text is None:
        return None
    try:
        return iana_name(text)
    except UnknownTimeZone:
        return None


def close_matches(text: str) -> list[str]:
    """Up to five names a caller may have meant, display names and Windows ids first."""
    index = _index()
    found = difflib.get_close_matches(_normal(text), index.spellings, n=MAX_CLOSE_MATCHES, cutoff=0.6)
    return [index.spellings[key] for key in found]


@dataclass(frozen=True)
class _Index:
    exact: dict[str, str]
    """Normalised display name, Windows id or IANA name -> IANA name."""
    display_names: tuple[tuple[str, str], ...]
    """(normalised, as written), in timezonecode order."""
    spellings: dict[str, str]
    """Normalised -> as written, in the order close matches prefer (dicts keep insertion order)."""


@cache
def _index() -> _Index:
    exact: dict[str, str] = {}
    spellings: dict[str, str] = {}
    # Later kinds never replace earlier ones: a display name wins over a Windows id of the same spelling.
    for definition in definitions():
        exact.setdefault(_normal(definition.display_name), definition.iana)
        spellings.setdefault(_normal(definition.display_name), definition.display_name)
    for windows_id in (*win_tz, *_RETIRED_WINDOWS_IDS):
        exact.setdefault(_normal(windows_id), _windows_to_iana(windows_id))
        spellings.setdefault(_normal(windows_id), windows_id)
    for name in sorted(available_timezones()):
        exact.setdefault(_normal(name), name)
        spellings.setdefault(_normal(name), name)
    display_names = tuple((_normal(d.display_name), d.display_name) for d in definitions())
    return _Index(exact, display_names, spellings)


def _windows_to_iana(windows_id: str) -> str:
    return _RETIRED_WINDOWS_IDS.get(windows_id) or win_tz[windows_id]


_SPACES = re.compile(r"\s+")


def _normal(text: str) -> str:
    """Case and runs of spaces aside; "(UTC+01:00)", as Windows writes the offset, reads as Dynamics' "(GMT"."""
    key = _SPACES.sub(" ", text.strip()).casefold()
    return "(gmt" + key[4:] if key.startswith("(utc") else key
