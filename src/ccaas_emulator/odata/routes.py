"""HTTP edge of the Web API's entity sets, $metadata and the service document (under /api/data/v9.x/)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ccaas_emulator.auth.callers import Caller, load_caller
from ccaas_emulator.auth.privileges import Access, require_privilege
from ccaas_emulator.deps import RuntimeDep
from ccaas_emulator.odata import definitions, writes
from ccaas_emulator.odata.batch import (
    Answer,
    BatchRunner,
    ChangeSet,
    Part,
    boundary_of,
    parse_batch,
    part_running,
    render,
)
from ccaas_emulator.odata.entity_sets import ENTITY_SETS
from ccaas_emulator.odata.fetchxml import plan_fetch
from ccaas_emulator.odata.metadata import csdl, service_document
from ccaas_emulator.odata.model import EntitySet
from ccaas_emulator.odata.options import QueryOptions, parse_query
from ccaas_emulator.odata.query import navigation as find_navigation
from ccaas_emulator.odata.representation import wire_value
from ccaas_emulator.odata.service import Preferences, Reader, Urls, parse_preferences
from ccaas_emulator.wire.body import check_json_content_type, parse_json, read_limited_body
from ccaas_emulator.wire.context import NAMESPACE, request_origin
from ccaas_emulator.wire.errors import (
    BATCH_INVALID,
    INVALID_KEY,
    METADATA_MEDIA_TYPE,
    METHOD_NOT_ALLOWED,
    NOT_AN_OBJECT,
    QUERY_OPTION_NOT_SUPPORTED,
    RESOURCE_NOT_FOUND,
)
from ccaas_emulator.wire.responses import ODataJSONResponse

if TYPE_CHECKING:
    from ccaas_emulator.runtime import Runtime

T = TypeVar("T")
_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"


def build_router(version: str, *, documented: bool) -> APIRouter:
    """Entity sets under /api/data/<version>/ (v9.0, v9.1 and v9.2 all answer: wire-facts E1)."""
    router = APIRouter(prefix=f"/api/data/{version}", include_in_schema=documented, tags=["Web API"])

    @router.get("/", summary="Service document: the entity sets")
    async def service(request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        runtime.authenticator.authenticate(request)
        return ODataJSONResponse(service_document(_urls(request, runtime, version).root + "$metadata"))

    @router.get("/$metadata", summary="CSDL of the entity sets and actions")
    async def metadata(request: Request, runtime: RuntimeDep) -> Response:
        runtime.authenticator.authenticate(request)
        accept = request.headers.get("accept", "")
        if accept and not any(kind in accept for kind in ("xml", "*/*")):
            raise METADATA_MEDIA_TYPE(accept=accept)
        return Response(csdl(), media_type="application/xml")

    @router.post("/$batch", summary="Many requests in one multipart/mixed POST, with change sets")
    async def batch(request: Request, runtime: RuntimeDep) -> Response:
        if part_running.get():  # a part reached $batch through a spelling the URL check missed: still one level
            raise BATCH_INVALID(detail="a batch cannot contain another batch")
        runtime.authenticator.authenticate(request)
        boundary = boundary_of(request.headers.get("content-type", ""))
        items = parse_batch(await read_limited_body(request, runtime.settings.max_body_bytes), boundary)
        continue_on_error = parse_preferences(request.headers.getlist("prefer")).continue_on_error
        answers: list[Answer | list[Answer]] = []
        stopped = False
        origin = request_origin(request, runtime.settings.org_url)
        authorization = request.headers.get("authorization")
        async with BatchRunner(
            request.app,
            origin=origin,
            version=version,
            authorization=authorization,
            other_origins=[runtime.settings.org_url],
        ) as runner:
            for item in items:
                if isinstance(item, Part):
                    result: Answer | list[Answer] = await runner.run(item)
                else:
                    async with runtime.database.shared_transaction() as change_set:
                        result = await _run_change_set(runner, item)
                        if isinstance(result, Answer):
                            change_set.fail()  # all or nothing: the requests before the failure are undone
                answers.append(result)
                if isinstance(result, Answer) and result.failed and not continue_on_error:
                    stopped = True
                    break
        answer_boundary = f"batchresponse_{uuid.uuid4()}"
        response = Response(
            render(answers, answer_boundary),
            status_code=400 if stopped else 200,
            media_type=f"multipart/mixed; boundary={answer_boundary}",
        )
        if continue_on_error:
            response.headers.append("Preference-Applied", "odata.continue-on-error")
        return response

    for entity_set in ENTITY_SETS.values():
        _add_entity_set_routes(router, version, entity_set)
        _add_bound_actions(router, version, entity_set)
    _add_definition_routes(router, version)
    return router


async def _run_change_set(runner: BatchRunner, change_set: ChangeSet) -> Answer | list[Answer]:
    """The requests of a change set in order; `$<Content-ID>` names the row an earlier one created."""
    answers: list[Answer] = []
    references: dict[str, str] = {}
    for part in change_set.parts:
        answer = await runner.run(part, references)
        if answer.failed:
            return answer  # a failed change set is answered by its failing request alone
        entity = next((value for name, value in answer.headers if name.lower() in ("odata-entityid", "location")), None)
        if entity is not None and part.content_id is not None:
            references[part.content_id] = entity
        answers.append(answer)
    return answers


def _add_entity_set_routes(router: APIRouter, version: str, entity_set: EntitySet) -> None:
    name = entity_set.name
    table = entity_set.entity_type

    @router.get(f"/{name}", summary=f"List {name} (OData query options, or fetchXml=)", name=f"list_{name}")
    async def list_rows(request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        options, preferences, token = _read_request(request, runtime, fetch_xml=True)
        plan = plan_fetch(options.fetch_xml, entity_set) if options.fetch_xml is not None else None

        def work(session: Session, caller: Caller) -> tuple[dict[str, Any], bool]:
            reader = Reader(session, _urls(request, runtime, version), preferences)
            if plan is not None:
                for logical in plan.tables:  # the root's and every linked table's read privilege
                    require_privilege(caller, Access.READ, logical)
                return reader.fetch(plan, path=name), False
            require_privilege(caller, Access.READ, table)
            return reader.collection(entity_set, options, raw_query=request.url.query, path=name)

        body, paged = await _read(runtime, token, work)
        return _json(body, preferences.applied(paged=paged))

    @router.get(f"/{name}/$count", summary=f"Count {name}", name=f"count_{name}")
    async def count_rows(request: Request, runtime: RuntimeDep) -> Response:
        options, preferences, token = _read_request(request, runtime)

        def work(session: Session, caller: Caller) -> int:
            require_privilege(caller, Access.READ, table)
            return Reader(session, _urls(request, runtime, version), preferences).count(entity_set, options, None)

        return Response(str(await _read(runtime, token, work)), media_type="text/plain")

    @router.get(f"/{name}({{key}})", summary=f"Retrieve one {table}", name=f"get_{name}")
    async def get_row(key: str, request: Request, runtime: RuntimeDep) -> Response:
        options, preferences, token = _read_request(request, runtime)
        row_id = parse_key(entity_set, key)

        def work(session: Session, caller: Caller) -> tuple[dict[str, Any], str]:
            require_privilege(caller, Access.READ, table)
            return Reader(session, _urls(request, runtime, version), preferences).entity(entity_set, row_id, options)

        body, etag = await _read(runtime, token, work)
        # research notes 8: a matching If-None-Match is 304, except with $expand or annotations.
        if_none_match = request.headers.get("if-none-match")
        cacheable = not options.expand and not preferences.annotations.patterns
        if if_none_match and cacheable and etag in [tag.strip() for tag in if_none_match.split(",")]:
            return Response(status_code=304, headers={"ETag": etag})
        return _json(body, preferences.applied(paged=False), headers={"ETag": etag})

    @router.get(
        f"/{name}({{key}})/{{segment}}", summary=f"Related rows, or one property, of a {table}", name=f"related_{name}"
    )
    async def related(key: str, segment: str, request: Request, runtime: RuntimeDep) -> Response:
        if segment in entity_set.properties:
            return await _property_value(request, runtime, version, entity_set, key, segment)
        return await _related(request, runtime, version, entity_set, key, segment)

    @router.put(f"/{name}({{key}})/{{segment}}", summary=f"Set one property of a {table}", name=f"put_{name}")
    async def put_property(key: str, segment: str, request: Request, runtime: RuntimeDep) -> Response:
        # research notes: DynamicsWebApi's updateSingleProperty sends {"value": ...}.
        token, body, _, _ = await _write_request(request, runtime)
        if not isinstance(body, dict) or "value" not in body:
            raise NOT_AN_OBJECT()
        return await _change(request, runtime, token, entity_set, key, {segment: body["value"]})

    @router.delete(f"/{name}({{key}})/{{segment}}", summary=f"Clear one property of a {table}", name=f"clear_{name}")
    async def clear_property(key: str, segment: str, request: Request, runtime: RuntimeDep) -> Response:
        token = runtime.authenticator.authenticate(request)
        return await _change(request, runtime, token, entity_set, key, {segment: None})

    @router.put(f"/{name}({{key}})/{{segment}}/$ref", summary=f"Set a lookup of a {table}", name=f"ref_{name}")
    async def put_reference(key: str, segment: str, request: Request, runtime: RuntimeDep) -> Response:
        token, body, _, _ = await _write_request(request, runtime)
        if not isinstance(body, dict) or not isinstance(body.get("@odata.id"), str):
            raise NOT_AN_OBJECT()
        return await _change(request, runtime, token, entity_set, key, {f"{segment}@odata.bind": body["@odata.id"]})

    @router.delete(f"/{name}({{key}})/{{segment}}/$ref", summary=f"Clear a lookup of a {table}", name=f"unref_{name}")
    async def delete_reference(key: str, segment: str, request: Request, runtime: RuntimeDep) -> Response:
        token = runtime.authenticator.authenticate(request)
        return await _change(request, runtime, token, entity_set, key, {f"{segment}@odata.bind": None})

    @router.get(
        f"/{name}({{key}})/{{navigation}}/$count",
        summary=f"Count related rows of a {table}",
        name=f"related_count_{name}",
    )
    async def related_count(key: str, navigation: str, request: Request, runtime: RuntimeDep) -> Response:
        options, preferences, token = _read_request(request, runtime)
        row_id = parse_key(entity_set, key)
        nav = find_navigation(entity_set, navigation)
        target = ENTITY_SETS[nav.target_set]

        def work(session: Session, caller: Caller) -> int:
            require_privilege(caller, Access.READ, table)
            require_privilege(caller, Access.READ, target.entity_type)
            reader = Reader(session, _urls(request, runtime, version), preferences)
            reader.require_row(entity_set, row_id)
            return reader.count(target, options, (nav, row_id))

        # research notes 3: a navigation's /$count starts with a byte order mark.
        return Response("\ufeff" + str(await _read(runtime, token, work)), media_type="text/plain")

    @router.post(f"/{name}", summary=f"Create a {table}", name=f"create_{name}")
    async def create_row(request: Request, runtime: RuntimeDep) -> Response:
        token, payload, preferences, options = await _write_request(request, runtime)
        now = runtime.clock.now()  # read before the transaction: see _upsert

        def work(session: Session, caller: Caller) -> uuid.UUID:
            require_privilege(caller, Access.CREATE, table)
            return writes.create(session, entity_set=entity_set, payload=payload, caller=caller, now=now)

        row_id = await _write(runtime, token, work)
        return await _written(request, runtime, token, version, entity_set, row_id, preferences, options, created=True)

    @router.patch(f"/{name}({{key}})", summary=f"Update (or upsert) a {table}", name=f"update_{name}")
    async def update_row(key: str, request: Request, runtime: RuntimeDep) -> Response:
        row_id = parse_key(entity_set, key)
        token, payload, preferences, options = await _write_request(request, runtime)
        conditions = writes.Preconditions(request.headers.get("if-match"), request.headers.get("if-none-match"))

        created = await _write(runtime, token, _upsert(runtime, entity_set, row_id, payload, conditions))
        return await _written(
            request, runtime, token, version, entity_set, row_id, preferences, options, created=created
        )

    @router.delete(f"/{name}({{key}})", summary=f"Delete a {table}", name=f"delete_{name}")
    async def delete_row(key: str, request: Request, runtime: RuntimeDep) -> Response:
        token = runtime.authenticator.authenticate(request)
        row_id = parse_key(entity_set, key)
        conditions = writes.Preconditions(request.headers.get("if-match"))

        def work(session: Session, caller: Caller) -> None:
            require_privilege(caller, Access.DELETE, table)
            writes.remove(session, entity_set=entity_set, key=row_id, preconditions=conditions)

        await _write(runtime, token, work)
        return Response(status_code=204)

    # wire-facts E5: DELETE or PATCH on a collection (and PUT on a row) is 405.
    @router.api_route(f"/{name}", methods=["PATCH", "DELETE", "PUT"], include_in_schema=False)
    async def collection_method(request: Request, runtime: RuntimeDep) -> Response:
        runtime.authenticator.authenticate(request)
        error = METHOD_NOT_ALLOWED(method=request.method)
        error.headers["Allow"] = "GET, POST"
        raise error

    @router.api_route(f"/{name}({{key}})", methods=["PUT", "POST"], include_in_schema=False)
    async def row_method(key: str, request: Request, runtime: RuntimeDep) -> Response:
        runtime.authenticator.authenticate(request)
        error = METHOD_NOT_ALLOWED(method=request.method)
        error.headers["Allow"] = "GET, PATCH, DELETE"
        raise error


async def _property_value(
    request: Request, runtime: Runtime, version: str, entity_set: EntitySet, key: str, name: str
) -> Response:
    """GET <set>(<id>)/<property>: {"value": ...}, or 204 when it is null (OData)."""
    _, preferences, token = _read_request(request, runtime)
    row_id = parse_key(entity_set, key)
    prop = entity_set.properties[name]

    def work(session: Session, caller: Caller) -> Any:
        require_privilege(caller, Access.READ, entity_set.entity_type)
        return Reader(session, _urls(request, runtime, version), preferences).require_row(entity_set, row_id)[
            prop.column.name
        ]

    value = await _read(runtime, token, work)
    if value is None:
        return Response(status_code=204)
    context = _urls(request, runtime, version).context(f"{entity_set.name}({row_id})/{name}")
    return ODataJSONResponse({"@odata.context": context, "value": wire_value(prop, value)})


async def _change(
    request: Request, runtime: Runtime, token: Any, entity_set: EntitySet, key: str, payload: dict[str, Any]
) -> Response:
    """A single-property or $ref change by an authenticated caller: an update of a row that must exist (204)."""
    row_id = parse_key(entity_set, key)

    await _write(runtime, token, _upsert(runtime, entity_set, row_id, payload, writes.Preconditions(if_match="*")))
    return Response(status_code=204)


def _upsert(
    runtime: Runtime,
    entity_set: EntitySet,
    row_id: uuid.UUID,
    payload: Any,
    conditions: writes.Preconditions,
) -> Callable[[Session, Caller], bool]:
    """The unit of work of a PATCH (or single-property change): True when it created the row."""
    # The clock is read now, not inside the transaction: it may read its row through a second pooled
    # connection, and writes waiting on one locked row can hold every connection (issue #12: a pool deadlock).
    now = runtime.clock.now()

    def work(session: Session, caller: Caller) -> bool:
        require_privilege(caller, Access.WRITE, entity_set.entity_type)
        created = writes.upsert(
            session,
            entity_set=entity_set,
            key=row_id,
            payload=payload,
            caller=caller,
            now=now,
            preconditions=conditions,
        )
        if created:
            require_privilege(caller, Access.CREATE, entity_set.entity_type)
        return created

    return work


async def _related(
    request: Request, runtime: Runtime, version: str, entity_set: EntitySet, key: str, navigation: str
) -> ODataJSONResponse:
    options, preferences, token = _read_request(request, runtime)
    row_id = parse_key(entity_set, key)
    nav = find_navigation(entity_set, navigation)
    target = ENTITY_SETS[nav.target_set]
    path = f"{entity_set.name}({row_id})/{nav.name}"

    def work(session: Session, caller: Caller) -> tuple[dict[str, Any], bool]:
        require_privilege(caller, Access.READ, entity_set.entity_type)
        require_privilege(caller, Access.READ, target.entity_type)
        reader = Reader(session, _urls(request, runtime, version), preferences)
        parent = reader.require_row(entity_set, row_id)
        if nav.collection:
            body, paged = reader.collection(
                target, options, raw_query=request.url.query, path=path, parent=(nav, row_id)
            )
            body["@odata.context"] = body["@odata.context"].replace(f"#{path}", f"#{target.name}", 1)
            return body, paged
        # research notes 1d: a single related row answers as an entity of its own set.
        return reader.entity(target, parent[nav.local_column.name], options)[0], False

    body, paged = await _read(runtime, token, work)
    return _json(body, preferences.applied(paged=paged))


# --- shared request plumbing ---------------------------------------------------------------------------


def _urls(request: Request, runtime: Runtime, version: str) -> Urls:
    return Urls(request_origin(request, runtime.settings.org_url), version)


def _read_request(
    request: Request, runtime: Runtime, *, fetch_xml: bool = False
) -> tuple[QueryOptions, Preferences, Any]:
    """401 first, then the query: `$` options and `@` aliases, `fetchXml` where allowed, nothing else (issue 15)."""
    token = runtime.authenticator.authenticate(request)
    options = parse_query(list(request.query_params.multi_items()), strict=True, fetch_xml=fetch_xml)
    return options, parse_preferences(request.headers.getlist("prefer")), token


async def _write_request(request: Request, runtime: Runtime) -> tuple[Any, Any, Preferences, QueryOptions]:
    token = runtime.authenticator.authenticate(request)
    check_json_content_type(request)
    payload = parse_json(await read_limited_body(request, runtime.settings.max_body_bytes), entity=True)
    options = parse_query(list(request.query_params.multi_items()))
    return token, payload, parse_preferences(request.headers.getlist("prefer")), options


async def _read(runtime: Runtime, token: Any, work: Callable[[Session, Caller], T]) -> T:
    def unit_of_work() -> T:
        with runtime.database.read() as session:
            return work(session, load_caller(session, principal=token.principal))

    return await run_in_threadpool(unit_of_work)


async def _write(runtime: Runtime, token: Any, work: Callable[[Session, Caller], T]) -> T:
    def unit_of_work() -> T:
        with runtime.database.transaction() as session:
            return work(session, load_caller(session, principal=token.principal))

    return await run_in_threadpool(unit_of_work)


async def _written(
    request: Request,
    runtime: Runtime,
    token: Any,
    version: str,
    entity_set: EntitySet,
    row_id: uuid.UUID,
    preferences: Preferences,
    options: QueryOptions,
    *,
    created: bool,
) -> Response:
    """wire-facts E11: 204 with OData-EntityId, or the row itself with return=representation."""
    urls = _urls(request, runtime, version)
    if not preferences.return_representation:
        return Response(status_code=204, headers={"OData-EntityId": urls.entity_id(entity_set, row_id)})

    def work(session: Session, caller: Caller) -> tuple[dict[str, Any], str]:
        return Reader(session, urls, preferences).entity(entity_set, row_id, options)

    body, etag = await _read(runtime, token, work)
    return _json(
        body,
        preferences.applied(paged=False, representation=True),
        status=201 if created else 200,
        headers={"ETag": etag},
    )


def _json(
    body: dict[str, Any], applied: list[str], *, status: int = 200, headers: dict[str, str] | None = None
) -> ODataJSONResponse:
    response = ODataJSONResponse(body, status_code=status, headers=headers)
    for preference in applied:
        response.headers.append("Preference-Applied", preference)
    return response


_KEY = re.compile(rf"(?:(?P<name>[A-Za-z_]+)=)?(?P<guid>{_GUID})(?:,partitionid='(?P<partition>[^']*)')?\Z")


def parse_key(entity_set: EntitySet, text: str) -> uuid.UUID:
    """`(<guid>)`, `(<keyname>=<guid>)` or, for elastic tables, `(<keyname>=<guid>,partitionid='<p>')`."""
    match = _KEY.match(text.strip())
    if match is None or (match.group("name") not in (None, entity_set.key.name)):
        raise INVALID_KEY(key=text[:200], entity_set=entity_set.name)
    if match.group("partition") is not None and "partitionid" not in entity_set.properties:
        raise INVALID_KEY(key=text[:200], entity_set=entity_set.name)
    return uuid.UUID(match.group("guid"))


# --- CreateMultiple / UpdateMultiple / UpsertMultiple ----------------------------------------------------------


def _add_bound_actions(router: APIRouter, version: str, entity_set: EntitySet) -> None:
    """The bulk actions bound to a writable entity set (issue 15), one transaction each (odata/writes.py)."""
    if entity_set.name not in {writable.name for writable in writes.writable_sets()}:
        return
    name = entity_set.name
    table = entity_set.entity_type

    @router.post(
        f"/{name}/{NAMESPACE}.CreateMultiple",
        summary=f"Create many {table} rows in one transaction; answers their Ids",
        name=f"create_multiple_{name}",
    )
    async def create_multiple(request: Request, runtime: RuntimeDep) -> Response:
        token, targets = await _targets(request, runtime, entity_set, "CreateMultiple")
        now = runtime.clock.now()

        def work(session: Session, caller: Caller) -> list[uuid.UUID]:
            require_privilege(caller, Access.CREATE, table)
            return writes.create_many(session, entity_set=entity_set, targets=targets, caller=caller, now=now)

        ids = await _write(runtime, token, work)
        context = f"{_urls(request, runtime, version).root}$metadata#{NAMESPACE}.CreateMultipleResponse"
        return ODataJSONResponse({"@odata.context": context, "Ids": [str(row_id) for row_id in ids]})

    @router.post(
        f"/{name}/{NAMESPACE}.UpdateMultiple",
        summary=f"Change many existing {table} rows in one transaction",
        status_code=204,
        name=f"update_multiple_{name}",
    )
    async def update_multiple(request: Request, runtime: RuntimeDep) -> Response:
        token, targets = await _targets(request, runtime, entity_set, "UpdateMultiple")
        now = runtime.clock.now()

        def work(session: Session, caller: Caller) -> None:
            require_privilege(caller, Access.WRITE, table)
            writes.update_many(session, entity_set=entity_set, targets=targets, caller=caller, now=now)

        await _write(runtime, token, work)
        return Response(status_code=204)

    @router.post(
        f"/{name}/{NAMESPACE}.UpsertMultiple",
        summary=f"Change or create many {table} rows (by key) in one transaction",
        status_code=204,
        name=f"upsert_multiple_{name}",
    )
    async def upsert_multiple(request: Request, runtime: RuntimeDep) -> Response:
        token, targets = await _targets(request, runtime, entity_set, "UpsertMultiple")
        now = runtime.clock.now()

        def work(session: Session, caller: Caller) -> None:
            require_privilege(caller, Access.WRITE, table)
            created = writes.upsert_many(session, entity_set=entity_set, targets=targets, caller=caller, now=now)
            if any(created):
                require_privilege(caller, Access.CREATE, table)

        await _write(runtime, token, work)
        return Response(status_code=204)


async def _targets(
    request: Request, runtime: Runtime, entity_set: EntitySet, action: str
) -> tuple[Any, list[dict[str, Any]]]:
    token = runtime.authenticator.authenticate(request)
    check_json_content_type(request)
    body = parse_json(await read_limited_body(request, runtime.settings.max_body_bytes))
    return token, writes.targets_of(entity_set, body, action)


# --- EntityDefinitions -----------------------------------------------------------------------------------------


def _add_definition_routes(router: APIRouter, version: str) -> None:
    """Table definitions as the Dataverse SDK for Python reads them (odata/definitions.py)."""

    @router.get("/EntityDefinitions", summary="Table definitions (EntityMetadata): $select and $filter")
    async def entity_definitions(request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        options, _, token = _definition_request(request, runtime)
        query = definitions.definition_query(
            definitions.ENTITY_TYPE, set(definitions.ENTITY_PROPERTIES), options.select, options.filter, options.aliases
        )
        await _read(runtime, token, lambda _session, _caller: None)  # the caller must be a user of the org
        context = _urls(request, runtime, version).context("EntityDefinitions", _clause(options.select))
        return ODataJSONResponse({"@odata.context": context, "value": query.apply(definitions.entity_definitions())})

    @router.get("/EntityDefinitions({key})", summary="One table definition, by LogicalName='<name>' or MetadataId")
    async def entity_definition(key: str, request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        options, _, token = _definition_request(request, runtime)
        _, found = definitions.find_entity(key)
        query = definitions.definition_query(
            definitions.ENTITY_TYPE, set(definitions.ENTITY_PROPERTIES), options.select, None, options.aliases
        )
        await _read(runtime, token, lambda _session, _caller: None)
        context = _urls(request, runtime, version).context("EntityDefinitions", _clause(options.select), entity=True)
        return ODataJSONResponse({"@odata.context": context, **query.project(found)})

    @router.get("/EntityDefinitions({key})/Attributes", summary="A table's column definitions")
    async def attributes(key: str, request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        return await _attributes(request, runtime, version, key, cast=None)

    @router.get("/EntityDefinitions({key})/Attributes({attribute})", summary="One column definition")
    async def attribute(key: str, attribute: str, request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        options, _, token = _definition_request(request, runtime)
        entity_set, found = definitions.find_entity(key)
        item = definitions.find_attribute(entity_set, attribute)
        query = definitions.definition_query(
            definitions.ATTRIBUTE_TYPE, set(definitions.ATTRIBUTE_PROPERTIES), options.select, None, options.aliases
        )
        await _read(runtime, token, lambda _session, _caller: None)
        path = f"EntityDefinitions({found['MetadataId']})/Attributes"
        context = _urls(request, runtime, version).context(path, _clause(options.select), entity=True)
        return ODataJSONResponse({"@odata.context": context, **query.project(item)})

    @router.get(
        "/EntityDefinitions({key})/Attributes/{cast}",
        summary="Column definitions of one type, e.g. Microsoft.Dynamics.CRM.PicklistAttributeMetadata with "
        "$expand=OptionSet",
    )
    async def attributes_of_type(key: str, cast: str, request: Request, runtime: RuntimeDep) -> ODataJSONResponse:
        if cast not in definitions.CASTS:
            raise RESOURCE_NOT_FOUND(segment=cast[:200])
        return await _attributes(request, runtime, version, key, cast=cast)


async def _attributes(
    request: Request, runtime: Runtime, version: str, key: str, *, cast: str | None
) -> ODataJSONResponse:
    options, _, token = _definition_request(request, runtime, expand=cast is not None)
    entity_set, found = definitions.find_entity(key)
    query = definitions.definition_query(
        definitions.ATTRIBUTE_TYPE,
        set(definitions.ATTRIBUTE_PROPERTIES),
        options.select,
        options.filter,
        options.aliases,
    )
    items = list(definitions.attribute_definitions(entity_set.entity_type))
    if cast is not None:
        items = [item for item in items if item["AttributeType"] == definitions.CASTS[cast]]
    value = query.apply(items)
    expanded = tuple((item.navigation, item.select) for item in options.expand)
    if expanded:
        if cast != definitions.PICKLIST_CAST:
            raise QUERY_OPTION_NOT_SUPPORTED(option="$expand on attributes other than PicklistAttributeMetadata")
        definitions.expand_option_sets(entity_set, value, expanded)
    await _read(runtime, token, lambda _session, _caller: None)
    path = f"EntityDefinitions({found['MetadataId']})/Attributes" + (f"/{cast}" if cast else "")
    clause = _clause(
        (*(options.select or ()), *(f"{name}({','.join(select or ())})" for name, select in expanded))
        if options.select or expanded
        else None
    )
    return ODataJSONResponse({"@odata.context": _urls(request, runtime, version).context(path, clause), "value": value})


def _definition_request(request: Request, runtime: Runtime, *, expand: bool = False) -> tuple[QueryOptions, Any, Any]:
    """Definitions take $select and $filter (and $expand of option sets); Dataverse's metadata queries page nothing."""
    options, preferences, token = _read_request(request, runtime)
    for option, used in (
        ("$orderby", bool(options.orderby)),
        ("$top", options.top is not None),
        ("$count", options.count),
        ("$skiptoken", options.skiptoken is not None),
        ("$expand", bool(options.expand) and not expand),
    ):
        if used:
            raise QUERY_OPTION_NOT_SUPPORTED(option=f"{option} on table definitions")
    return options, preferences, token


def _clause(select: tuple[str, ...] | None) -> str:
    return f"({','.join(select)})" if select else ""
