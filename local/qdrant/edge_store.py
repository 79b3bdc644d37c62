"""Collections on Qdrant Edge (`qdrant_edge`, Qdrant's own shard engine, embedded).

One Edge shard per collection, in `<data>/edge/<name>/shard`, beside the
collection's REST config (`config.json`). Requests arrive already validated
with Qdrant's REST models (`qdrant_client.http.models`); this module turns
them into Edge's types and Edge's answers into the REST shapes.

Edge does the indexing, filtering, ordering, faceting and HNSW search, and
writes every update to its write-ahead log before it returns: an upsert
answered here is in the log, and comes back after the process is killed.
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

import orjson
import qdrant_edge as edge
from qdrant_client import models

from edge_errors import EngineError, run
from edge_convert import point_key, rest_id, as_list, match, stamp, condition, to_filter, with_payload, with_vector, point_struct, vectors_json, record_json  # noqa: F401 - re-exported for server.py


DISTANCES = {
    "Cosine": edge.Distance.Cosine,
    "Euclid": edge.Distance.Euclid,
    "Dot": edge.Distance.Dot,
    "Manhattan": edge.Distance.Manhattan,
}
SCHEMA_TYPES = {
    "keyword": edge.PayloadSchemaType.Keyword,
    "integer": edge.PayloadSchemaType.Integer,
    "float": edge.PayloadSchemaType.Float,
    "bool": edge.PayloadSchemaType.Bool,
    "geo": edge.PayloadSchemaType.Geo,
    "text": edge.PayloadSchemaType.Text,
    "datetime": edge.PayloadSchemaType.Datetime,
    "uuid": edge.PayloadSchemaType.Uuid,
}
SCHEMA_NAMES = {v: k for k, v in SCHEMA_TYPES.items()}


class RWLock:
    """Many readers or one writer: queries run concurrently (Edge allows it),
    creating or dropping a collection waits for them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    def read(self) -> "_Held":
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1
        return _Held(self, False)

    def write(self) -> "_Held":
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True
        return _Held(self, True)

    def _release(self, writer: bool) -> None:
        with self._cond:
            if writer:
                self._writer = False
            else:
                self._readers -= 1
            self._cond.notify_all()


class _Held:
    def __init__(self, lock: RWLock, writer: bool):
        self.lock, self.writer = lock, writer

    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: Any) -> None:
        self.lock._release(self.writer)


class Collection:
    def __init__(self, path: str, config: dict[str, Any], shard: Any):
        self.path = path
        self.config = config  # the REST CreateCollection body, as JSON: vectors, sparse_vectors
        self.shard = shard
        # Updates one at a time per collection: Edge's own order of operations.
        self.write_lock = threading.Lock()


def edge_config(req: models.CreateCollection) -> Any:
    vectors = req.vectors
    if vectors is None:
        raise EngineError(400, "Bad request: vectors config is required")
    named = vectors if isinstance(vectors, dict) else {"": vectors}
    params = {}
    for name, p in named.items():
        params[name] = edge.EdgeVectorParams(size=p.size, distance=DISTANCES[p.distance.value], on_disk=p.on_disk)
    hnsw = None
    if req.hnsw_config is not None:
        h = req.hnsw_config
        hnsw = edge.HnswIndexConfig(
            m=h.m if h.m is not None else 16,
            ef_construct=h.ef_construct if h.ef_construct is not None else 100,
            full_scan_threshold=h.full_scan_threshold if h.full_scan_threshold is not None else 10_000,
        )
    return edge.EdgeConfig(vectors=params, on_disk_payload=req.on_disk_payload, hnsw_config=hnsw)


def reported_settings(req: models.CreateCollection) -> dict[str, Any]:
    """The collection settings the server reports back. Shards, replication and
    quantization are recorded and reported only: one embedded shard has no cluster,
    and the quantized copy is not built here."""
    hnsw = req.hnsw_config.model_dump(mode="json", exclude_none=True) if req.hnsw_config else {}
    return {
        "params": {
            "shard_number": req.shard_number or 1,
            "replication_factor": req.replication_factor or 1,
            "write_consistency_factor": req.write_consistency_factor or 1,
            "on_disk_payload": True if req.on_disk_payload is None else req.on_disk_payload,
        },
        "hnsw_config": {"m": 16, "ef_construct": 100, "full_scan_threshold": 10_000, **hnsw},
        "quantization_config": req.quantization_config.model_dump(mode="json", exclude_none=True) if req.quantization_config else None,
    }


class EdgeStore:
    def __init__(self, data_dir: str):
        self.root = os.path.join(data_dir, "edge")
        os.makedirs(self.root, exist_ok=True)
        self.lock = RWLock()
        self.collections: dict[str, Collection] = {}
        self.operation_id = 0
        self._op_lock = threading.Lock()
        for name in sorted(os.listdir(self.root)):
            path = os.path.join(self.root, name)
            config_file = os.path.join(path, "config.json")
            if not os.path.exists(config_file):
                continue  # a creation that did not finish
            with open(config_file, "rb") as f:
                config = orjson.loads(f.read())
            shard = edge.EdgeShard.load(os.path.join(path, "shard"))
            self.collections[name] = Collection(path, config, shard)

    # --- collections ----------------------------------------------------------
    def get(self, name: str) -> Collection:
        c = self.collections.get(name)
        if c is None:
            raise EngineError(404, f"Not found: Collection `{name}` doesn't exist!")
        return c

    def create(self, name: str, req: models.CreateCollection) -> None:
        if name in (".", "..") or not name:
            raise EngineError(400, f"Validation error in path parameters: [name: invalid collection name {name!r}]")
        if req.sparse_vectors:
            raise EngineError(400, "Bad request: sparse vectors are not supported by the embedded engine")
        if name in self.collections:
            raise EngineError(409, f"Wrong input: Collection `{name}` already exists!")
        path = os.path.join(self.root, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        shard = run(lambda: edge.EdgeShard.create(os.path.join(path, "shard"), edge_config(req)))
        vectors = req.vectors
        config = {
            "vectors": {k: v.model_dump(mode="json", exclude_none=True) for k, v in vectors.items()}
            if isinstance(vectors, dict)
            else vectors.model_dump(mode="json", exclude_none=True),
            "settings": reported_settings(req),
        }
        tmp = os.path.join(path, "config.json.tmp")
        with open(tmp, "wb") as f:
            f.write(orjson.dumps(config))
        os.replace(tmp, os.path.join(path, "config.json"))  # the collection exists once this is in place
        self.collections[name] = Collection(path, config, shard)

    def drop(self, name: str) -> bool:
        c = self.collections.pop(name, None)
        if c is None:
            return False
        c.shard.close()
        shutil.rmtree(c.path, ignore_errors=True)
        return True

    def close(self) -> None:
        for c in self.collections.values():
            c.shard.close()

    def info(self, name: str) -> dict[str, Any]:
        c = self.get(name)
        i = c.shard.info()
        settings = c.config.get("settings") or {"params": {"shard_number": 1, "replication_factor": 1, "write_consistency_factor": 1, "on_disk_payload": True}}
        return {
            "status": "green",
            "optimizer_status": "ok",
            "indexed_vectors_count": i.indexed_vectors_count,
            "points_count": i.points_count,
            "segments_count": i.segments_count,
            "config": {
                **settings,
                "params": {"vectors": c.config["vectors"], **settings["params"]},
            },
            "payload_schema": {
                field: {"data_type": SCHEMA_NAMES.get(p.data_type, str(p.data_type)), "points": p.points}
                for field, p in i.payload_schema.items()
            },
        }

    # --- writes ---------------------------------------------------------------
    def update(self, name: str, operation: Any) -> dict[str, Any]:
        c = self.get(name)
        with c.write_lock:
            run(lambda: c.shard.update(operation))
            with self._op_lock:
                self.operation_id += 1
                return {"operation_id": self.operation_id, "status": "completed"}

    def vector_of(self, c: Collection, point_id: Any, using: str | None) -> list[float]:
        """The stored vector of a point (a query by id, as `witness search --like` sends)."""
        records = run(lambda: c.shard.retrieve([point_key(point_id)], False, True))
        if not records:
            raise EngineError(404, f"Not found: No point with id {point_id} found")
        vector = records[0].vector
        name = using or ""
        if isinstance(vector, dict):
            if name not in vector:
                # The server's answer to a query by a point that lacks the vector.
                raise EngineError(404, f'Not found: Vector with name "{name}" for point not found')
            return list(vector[name])
        return list(vector)
