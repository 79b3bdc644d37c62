"""A small Qdrant-REST-compatible server for the local stack and the tests.

No Qdrant server binary can be installed on these machines, so this serves the
part of Qdrant's REST API that witnesslog uses on top of Qdrant's own Python
client in local mode (`QdrantClient(path=...)`). Every request body is parsed
with the client's REST models (`qdrant_client.http.models`, generated from
Qdrant's OpenAPI), so a request the real server would reject is rejected here
too. Where local mode differs from the server, this mirrors the server (see
README.md beside this file). Production runs the real Qdrant image.

    python local/qdrant/server.py --host 127.0.0.1 --port 6333 --data DIR
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import numpy as np
import orjson
import pydantic
from qdrant_client import QdrantClient, models
from qdrant_client.http.models import PayloadSchemaType

VERSION = "1.19.1-local"
log = logging.getLogger("qdrant-local")


class ApiError(Exception):
    """An error answered with the real server's envelope and HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(name: str) -> ApiError:
    return ApiError(404, f"Not found: Collection `{name}` doesn't exist!")


class Store:
    """The local-mode client plus what local mode does not keep: payload indexes.

    Local mode is not thread-safe; every call goes through one lock. The real
    server is concurrent, but the local stack only needs correctness here."""

    def __init__(self, data_dir: str):
        os.makedirs(data_dir, exist_ok=True)
        self.client = QdrantClient(path=data_dir)
        # Writes go to local mode directly: QdrantClient.upsert first walks every
        # point's model looking for objects to embed (half the time of an upsert).
        self.local = self.client._client
        self.lock = threading.Lock()
        self.index_file = os.path.join(data_dir, "payload_indexes.json")
        # {collection: {field: field_schema as JSON}}: local mode ignores payload
        # indexes, but the real server reports them and refuses facets without one.
        self.indexes: dict[str, dict[str, Any]] = {}
        if os.path.exists(self.index_file):
            with open(self.index_file, "rb") as f:
                self.indexes = orjson.loads(f.read())
        self.operation_id = 0

    def save_indexes(self) -> None:
        tmp = self.index_file + ".tmp"
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(self.indexes))
        os.replace(tmp, self.index_file)

    def require(self, name: str) -> None:
        if not self.client.collection_exists(name):
            raise not_found(name)
        self.fast_storage(name)

    def fast_storage(self, name: str) -> None:
        """Local mode commits (and fsyncs) its SQLite file once per point; in WAL mode
        with synchronous=NORMAL a commit survives the process being killed, only not
        the machine crashing, which is enough for a local stack, and is 10x cheaper."""
        collection = self.local.collections.get(name)
        db = getattr(getattr(collection, "storage", None), "storage", None)
        if db is None or getattr(collection, "_witness_fast", False):
            return
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        collection._witness_fast = True

    def next_operation(self) -> dict[str, Any]:
        self.operation_id += 1
        return {"operation_id": self.operation_id, "status": "completed"}


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


def local_error(err: Exception, collection: str) -> ApiError:
    """Maps local mode's ValueErrors to the status the real server answers with."""
    message = str(err)
    if "not found" in message and collection in message:
        return not_found(collection)
    if message.startswith("Wrong input") or message.startswith("Bad request"):
        return ApiError(400, message)
    return ApiError(400, f"Wrong input: {message}")


def dump(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", exclude_unset=False)
    if isinstance(value, list):
        return [dump(v) for v in value]
    return value


def point_json(record: Any) -> dict[str, Any]:
    """A point as the server writes it (local mode adds fields the server leaves out when null)."""
    data = record.model_dump(mode="json")
    # The real server leaves out what was not asked for (measured: test/qdrant-conformance.test.ts).
    for key in ("shard_key", "order_value", "payload", "vector"):
        if data.get(key) is None:
            data.pop(key, None)
    return data


# --- routes -----------------------------------------------------------------

Handler = Callable[[Store, dict[str, str], Any, dict[str, str]], Any]
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        ROUTES.append((method, regex, fn))
        return fn

    return register


@route("GET", "/")
def root(store: Store, p: dict, body: Any, q: dict) -> Any:
    return {"title": "qdrant - vector search engine (witnesslog local server)", "version": VERSION}


@route("GET", "/collections")
def list_collections(store: Store, p: dict, body: Any, q: dict) -> Any:
    return {"collections": [{"name": c.name} for c in store.client.get_collections().collections]}


@route("GET", "/collections/{name}/exists")
def collection_exists(store: Store, p: dict, body: Any, q: dict) -> Any:
    return {"exists": store.client.collection_exists(p["name"])}


@route("PUT", "/collections/{name}")
def create_collection(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    req = parse(models.CreateCollection, body)
    if store.client.collection_exists(name):
        raise ApiError(409, f"Wrong input: Collection `{name}` already exists!")
    store.client.create_collection(
        name,
        vectors_config=req.vectors,
        sparse_vectors_config=req.sparse_vectors,
    )
    store.indexes[name] = {}
    store.save_indexes()
    return True


@route("GET", "/collections/{name}")
def get_collection(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
    info = store.client.get_collection(name).model_dump(mode="json", exclude_none=True)
    schema = {}
    for field, field_schema in store.indexes.get(name, {}).items():
        data_type = field_schema if isinstance(field_schema, str) else field_schema.get("type")
        has_field = models.Filter(must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key=field))])
        entry: dict[str, Any] = {"data_type": data_type, "points": store.client.count(name, count_filter=has_field).count}
        if not isinstance(field_schema, str):
            entry["params"] = field_schema
        schema[field] = entry
    info["payload_schema"] = schema
    return info


@route("DELETE", "/collections/{name}")
def delete_collection(store: Store, p: dict, body: Any, q: dict) -> Any:
    # The real server answers false for a collection that does not exist; local mode says true.
    existed = store.client.collection_exists(p["name"]) and store.client.delete_collection(p["name"])
    if store.indexes.pop(p["name"], None) is not None:
        store.save_indexes()
    return bool(existed)


@route("PUT", "/collections/{name}/index")
def create_index(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
    req = parse(models.CreateFieldIndex, body)
    if req.field_schema is None:
        raise ApiError(400, "Bad request: field_schema is required")
    schema = req.field_schema
    store.indexes.setdefault(name, {})[req.field_name] = (
        schema.value if isinstance(schema, PayloadSchemaType) else schema.model_dump(mode="json", exclude_none=True)
    )
    store.save_indexes()
    return store.next_operation()


@route("DELETE", "/collections/{name}/index/{field}")
def delete_index(store: Store, p: dict, body: Any, q: dict) -> Any:
    store.require(p["name"])
    if store.indexes.get(p["name"], {}).pop(p["field"], None) is not None:
        store.save_indexes()
    return store.next_operation()


@route("PUT", "/collections/{name}/points")
def upsert(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
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
    try:
        store.local.upsert(name, points=points, wait=True)
    except ValueError as err:
        raise local_error(err, name) from None
    return store.next_operation()


@route("POST", "/collections/{name}/points/delete")
def delete_points(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
    selector = parse(models.PointsSelector, body)
    try:
        store.client.delete(name, points_selector=selector, wait=True)
    except ValueError as err:
        raise local_error(err, name) from None
    return store.next_operation()


@route("POST", "/collections/{name}/points/payload")
def set_payload(store: Store, p: dict, body: Any, q: dict) -> Any:
    return _payload(store, p["name"], body, overwrite=False)


@route("PUT", "/collections/{name}/points/payload")
def overwrite_payload(store: Store, p: dict, body: Any, q: dict) -> Any:
    return _payload(store, p["name"], body, overwrite=True)


def _payload(store: Store, name: str, body: Any, overwrite: bool) -> Any:
    store.require(name)
    req = parse(models.SetPayload, body)
    selector: Any = req.points if req.points is not None else models.FilterSelector(filter=req.filter or models.Filter())
    (store.client.overwrite_payload if overwrite else store.client.set_payload)(
        name, payload=req.payload, points=selector, wait=True
    )
    return store.next_operation()


def _query(store: Store, name: str, req: Any) -> dict[str, Any]:
    try:
        res = store.client.query_points(
            name,
            query=req.query,
            using=req.using,
            prefetch=req.prefetch,
            query_filter=req.filter,
            search_params=req.params,
            limit=req.limit if req.limit is not None else 10,
            offset=req.offset,
            with_payload=req.with_payload if req.with_payload is not None else False,
            with_vectors=req.with_vector if req.with_vector is not None else False,
            score_threshold=req.score_threshold,
        )
    except ValueError as err:
        raise local_error(err, name) from None
    return {"points": [point_json(pt) for pt in res.points]}


@route("POST", "/collections/{name}/points/query")
def query(store: Store, p: dict, body: Any, q: dict) -> Any:
    store.require(p["name"])
    return _query(store, p["name"], parse(models.QueryRequest, body))


@route("POST", "/collections/{name}/points/query/batch")
def query_batch(store: Store, p: dict, body: Any, q: dict) -> Any:
    store.require(p["name"])
    req = parse(models.QueryRequestBatch, body)
    return [_query(store, p["name"], r) for r in req.searches]


@route("POST", "/collections/{name}/points/scroll")
def scroll(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
    req = parse(models.ScrollRequest, body)
    if req.order_by is not None:
        require_range_index(store, name, req.order_by if isinstance(req.order_by, str) else req.order_by.key)
    try:
        points, next_offset = store.client.scroll(
            name,
            scroll_filter=req.filter,
            limit=req.limit if req.limit is not None else 10,
            offset=req.offset,
            order_by=req.order_by,
            with_payload=req.with_payload if req.with_payload is not None else True,
            with_vectors=req.with_vector if req.with_vector is not None else False,
        )
    except ValueError as err:
        raise local_error(err, name) from None
    return {"points": [point_json(pt) for pt in points], "next_page_offset": next_offset}


@route("POST", "/collections/{name}/points/count")
def count(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
    req = parse(models.CountRequest, body)
    try:
        return {"count": store.client.count(name, count_filter=req.filter, exact=True).count}
    except ValueError as err:
        raise local_error(err, name) from None


FACET_TYPES = {"keyword", "integer", "bool", "uuid"}
RANGE_TYPES = {"integer", "float", "datetime"}


def index_type(store: Store, name: str, key: str) -> str | None:
    schema = store.indexes.get(name, {}).get(key)
    return schema if isinstance(schema, str) or schema is None else schema.get("type")


def require_range_index(store: Store, name: str, key: str) -> None:
    """The real server orders only by a key with a range-capable index (local mode would sort anyway)."""
    if index_type(store, name, key) not in RANGE_TYPES:
        raise ApiError(
            400,
            f"Wrong input: No range index for `order_by` key: `{key}`. Please create one to use `order_by`. "
            "Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which payload "
            "schemas support Range conditions",
        )


@route("POST", "/collections/{name}/facet")
def facet(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
    req = parse(models.FacetRequest, body)
    if index_type(store, name, req.key) not in FACET_TYPES:
        # The real server refuses to facet on a key without a suitable index.
        raise ApiError(
            400,
            f'Bad request: Index required but not found for "{req.key}" of one of the following types: '
            "[keyword, integer, bool, uuid]. Help: Create an index for this key or use a different filter.",
        )
    try:
        res = store.client.facet(
            name, key=req.key, facet_filter=req.filter, limit=req.limit if req.limit is not None else 10, exact=True
        )
    except ValueError as err:
        raise local_error(err, name) from None
    return {"hits": [{"value": h.value, "count": h.count} for h in res.hits]}


@route("POST", "/collections/{name}/points")
def retrieve(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
    req = parse(models.PointRequest, body)
    try:
        records = store.client.retrieve(
            name,
            ids=req.ids,
            with_payload=req.with_payload if req.with_payload is not None else True,
            with_vectors=req.with_vector if req.with_vector is not None else False,
        )
    except ValueError as err:
        raise local_error(err, name) from None
    return [point_json(r) for r in records]


@route("GET", "/collections/{name}/points/{id}")
def get_point(store: Store, p: dict, body: Any, q: dict) -> Any:
    name = p["name"]
    store.require(name)
    raw = p["id"]
    point_id: Any = int(raw) if raw.isdigit() else raw
    try:
        records = store.client.retrieve(name, ids=[parse_id(point_id)], with_payload=True, with_vectors=True)
    except ValueError as err:
        raise local_error(err, name) from None
    if not records:
        raise ApiError(404, f"Not found: No point with id {raw} found")
    return point_json(records[0])


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

    def handle_api(self, method: str) -> None:
        started = time.perf_counter()
        path, _, query_string = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if method == "GET" and path in PROBES:
            self.send(200, PROBES[path].encode(), "text/plain; charset=utf-8")
            return
        try:
            if not self.authorized():
                raise ApiError(401, "Must provide an API key or an Authorization bearer token")
            body = None
            if raw:
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError as err:
                    raise ApiError(400, f"Format error in JSON body: {err}") from None
            query = dict(part.partition("=")[::2] for part in query_string.split("&") if part)
            for m, regex, fn in ROUTES:
                match = regex.match(path)
                if match and m == method:
                    with self.store.lock:
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
    # SIGTERM (the stack's stop) closes the local-mode client cleanly, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        RequestHandler.store.client.close()


if __name__ == "__main__":
    main()
