"""The time zone resolver (issue #14 item 1): every form the documents write resolves to an IANA zone; anything
else is refused with close matches. And the Dynamics list it reads is whole and consistent."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from tzlocal.windows_tz import win_tz

from ccaas_emulator import timezones
from ccaas_emulator.chain import ChainContact


@pytest.mark.parametrize(
    ("given", "iana"),
    [
        # The reference samples (001_..., wire-facts A3-A5), verbatim.
        ("(GMT-03:00) Brasilia", "America/Sao_Paulo"),
        ("Central European Standard Time", "Europe/Warsaw"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        # The SMS sample's shortened display name: the beginning of exactly one display name.
        ("(GMT-08:00) Pacific Time", "America/Los_Angeles"),
        ("(GMT-08:00) Pacific Time (US & Canada)", "America/Los_Angeles"),
        ("(GMT+00:00) Dublin, Edinburgh, Lisbon, London", "Europe/London"),
        ("(GMT) Coordinated Universal Time", "Etc/UTC"),
        ("E. South America Standard Time", "America/Sao_Paulo"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("America/Sao_Paulo", "America/Sao_Paulo"),
        ("Europe/Lisbon", "Europe/Lisbon"),
        ("UTC", "Etc/UTC"),
        # Case and spacing do not matter; Windows' "(UTC" spelling of the offset reads as Dynamics' "(GMT".
        ("  pacific   STANDARD time ", "America/Los_Angeles"),
        ("(gmt-03:00)  BRASILIA", "America/Sao_Paulo"),
        ("america/sao_paulo", "America/Sao_Paulo"),
        ("utc", "Etc/UTC"),
        ("(UTC-08:00) Pacific Time (US & Canada)", "America/Los_Angeles"),
        # A Windows id outside the Dynamics list still has its CLDR zone.
        ("Yukon Standard Time", "America/Whitehorse"),
    ],
)
def test_every_documented_form_resolves(given, iana):
    assert timezones.iana_name(given) == iana
    assert timezones.resolve(given) == ZoneInfo(iana)


def test_an_unknown_time_zone_is_refused_with_close_matches():
    with pytest.raises(timezones.UnknownTimeZone) as refused:
        timezones.iana_name("Pacific Standart Time")

    assert refused.value.given == "Pacific Standart Time" and not refused.value.ambiguous
    assert refused.value.close_matches[0] == "Pacific Standard Time"
    assert len(refused.value.close_matches) <= timezones.MAX_CLOSE_MATCHES


def test_a_name_nothing_is_close_to_has_no_matches():
    with pytest.raises(timezones.UnknownTimeZone) as refused:
        timezones.iana_name("Mars/Olympus_Mons")

    assert refused.value.close_matches == []


def test_a_beginning_of_several_display_names_is_ambiguous():
    with pytest.raises(timezones.UnknownTimeZone) as refused:
        timezones.iana_name("(GMT-05:00)")

    assert refused.value.ambiguous
    assert refused.value.close_matches == [
        "(GMT-05:00) Eastern Time (US & Canada)",
        "(GMT-05:00) Indiana (East)",
        "(GMT-05:00) Haiti",
        "(GMT-05:00) Havana",
        "(GMT-05:00) Bogota, Lima, Quito, Rio Branco",
    ]


@pytest.mark.parametrize("given", ["", "   ", "Pacific", "GMT-08:00", "(GMT-08:00) Pacific Time (UK)"])
def test_other_text_is_refused(given):
    with pytest.raises(timezones.UnknownTimeZone):
        timezones.iana_name(given)
    assert timezones.iana_name_or_none(given) is None


def test_the_dynamics_list_is_whole_and_consistent():
    definitions = timezones.definitions()

    assert len(definitions) == 133
    assert len({d.code for d in definitions}) == len({d.standard_name for d in definitions}) == 133
    assert len({d.display_name.casefold() for d in definitions}) == 133
    by_code = {d.code: d for d in definitions}
    # wire-facts D: the classic codes the research found.
    assert (by_code[4].standard_name, by_code[35].standard_name) == ("Pacific Standard Time", "Eastern Standard Time")
    assert (by_code[65].display_name, by_code[85].standard_name) == ("(GMT-03:00) Brasilia", "GMT Standard Time")
    assert (by_code[92].standard_name, by_code[110].standard_name) == ("UTC", "W. Europe Standard Time")
    for definition in definitions:
        # Every Windows id but the retired Mid-Atlantic one has its zone from CLDR, not from us.
        assert definition.standard_name in win_tz or definition.code == 75
        assert definition.iana == win_tz.get(definition.standard_name, "Etc/GMT+2")
        offset = re.match(r"^\((?:GMT|UTC)(?:([+-])(\d\d):(\d\d))?\)", definition.display_name)
        assert offset is not None, definition
        sign = -1 if offset.group(1) == "-" else 1
        minutes = sign * (int(offset.group(2) or 0) * 60 + int(offset.group(3) or 0))
        assert definition.bias == -minutes
        assert definition.id == uuid.uuid5(timezones.DEFINITION_NAMESPACE, str(definition.code))
        assert timezones.iana_name(definition.display_name) == definition.iana
        assert timezones.iana_name(definition.standard_name) == definition.iana


def test_a_display_name_offset_is_the_zones_standard_offset_except_where_the_law_changed_since():
    # Dynamics' names lag behind tzdata where a country changed its offset (Paraguay 2024, Greenland 2023,
    # Jordan and Syria 2022, Volgograd 2020): those five keep Dynamics' spelling, and the zone is today's.
    changed = {59, 73, 129, 133, 304}
    for definition in timezones.definitions():
        zone = ZoneInfo(definition.iana)
        standard = set()
        for month in (1, 7):
            moment = datetime(2026, month, 15, tzinfo=zone)
            standard.add(int((moment.utcoffset() - moment.dst()).total_seconds() // 60))
        assert (-definition.bias in standard) is (definition.code not in changed), definition


def test_a_chain_contact_knows_its_zone_including_one_stored_before_zones_were_checked():
    stored = {"contactId": "c", "uniqueIdentifier": "u", "phones": [], "windows": []}

    assert ChainContact.from_json({**stored, "timezone": "(GMT-03:00) Brasilia"}).iana == "America/Sao_Paulo"
    assert ChainContact.from_json({**stored, "timezone": "Mars/Olympus_Mons"}).iana is None
    assert ChainContact.from_json({**stored, "timezone": None}).iana is None
    assert ChainContact.from_json(stored).iana is None
    contact = ChainContact.from_json({**stored, "timezone": "Pacific Standard Time"})
    assert "iana" not in contact.to_json() and ChainContact.from_json(contact.to_json()) == contact
