"""The task APIs in $metadata (an unbound function and two actions) and in the OpenAPI document."""

from __future__ import annotations

from xml.etree import ElementTree

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def schema(client, headers) -> ElementTree.Element:
    response = client.get("/api/data/v9.0/$metadata", headers=headers)
    assert response.status_code == 200
    [found] = ElementTree.fromstring(response.content).iter(f"{EDM}Schema")
    return found


def parameters(element: ElementTree.Element) -> dict:
    return {item.get("Name"): (item.get("Type"), item.get("Nullable")) for item in element.findall(f"{EDM}Parameter")}


def test_get_delivery_tasks_is_an_unbound_function_with_its_import(client, agent_headers):
    found = schema(client, agent_headers)
    [function] = [item for item in found.findall(f"{EDM}Function") if item.get("Name") == "CCaaS_GetDeliveryTasks"]
    [container] = found.findall(f"{EDM}EntityContainer")

    assert function.get("IsBound") is None
    assert parameters(function) == {"DeliveryTaskId": ("Edm.Guid", "false")}
    assert function.find(f"{EDM}ReturnType").get("Type") == "Collection(mscrm.crmbaseentity)"
    imports = {item.get("Name"): item.get("Function") for item in container.findall(f"{EDM}FunctionImport")}
    assert imports["CCaaS_GetDeliveryTasks"] == "Microsoft.Dynamics.CRM.CCaaS_GetDeliveryTasks"


def test_the_task_actions_take_string_parameters_and_return_nothing(client, agent_headers):
    found = schema(client, agent_headers)
    actions = {item.get("Name"): item for item in found.findall(f"{EDM}Action")}
    [container] = found.findall(f"{EDM}EntityContainer")

    assert parameters(actions["CCaaS_CancelDeliveryTask"]) == {
        "ApiVersion": ("Edm.String", "false"),
        "DeliveryTaskId": ("Edm.String", "false"),
    }
    assert parameters(actions["CCaaS_CreateOperation"]) == {
        "ApiVersion": ("Edm.String", "false"),
        "Operation": ("Edm.String", "false"),
        "ProactiveEngagementConfigId": ("Edm.String", None),
        "DeliveryId": ("Edm.String", None),
    }
    for name in ("CCaaS_CancelDeliveryTask", "CCaaS_CreateOperation"):
        assert actions[name].find(f"{EDM}ReturnType") is None
    imports = {item.get("Name") for item in container.findall(f"{EDM}ActionImport")}
    assert imports == {
        "CCaaS_CreateProactiveVoiceDelivery",
        "CCaaS_CreateProactiveDelivery",
        "CCaaS_CreateSimpleProactiveDelivery",
        "CCaaS_CreateProactiveSMSDelivery",
        "CCaaS_CreateProactiveBulkDelivery",
        "CCaaS_CreateProactiveDeliveryBulkV2",
        "CCaaS_CancelDeliveryTask",
        "CCaaS_CreateOperation",
    }


def test_the_openapi_document_describes_each_answer(client):
    paths = client.get("/openapi.json").json()["paths"]

    function = paths["/api/data/v9.2/CCaaS_GetDeliveryTasks({arguments})"]["get"]
    cancel = paths["/api/data/v9.2/CCaaS_CancelDeliveryTask"]["post"]
    create = paths["/api/data/v9.2/CCaaS_CreateOperation"]["post"]

    assert sorted(function["responses"]) == ["200", "400", "401", "403", "404", "414"]
    value = function["responses"]["200"]["content"]["application/json; odata.metadata=minimal"]["schema"]
    assert list(value["properties"]["value"]["items"]["properties"])[:3] == [
        "@odata.type",
        "deliveryTaskId",
        "organizationId",
    ]
    assert [item["name"] for item in function["parameters"]] == ["arguments", "@p1"]
    assert sorted(cancel["responses"]) == ["204", "400", "401", "403", "404", "413", "414", "415"]
    assert sorted(create["responses"]) == ["202", "400", "401", "403", "404", "413", "414", "415"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["Operation"]["enum"] == ["Suspend", "Resume", "Cancel"]
    assert body["required"] == ["ApiVersion", "Operation"]
    assert not [path for path in paths if path.startswith("/api/data/v9.0/")]  # v9.2 documents them all
