"""Conversions between Qdrant's REST shapes and Qdrant Edge's types.

The REST models (`qdrant_client.http.models`) come in already validated;
these functions turn ids, filters, payload and vector selectors and points into
Edge's types, and Edge's records back into the JSON the real server answers.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from edge_errors import EngineError


# --- REST models -> Edge --------------------------------------------------------

def point_key(value: Any) -> Any:
    """A point id as Edge takes it: an unsigned integer or a UUID string (checked here,
    with the real server's message: Edge's own error would escape as a 500)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise EngineError(
            400, f"Format error in JSON body: value {value} is not a valid point ID, valid values are either an unsigned integer or a UUID"
        ) from None


def rest_id(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def match(m: Any) -> Any:
    if isinstance(m, models.MatchValue):
        # qdrant-edge-py 0.9.0 reads a Python bool as the integer 1/0 and silently
        # matches nothing (must_not: everything); numpy.bool_ goes through as a bool.
        return edge.MatchValue(np.bool_(m.value) if isinstance(m.value, bool) else m.value)
    if isinstance(m, models.MatchAny):
        return edge.MatchAny(list(m.any))
    if isinstance(m, models.MatchExcept):
        return edge.MatchExcept(list(m.except_))
    if isinstance(m, models.MatchText):
        return edge.MatchText(m.text)
    raise EngineError(400, f"Bad request: match {type(m).__name__} is not supported by the embedded engine")


def stamp(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def condition(c: Any) -> Any:
    if isinstance(c, models.FieldCondition):
        kwargs: dict[str, Any] = {}
        if c.match is not None:
            kwargs["match"] = match(c.match)
        if isinstance(c.range, models.DatetimeRange):
            kwargs["range"] = edge.RangeDateTime(gte=stamp(c.range.gte), gt=stamp(c.range.gt), lte=stamp(c.range.lte), lt=stamp(c.range.lt))
        elif c.range is not None:
            kwargs["range"] = edge.RangeFloat(gte=c.range.gte, gt=c.range.gt, lte=c.range.lte, lt=c.range.lt)
        if c.values_count is not None:
            v = c.values_count
            kwargs["values_count"] = edge.ValuesCount(lt=v.lt, gt=v.gt, lte=v.lte, gte=v.gte)
        if c.is_empty is not None:
            kwargs["is_empty"] = c.is_empty
        if c.is_null is not None:
            kwargs["is_null"] = c.is_null
        if c.geo_bounding_box or c.geo_radius or c.geo_polygon:
            raise EngineError(400, "Bad request: geo conditions are not supported by the embedded engine")
        return edge.FieldCondition(key=c.key, **kwargs)
    if isinstance(c, models.IsEmptyCondition):
        return edge.IsEmptyCondition(key=c.is_empty.key)
    if isinstance(c, models.IsNullCondition):
        return edge.IsNullCondition(key=c.is_null.key)
    if isinstance(c, models.HasIdCondition):
        return edge.HasIdCondition(point_ids={point_key(i) for i in c.has_id})
    if isinstance(c, models.NestedCondition):
        return edge.NestedCondition(key=c.nested.key, filter=to_filter(c.nested.filter))
    if isinstance(c, models.Filter):
        return to_filter(c)
    raise EngineError(400, f"Bad request: condition {type(c).__name__} is not supported by the embedded engine")


def to_filter(f: Any) -> Any:
    if f is None:
        return None
    min_should = None
    if f.min_should is not None:
        min_should = edge.MinShould(conditions=[condition(c) for c in f.min_should.conditions], min_count=f.min_should.min_count)
    return edge.Filter(
        must=[condition(c) for c in as_list(f.must)] or None,
        should=[condition(c) for c in as_list(f.should)] or None,
        must_not=[condition(c) for c in as_list(f.must_not)] or None,
        min_should=min_should,
    )


def with_payload(value: Any, default: bool) -> Any:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, list):
        return edge.PayloadSelector.Include(value)
    if isinstance(value, models.PayloadSelectorInclude):
        return edge.PayloadSelector.Include(value.include)
    if isinstance(value, models.PayloadSelectorExclude):
        return edge.PayloadSelector.Exclude(value.exclude)
    return default


def with_vector(value: Any) -> Any:
    return False if value is None else value


def point_struct(p: models.PointStruct) -> Any:
    vector = p.vector
    if isinstance(vector, dict):
        vector = {k: list(v) if not isinstance(v, list) else v for k, v in vector.items()}
        for k, v in vector.items():
            if v and isinstance(v[0], list) or isinstance(v, models.SparseVector):
                raise EngineError(400, f"Bad request: vector {k}: only dense vectors are supported by the embedded engine")
    elif isinstance(vector, list):
        vector = {"": vector}
    else:
        raise EngineError(400, "Bad request: only dense vectors are supported by the embedded engine")
    return edge.Point(id=point_key(p.id), vector=vector, payload=p.payload)


# --- Edge -> REST ---------------------------------------------------------------

def vectors_json(vector: Any) -> Any:
    if vector is None:
        return None
    if isinstance(vector, dict):
        if list(vector) == [""]:
            return [float(x) for x in vector[""]]
        return {k: [float(x) for x in v] for k, v in vector.items()}
    return [float(x) for x in vector]


def record_json(r: Any, scored: bool = False) -> dict[str, Any]:
    """A point as the real server writes it: no payload or vector key when not asked for."""
    out: dict[str, Any] = {"id": rest_id(r.id)}
    if scored:
        out["version"] = r.version
        out["score"] = float(r.score)
    if r.payload is not None:
        out["payload"] = r.payload
    if r.vector is not None:
        out["vector"] = vectors_json(r.vector)
    if r.order_value is not None:
        out["order_value"] = r.order_value
    return out
