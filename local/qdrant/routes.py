"""The REST routes of the embedded engine (server.py): one handler per Qdrant
endpoint witnesslog uses, each validating its body (validation.py) and asking
the Edge store (edge_store.py). `ROUTES` is what the HTTP handler dispatches on.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import qdrant_edge as edge
from qdrant_client import models
from qdrant_client.http.models import PayloadSchemaType

from edge_store import (
    SCHEMA_TYPES,
    EdgeStore,
    point_key,
    point_struct,
    record_json,
    rest_id,
    run,
    to_filter,
    with_payload,
    with_vector,
)
from query_api import at_least, edge_request, order_by
from query_groups import matrix_offsets, matrix_pairs, query_groups
from validation import ApiError, parse, parse_id, parse_points_list

VERSION = "1.19.0-edge"
Store = EdgeStore

Handler = Callable[[Store, dict[str, str], Any, dict[str, str]], Any]
# (method, path regex, handler, writes): a handler that adds or drops collections holds the store's write lock.
ROUTES: list[tuple[str, re.Pattern[str], Handler, bool]] = []


def route(method: str, pattern: str, exclusive: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        ROUTES.append((method, regex, fn, exclusive))
        return fn

    return register


@route("GET", "/")
def root(store: Store, p: dict, body: Any, q: dict) -> Any:
    return {"title": "qdrant - vector search engine (witnesslog embedded engine on Qdrant Edge)", "version": VERSION}


@route("GET", "/collections")
def list_collections(store: Store, p: dict, body: Any, q: dict) -> Any:
    return {"collections": [{"name": name} for name in store.collections]}


@route("GET", "/collections/{name}/exists")
def collection_exists(store: Store, p: dict, body: Any, q: dict) -> Any:
    return {"exists": p["name"] in store.collections}


@route("PUT", "/collections/{name}", exclusive=True)
def create_collection(store: Store, p: dict, body: Any, q: dict) -> Any:
    store.create(p["name"], parse(models.CreateCollection, body))
    return True


@route("GET", "/collections/{name}")
def get_collection(store: Store, p: dict, body: Any, q: dict) -> Any:
    return store.info(p["name"])


@route("DELETE", "/collections/{name}", exclusive=True)
def delete_collection(store: Store, p: dict, body: Any, q: dict) -> Any:
    return store.drop(p["name"])


@route("PUT", "/collections/{name}/index")
def create_index(store: Store, p: dict, body: Any, q: dict) -> Any:
    store.get(p["name"])
    req = parse(models.CreateFieldIndex, body)
    if req.field_schema is None:
        raise ApiError(400, "Bad request: field_schema is required")
    schema = req.field_schema
    # The type of the index; index parameters (on_disk, is_tenant, ...) are not passed on.
    kind = schema.value if isinstance(schema, PayloadSchemaType) else getattr(schema.type, "value", schema.type)
    return store.update(p["name"], edge.UpdateOperation.create_field_index(req.field_name, SCHEMA_TYPES[kind]))


@route("DELETE", "/collections/{name}/index/{field}")
def delete_index(store: Store, p: dict, body: Any, q: dict) -> Any:
    return store.update(p["name"], edge.UpdateOperation.delete_field_index(p["field"]))


def check_vectors(store: Store, name: str, points: list[Any]) -> None:
    """Edge applies a point before it finds a wrong vector (it stays, without that
    vector); the real server refuses the whole request first: so is it here."""
    config = store.get(name).config["vectors"]
    sizes = {k: v["size"] for k, v in config.items()} if "size" not in config else {"": config["size"]}
    for point in points:
        vector = point.vector if isinstance(point.vector, dict) else {"": point.vector}
        for key, values in vector.items():
            if key not in sizes:
                raise ApiError(400, f"Wrong input: Not existing vector name error: {key}")
            if isinstance(values, list) and values and not isinstance(values[0], list) and len(values) != sizes[key]:
                raise ApiError(400, f"Wrong input: Vector dimension error: expected dim: {sizes[key]}, got {len(values)}")


@route("PUT", "/collections/{name}/points")
def upsert(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.get(name)
    req = parse_points_list(body) or parse(models.PointInsertOperations, body)
    if isinstance(req, models.PointsBatch):
        b = req.batch
        points = [
            models.PointStruct(
                id=pid,
                vector=b.vectors[i] if isinstance(b.vectors, list) else {k: v[i] for k, v in b.vectors.items()},
                payload=b.payloads[i] if b.payloads else None,
            )
            for i, pid in enumerate(b.ids)
        ]
    else:
        points = req.points
    check_vectors(store, name, points)
    mode = getattr(req, "update_mode", None)
    mode = getattr(mode, "value", mode)
    if mode in (None, "upsert"):
        return store.update(name, edge.UpdateOperation.upsert_points([point_struct(pt) for pt in points]))
    # insert_only leaves a stored point as it is; update_only touches only stored points. Edge applies the mode itself.
    edge_mode = {"insert_only": edge.UpdateMode.InsertOnly, "update_only": edge.UpdateMode.UpdateOnly}[mode]
    return store.update(name, edge.UpdateOperation.upsert_points([point_struct(pt) for pt in points], update_mode=edge_mode))


@route("POST", "/collections/{name}/points/delete")
def delete_points(store: Store, p: dict, body: Any, q: dict) -> Any:
    selector = parse(models.PointsSelector, body)
    if isinstance(selector, models.PointIdsList):
        op = edge.UpdateOperation.delete_points([point_key(i) for i in selector.points])
    else:
        op = edge.UpdateOperation.delete_points_by_filter(to_filter(selector.filter))
    return store.update(p["name"], op)


@route("POST", "/collections/{name}/points/payload")
def set_payload(store: Store, p: dict, body: Any, q: dict) -> Any:
    return _payload(store, p["name"], body, overwrite=False)


@route("PUT", "/collections/{name}/points/payload")
def overwrite_payload(store: Store, p: dict, body: Any, q: dict) -> Any:
    return _payload(store, p["name"], body, overwrite=True)


def _payload(store: Store, name: str, body: Any, overwrite: bool) -> Any:
    req = parse(models.SetPayload, body)
    U = edge.UpdateOperation
    if req.points is not None:
        ids = [point_key(i) for i in req.points]
        op = (U.overwrite_payload if overwrite else U.set_payload)(ids, req.payload, req.key)
    else:
        op = (U.overwrite_payload_by_filter if overwrite else U.set_payload_by_filter)(to_filter(req.filter or models.Filter()), req.payload, req.key)
    return store.update(name, op)


def _query(store: Store, name: str, req: Any) -> dict[str, Any]:
    c = store.get(name)
    at_least(req.limit, 1, "internal.limit")
    request = edge_request(store, c, req, offset=req.offset)
    return {"points": [record_json(pt, scored=True) for pt in run(lambda: c.shard.query(request))]}


@route("POST", "/collections/{name}/points/query")
def query(store: Store, p: dict, body: Any, q: dict) -> Any:
    return _query(store, p["name"], parse(models.QueryRequest, body))


@route("POST", "/collections/{name}/points/query/groups")
def query_groups_route(store: Store, p: dict, body: Any, q: dict) -> Any:
    c = store.get(p["name"])
    return query_groups(store, c, parse(models.QueryGroupsRequest, body))


@route("POST", "/collections/{name}/points/search/matrix/pairs")
def matrix_pairs_route(store: Store, p: dict, body: Any, q: dict) -> Any:
    return matrix_pairs(store, store.get(p["name"]), parse(models.SearchMatrixRequest, body))


@route("POST", "/collections/{name}/points/search/matrix/offsets")
def matrix_offsets_route(store: Store, p: dict, body: Any, q: dict) -> Any:
    return matrix_offsets(store, store.get(p["name"]), parse(models.SearchMatrixRequest, body))


@route("POST", "/collections/{name}/points/query/batch")
def query_batch(store: Store, p: dict, body: Any, q: dict) -> Any:
    store.get(p["name"])
    req = parse(models.QueryRequestBatch, body)
    return [_query(store, p["name"], r) for r in req.searches]


@route("POST", "/collections/{name}/points/scroll")
def scroll(store: Store, p: dict, body: Any, q: dict) -> Any:
    c = store.get(p["name"])
    req = parse(models.ScrollRequest, body)
    at_least(req.limit, 1, "scroll_request.limit")
    request = edge.ScrollRequest(
        offset=None if req.offset is None else point_key(req.offset),
        limit=req.limit if req.limit is not None else 10,
        filter=to_filter(req.filter),
        with_payload=with_payload(req.with_payload, True),
        with_vector=with_vector(req.with_vector),
        order_by=None if req.order_by is None else order_by(req.order_by),
    )
    points, next_offset = run(lambda: c.shard.scroll(request))
    return {"points": [record_json(pt) for pt in points], "next_page_offset": None if next_offset is None else rest_id(next_offset)}


@route("POST", "/collections/{name}/points/count")
def count(store: Store, p: dict, body: Any, q: dict) -> Any:
    c = store.get(p["name"])
    req = parse(models.CountRequest, body)
    request = edge.CountRequest(exact=True, filter=to_filter(req.filter))
    return {"count": run(lambda: c.shard.count(request))}


@route("POST", "/collections/{name}/facet")
def facet(store: Store, p: dict, body: Any, q: dict) -> Any:
    c = store.get(p["name"])
    req = parse(models.FacetRequest, body)
    at_least(req.limit, 1, "facet_request.limit")
    request = edge.FacetRequest(key=req.key, limit=req.limit if req.limit is not None else 10, exact=bool(req.exact), filter=to_filter(req.filter))
    res = run(lambda: c.shard.facet(request))
    return {"hits": [{"value": h.value, "count": h.count} for h in res.hits]}


@route("POST", "/collections/{name}/points")
def retrieve(store: Store, p: dict, body: Any, q: dict) -> Any:
    c = store.get(p["name"])
    req = parse(models.PointRequest, body)
    records = run(lambda: c.shard.retrieve([point_key(i) for i in req.ids], with_payload(req.with_payload, True), with_vector(req.with_vector)))
    return [record_json(r) for r in records]


@route("GET", "/collections/{name}/points/{id}")
def get_point(store: Store, p: dict, body: Any, q: dict) -> Any:
    c = store.get(p["name"])
    raw = p["id"]
    pid = parse_id(int(raw) if raw.isdigit() else raw)
    records = run(lambda: c.shard.retrieve([point_key(pid)], True, True))
    if not records:
        raise ApiError(404, f"Not found: No point with id {raw} found")
    return record_json(records[0])
