"""FetchXML on the entity sets (`GET /<set>?fetchXml=...`, issue 15): compiled onto the $filter engine, paged with
Dataverse's paging cookie, refused in QueryBuilder's words when wrong."""

from __future__ import annotations

from urllib.parse import unquote
from xml.etree.ElementTree import fromstring, tostring
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.in_process import window
from tests.support.urls import CONFIGS, DELIVERIES, ROOT

PAGING = 'odata.include-annotations="Microsoft.Dynamics.CRM.fetchxmlpagingcookie,Microsoft.Dynamics.CRM.morerecords"'
DELIVERY = "msdyn_proactive_delivery"


@pytest.fixture
def three(emulator):
    """Three deliveries: two to +1555010x numbers (one with attributes), one to a number with % and _."""
    first = emulator.post("+15550100", windows=[window()], InputAttributes={"type": "callback", "tier": "Gold"})
    emulator.advance("PT1H")
    second = emulator.post("+15550101", windows=[window(240)])
    emulator.advance("PT1H")
    third = emulator.post("+1555%_0102", windows=[window(300)], InputAttributes={"type": "reminder"})
    return [str(first), str(second), str(third)]


def fetch(
    body: str, *, entity: str = DELIVERY, attributes: str = "<attribute name='msdyn_to_address'/>", **fetch_attrs
):
    extra = "".join(f" {name.replace('_', '-')}='{value}'" for name, value in fetch_attrs.items())
    return f"<fetch{extra}><entity name='{entity}'>{attributes}{body}</entity></fetch>"


def get(emulator, as_user, xml: str, url: str = DELIVERIES, **headers):
    return emulator.client.get(url, params={"fetchXml": xml}, headers=as_user(**headers))


def ids(emulator, as_user, body: str, **fetch_attrs) -> list[str]:
    response = get(emulator, as_user, fetch(body, **fetch_attrs))
    assert response.status_code == 200, response.text
    return [row["msdyn_proactive_deliveryid"] for row in response.json()["value"]]


def condition(attribute: str, operator: str, *values: str, value: str | None = None) -> str:
    inner = "".join(f"<value>{item}</value>" for item in values)
    single = f" value='{value}'" if value is not None else ""
    return f"<filter><condition attribute='{attribute}' operator='{operator}'{single}>{inner}</condition></filter>"


def test_attributes_order_and_the_answer_shape(emulator, as_user, three):
    first, second, third = three
    response = get(emulator, as_user, fetch("<order attribute='createdon' descending='true'/>"))
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == f"{ROOT}$metadata#msdyn_proactive_deliveries(msdyn_to_address)"
    assert [row["msdyn_proactive_deliveryid"] for row in body["value"]] == [third, second, first]
    assert set(body["value"][0]) == {"@odata.etag", "msdyn_proactive_deliveryid", "msdyn_to_address"}
    assert "@odata.nextLink" not in body


def test_all_attributes_leaves_out_null_columns_as_fetchxml_does(emulator, as_user, three):
    response = get(emulator, as_user, fetch("", attributes="<all-attributes/>"))
    row = response.json()["value"][0]
    odata_row = emulator.client.get(f"{DELIVERIES}({row['msdyn_proactive_deliveryid']})", headers=as_user()).json()
    nulls = {name for name, value in odata_row.items() if value is None}
    assert nulls and not nulls & set(row)
    assert {name for name, value in odata_row.items() if value is not None} - {"@odata.context"} <= set(row)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (condition("msdyn_to_address", "eq", value="+15550101"), [1]),
        (condition("msdyn_to_address", "ne", value="+15550101"), [0, 2]),
        (condition("msdyn_to_address", "like", value="%0102"), [2]),
        (condition("msdyn_to_address", "not-like", value="+1555010%"), [2]),
        (condition("msdyn_to_address", "in", "+15550100", "+15550101"), [0, 1]),
        (condition("msdyn_to_address", "not-in", "+15550100", "+15550101"), [2]),
        (condition("msdyn_to_address", "begins-with", value="+1555010"), [0, 1]),
        (condition("msdyn_to_address", "ends-with", value="_0102"), [2]),  # _ is literal here, as in $filter
        (condition("msdyn_to_address", "not-begin-with", value="+1555010"), [2]),
        (condition("msdyn_status", "eq", value="PENDING"), [1, 2]),  # strings ignore case (the first is dialled)
        (condition("msdyn_to_address", "null"), []),
        (condition("msdyn_to_address", "not-null"), [0, 1, 2]),
        (condition("createdon", "gt", value="2026-11-24T12:30:00Z"), [1, 2]),
        (condition("createdon", "between", "2026-11-24T12:30:00Z", "2026-11-24T13:30:00Z"), [1]),
        (condition("createdon", "not-between", "2026-11-24T12:30:00Z", "2026-11-24T13:30:00Z"), [0, 2]),
        (condition("createdon", "on", value="2026-11-24"), [0, 1, 2]),
        (condition("createdon", "on-or-after", value="2026-11-25"), []),
        (condition("createdon", "on-or-before", value="2026-11-23"), []),
        (
            "<filter type='or'><condition attribute='msdyn_to_address' operator='eq' value='+15550100'/>"
            "<filter><condition attribute='msdyn_to_address' operator='like' value='%01%'/>"
            "<condition attribute='createdon' operator='ge' value='2026-11-24T13:30:00Z'/></filter></filter>",
            [0, 2],
        ),
    ],
)
def test_conditions_and_nested_filters(emulator, as_user, three, body, expected):
    assert sorted(ids(emulator, as_user, body)) == sorted(three[index] for index in expected)


def test_link_entity_along_the_delivery_attribute_relationship(emulator, as_user, three):
    first, _, third = three

    def linked(filter_xml: str, link_type: str = "inner") -> list[str]:
        link = (
            "<link-entity name='msdyn_proactive_delivery_attribute' from='msdyn_proactive_delivery' "
            f"to='msdyn_proactive_deliveryid' link-type='{link_type}' alias='a'>{filter_xml}</link-entity>"
        )
        return sorted(ids(emulator, as_user, link))

    assert linked("") == sorted([first, third])
    assert linked(condition("msdyn_keyword", "eq", value="tier")) == [first]
    assert linked(condition("msdyn_value", "eq", value="REMINDER")) == [third]
    assert linked(condition("msdyn_keyword", "eq", value="tier"), "not any") == sorted([three[1], third])
    by_alias = (
        "<link-entity name='msdyn_proactive_delivery_attribute' from='msdyn_proactive_delivery' "
        "to='msdyn_proactive_deliveryid' alias='a'/>"
        "<filter><condition entityname='a' attribute='msdyn_value' operator='eq' value='Gold'/></filter>"
    )
    assert ids(emulator, as_user, by_alias) == [first]


def test_a_one_to_many_link_with_attributes_answers_a_row_per_related_row(emulator, as_user, three):
    first, second, third = three
    link = (
        "<order attribute='msdyn_to_address'/>"
        "<link-entity name='msdyn_proactive_delivery_attribute' from='msdyn_proactive_delivery' "
        "to='msdyn_proactive_deliveryid' link-type='{kind}' alias='a'><attribute name='msdyn_keyword'/>"
        "<attribute name='msdyn_value'/></link-entity>"
    )
    inner = get(emulator, as_user, fetch(link.format(kind="inner"))).json()["value"]
    pairs = [(row["msdyn_proactive_deliveryid"], row["a.msdyn_keyword"], row["a.msdyn_value"]) for row in inner]
    assert sorted(pairs) == sorted([(first, "type", "callback"), (first, "tier", "Gold"), (third, "type", "reminder")])
    outer = get(emulator, as_user, fetch(link.format(kind="outer"))).json()["value"]
    assert len(outer) == 4
    [lonely] = [row for row in outer if row["msdyn_proactive_deliveryid"] == second]
    assert "a.msdyn_keyword" not in lonely  # null columns are left out
    # Paged one row at a time with the cookie: every (delivery, attribute) pair once.
    seen = []
    xml = fetch(link.format(kind="outer"), count="1")
    while True:
        body = get(emulator, as_user, xml, Prefer=PAGING).json()
        seen += [(row["msdyn_proactive_deliveryid"], row.get("a.msdyn_keyword")) for row in body["value"]]
        if not body["@Microsoft.Dynamics.CRM.morerecords"]:
            break
        cookie = fromstring(body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"])
        root = fromstring(xml)
        root.set("paging-cookie", unquote(unquote(cookie.get("pagingcookie", ""))))
        root.set("page", cookie.get("pagenumber", ""))
        xml = tostring(root, encoding="unicode")
    assert sorted(seen, key=str) == sorted(
        [(row["msdyn_proactive_deliveryid"], row.get("a.msdyn_keyword")) for row in outer], key=str
    )
    assert len(seen) == 4


def test_many_to_one_link_reads_the_related_row_columns(emulator, as_user, three):
    first = three[0]
    xml = (
        "<fetch><entity name='msdyn_proactive_delivery_attribute'><attribute name='msdyn_keyword'/>"
        "<filter><condition attribute='msdyn_keyword' operator='eq' value='tier'/></filter>"
        "<link-entity name='msdyn_proactive_delivery' from='msdyn_proactive_deliveryid' "
        "to='msdyn_proactive_delivery' alias='d'><attribute name='msdyn_to_address'/></link-entity>"
        "</entity></fetch>"
    )
    response = emulator.client.get(
        "/api/data/v9.2/msdyn_proactive_delivery_attributes", params={"fetchXml": xml}, headers=as_user()
    )
    assert response.status_code == 200, response.text
    [row] = response.json()["value"]
    assert (row["msdyn_keyword"], row["d.msdyn_to_address"]) == ("tier", "+15550100")
    assert first


def test_count_and_paging_cookie_page_through_every_row_once(emulator, as_user, three):
    seen: list[str] = []
    xml = fetch("<order attribute='msdyn_to_address'/>", count="2")
    response = get(emulator, as_user, xml, Prefer=PAGING)
    body = response.json()
    assert body["@Microsoft.Dynamics.CRM.morerecords"] is True
    cookie = fromstring(body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"])
    assert cookie.get("pagenumber") == "2" and cookie.get("istracking") == "False"
    assert cookie.get("pagingcookie", "").startswith("%253ccookie%2520page%253d%25221%2522")  # encoded twice
    seen += [row["msdyn_to_address"] for row in body["value"]]
    # As the Dataverse SDK for Python continues: the cookie decoded twice, as the paging-cookie attribute.
    inner = unquote(unquote(cookie.get("pagingcookie", "")))
    root = fromstring(xml)
    root.set("paging-cookie", inner)
    root.set("page", "2")
    body = get(emulator, as_user, tostring(root, encoding="unicode"), Prefer=PAGING).json()
    seen += [row["msdyn_to_address"] for row in body["value"]]
    assert body["@Microsoft.Dynamics.CRM.morerecords"] is False
    assert "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie" not in body
    assert seen == sorted(["+15550100", "+15550101", "+1555%_0102"])


def test_page_number_alone_pages_by_position_and_top_limits(emulator, as_user, three):
    order = "<order attribute='msdyn_to_address'/>"
    assert len(ids(emulator, as_user, order, count="2", page="2")) == 1
    assert len(ids(emulator, as_user, order, top="1")) == 1
    response = get(emulator, as_user, fetch(order, top="1"), Prefer=PAGING)
    assert response.json()["@Microsoft.Dynamics.CRM.morerecords"] is False


def test_a_lookup_condition_compares_the_guid(emulator, as_user, three):
    xml = (
        "<fetch><entity name='msdyn_proactive_delivery_attribute'><attribute name='msdyn_keyword'/>"
        f"<filter><condition attribute='msdyn_proactive_delivery' operator='eq' value='{{{three[0].upper()}}}'/>"
        "</filter></entity></fetch>"
    )
    response = emulator.client.get(
        "/api/data/v9.2/msdyn_proactive_delivery_attributes", params={"fetchXml": xml}, headers=as_user()
    )
    assert sorted(row["msdyn_keyword"] for row in response.json()["value"]) == ["tier", "type"]


NO_ATTRIBUTE = (
    "'msdyn_proactive_delivery' entity doesn't contain attribute with Name = 'msdyn_nope' and NameMapping = 'Logical'."
)


@pytest.mark.parametrize(
    ("xml", "status", "code", "message"),
    [
        (fetch("", attributes="<attribute name='msdyn_nope'/>"), 400, "0x80041103", NO_ATTRIBUTE),
        (fetch(condition("msdyn_nope", "eq", value="x")), 400, "0x80041103", NO_ATTRIBUTE),
        (fetch("", entity="nosuchtable"), 400, "0x80041102", "The entity with a name = 'nosuchtable'"),
        (fetch("", entity="msdyn_proactive_engagement_config", attributes=""), 400, "0x80040203", "is not the table"),
        ("<fetch><entity name='msdyn_proactive_delivery'>", 400, "0x80040203", "not well-formed"),
        ("<x/>", 400, "0x80040203", "root element must be <fetch>"),
        (fetch(condition("msdyn_to_address", "last-x-days", value="3")), 400, "0x80040203", "'last-x-days'"),
        (fetch(condition("createdon", "eq", value="yesterday")), 400, "0x80060888", "incompatible types"),
        (fetch("", top="3", count="2"), 400, "0x80040203", "top attribute can't be specified"),
        (fetch("", aggregate="true"), 400, "0x80040203", "aggregate"),
        (
            fetch(
                "<link-entity name='msdyn_proactive_delivery_attribute' from='msdyn_proactive_delivery' "
                "to='msdyn_proactive_deliveryid'><link-entity name='msdyn_proactive_delivery' "
                "from='msdyn_proactive_deliveryid' to='msdyn_proactive_delivery'/></link-entity>"
            ),
            400,
            "0x80040203",
            "A link-entity inside another link-entity is not supported",
        ),
        (
            fetch(
                "<link-entity name='msdyn_proactive_engagement_config' from='msdyn_proactive_engagement_configid' "
                "to='msdyn_to_address'/>"
            ),
            400,
            "0x80040203",
            "no declared relationship joins those columns",
        ),
        (fetch("<order attribute='msdyn_to_address'/>", count="1", paging_cookie="&lt;cookie page=&quot;1&quot;/&gt;"),
         400, "0x80040203", "paging-cookie is not one this query issued"),
    ],
)  # fmt: skip
def test_bad_fetchxml_is_refused_in_the_envelope(emulator, as_user, three, xml, status, code, message):
    response = get(emulator, as_user, xml)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert message in error["message"]


def test_entities_and_dtds_are_refused(emulator, as_user):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE fetch [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        "<fetch><entity name='msdyn_proactive_delivery'><attribute name='&b;'/></entity></fetch>"
    )
    response = get(emulator, as_user, bomb)
    assert response.status_code == 400
    assert "DTDs, entities and external references are not allowed" in response.json()["error"]["message"]


def test_fetchxml_with_query_options_is_an_error(emulator, as_user):
    response = emulator.client.get(
        DELIVERIES, params={"fetchXml": fetch(""), "$select": "msdyn_to_address"}, headers=as_user()
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(
        "The fetchXml query parameter cannot be combined with the query option $select"
    )


def test_fetchxml_needs_the_read_privilege_of_every_table_it_reads(emulator, as_user):
    norole = emulator.client.get(DELIVERIES, params={"fetchXml": fetch("")}, headers=as_user("norole"))
    assert norole.status_code == 403
    assert norole.json()["error"]["code"] == "0x80040220"
    assert "prvReadmsdyn_proactive_delivery" in norole.json()["error"]["message"]


def test_configurations_are_queried_with_the_same_engine(emulator, as_user):
    xml = fetch(
        condition("msdyn_type", "eq", value="100000000"),
        entity="msdyn_proactive_engagement_config",
        attributes="<attribute name='msdyn_name'/><attribute name='msdyn_type'/>",
    )
    response = get(emulator, as_user, xml, url=CONFIGS)
    assert response.status_code == 200, response.text
    assert response.json()["value"] and all(row["msdyn_type"] == 100000000 for row in response.json()["value"])
    out_of_range = fetch(
        condition("msdyn_max_concurrent_calls", "eq", value="99999999999"),
        entity="msdyn_proactive_engagement_config",
        attributes="",
    )
    refused = get(emulator, as_user, out_of_range, url=CONFIGS)
    assert refused.status_code == 400
    assert "incompatible types" in refused.json()["error"]["message"]
    for flag, status in (("1", 200), ("false", 200), ("maybe", 400)):
        yes_no = fetch(
            condition("msdyn_ignore_queue_hours", "eq", value=flag),
            entity="msdyn_proactive_engagement_config",
            attributes="",
        )
        assert get(emulator, as_user, yes_no, url=CONFIGS).status_code == status


_OPERATORS = st.sampled_from(
    ["eq", "ne", "gt", "ge", "lt", "le", "like", "not-like", "in", "not-in", "null", "not-null", "between",
     "begins-with", "ends-with", "on", "on-or-after", "on-or-before", "last-x-days", ""]
)  # fmt: skip
_COLUMNS = st.sampled_from(["msdyn_to_address", "createdon", "msdyn_priority", "msdyn_proactive_deliveryid", "x"])
_VALUES = st.one_of(
    st.text(max_size=12), st.sampled_from(["1", "-5", "2026-11-24", "{0A9E17D4-0000-4000-8000-0000000A9E17}"])
)


@st.composite
def _conditions(draw) -> str:
    values = "".join(f"<value>{escape(value)}</value>" for value in draw(st.lists(_VALUES, max_size=3)))
    single = draw(st.one_of(st.none(), _VALUES))
    value = "" if single is None else f" value={quoteattr(single)}"
    return f"<condition attribute='{draw(_COLUMNS)}' operator='{draw(_OPERATORS)}'{value}>{values}</condition>"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    conditions=st.lists(_conditions(), max_size=4),
    kind=st.sampled_from(["and", "or", "xor"]),
    paging=st.sampled_from(["", " count='2'", " top='1'", " page='3' count='1'", " count='0'", " top='x'"]),
    raw=st.one_of(st.none(), st.text(max_size=40)),
)
def test_any_fetchxml_is_answered_without_a_server_error(emulator, as_user, conditions, kind, paging, raw):
    xml = (
        raw
        if raw is not None
        else (
            f"<fetch{paging}><entity name='{DELIVERY}'><attribute name='msdyn_to_address'/>"
            f"<filter type='{kind}'>{''.join(conditions)}</filter></entity></fetch>"
        )
    )
    response = get(emulator, as_user, xml)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert set(response.json()["error"]) == {"code", "message"}
