"""$metadata (CSDL XML) and the service document, generated from the entity model and the actions.

Shape as Dataverse writes it (research notes 5): namespace Microsoft.Dynamics.CRM aliased mscrm, every
entity type deriving from the abstract crmbaseentity, lookups as `_x_value` Edm.Guid properties with a
single-valued navigation property and its referential constraint, unbound actions returning
`<Action>Response` complex types, one container named System.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from ccaas_emulator.intake.schemas import ACTIONS, ActionParameters
from ccaas_emulator.odata.entity_sets import ENTITY_SETS
from ccaas_emulator.odata.model import Edm, EntitySet
from ccaas_emulator.tasks.parameters import (
    GET_DELIVERY_TASKS,
    TASK_ID,
    CancelDeliveryTaskParameters,
    CreateOperationParameters,
)
from ccaas_emulator.wire.context import NAMESPACE

ALIAS = "mscrm"
EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
CONTAINER = "System"
VOCABULARIES = (
    ("http://vocabularies.odata.org/OData.Community.Keys.V1.xml", "OData.Community.Keys.V1", "Keys"),
    ("http://vocabularies.odata.org/OData.Community.Display.V1.xml", "OData.Community.Display.V1", "Display"),
)


@lru_cache(maxsize=1)
def csdl() -> bytes:
    """The whole document; the model is fixed for the life of the process, so it is built once."""
    root = Element("edmx:Edmx", {"Version": "4.0", "xmlns:edmx": EDMX})
    for uri, namespace, alias in VOCABULARIES:
        reference = SubElement(root, "edmx:Reference", {"Uri": uri})
        SubElement(reference, "edmx:Include", {"Namespace": namespace, "Alias": alias})
    services = SubElement(root, "edmx:DataServices")
    schema = SubElement(services, "Schema", {"Namespace": NAMESPACE, "Alias": ALIAS, "xmlns": EDM})
    SubElement(schema, "EntityType", {"Name": "crmbaseentity", "Abstract": "true"})
    for entity_set in ENTITY_SETS.values():
        _entity_type(schema, entity_set)
    for parameters in ACTIONS:
        _complex_type(schema, parameters)
        _action(schema, parameters)
    _task_operations(schema)
    _bulk_actions(schema)
    _who_am_i(schema)
    container = SubElement(schema, "EntityContainer", {"Name": CONTAINER})
    for entity_set in ENTITY_SETS.values():
        element = SubElement(container, "EntitySet", {"Name": entity_set.name, "EntityType": entity_set.qualified_type})
        for navigation in entity_set.navigations.values():
            SubElement(element, "NavigationPropertyBinding", {"Path": navigation.name, "Target": navigation.target_set})
    for name in (*(parameters.action for parameters in ACTIONS), *TASK_ACTIONS):
        SubElement(container, "ActionImport", {"Name": name, "Action": f"{NAMESPACE}.{name}"})
    SubElement(
        container, "FunctionImport", {"Name": GET_DELIVERY_TASKS, "Function": f"{NAMESPACE}.{GET_DELIVERY_TASKS}"}
    )
    SubElement(container, "FunctionImport", {"Name": "WhoAmI", "Function": f"{NAMESPACE}.WhoAmI"})
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(root, encoding="unicode").encode()


def service_document(context: str) -> dict[str, Any]:
    """GET /api/data/v9.x/: the entity sets (wire-facts E8)."""
    return {
        "@odata.context": context,
        "value": [{"name": name, "kind": "EntitySet", "url": name} for name in ENTITY_SETS],
    }


def _entity_type(schema: Element, entity_set: EntitySet) -> None:
    element = SubElement(schema, "EntityType", {"Name": entity_set.entity_type, "BaseType": f"{ALIAS}.crmbaseentity"})
    key = SubElement(element, "Key")
    SubElement(key, "PropertyRef", {"Name": entity_set.key.name})
    for prop in entity_set.properties.values():
        attributes = {"Name": prop.name, "Type": prop.edm.value}
        if prop.edm is Edm.STRING:
            attributes["Unicode"] = "false"
        SubElement(element, "Property", attributes)
    for navigation in entity_set.navigations.values():
        target = ENTITY_SETS[navigation.target_set]
        type_name = f"{ALIAS}.{target.entity_type}"
        if navigation.collection:
            SubElement(
                element,
                "NavigationProperty",
                {"Name": navigation.name, "Type": f"Collection({type_name})", "Partner": navigation.partner},
            )
            continue
        nav = SubElement(
            element, "NavigationProperty", {"Name": navigation.name, "Type": type_name, "Partner": navigation.partner}
        )
        lookup = entity_set.lookup_by_column(navigation.local_column.name)
        assert lookup is not None
        SubElement(nav, "ReferentialConstraint", {"Property": lookup.name, "ReferencedProperty": target.key.name})


def _complex_type(schema: Element, parameters: type[ActionParameters]) -> None:
    element = SubElement(schema, "ComplexType", {"Name": f"{parameters.action}Response"})
    for name in parameters.response_fields:
        SubElement(element, "Property", {"Name": name, "Type": "Edm.String", "Unicode": "false"})


def _action(schema: Element, parameters: type[ActionParameters]) -> None:
    # The reference documents type every parameter as a String; structured ones (Windows, Contacts,
    # InputAttributes) are also sent as JSON-encoded strings (wire-facts A11), which only Edm.String admits.
    element = SubElement(schema, "Action", {"Name": parameters.action})
    for name, field in parameters.model_fields.items():
        attributes = {"Name": name, "Type": "Edm.String", "Unicode": "false"}
        if field.is_required():
            attributes["Nullable"] = "false"
        SubElement(element, "Parameter", attributes)
    SubElement(element, "ReturnType", {"Type": f"{ALIAS}.{parameters.action}Response", "Nullable": "false"})


BULK_ACTIONS = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")
"""Bound to the entity sets' collections (odata/writes.py); as Dataverse declares them, on crmbaseentity."""


def _bulk_actions(schema: Element) -> None:
    """CreateMultiple (answers CreateMultipleResponse's Ids), UpdateMultiple and UpsertMultiple (204: the
    UpsertMultiple reference says its UpsertMultipleResponse "is not returned")."""
    response = SubElement(schema, "ComplexType", {"Name": "CreateMultipleResponse"})
    SubElement(response, "Property", {"Name": "Ids", "Type": "Collection(Edm.Guid)", "Nullable": "false"})
    entities = f"Collection({ALIAS}.crmbaseentity)"
    for name in BULK_ACTIONS:
        action = SubElement(schema, "Action", {"Name": name, "IsBound": "true"})
        SubElement(action, "Parameter", {"Name": "entityset", "Type": entities, "Nullable": "false"})
        SubElement(action, "Parameter", {"Name": "Targets", "Type": entities, "Nullable": "false"})
        if name == "CreateMultiple":
            SubElement(action, "ReturnType", {"Type": f"{ALIAS}.CreateMultipleResponse", "Nullable": "false"})


TASK_ACTIONS = {
    parameters.action: {name: name in parameters.required for name in parameters.model_fields}
    for parameters in (CancelDeliveryTaskParameters, CreateOperationParameters)
}
"""The task actions (issue #13) and whether each parameter is required; they return nothing (204 / 202)."""


def _task_operations(schema: Element) -> None:
    """CCaaS_CancelDeliveryTask and CCaaS_CreateOperation (no return type), and CCaaS_GetDeliveryTasks: an unbound
    function returning an expando (wire-facts A9), typed as Dataverse types open results, crmbaseentity."""
    for name, parameters in TASK_ACTIONS.items():
        element = SubElement(schema, "Action", {"Name": name})
        for parameter, required in parameters.items():
            attributes = {"Name": parameter, "Type": "Edm.String", "Unicode": "false"}
            if required:
                attributes["Nullable"] = "false"
            SubElement(element, "Parameter", attributes)
    function = SubElement(schema, "Function", {"Name": GET_DELIVERY_TASKS})
    SubElement(function, "Parameter", {"Name": TASK_ID, "Type": "Edm.Guid", "Nullable": "false"})
    SubElement(function, "ReturnType", {"Type": f"Collection({ALIAS}.crmbaseentity)", "Nullable": "false"})


def _who_am_i(schema: Element) -> None:
    """WhoAmI, a parameterless unbound function returning WhoAmIResponse, as Dataverse declares it."""
    response = SubElement(schema, "ComplexType", {"Name": "WhoAmIResponse"})
    for name in ("BusinessUnitId", "UserId", "OrganizationId"):
        SubElement(response, "Property", {"Name": name, "Type": "Edm.Guid", "Nullable": "false"})
    function = SubElement(schema, "Function", {"Name": "WhoAmI"})
    SubElement(function, "ReturnType", {"Type": f"{ALIAS}.WhoAmIResponse", "Nullable": "false"})
