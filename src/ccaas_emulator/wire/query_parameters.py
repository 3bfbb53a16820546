"""Query parameters that are neither `$` options nor `@` aliases: refused with a 400 that says what they are.

Dataverse's Web API takes a few such parameters on entity sets (`fetchXml`, `sql`, `savedQuery`, `userQuery`);
OData lets a service ignore the rest. Ignoring them made a `sql=` or `savedQuery=` query answer with the whole
table and a 200 (issue 15), so every GET of an entity set, a function or the table definitions refuses them.
"""

from __future__ import annotations

from ccaas_emulator.wire.errors import CUSTOM_PARAMETER_NOT_SUPPORTED, SQL_NOT_SUPPORTED, STORED_QUERY_NOT_SUPPORTED

FETCH_XML = "fetchXml"
# Real Dataverse features the emulator has no tables for: refused in words that say so.
STORED_QUERIES = {"savedQuery": "savedquery (system views)", "userQuery": "userquery (personal views)"}


def refuse_custom_parameter(name: str, *, fetch_xml: bool) -> None:
    """The 400 for a parameter with neither `$` nor `@`; `fetch_xml` says whether this resource takes fetchXml."""
    if name == "sql":
        raise SQL_NOT_SUPPORTED()
    if name in STORED_QUERIES:
        raise STORED_QUERY_NOT_SUPPORTED(name=name, table=STORED_QUERIES[name])
    if name == FETCH_XML and not fetch_xml:
        allowed = "fetchXml is taken by an entity set's collection (GET /<set>?fetchXml=...) only."
    elif fetch_xml:
        allowed = "fetchXml is the one other parameter an entity set's collection takes."
    else:
        allowed = "this resource takes no other parameter."
    raise CUSTOM_PARAMETER_NOT_SUPPORTED(name=name[:100], allowed=allowed)


def refuse_custom_parameters(names: list[str]) -> None:
    """Every parameter of a request that takes no custom ones (functions, table definitions) is `$` or `@`."""
    for name in names:
        if not name.startswith(("$", "@")):
            refuse_custom_parameter(name, fetch_xml=False)
