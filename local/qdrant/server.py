"""A Qdrant-REST-compatible server for the local stack and the tests, on Qdrant Edge.

Where the real Qdrant server is not at hand (local/qdrant-engine.ts picks it
whenever it is), this serves the part of Qdrant's REST API that witnesslog
uses. Every request body is validated with Qdrant's REST models
(`qdrant_client.http.models`, generated from Qdrant's OpenAPI), so a request
the real server rejects is rejected here too; storage, payload indexes,
filters, ordering, facets and search are Qdrant Edge's (`qdrant_edge`,
Qdrant's own shard engine, embedded): see edge_store.py and README.md.

    python local/qdrant/server.py --host 127.0.0.1 --port 6333 --data DIR
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import numpy as np
import orjson
import pydantic
import qdrant_edge as edge
from qdrant_client import models
from qdrant_client.http.models import PayloadSchemaType

from edge_store import (
    SCHEMA_TYPES,
    EdgeStore,
    EngineError,
    point_key,
    point_struct,
    record_json,
    rest_id,
    run,
    to_filter,
    with_payload,
    with_vector,
)

VERSION = "1.19.0-edge"
log = logging.getLogger("qdrant-local")

# Hostile requests (issue 13 finding 9). The real server's default limit on a
# request body (service.max_request_size_mb) is 32 MiB; 1.19 answers a JSON body
# above it with a 400 (not a 413), and so does this one (qdrant-conformance.test.ts).
MAX_BODY_BYTES = int(os.environ.get("QDRANT__SERVICE__MAX_REQUEST_SIZE_MB", "32")) * 1024 * 1024
# Conditions in one request's filters. Validating and converting a filter holds
# the GIL, so one request with 1.2 M `should` conditions held every other
# request for 21 minutes. The real server has no such cap (it is multi-threaded
# Rust); witnesslog's own filters have fewer than 20 conditions.
MAX_FILTER_CONDITIONS = int(os.environ.get("QDRANT_LOCAL_MAX_FILTER_CONDITIONS", "1000"))
# Nesting of the JSON body: orjson refuses beyond 1024 anyway; filters deeper than this are not ours.
MAX_FILTER_DEPTH = 32
# A client that stops sending mid-body (or never sends it) is dropped after this, instead of holding a thread.
SOCKET_TIMEOUT_S = 30
# A refused body is read and dropped up to this size so the client sees the answer; beyond it the connection is closed.
DRAIN_MAX_BYTES = 2 * MAX_BODY_BYTES
FILTER_KEYS = ("must", "should", "must_not")
DATA_KEYS = ("vector", "vectors", "payload", "payloads")

# A refusal answered with the real server's envelope and HTTP status.
ApiError = EngineError
Store = EdgeStore


_adapters: dict[Any, pydantic.TypeAdapter[Any]] = {}


def parse(model: Any, body: Any) -> Any:
    """Validates a body against the OpenAPI model; a 400 names what is wrong, like the server.

    Some request types are unions (PointInsertOperations, PointsSelector), hence TypeAdapter."""
    adapter = _adapters.get(model)
    if adapter is None:
        adapter = _adapters[model] = pydantic.TypeAdapter(model)
    try:
        return adapter.validate_python(body if body is not None else {})
    except pydantic.ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors()[:5]
        )
        raise ApiError(400, f"Format error in JSON body: {problems}") from None


def parse_points_list(body: Any) -> models.PointsList | None:
    """The common upsert (a list of points with dense vectors), parsed like parse()
    does, but with the vectors checked and converted by numpy: pydantic spent ~1 ms
    per 768-dim point on them. Anything else (batches, sparse or multi-vectors)
    returns None and goes through parse() whole."""
    points = body.get("points") if isinstance(body, dict) else None
    if not isinstance(points, list):
        return None
    vectors: list[Any] = []
    stripped: list[Any] = []
    for i, point in enumerate(points):
        if not isinstance(point, dict):
            return None
        vector = point.get("vector")
        named = vector if isinstance(vector, dict) else {"": vector}
        converted = {}
        for key, values in named.items():
            # Dense vectors only: a multivector (list of lists) or sparse one goes through parse().
            first = values[0] if isinstance(values, list) and values else 0.0
            if not isinstance(values, list) or isinstance(first, bool) or not isinstance(first, (int, float)):
                return None
            try:
                array = np.asarray(values, dtype=np.float64)
                if not np.isfinite(array).all():  # a null in the list became NaN
                    raise ValueError("not finite")
                converted[key] = array.tolist()
            except (TypeError, ValueError):
                where = f"points.{i}.vector" + (f".{key}" if key else "")
                raise ApiError(400, f"Format error in JSON body: {where}: Input should be a list of numbers") from None
        vectors.append(converted if isinstance(vector, dict) else converted[""])
        stripped.append({**point, "vector": {k: [0.0] for k in converted} if isinstance(vector, dict) else [0.0]})
    req = parse(models.PointInsertOperations, {**body, "points": stripped})
    for point, vector in zip(req.points, vectors):
        point.vector = vector
    return req


def check_complexity(body: Any) -> None:
    """Counts the conditions of every filter in the body (must/should/must_not,
    min_should, nested), without building anything; past the cap the request is
    refused with a 400 before any validation or engine work."""
    count = 0
    stack: list[tuple[Any, int]] = [(body, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FILTER_DEPTH:
            raise ApiError(400, f"Bad request: filter nested deeper than {MAX_FILTER_DEPTH} levels (embedded engine limit)")
        if isinstance(node, dict):
            for key, value in node.items():
                if key in FILTER_KEYS or key == "conditions":
                    items = value if isinstance(value, list) else [value]
                    count += len(items)
                    if count > MAX_FILTER_CONDITIONS:
                        raise ApiError(
                            400,
                            f"Bad request: more than {MAX_FILTER_CONDITIONS} filter conditions in one request "
                            "(embedded engine limit, QDRANT_LOCAL_MAX_FILTER_CONDITIONS)",
                        )
                # Vectors and payloads are data, not filters: a 32 MiB upsert is not walked number by number.
                if isinstance(value, (dict, list)) and key not in DATA_KEYS:
                    stack.append((value, depth + 1))
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, (dict, list)):
                    stack.append((item, depth + 1))


# --- routes -----------------------------------------------------------------

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
    if req.prefetch:
        raise ApiError(400, "Bad request: prefetch is not supported by the embedded engine")
    query = req.query.nearest if isinstance(req.query, models.NearestQuery) else req.query
    filter_ = req.filter
    if isinstance(query, (str, int)):
        # A query by point id: the point's own vector, the point itself left out, as the server does.
        pid = parse_id(query)
        query = store.vector_of(c, pid, req.using)
        filter_ = models.Filter(must=[filter_] if filter_ else None, must_not=[models.HasIdCondition(has_id=[pid])])
    elif query is not None and not isinstance(query, list):
        raise ApiError(400, f"Bad request: query {type(query).__name__} is not supported by the embedded engine")
    request = edge.QueryRequest(
        limit=req.limit if req.limit is not None else 10,
        offset=req.offset,
        query=None if query is None else edge.Query.Nearest(np.asarray(query, dtype=np.float32).tolist(), using=req.using),
        with_payload=with_payload(req.with_payload, False),
        with_vector=with_vector(req.with_vector),
        filter=to_filter(filter_),
        score_threshold=req.score_threshold,
        params=edge.SearchParams(hnsw_ef=req.params.hnsw_ef, exact=bool(req.params.exact)) if req.params else None,
    )
    return {"points": [record_json(pt, scored=True) for pt in run(lambda: c.shard.query(request))]}


@route("POST", "/collections/{name}/points/query")
def query(store: Store, p: dict, body: Any, q: dict) -> Any:
    return _query(store, p["name"], parse(models.QueryRequest, body))


@route("POST", "/collections/{name}/points/query/batch")
def query_batch(store: Store, p: dict, body: Any, q: dict) -> Any:
    store.get(p["name"])
    req = parse(models.QueryRequestBatch, body)
    return [_query(store, p["name"], r) for r in req.searches]


@route("POST", "/collections/{name}/points/scroll")
def scroll(store: Store, p: dict, body: Any, q: dict) -> Any:
    c = store.get(p["name"])
    req = parse(models.ScrollRequest, body)
    order_by = None
    if req.order_by is not None:
        o = models.OrderBy(key=req.order_by) if isinstance(req.order_by, str) else req.order_by
        direction = edge.Direction.Desc if o.direction == models.Direction.DESC else edge.Direction.Asc
        order_by = edge.OrderBy(o.key, direction=direction, start_from=o.start_from)
    request = edge.ScrollRequest(
        offset=None if req.offset is None else point_key(req.offset),
        limit=req.limit if req.limit is not None else 10,
        filter=to_filter(req.filter),
        with_payload=with_payload(req.with_payload, True),
        with_vector=with_vector(req.with_vector),
        order_by=order_by,
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


def parse_id(value: Any) -> Any:
    class Holder(pydantic.BaseModel):
        id: models.ExtendedPointId

    return parse(Holder, {"id": value}).id


# --- HTTP -------------------------------------------------------------------

PROBES = {"/healthz": "healthz check passed", "/livez": "healthz check passed", "/readyz": "all shards are ready"}


class RequestHandler(BaseHTTPRequestHandler):
    server_version = "qdrant-local"
    # Keep-alive: the JS client reuses connections; HTTP/1.0 would reconnect per request.
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle's algorithm the second
    # waits for the client's delayed ACK, 40 ms per response.
    disable_nagle_algorithm = True
    store: Store
    api_key: str | None
    # Bounds every read and write on the socket (StreamRequestHandler applies it).
    timeout = SOCKET_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per error instead
        pass

    def do_GET(self) -> None:
        self.handle_api("GET")

    def do_POST(self) -> None:
        self.handle_api("POST")

    def do_PUT(self) -> None:
        self.handle_api("PUT")

    def do_DELETE(self) -> None:
        self.handle_api("DELETE")

    def send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def authorized(self) -> bool:
        if not self.api_key:
            return True
        bearer = self.headers.get("Authorization", "")
        return self.headers.get("api-key") == self.api_key or bearer == f"Bearer {self.api_key}"

    def refuse(self, status: int, message: str, started: float, length: int = 0) -> None:
        """Answers before reading the body, then closes the connection. The answer
        goes first, so a client that never sends its body still gets it at once;
        then up to DRAIN_MAX_BYTES of the declared body are read and dropped (64 KiB
        at a time, the socket timeout bounding a client that stalls), so a client
        still writing sees the answer rather than a broken pipe."""
        self.close_connection = True
        log.info("%s %s -> %d %s", self.command, self.path.partition("?")[0], status, message)
        self.send(status, orjson.dumps({"status": {"error": message}, "time": time.perf_counter() - started}))
        self.wfile.flush()
        left = length if 0 < length <= DRAIN_MAX_BYTES else 0
        try:
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    return
                left -= len(chunk)
        except OSError:  # the timeout, or the client hung up: nothing more to do
            return

    def content_length(self) -> int | None:
        """The declared body length; None when it is malformed (several, negative, not a number) or chunked."""
        values = self.headers.get_all("Content-Length") or []
        if self.headers.get("Transfer-Encoding"):
            return None
        if not values:
            return 0
        if len(set(v.strip() for v in values)) != 1 or not values[0].strip().isdigit():
            return None
        return int(values[0].strip())

    def handle_api(self, method: str) -> None:
        started = time.perf_counter()
        path, _, query_string = self.path.partition("?")
        length = self.content_length()
        if length is None:
            return self.refuse(400, "Bad request: malformed Content-Length (or a chunked body, which is not supported)", started)
        if method == "GET" and path in PROBES:
            self.rfile.read(length) if 0 < length <= MAX_BODY_BYTES else None
            self.send(200, PROBES[path].encode(), "text/plain; charset=utf-8")
            return
        # The key before the body: an unauthenticated client gets no read of up to 32 MiB.
        if not self.authorized():
            return self.refuse(401, "Must provide an API key or an Authorization bearer token", started, length)
        if length > MAX_BODY_BYTES:
            # The real server (1.19) answers this with a 400, not a 413, and this message.
            return self.refuse(400, f"JSON payload ({length} bytes) is larger than allowed (limit: {MAX_BODY_BYTES} bytes).", started, length)
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            self.close_connection = True
            return
        try:
            body = None
            if raw:
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError as err:
                    raise ApiError(400, f"Format error in JSON body: {err}") from None
                check_complexity(body)
            query = dict(part.partition("=")[::2] for part in query_string.split("&") if part)
            for m, regex, fn, exclusive in ROUTES:
                match = regex.match(path)
                if match and m == method:
                    # Reads and writes to collections run concurrently (Edge orders a
                    # collection's writes); creating or dropping one waits for them.
                    with self.store.lock.write() if exclusive else self.store.lock.read():
                        result = fn(self.store, match.groupdict(), body, query)
                    break
            else:
                raise ApiError(404, f"Not found: {method} {path}")
            status, payload = 200, {"result": result, "status": "ok", "time": time.perf_counter() - started}
        except ApiError as err:
            status, payload = err.status, {"status": {"error": err.message}, "time": time.perf_counter() - started}
            log.info("%s %s -> %d %s", method, path, err.status, err.message)
        except Exception as err:  # a bug here must answer 500, never hang the client
            log.exception("%s %s failed", method, path)
            status, payload = 500, {"status": {"error": f"Service internal error: {err}"}, "time": time.perf_counter() - started}
        self.send(status, orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("QDRANT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("QDRANT_PORT", "6333")))
    parser.add_argument("--data", default=os.environ.get("QDRANT_DATA_DIR", "./qdrant-data"))
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    if os.path.exists(os.path.join(args.data, "collection")) or os.path.exists(os.path.join(args.data, "meta.json")):
        log.warning(
            "%s holds collections of the former engine (qdrant-client local mode): they are not migrated "
            "and not served; re-create them (replay the topic) or delete the folder",
            os.path.abspath(args.data),
        )
    RequestHandler.store = Store(args.data)
    RequestHandler.api_key = os.environ.get("QDRANT_API_KEY") or None
    server = ThreadingHTTPServer((args.host, args.port), RequestHandler)
    server.daemon_threads = True
    log.info(
        "qdrant-compatible server listening on http://%s:%d (data: %s, api key: %s)",
        args.host,
        args.port,
        os.path.abspath(args.data),
        "required" if RequestHandler.api_key else "off",
    )
    # SIGTERM (the stack's stop) closes the shards cleanly, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        RequestHandler.store.close()


if __name__ == "__main__":
    main()
