"""Table definitions (`EntityDefinitions`) generated from the same entity model as `$metadata`.

Microsoft's Dataverse SDK for Python looks every table up here before it reads or writes a row
(`EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute&$filter=LogicalName eq '<name>'`), reads
the columns of a table (`EntityDefinitions(<id>)/Attributes`) and the options of its choice columns
(`EntityDefinitions(LogicalName='<name>')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata
?$expand=OptionSet($select=Options)`) to turn option labels into numbers. The definitions are built from the
entity sets (odata/entity_sets.py), so they name exactly the tables, columns and choices the Web API serves.

Shapes follow Dataverse's EntityMetadata and AttributeMetadata entity types: labels as `{"LocalizedLabels": [...],
"UserLocalizedLabel": {...}}` in language 1033, MetadataIds stable GUIDs (uuid5 of the logical names, ours).
`$filter` on definitions takes what Dataverse's metadata queries take: eq/ne, and/or/not on their simple
properties; it is evaluated here over the generated definitions, which are a few dozen items.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from odata_query import ast

from ccaas_emulator.auth.privileges import DISPLAY_NAMES, object_type_code
from ccaas_emulator.odata.entity_sets import ENTITY_SETS
from ccaas_emulator.odata.filters import parse_filter
from ccaas_emulator.odata.model import Edm, EntitySet, Property
from ccaas_emulator.wire.context import NAMESPACE
from ccaas_emulator.wire.errors import (
    ATTRIBUTE_NOT_IN_METADATA,
    ENTITY_NOT_IN_METADATA,
    EXPAND_NOT_SUPPORTED,
    FILTER_NOT_SUPPORTED,
    INCOMPATIBLE_OPERANDS,
    METADATA_KEY_INVALID,
    PROPERTY_NOT_FOUND,
    QUERY_SYNTAX,
)

LANGUAGE = 1033
METADATA_NAMESPACE = uuid.UUID("6c1f0e1e-2a57-4f0b-9d0e-ccaa5e000015")
ENTITY_TYPE = "EntityMetadata"
ATTRIBUTE_TYPE = "AttributeMetadata"
PICKLIST_CAST = f"{NAMESPACE}.PicklistAttributeMetadata"
# The casts a client may put after /Attributes, by the AttributeType they keep.
CASTS = {
    f"{NAMESPACE}.{name}AttributeMetadata": name
    for name in ("Picklist", "String", "Integer", "BigInt", "DateTime", "Boolean", "Double", "Lookup", "State")
} | {
    f"{NAMESPACE}.StatusAttributeMetadata": "Status",
    f"{NAMESPACE}.UniqueIdentifierAttributeMetadata": "Uniqueidentifier",
}
ELASTIC = frozenset({"msdyn_proactive_delivery", "msdyn_proactive_delivery_attribute"})  # wire-facts B5


def label(text: str) -> dict[str, Any]:
    """A Label as Dataverse shapes it: every translation, and the one in the caller's language."""
    localized = {
        "Label": text,
        "LanguageCode": LANGUAGE,
        "IsManaged": True,
        "MetadataId": str(uuid.uuid5(METADATA_NAMESPACE, f"label:{text}")),
        "HasChanged": None,
    }
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def metadata_id(*names: str) -> str:
    return str(uuid.uuid5(METADATA_NAMESPACE, "/".join(names)))


@cache
def entity_definitions() -> tuple[dict[str, Any], ...]:
    """Every served table's EntityMetadata (its simple properties; Attributes is a navigation)."""
    return tuple(_entity(entity_set) for entity_set in ENTITY_SETS.values())


def _entity(entity_set: EntitySet) -> dict[str, Any]:
    logical = str(entity_set.entity_type)  # str: SQLAlchemy's quoted_name compares as its own type
    display = DISPLAY_NAMES.get(logical, logical)
    owned = "ownerid" in entity_set.table.c
    return {
        "MetadataId": metadata_id(logical),
        "LogicalName": logical,
        "SchemaName": logical,
        "EntitySetName": entity_set.name,
        "LogicalCollectionName": entity_set.name,
        "CollectionSchemaName": entity_set.name,
        "PrimaryIdAttribute": str(entity_set.key.column.name),  # str: SQLAlchemy's quoted_name is not JSON's
        "PrimaryNameAttribute": str(entity_set.properties[entity_set.primary_name].column.name),
        "ObjectTypeCode": object_type_code(logical),  # the code the 403s name (auth/privileges.py)
        "OwnershipType": "UserOwned" if owned else "OrganizationOwned",
        "TableType": "Elastic" if logical in ELASTIC else "Standard",
        "IsCustomEntity": False,
        "IsActivity": False,
        "IsIntersect": False,
        "IsPrivate": False,
        "IsManaged": True,
        "IsValidForAdvancedFind": True,
        "DisplayName": label(display),
        "DisplayCollectionName": label(display + "s"),
        "Description": label(display),
    }


def find_entity(key: str) -> tuple[EntitySet, dict[str, Any]]:
    """The table a key names: `LogicalName='<name>'`, or its MetadataId; 404 in Dataverse's words for none."""
    text = key.strip()
    name: str | None = None
    if text.startswith("LogicalName="):
        quoted = text.removeprefix("LogicalName=")
        if len(quoted) < 2 or not (quoted.startswith("'") and quoted.endswith("'")):
            raise METADATA_KEY_INVALID(key=key[:200], segment="EntityDefinitions")
        name = quoted[1:-1].replace("''", "'")
    else:
        try:
            wanted = str(uuid.UUID(text.removeprefix("MetadataId=")))
        except ValueError:
            raise METADATA_KEY_INVALID(key=key[:200], segment="EntityDefinitions") from None
        for definition in entity_definitions():
            if definition["MetadataId"] == wanted:
                return ENTITY_SETS[definition["EntitySetName"]], definition
        raise ENTITY_NOT_IN_METADATA(name=wanted)
    for definition in entity_definitions():
        if definition["LogicalName"] == name:  # logical names are lowercase; Dataverse matches them exactly
            return ENTITY_SETS[definition["EntitySetName"]], definition
    raise ENTITY_NOT_IN_METADATA(name=name[:200])


# --- attributes ----------------------------------------------------------------------------------------------

_ATTRIBUTE_TYPES = {
    Edm.STRING: ("String", "StringType"),
    Edm.GUID: ("Uniqueidentifier", "UniqueidentifierType"),
    Edm.DATE_TIME: ("DateTime", "DateTimeType"),
    Edm.INT32: ("Integer", "IntegerType"),
    Edm.INT64: ("BigInt", "BigIntType"),
    Edm.BOOLEAN: ("Boolean", "BooleanType"),
    Edm.DOUBLE: ("Double", "DoubleType"),
}


@cache
def attribute_definitions(entity_type: str) -> tuple[dict[str, Any], ...]:
    """A table's AttributeMetadata, one per Web API column (lookups under their column name, as Dataverse)."""
    entity_set = next(item for item in ENTITY_SETS.values() if item.entity_type == entity_type)
    return tuple(_attribute(entity_set, prop) for prop in entity_set.properties.values())


def _attribute(entity_set: EntitySet, prop: Property) -> dict[str, Any]:
    column = str(prop.column.name)
    kind, type_name = _kind(prop)
    definition: dict[str, Any] = {
        "@odata.type": f"#{NAMESPACE}.{_cast_name(kind)}",
        "MetadataId": metadata_id(entity_set.entity_type, column),
        "LogicalName": column,
        "SchemaName": column,
        "EntityLogicalName": str(entity_set.entity_type),
        "AttributeType": kind,
        "AttributeTypeName": {"Value": type_name},
        "AttributeOf": None,
        "IsPrimaryId": prop is entity_set.key,
        "IsPrimaryName": prop.name == entity_set.primary_name,
        "IsCustomAttribute": False,
        "IsValidForCreate": not prop.service_written,
        "IsValidForUpdate": not prop.service_written and prop is not entity_set.key,
        "IsValidForRead": True,
        "RequiredLevel": {
            "Value": "SystemRequired" if not prop.column.nullable else "None",
            "CanBeChanged": False,
            "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
        },
        "DisplayName": label(column),
        "Description": label(column),
    }
    if prop.edm is Edm.STRING and prop.max_length is not None:
        definition["MaxLength"] = prop.max_length
    if prop.edm in (Edm.INT32, Edm.INT64) and prop.choice is None:
        definition["MinValue"] = prop.minimum if prop.minimum is not None else -(2**31)
        definition["MaxValue"] = prop.maximum if prop.maximum is not None else 2**31 - 1
    if prop.lookup_target is not None:
        definition["Targets"] = [prop.lookup_target]
    return definition


def _kind(prop: Property) -> tuple[str, str]:
    if prop.lookup_target is not None:
        return ("Owner", "OwnerType") if prop.column.name == "ownerid" else ("Lookup", "LookupType")
    if prop.choice is not None:
        if prop.column.name == "statecode":
            return "State", "StateType"
        if prop.column.name == "statuscode":
            return "Status", "StatusType"
        return "Picklist", "PicklistType"
    if prop.options is not None:
        return "Virtual", "MultiSelectPicklistType"
    return _ATTRIBUTE_TYPES[prop.edm]


def _cast_name(kind: str) -> str:
    if kind == "Virtual":
        return "MultiSelectPicklistAttributeMetadata"
    if kind == "Owner":
        return "LookupAttributeMetadata"
    if kind == "Uniqueidentifier":
        return "UniqueIdentifierAttributeMetadata"
    return f"{kind}AttributeMetadata"


def find_attribute(entity_set: EntitySet, key: str) -> dict[str, Any]:
    """One column by `LogicalName='<name>'` or MetadataId; 404 in QueryBuilder's words for none."""
    text = key.strip()
    attributes = attribute_definitions(entity_set.entity_type)
    if text.startswith("LogicalName='") and text.endswith("'") and len(text) > len("LogicalName='"):
        name = text[len("LogicalName='") : -1].replace("''", "'")
        found = next((item for item in attributes if item["LogicalName"] == name), None)
    else:
        try:
            wanted = str(uuid.UUID(text.removeprefix("MetadataId=")))
        except ValueError:
            raise METADATA_KEY_INVALID(key=key[:200], segment="Attributes") from None
        name = wanted
        found = next((item for item in attributes if item["MetadataId"] == wanted), None)
    if found is None:
        raise ATTRIBUTE_NOT_IN_METADATA(entity=entity_set.entity_type, name=name[:200])
    return found


def option_set(entity_set: EntitySet, column: str) -> dict[str, Any] | None:
    """The local option set of a choice column: its options with their labels, as Dataverse's OptionSetMetadata."""
    prop = entity_set.lookup_by_column(column)
    enum = None if prop is None else (prop.choice or prop.options)
    if enum is None:
        return None
    return {
        "MetadataId": metadata_id(entity_set.entity_type, column, "optionset"),
        "Name": f"{entity_set.entity_type}_{column}",
        "IsGlobal": False,
        "IsCustomOptionSet": False,
        "OptionSetType": "Picklist",
        "Options": [
            {
                "Value": int(member),
                "Color": None,
                "IsManaged": True,
                "ExternalValue": "",
                "ParentValues": [],
                "Tag": None,
                "IsHidden": False,
                "MetadataId": None,
                "HasChanged": None,
                "Label": label(member.label),
                "Description": label(""),
            }
            for member in enum
        ],
    }


# --- $select, $filter and $expand over definitions -------------------------------------------------------------


@dataclass(frozen=True)
class DefinitionQuery:
    """$select and $filter of a definitions request, checked against the type's properties."""

    type_name: str
    select: tuple[str, ...] | None
    filter: ast._Node | None

    def apply(self, items: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.project(item) for item in items if self.filter is None or _true(self.filter, item, self)]

    def project(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.select is None:
            return dict(item)
        # The key always comes back, and a cast's @odata.type (Dataverse does the same).
        kept: dict[str, Any] = {name: item[name] for name in ("@odata.type", "MetadataId") if name in item}
        kept.update({name: item.get(name) for name in self.select})
        return kept


def definition_query(
    type_name: str,
    known: set[str],
    select: tuple[str, ...] | None,
    filter_text: str | None,
    aliases: dict[str, str],
) -> DefinitionQuery:
    for name in select or ():
        if name not in known:
            raise PROPERTY_NOT_FOUND(name=name, entity=type_name)
    tree = parse_filter(filter_text, aliases) if filter_text is not None else None
    query = DefinitionQuery(type_name, select, tree)
    if tree is not None:
        _check(tree, known, query)
    return query


ENTITY_PROPERTIES = frozenset(entity_definitions()[0])
ATTRIBUTE_PROPERTIES = frozenset(
    {
        name
        for entity_set in ENTITY_SETS.values()
        for item in attribute_definitions(entity_set.entity_type)
        for name in item
    }
    - {"@odata.type"}
) | {"MaxLength", "MinValue", "MaxValue", "Targets", "OptionSet", "GlobalOptionSet"}


def _check(node: ast._Node, known: set[str], query: DefinitionQuery) -> None:
    """Refuse, before evaluating, what Dataverse's metadata queries refuse: functions, lambdas, unknown names."""
    if isinstance(node, ast.BoolOp):
        _check(node.left, known, query)
        _check(node.right, known, query)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, known, query)
    elif isinstance(node, ast.Compare) and isinstance(node.comparator, ast.Eq | ast.NotEq):
        for side in (node.left, node.right):
            if isinstance(side, ast.Identifier):
                if side.name not in known:
                    raise PROPERTY_NOT_FOUND(name=side.name, entity=query.type_name)
            elif not isinstance(side, ast.String | ast.Integer | ast.Boolean | ast.GUID | ast.Null):
                raise FILTER_NOT_SUPPORTED(what=f"A {type(side).__name__} operand in a metadata query")
    elif isinstance(node, ast.Compare):
        raise FILTER_NOT_SUPPORTED(what=f"The operator '{type(node.comparator).__name__}' in a metadata query")
    elif isinstance(node, ast.Call):
        raise FILTER_NOT_SUPPORTED(what=f"The function '{node.func.name}' in a metadata query")
    else:
        raise FILTER_NOT_SUPPORTED(what=f"'{type(node).__name__}' in a metadata query")


def _true(node: ast._Node, item: dict[str, Any], query: DefinitionQuery) -> bool:
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return _true(node.left, item, query) and _true(node.right, item, query)
        return _true(node.left, item, query) or _true(node.right, item, query)
    if isinstance(node, ast.UnaryOp):
        return not _true(node.operand, item, query)
    assert isinstance(node, ast.Compare)
    left, right = _value(node.left, item, query), _value(node.right, item, query)
    if left is not None and right is not None and type(left) is not type(right):
        raise INCOMPATIBLE_OPERANDS(left=type(left).__name__, right=type(right).__name__, operator="Equal")
    equal = left == right
    return equal if isinstance(node.comparator, ast.Eq) else not equal


def _value(node: ast._Node, item: dict[str, Any], query: DefinitionQuery) -> Any:
    if isinstance(node, ast.Identifier):
        value = item.get(node.name)
        if isinstance(value, dict | list):
            raise FILTER_NOT_SUPPORTED(what=f"Comparing the structured property '{node.name}'")
        return value
    if isinstance(node, ast.Null):
        return None
    if isinstance(node, ast.Boolean):
        return node.py_val
    if isinstance(node, ast.Integer):
        return int(node.val)
    if isinstance(node, ast.GUID):
        return str(uuid.UUID(node.val))
    if isinstance(node, ast.String):
        return node.val
    raise QUERY_SYNTAX(position=0, text=type(node).__name__)


def expand_option_sets(
    entity_set: EntitySet, items: list[dict[str, Any]], expand: tuple[tuple[str, tuple[str, ...] | None], ...]
) -> None:
    """$expand=OptionSet(...),GlobalOptionSet(...) on picklist attributes: the local option set, no global one."""
    for name, select in expand:
        if name not in ("OptionSet", "GlobalOptionSet"):
            raise EXPAND_NOT_SUPPORTED(what=f"Could not find a property named '{name}' on type '{PICKLIST_CAST}'.")
        for item in items:
            found = option_set(entity_set, item["LogicalName"]) if name == "OptionSet" else None
            if found is not None and select is not None:
                for chosen in select:
                    if chosen not in found:
                        raise PROPERTY_NOT_FOUND(name=chosen, entity="OptionSetMetadata")
                found = {"MetadataId": found["MetadataId"], **{chosen: found[chosen] for chosen in select}}
            item[name] = found
