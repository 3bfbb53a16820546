"""$filter, $orderby, $select and $top as Dataverse reads them (wire-facts E9), and every way to get them wrong."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.in_process import window
from tests.support.urls import ATTRIBUTES, CONFIGS, DELIVERIES, NAV


@pytest.fixture
def three(emulator):
    """Three deliveries: two to +1555010x numbers (one with attributes), one to a number with % and _."""
    first = emulator.post("+15550100", windows=[window()], InputAttributes={"type": "callback", "tier": "Gold"})
    emulator.advance("PT1H")
    second = emulator.post("+15550101", windows=[window(240)])
    emulator.advance("PT1H")
    third = emulator.post("+1555%_0102", windows=[window(300)], InputAttributes={"type": "reminder"})
    return [str(first), str(second), str(third)]


def ids(emulator, as_user, query: str) -> list[str]:
    response = emulator.client.get(f"{DELIVERIES}?$select=msdyn_to_address&{query}", headers=as_user())
    assert response.status_code == 200, response.text
    return [row["msdyn_proactive_deliveryid"] for row in response.json()["value"]]


def error(emulator, as_user, url: str) -> tuple[int, dict]:
    response = emulator.client.get(url, headers=as_user())
    return response.status_code, response.json()


def test_comparison_and_logical_operators(emulator, as_user, three):
    first, second, third = three
    assert ids(emulator, as_user, "$filter=msdyn_to_address eq '%2B15550101'") == [second]
    assert sorted(ids(emulator, as_user, "$filter=msdyn_to_address ne '%2B15550101'")) == sorted([first, third])
    query = (
        "$filter=(msdyn_to_address eq '%2B15550100' or msdyn_to_address eq '%2B15550101')"
        " and not (msdyn_status eq 'Complete')"
    )
    assert sorted(ids(emulator, as_user, query)) == sorted([second])


def test_string_comparisons_ignore_case(emulator, as_user, three):
    assert len(ids(emulator, as_user, "$filter=msdyn_status eq 'PENDING'")) == 2
    assert len(ids(emulator, as_user, "$filter=msdyn_dialmode_type eq 'copilot'")) == 3


def test_contains_startswith_endswith_match_percent_and_underscore_literally(emulator, as_user, three):
    first, second, third = three
    assert ids(emulator, as_user, "$filter=contains(msdyn_to_address,'%25_')") == [third]
    assert sorted(ids(emulator, as_user, "$filter=startswith(msdyn_to_address,'%2B1555010')")) == sorted(
        [first, second]
    )
    assert ids(emulator, as_user, "$filter=endswith(msdyn_to_address,'_0102')") == [third]
    assert ids(emulator, as_user, "$filter=contains(msdyn_to_address,'5_5')") == []  # _ is no wildcard


def test_datetimes_compare_in_utc_whatever_offset_the_literal_has(emulator, as_user, three):
    first, second, third = three
    # The second was accepted at NOW + 1 h = 13:00Z, which is 15:00 at +02:00.
    assert sorted(ids(emulator, as_user, "$filter=createdon ge 2026-11-24T15:00:00%2B02:00")) == sorted([second, third])
    assert ids(emulator, as_user, "$filter=createdon gt 2026-11-24T15:00:00%2B02:00") == [third]
    assert ids(emulator, as_user, "$filter=createdon lt 2026-11-24T12:30:00Z") == [first]
    assert len(ids(emulator, as_user, "$filter=createdon ge 2026-11-24")) == 3


def test_null_comparisons(emulator, as_user, three):
    assert len(ids(emulator, as_user, "$filter=msdyn_result eq null")) == 2
    assert len(ids(emulator, as_user, "$filter=msdyn_result ne null")) == 1


def test_lookups_compare_by_guid(emulator, as_user, three):
    first = three[0]
    response = emulator.client.get(
        f"{ATTRIBUTES}?$filter=_msdyn_proactive_delivery_value eq {first}", headers=as_user()
    )
    assert {row["msdyn_keyword"] for row in response.json()["value"]} == {"type", "tier"}


def test_any_and_all_range_over_the_attributes(emulator, as_user, three):
    first, second, third = three
    assert ids(emulator, as_user, f"$filter={NAV}/any(a:a/msdyn_keyword eq 'tier')") == [first]
    assert sorted(ids(emulator, as_user, f"$filter={NAV}/any()")) == sorted([first, third])
    assert sorted(ids(emulator, as_user, f"$filter={NAV}/all(a:a/msdyn_value eq 'reminder')")) == sorted(
        [second, third]
    )  # all() holds for a delivery without attributes
    query = f"$filter={NAV}/any(a:a/msdyn_keyword eq 'type' and contains(a/msdyn_value,'CALL'))"
    assert ids(emulator, as_user, query) == [first]


def test_parameter_aliases_stand_for_their_values(emulator, as_user, three):
    assert ids(emulator, as_user, "$filter=msdyn_to_address eq @p1&@p1='%2B15550101'") == [three[1]]


def test_orderby_and_top(emulator, as_user, three):
    first, second, third = three
    assert ids(emulator, as_user, "$orderby=createdon desc") == [third, second, first]
    assert ids(emulator, as_user, "$orderby=msdyn_result desc,createdon asc&$top=2") == [first, second]
    assert ids(emulator, as_user, "$orderby=createdon&$top=0") == []


def test_top_is_ignored_when_a_page_size_is_preferred(emulator, as_user, three):
    response = emulator.client.get(f"{DELIVERIES}?$top=1", headers=as_user(Prefer="odata.maxpagesize=2"))
    assert len(response.json()["value"]) == 2
    assert "@odata.nextLink" in response.json()
    assert response.headers.get_list("preference-applied") == ["odata.maxpagesize=2"]


NOPE = "Could not find a property named 'msdyn_nope' on type 'Microsoft.Dynamics.CRM.msdyn_proactive_delivery'."
TOP = "Invalid value '-1' for $top query option found. The $top query option requires a non-negative integer value."
MISMATCH = (
    "A binary operator with incompatible types was detected. Found operand types '{}' and '{}' for operator kind "
    "'Equal'."
)
UNKNOWN = (
    "An unknown function with name 'nosuchfunction' was found. This may also be a function import or a key lookup "
    "on a navigation property, which is not allowed."
)
TWICE = "Query option '$filter' was specified more than once, but it must be specified at most once."


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("$select=msdyn_nope", NOPE),
        ("$filter=msdyn_nope eq 1", NOPE),
        ("$orderby=msdyn_nope", NOPE),
        ("$expand=msdyn_nope", NOPE),
        ("$skip=1", "Skip Clause is not supported in CRM"),
        ("$search=x", "The query parameter $search is not supported"),
        ("$format=json", "The query parameter $format is not supported"),
        ("$top=-1", TOP),
        ("$count=maybe", "'maybe' is not a valid count option."),
        ("$filter=versionnumber eq 'one'", MISMATCH.format("Edm.Int64", "Edm.String")),
        ("$filter=msdyn_status eq 1", MISMATCH.format("Edm.String", "Edm.Int32")),
        ("$filter=tolower(msdyn_status) eq 'x'", None),
        ("$filter=nosuchfunction(msdyn_status)", UNKNOWN),
        ("$filter=msdyn_status eq", None),
        ("$filter=(msdyn_status eq 'x'", None),
        ("$filter=", None),
        ("$filter=msdyn_status eq 'x'&$filter=msdyn_status eq 'y'", TWICE),
        (
            "$skiptoken=whatever",
            "The $skiptoken is not valid for this query; use the @odata.nextLink of a response as is.",
        ),
        ("$filter=createdon gt 10000-01-01T00:00:00Z", None),
        ("$filter=versionnumber gt 99999999999999999999999", None),
        ("$filter=msdyn_status add 1 eq 2", None),
    ],
)
def test_malformed_queries_are_400_in_the_envelope(emulator, as_user, query, message):
    status, body = error(emulator, as_user, f"{DELIVERIES}?{query}")

    assert status == 400, body
    assert body["error"]["code"] == "0x80060888"
    if message is not None:
        assert body["error"]["message"] == message


def test_an_unknown_entity_set_is_404(emulator, as_user):
    status, body = error(emulator, as_user, "/api/data/v9.2/msdyn_proactive_deliverys")

    assert status == 404
    assert body == {
        "error": {"code": "0x8006088a", "message": "Resource not found for the segment 'msdyn_proactive_deliverys'."}
    }


HOSTILE = [
    "msdyn_status eq 'x''; DROP TABLE msdyn_proactive_delivery; --'",
    "msdyn_status eq 'x' or 1 eq 1",
    "msdyn_status eq ''' or ''1''=''1'",
    "1 eq 1",
    "msdyn_status eq 'x') or (1 eq 1",
    "msdyn_status eq 'unterminated",
    'msdyn_status eq "double"',
    "msdyn_status eq 'x'; SELECT * FROM systemuser",
    "msdyn_status eq 'x' union select * from emulator_signing_key",
    "msdyn_status/../../etc/passwd eq 'x'",
    "msdyn_status eq 'a\u0000b'",
    "msdyn_status eq '\U0001f4a9'",
    "contains(msdyn_status,'%')",
    "msdyn_status in ('a','b')",
    "msdyn_status eq null and null eq msdyn_status",
    "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery/any(a:a/nope eq 1)",
    "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery/any(a:b/msdyn_keyword eq 1)",
    "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery eq null",
    "_ownerid_value eq 'not-a-guid'",
    "_ownerid_value eq 00000000-0000-0000-0000-000000000000",
    "createdon eq 2026-02-30T00:00:00Z",
    "createdon eq 0001-01-01T00:00:00Z",
    "ttlinseconds eq 2147483648",
    "ttlinseconds eq -2147483649",
    "ttlinseconds eq 1.5e308",
    "Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=7)",
    "msdyn_status eq @nope",
    "(" * 200 + "msdyn_status eq 'x'" + ")" * 200,
    "not " * 300 + "msdyn_status eq 'x'",
    " or ".join(["msdyn_status eq 'x'"] * 700),
    " and ".join(["msdyn_status eq 'x'"] * 450),
    "msdyn_status eq '" + "x" * 20_000 + "'",
]


@pytest.mark.parametrize("text", HOSTILE, ids=[f"hostile{index}" for index in range(len(HOSTILE))])
def test_hostile_filters_never_reach_sql_and_never_fail_with_5xx(emulator, as_user, text):
    emulator.post()
    response = emulator.client.get(f"{DELIVERIES}?$select=msdyn_status&$filter={quote(text)}", headers=as_user())

    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "0x80060888"
    else:
        assert len(response.json()["value"]) <= 1  # one delivery exists; no filter widens beyond the table


def test_the_deliveries_table_survives_the_injection_attempts(emulator, as_user):
    emulator.post()
    for text in HOSTILE[:10]:
        emulator.client.get(f"{DELIVERIES}?$filter={quote(text)}", headers=as_user())
    assert len(emulator.client.get(DELIVERIES, headers=as_user()).json()["value"]) == 1


def test_a_url_over_32_kb_is_414(emulator, as_user):
    long_filter = quote("msdyn_status eq '" + "x" * 33_000 + "'")

    response = emulator.client.get(f"{DELIVERIES}?$filter={long_filter}", headers=as_user())

    assert response.status_code == 414
    assert response.json()["error"]["code"] == "0x80060888"


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.one_of(
        st.text(min_size=1, max_size=80),
        st.lists(
            st.sampled_from(
                [
                    "msdyn_status",
                    "eq",
                    "ne",
                    "and",
                    "or",
                    "not",
                    "(",
                    ")",
                    "'x'",
                    "null",
                    "1",
                    "1.5",
                    "true",
                    "createdon",
                    "2026-01-01T00:00:00Z",
                    "contains(",
                    ",",
                    "any(a:a/msdyn_keyword",
                    "/",
                    NAV,
                    "00000000-0000-0000-0000-000000000000",
                    "_ownerid_value",
                    "gt",
                    "''",
                    "in",
                    "@p",
                ]
            ),
            min_size=1,
            max_size=12,
        ).map(" ".join),
    )
)
def test_any_filter_text_answers_200_or_400(emulator, as_user, text):
    response = emulator.client.get(f"{DELIVERIES}?$select=msdyn_status&$filter={quote(text)}", headers=as_user())
    assert response.status_code in (200, 400), (text, response.text)
    if response.status_code == 400:
        assert set(response.json()) == {"error"}


def test_configurations_filter_on_choices_and_booleans(emulator, as_user):
    body = emulator.client.get(
        f"{CONFIGS}?$select=msdyn_name&$filter=msdyn_type eq 100000001 and msdyn_ignore_queue_hours eq false",
        headers=as_user(),
    ).json()
    assert [row["msdyn_proactive_engagement_configid"] for row in body["value"]] == [
        "b2c3d4e5-f6a7-8901-bcde-f12345678901"
    ]


OPTION_WORDS = st.sampled_from(
    ["msdyn_status", "msdyn_result", "createdon", NAV, "msdyn_proactive_delivery", "createdby", "asc", "desc",
     ",", ";", "(", ")", "$select=", "$filter=", "$top=", "$orderby=", "$expand=", "*", "'", "/", "=", "1", "-1",
     "\u0000", "é", "%"]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    option=st.sampled_from(["$select", "$orderby", "$expand", "$top", "$count", "$skiptoken", "@p1"]),
    text=st.one_of(st.text(max_size=60), st.lists(OPTION_WORDS, min_size=1, max_size=10).map("".join)),
)
def test_any_query_option_text_answers_200_or_400(emulator, as_user, option, text):
    response = emulator.client.get(f"{DELIVERIES}?{option}={quote(text)}", headers=as_user())
    assert response.status_code in (200, 400), (option, text, response.text)
    if response.status_code == 400:
        assert set(response.json()) == {"error"}


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.text(max_size=80), tail=st.sampled_from(["", "/msdyn_status", f"/{NAV}", "/$count", "/nope", "/$ref"]))
def test_any_key_segment_answers_without_a_5xx(emulator, as_user, key, tail):
    response = emulator.client.get(f"{DELIVERIES}({quote(key, safe='')}){tail}", headers=as_user())
    assert response.status_code < 500, (key, tail, response.text)
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}


def test_digits_beyond_ascii_are_not_numbers(emulator, as_user):
    # str.isdigit() accepts '²' and '٣'; int() does not. Both are a 400 for $top, and no page size for Prefer.
    for value in ("²", "٣", "1²"):
        response = emulator.client.get(f"{DELIVERIES}?$top={quote(value)}", headers=as_user())
        assert response.status_code == 400, value
    prefer = emulator.client.get(DELIVERIES, headers={**as_user(), "Prefer": "odata.maxpagesize=²".encode()})
    assert prefer.status_code == 200 and "preference-applied" not in prefer.headers
