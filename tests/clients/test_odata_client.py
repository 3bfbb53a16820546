"""python-odata (PyPI `python-odata`, import `odata`) reflects the emulator's $metadata and queries it.

python-odata builds its entity classes, navigation properties and unbound actions from the CSDL alone
(`ODataService(url, session=..., reflect_entities=True)`), so this checks that the document is one a
generic OData v4 client can use: the Dataverse shape (namespace Microsoft.Dynamics.CRM, alias mscrm,
the abstract crmbaseentity base type, container "System") and the query options it generates
($filter with startswith and GUID literals, $orderby, $expand, $select, $top, /$count, nextLink paging).
The bearer token travels on the requests.Session given to the service.

Two limits of python-odata 0.8, not of the emulator, shape the tests:
- an action whose return type is a complex type comes back as None: `ActionBase._callable` keeps only
  `response["value"]`, which OData v4 uses for collections and primitives, never for a complex result
  (Dataverse and the emulator answer `{"@odata.context": ..., "DeliveryId": ...}`). The deliveries are
  therefore created with plain POSTs when their ids matter.
- an insert sends every declared property, null ones included (`_msdyn_queue_value: null`,
  `createdon: null`, ...), which Dataverse rejects as it rejects lookups' `_..._value` names in a
  payload; `ODataServerFlags(skip_null_properties=True)` makes it send only what was set.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from odata.exceptions import ODataError
from odata.flags import ODataServerFlags
from odata.property import DatetimeProperty, IntegerProperty, StringProperty, UUIDProperty
from odata.service import ODataService

from tests.support.demo import DEMO_CONTACT, DEMO_VOICE_CONFIG
from tests.support.samples import fixture_json
from tests.support.servers import ServedEmulator, is_guid, tomorrow_window

pytestmark = pytest.mark.slow  # a served emulator per test

NAV = "msdyn_proactive_delivery_attribute_msdyn_proactive_delivery_msdyn_proactive_delivery"
PREFIX = "+1425555040"
PENDING = 4


class Recorder:
    """The URLs a requests.Session fetched, to see what python-odata sent."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.urls.append(response.request.url or "")


def session_for(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


@pytest.fixture
def agent(served_emulator: ServedEmulator) -> Iterator[requests.Session]:
    with session_for(served_emulator.agent_token) as session:
        yield session


@pytest.fixture
def admin(served_emulator: ServedEmulator) -> Iterator[requests.Session]:
    with session_for(served_emulator.admin_token) as session:
        yield session


def call_action(
    session: requests.Session, served_emulator: ServedEmulator, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = session.post(f"{served_emulator.api}{name}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def voice(number: str, **extra: Any) -> dict[str, Any]:
    return {
        "ApiVersion": "1.0",
        "ProactiveEngagementConfigId": DEMO_VOICE_CONFIG,
        "DestinationPhoneNumber": number,
        "ContactId": DEMO_CONTACT,
        **extra,
    }


def test_python_odata_reflects_the_metadata_and_finds_the_deliveries_the_actions_created(served_emulator, agent):
    window = tomorrow_window()
    pending = {
        f"{PREFIX}{i}": call_action(
            agent,
            served_emulator,
            "CCaaS_CreateProactiveVoiceDelivery",
            voice(f"{PREFIX}{i}", Windows=[window], InputAttributes={"position": str(i)}),
        )["DeliveryId"]
        for i in range(PENDING)
    }
    # The reference samples' windows are in the past: the embedded dialer expires those deliveries.
    sample = call_action(
        agent, served_emulator, "CCaaS_CreateProactiveVoiceDelivery", fixture_json("000_voice_sample.json")
    )
    chained = call_action(
        agent, served_emulator, "CCaaS_CreateProactiveDelivery", fixture_json("001_voice_sample.json")
    )

    service = ODataService(served_emulator.api, session=agent, reflect_entities=True, quiet_progress=True)

    # The metadata: the entity type (under its namespace and its alias), its key, typed properties,
    # the navigation both ways, the entity sets and the two unbound actions with their parameters.
    delivery_type = service.types["Microsoft.Dynamics.CRM.msdyn_proactive_delivery"]
    attribute_type = service.types["Microsoft.Dynamics.CRM.msdyn_proactive_delivery_attribute"]
    assert service.types["mscrm.msdyn_proactive_delivery"] is delivery_type
    assert delivery_type.__name__ == "msdyn_proactive_delivery"
    assert set(service.entities) == {
        "msdyn_proactive_deliveries",
        "msdyn_proactive_delivery_attributes",
        "msdyn_proactive_engagement_configs",
        "msdyn_proactive_engagement_planner_configs",
        "msdynmkt_quiettimesettings",
        "systemusers",
        "timezonedefinitions",
        "contacts",
    }
    Deliveries = service.entities["msdyn_proactive_deliveries"]
    Attributes = service.entities["msdyn_proactive_delivery_attributes"]
    assert issubclass(Deliveries, delivery_type) and issubclass(Attributes, attribute_type)
    assert [name for name, prop in Deliveries().__odata__.primary_key_properties] == ["msdyn_proactive_deliveryid"]
    assert isinstance(Deliveries.msdyn_proactive_deliveryid, UUIDProperty)
    assert isinstance(Deliveries.msdyn_status, StringProperty)
    assert isinstance(Deliveries.msdyn_to_address, StringProperty)
    assert isinstance(Deliveries.createdon, DatetimeProperty)
    assert isinstance(Deliveries.versionnumber, IntegerProperty)
    to_attributes = getattr(delivery_type, NAV)
    assert (to_attributes.is_collection, to_attributes.entitycls) == (True, attribute_type)
    to_delivery = attribute_type.msdyn_proactive_delivery
    assert (to_delivery.is_collection, to_delivery.entitycls, to_delivery.foreign_key) == (
        False,
        delivery_type,
        "_msdyn_proactive_delivery_value",
    )
    assert set(service.actions) == {
        "CCaaS_CreateProactiveVoiceDelivery",
        "CCaaS_CreateProactiveDelivery",
        "CCaaS_CancelDeliveryTask",
        "CCaaS_CreateOperation",
        "CCaaS_CreateSimpleProactiveDelivery",
        "CCaaS_CreateProactiveSMSDelivery",
        "CCaaS_CreateProactiveBulkDelivery",
        "CCaaS_CreateProactiveDeliveryBulkV2",
        "CreateMultiple",  # bound to the writable sets' collections (docs/dataverse-sdk.md)
        "UpdateMultiple",
        "UpsertMultiple",
    }
    assert set(service.actions["CCaaS_CreateProactiveVoiceDelivery"].parameters) == {
        "ApiVersion",
        "ProactiveEngagementConfigId",
        "DestinationPhoneNumber",
        "ContactId",
        "Windows",
        "InputAttributes",
    }

    query = service.query(Deliveries)

    # $filter on msdyn_status and msdyn_to_address: exactly the deliveries the actions created.
    found = (
        query.filter(Deliveries.msdyn_status == "Pending")
        .filter(Deliveries.msdyn_to_address.startswith(PREFIX))
        .order_by(Deliveries.msdyn_to_address.asc())
        .all()
    )
    assert [(d.msdyn_to_address, d.msdyn_proactive_deliveryid) for d in found] == sorted(pending.items())
    assert all(d.msdyn_channel == "Voice" and d.msdyn_contact_id == DEMO_CONTACT for d in found)
    assert all(d.createdon is not None and d.versionnumber >= 1 for d in found)
    only = query.filter(Deliveries.msdyn_to_address == f"{PREFIX}2").filter(Deliveries.msdyn_status == "Pending").all()
    assert [d.msdyn_proactive_deliveryid for d in only] == [pending[f"{PREFIX}2"]]
    elsewhere = query.filter(Deliveries.msdyn_to_address == f"{PREFIX}2").filter(Deliveries.msdyn_status == "Expired")
    assert elsewhere.all() == []

    # The reference sample, once the dialer has expired it (bounded wait), and the chained request's row.
    expired: list[Any] = []
    deadline = time.monotonic() + 30
    while not expired:
        expired = (
            query.filter(Deliveries.msdyn_status == "Expired").filter(Deliveries.msdyn_to_address == "+123456798").all()
        )
        assert expired or time.monotonic() < deadline, "the sample's delivery was not expired within 30 s"
        time.sleep(0 if expired else 0.25)
    assert [d.msdyn_proactive_deliveryid for d in expired] == [sample["DeliveryId"]]
    assert [d.msdyn_proactive_deliveryid for d in query.filter(Deliveries.msdyn_to_address == "+15550100").all()] == [
        chained["DeliveryId"]
    ]

    # get() (a $filter on the GUID key), then the collection navigation, loaded on access.
    first = query.get(pending[f"{PREFIX}0"])
    assert (first.msdyn_proactive_deliveryid, first.msdyn_to_address) == (pending[f"{PREFIX}0"], f"{PREFIX}0")
    assert {(a.msdyn_keyword, a.msdyn_value) for a in getattr(first, NAV)} == {("position", "0")}

    # $expand of the collection navigation: every delivery with its own attribute.
    expanded = query.filter(Deliveries.msdyn_to_address.startswith(PREFIX)).expand(getattr(Deliveries, NAV)).all()
    assert {d.msdyn_to_address: {(a.msdyn_keyword, a.msdyn_value) for a in getattr(d, NAV)} for d in expanded} == {
        f"{PREFIX}{i}": {("position", str(i))} for i in range(PENDING)
    }

    # The single-valued navigation back, expanded and loaded on access.
    Attribute = service.query(Attributes)
    second = Attribute.filter(Attributes.msdyn_keyword == "position").filter(Attributes.msdyn_value == "1")
    [expanded_attribute] = second.expand(Attributes.msdyn_proactive_delivery).all()
    assert expanded_attribute.msdyn_proactive_delivery.msdyn_proactive_deliveryid == pending[f"{PREFIX}1"]
    [lazy_attribute] = second.all()
    assert lazy_attribute.msdyn_proactive_delivery.msdyn_to_address == f"{PREFIX}1"

    # /$count with a $filter, $select (raw rows), $top.
    assert query.filter(Deliveries.msdyn_to_address.startswith(PREFIX)).count() == PENDING
    selected = query.select(Deliveries.msdyn_to_address, Deliveries.msdyn_status).filter(
        Deliveries.msdyn_to_address == f"{PREFIX}3"
    )
    assert selected.all() == [
        {
            "@odata.etag": 'W/"1"',
            "msdyn_proactive_deliveryid": pending[f"{PREFIX}3"],
            "msdyn_to_address": f"{PREFIX}3",
            "msdyn_status": "Pending",
        }
    ]
    top = query.filter(Deliveries.msdyn_to_address.startswith(PREFIX)).order_by(Deliveries.msdyn_to_address.desc())
    assert [d.msdyn_to_address for d in top.limit(2).all()] == [f"{PREFIX}3", f"{PREFIX}2"]

    # Paging: with odata.maxpagesize=3 on the session, python-odata follows @odata.nextLink itself.
    recorder = Recorder()
    agent.hooks["response"].append(recorder)
    agent.headers["Prefer"] = "odata.maxpagesize=3"
    try:
        paged = top.all()
    finally:
        del agent.headers["Prefer"]
        agent.hooks["response"].remove(recorder)
    assert [d.msdyn_to_address for d in paged] == [f"{PREFIX}{i}" for i in reversed(range(PENDING))]
    assert len({d.msdyn_proactive_deliveryid for d in paged}) == PENDING
    assert len(recorder.urls) == 2 and "$skiptoken=" in recorder.urls[1]

    # An action called through python-odata's reflected callable creates its delivery (see the module
    # docstring for why its return value cannot be used).
    service.actions["CCaaS_CreateProactiveVoiceDelivery"](
        ApiVersion="1.0",
        ProactiveEngagementConfigId=DEMO_VOICE_CONFIG,
        DestinationPhoneNumber=f"{PREFIX}9",
        ContactId=DEMO_CONTACT,
        Windows=[window],
        InputAttributes=None,
    )
    [reflected] = query.filter(Deliveries.msdyn_to_address == f"{PREFIX}9").all()
    assert is_guid(reflected.msdyn_proactive_deliveryid) and reflected.msdyn_status == "Pending"
    assert reflected.msdyn_proactive_deliveryid in served_emulator.rows()["deliveries"]


def test_python_odata_creates_updates_and_deletes_an_engagement_configuration(served_emulator, admin, agent):
    flags = ODataServerFlags(skip_null_properties=True)
    service = ODataService(
        served_emulator.api, session=admin, reflect_entities=True, quiet_progress=True, server_flags=flags
    )
    Configs = service.entities["msdyn_proactive_engagement_configs"]

    # POST with the client's own key: 204, the row is there under that key.
    config = Configs()
    config.msdyn_proactive_engagement_configid = "0d6f3a51-7f3e-4c55-9a57-1d9c1f2b7e01"
    config.msdyn_name = "python-odata configuration"
    config.msdyn_priority = 2
    service.save(config)
    assert served_emulator.rows()["configs"]["0d6f3a51-7f3e-4c55-9a57-1d9c1f2b7e01"] == "python-odata configuration"

    # PATCH of the changed property, then python-odata reads the row back.
    config.msdyn_description = "changed by python-odata"
    service.save(config)
    assert (config.msdyn_description, config.msdyn_priority, config.versionnumber) == (
        "changed by python-odata",
        2,
        2,
    )

    # POST without a key, asking for the representation: python-odata learns the new id from it.
    admin.headers["Prefer"] = "return=representation"
    try:
        returned = Configs()
        returned.msdyn_name = "python-odata representation"
        service.save(returned)
    finally:
        del admin.headers["Prefer"]
    assert is_guid(returned.msdyn_proactive_engagement_configid) and returned.versionnumber == 1

    # DELETE, then the key filter finds nothing.
    service.delete(config)
    query = service.query(Configs)
    key = Configs.msdyn_proactive_engagement_configid
    assert query.filter(key == "0d6f3a51-7f3e-4c55-9a57-1d9c1f2b7e01").all() == []
    assert [c.msdyn_name for c in query.filter(Configs.msdyn_name.startswith("python-odata")).all()] == [
        "python-odata representation"
    ]

    # An agent may read configurations but not create one: Dataverse's 403 reaches the caller.
    agents = ODataService(
        served_emulator.api, session=agent, reflect_entities=True, quiet_progress=True, server_flags=flags
    )
    refused = agents.entities["msdyn_proactive_engagement_configs"]()
    refused.msdyn_name = "an agent may not"
    with pytest.raises(ODataError) as denied:
        agents.save(refused)
    assert (denied.value.status_code, denied.value.code) == ("HTTP 403", "0x80040220")
    configs = served_emulator.rows()["configs"]
    assert "0d6f3a51-7f3e-4c55-9a57-1d9c1f2b7e01" not in configs
    assert configs[returned.msdyn_proactive_engagement_configid] == "python-odata representation"
    assert "an agent may not" not in configs.values()
