"""$metadata: CSDL generated from the tables and the actions, in Dataverse's shape (research notes 5)."""

from __future__ import annotations

from xml.etree import ElementTree

from ccaas_emulator.intake.schemas import ACTIONS
from ccaas_emulator.odata.entity_sets import ENTITY_SETS
from tests.support.urls import NAV

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def schema(emulator, as_user) -> ElementTree.Element:
    response = emulator.client.get("/api/data/v9.2/$metadata", headers=as_user())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "{http://docs.oasis-open.org/odata/ns/edmx}Edmx" and root.get("Version") == "4.0"
    [found] = root.iter(f"{EDM}Schema")
    assert (found.get("Namespace"), found.get("Alias")) == ("Microsoft.Dynamics.CRM", "mscrm")
    return found


def entity_type(found: ElementTree.Element, name: str) -> ElementTree.Element:
    [element] = [item for item in found.findall(f"{EDM}EntityType") if item.get("Name") == name]
    return element


def test_every_entity_type_has_its_key_properties_and_navigations(emulator, as_user):
    found = schema(emulator, as_user)
    assert entity_type(found, "crmbaseentity").get("Abstract") == "true"

    delivery = entity_type(found, "msdyn_proactive_delivery")
    assert delivery.get("BaseType") == "mscrm.crmbaseentity"
    assert [ref.get("Name") for ref in delivery.iter(f"{EDM}PropertyRef")] == ["msdyn_proactive_deliveryid"]
    types = {prop.get("Name"): prop.get("Type") for prop in delivery.findall(f"{EDM}Property")}
    assert types["msdyn_proactive_deliveryid"] == "Edm.Guid"
    assert types["msdyn_status"] == "Edm.String"
    assert types["msdyn_window_start_date"] == "Edm.DateTimeOffset"
    assert types["versionnumber"] == "Edm.Int64"
    assert types["_ownerid_value"] == "Edm.Guid"
    assert not [name for name in types if name.startswith("emulator_")]
    assert set(types) == set(ENTITY_SETS["msdyn_proactive_deliveries"].properties)
    navigations = {item.get("Name"): item for item in delivery.findall(f"{EDM}NavigationProperty")}
    collection = navigations[NAV]
    assert (collection.get("Name"), collection.get("Type"), collection.get("Partner")) == (
        NAV,
        "Collection(mscrm.msdyn_proactive_delivery_attribute)",
        "msdyn_proactive_delivery",
    )

    attribute = entity_type(found, "msdyn_proactive_delivery_attribute")
    single = {item.get("Name"): item for item in attribute.findall(f"{EDM}NavigationProperty")}[
        "msdyn_proactive_delivery"
    ]
    assert (single.get("Name"), single.get("Type"), single.get("Partner")) == (
        "msdyn_proactive_delivery",
        "mscrm.msdyn_proactive_delivery",
        NAV,
    )
    [constraint] = single.findall(f"{EDM}ReferentialConstraint")
    assert (constraint.get("Property"), constraint.get("ReferencedProperty")) == (
        "_msdyn_proactive_delivery_value",
        "msdyn_proactive_deliveryid",
    )
    config = entity_type(found, "msdyn_proactive_engagement_config")
    config_types = {prop.get("Name"): prop.get("Type") for prop in config.findall(f"{EDM}Property")}
    assert config_types["msdyn_dialmode_type"] == "Edm.Int32"
    assert config_types["msdyn_ignore_queue_hours"] == "Edm.Boolean"


def test_every_action_is_declared_with_its_parameters_and_response(emulator, as_user):
    found = schema(emulator, as_user)
    actions = {action.get("Name"): action for action in found.findall(f"{EDM}Action")}
    complex_types = {item.get("Name"): item for item in found.findall(f"{EDM}ComplexType")}

    task_actions = {"CCaaS_CancelDeliveryTask", "CCaaS_CreateOperation"}  # tests/tasks/test_descriptions.py
    bulk = {"CreateMultiple", "UpdateMultiple", "UpsertMultiple"}  # tests/odata/test_bulk_actions.py
    assert set(actions) == {parameters.action for parameters in ACTIONS} | task_actions | bulk
    for name in bulk:  # bound to a collection of rows, as Dataverse declares them
        assert actions[name].get("IsBound") == "true"
        parameters = {item.get("Name"): item.get("Type") for item in actions[name].findall(f"{EDM}Parameter")}
        assert parameters == {
            "entityset": "Collection(mscrm.crmbaseentity)",
            "Targets": "Collection(mscrm.crmbaseentity)",
        }
    assert actions["CreateMultiple"].find(f"{EDM}ReturnType").get("Type") == "mscrm.CreateMultipleResponse"
    ids = complex_types["CreateMultipleResponse"].find(f"{EDM}Property")
    assert (ids.get("Name"), ids.get("Type")) == ("Ids", "Collection(Edm.Guid)")
    voice = actions["CCaaS_CreateProactiveVoiceDelivery"]
    assert voice.get("IsBound") is None  # unbound
    parameters = {item.get("Name"): item.get("Nullable") for item in voice.findall(f"{EDM}Parameter")}
    assert parameters == {
        "ApiVersion": "false",
        "ProactiveEngagementConfigId": "false",
        "DestinationPhoneNumber": "false",
        "ContactId": "false",
        "Windows": None,
        "InputAttributes": None,
    }
    assert voice.find(f"{EDM}ReturnType").get("Type") == "mscrm.CCaaS_CreateProactiveVoiceDeliveryResponse"
    response = complex_types["CCaaS_CreateProactiveDeliveryResponse"]
    assert [item.get("Name") for item in response.findall(f"{EDM}Property")] == ["DeliveryId", "DeliveryTaskId"]


def test_the_container_binds_sets_navigations_and_action_imports(emulator, as_user):
    found = schema(emulator, as_user)
    [container] = found.findall(f"{EDM}EntityContainer")

    assert container.get("Name") == "System"
    sets = {item.get("Name"): item for item in container.findall(f"{EDM}EntitySet")}
    assert set(sets) == set(ENTITY_SETS)
    bindings = {
        item.get("Path"): item.get("Target")
        for item in sets["msdyn_proactive_deliveries"].findall(f"{EDM}NavigationPropertyBinding")
    }
    assert bindings[NAV] == "msdyn_proactive_delivery_attributes"
    assert bindings["createdby"] == "systemusers"
    assert {item.get("Name") for item in container.findall(f"{EDM}ActionImport")} == {
        "CCaaS_CreateProactiveVoiceDelivery",
        "CCaaS_CreateProactiveDelivery",
        "CCaaS_CreateSimpleProactiveDelivery",
        "CCaaS_CreateProactiveSMSDelivery",
        "CCaaS_CreateProactiveBulkDelivery",
        "CCaaS_CreateProactiveDeliveryBulkV2",
        "CCaaS_CancelDeliveryTask",
        "CCaaS_CreateOperation",
    }


def test_metadata_is_xml_only(emulator, as_user):
    response = emulator.client.get("/api/data/v9.2/$metadata", headers=as_user(Accept="application/json"))

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "0x80060888"


def test_user_lookups_are_navigation_properties_to_systemusers(emulator, as_user):
    found = schema(emulator, as_user)
    delivery = entity_type(found, "msdyn_proactive_delivery")
    createdby = {item.get("Name"): item for item in delivery.findall(f"{EDM}NavigationProperty")}["createdby"]
    assert (createdby.get("Type"), createdby.get("Partner")) == (
        "mscrm.systemuser",
        "lk_msdyn_proactive_delivery_createdby",
    )
    [constraint] = createdby.findall(f"{EDM}ReferentialConstraint")
    assert (constraint.get("Property"), constraint.get("ReferencedProperty")) == ("_createdby_value", "systemuserid")
    user = entity_type(found, "systemuser")
    partners = {item.get("Name"): item.get("Type") for item in user.findall(f"{EDM}NavigationProperty")}
    assert partners["lk_msdyn_proactive_delivery_createdby"] == "Collection(mscrm.msdyn_proactive_delivery)"
    assert partners["user_msdyn_proactive_delivery_attribute"] == "Collection(mscrm.msdyn_proactive_delivery_attribute)"
