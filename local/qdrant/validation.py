"""Request validation for the embedded engine (server.py): bodies parsed with
Qdrant's REST models, the fast path for dense-vector upserts, and the cap on
filter complexity that keeps one hostile request from holding the GIL.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pydantic
from qdrant_client import models

from edge_store import EngineError

# Conditions in one request's filters. Validating and converting a filter holds
# the GIL, so one request with 1.2 M `should` conditions held every other
# request for 21 minutes. The real server has no such cap (it is multi-threaded
# Rust); witnesslog's own filters have fewer than 20 conditions.
MAX_FILTER_CONDITIONS = int(os.environ.get("QDRANT_LOCAL_MAX_FILTER_CONDITIONS", "1000"))
# Nesting of the JSON body: orjson refuses beyond 1024 anyway; filters deeper than this are not ours.
MAX_FILTER_DEPTH = 32
FILTER_KEYS = ("must", "should", "must_not")
DATA_KEYS = ("vector", "vectors", "payload", "payloads")

# A refusal answered with the real server's envelope and HTTP status.
ApiError = EngineError


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


def parse_id(value: Any) -> Any:
    class Holder(pydantic.BaseModel):
        id: models.ExtendedPointId

    return parse(Holder, {"id": value}).id
