"""Query groups and the distance matrix for the embedded engine. Edge 0.9.0
has neither, so both are computed here from Edge's own results:

- groups: Edge runs the query over every point that has the group key (the
  whole ranking, so no group misses a hit the server would give it), and the
  hits are grouped here by the key's values, groups in the order of their best
  hit, as the server orders them;
- matrix: Edge samples the points (`Sample.Random`, filtered, having the
  vector), then searches each sampled point's vector among the sample (its
  nearest search, hence the collection's distance), the point itself left out.
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from edge_store import Collection, EdgeStore, record_json, rest_id, run, to_filter
from validation import ApiError
from query_api import at_least, check_using, edge_request

DEFAULT_GROUP_SIZE = 3
DEFAULT_GROUPS = 10
DEFAULT_SAMPLE = 10
DEFAULT_NEIGHBOURS = 3


def values_at(payload: Any, path: str) -> list[Any]:
    """The values at a payload path (`error.code`, `tags`): arrays flattened, as the server groups by each element."""
    values = [payload]
    for part in path.replace("[]", "").split("."):
        found = []
        for v in values:
            for item in v if isinstance(v, list) else [v]:
                if isinstance(item, dict) and part in item:
                    found.append(item[part])
        values = found
    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    # The server groups by keyword and integer values only.
    return [x for x in flat if isinstance(x, str) or (isinstance(x, int) and not isinstance(x, bool))]


def query_groups(store: EdgeStore, c: Collection, req: models.QueryGroupsRequest) -> dict[str, Any]:
    at_least(req.group_size, 1, "group_request.group_size")
    at_least(req.limit, 1, "group_request.limit")
    if req.with_lookup is not None:
        raise ApiError(400, "Bad request: with_lookup is not supported by the embedded engine")
    group_size = req.group_size if req.group_size is not None else DEFAULT_GROUP_SIZE
    limit = req.limit if req.limit is not None else DEFAULT_GROUPS
    # Only points that have the key can be in a group (the server filters on it too).
    has_key = models.Filter(must=[req.filter] if req.filter else None, must_not=[models.IsEmptyCondition(is_empty=models.PayloadField(key=req.group_by))])
    every = run(lambda: c.shard.count(edge.CountRequest(exact=True, filter=to_filter(has_key))))
    grouped = req.model_copy(update={"filter": has_key})
    hits = run(lambda: c.shard.query(edge_request(store, c, grouped, limit=max(every, 1))))
    keys = run(lambda: c.shard.retrieve([h.id for h in hits], edge.PayloadSelector.Include([req.group_by]), False))
    payloads = {r.id: r.payload or {} for r in keys}
    groups: dict[Any, list[Any]] = {}
    for hit in hits:
        for value in values_at(payloads.get(hit.id, {}), req.group_by):
            if value not in groups and len(groups) == limit:
                continue
            members = groups.setdefault(value, [])
            if len(members) < group_size:
                members.append(record_json(hit, scored=True))
    return {"groups": [{"id": value, "hits": members} for value, members in groups.items()]}


def matrix(store: EdgeStore, c: Collection, req: models.SearchMatrixRequest) -> tuple[list[Any], list[list[tuple[int, float]]]]:
    """The sampled ids (sorted, as the server answers them) and, for each, its
    nearest neighbours among the sample: (index in the sample, score), best first."""
    at_least(req.sample, 2, "search_request.sample")
    at_least(req.limit, 1, "search_request.limit")
    using = check_using(c, req.using)
    sample = req.sample if req.sample is not None else DEFAULT_SAMPLE
    limit = req.limit if req.limit is not None else DEFAULT_NEIGHBOURS
    scope = edge.Filter(must=[f for f in [to_filter(req.filter), edge.HasVectorCondition(using)] if f is not None])
    picked = run(lambda: c.shard.query(edge.QueryRequest(limit=sample, query=edge.Sample.Random, filter=scope, with_vector=[using], with_payload=False)))
    picked.sort(key=lambda p: (isinstance(p.id, str), str(p.id) if isinstance(p.id, str) else p.id))
    ids = [p.id for p in picked]
    index = {pid: i for i, pid in enumerate(ids)}
    searches = [
        edge.QueryRequest(
            limit=limit,
            query=edge.Query.Nearest(vector_named(p.vector, using), using=using or None),
            filter=edge.Filter(must=[edge.HasIdCondition(point_ids=set(ids))], must_not=[edge.HasIdCondition(point_ids={p.id})]),
            with_payload=False,
            with_vector=False,
        )
        for p in picked
    ]
    found = run(lambda: c.shard.query_batch(edge.QueryBatchRequest(searches))) if searches else []
    rows = [[(index[h.id], float(h.score)) for h in hits] for hits in found]
    return [rest_id(i) for i in ids], rows


def vector_named(vector: Any, using: str) -> list[float]:
    return list(vector[using] if isinstance(vector, dict) else vector)


def matrix_pairs(store: EdgeStore, c: Collection, req: models.SearchMatrixRequest) -> dict[str, Any]:
    ids, rows = matrix(store, c, req)
    return {"pairs": [{"a": ids[a], "b": ids[b], "score": score} for a, row in enumerate(rows) for b, score in row]}


def matrix_offsets(store: EdgeStore, c: Collection, req: models.SearchMatrixRequest) -> dict[str, Any]:
    ids, rows = matrix(store, c, req)
    flat = [(a, b, score) for a, row in enumerate(rows) for b, score in row]
    return {
        "offsets_row": [a for a, _, _ in flat],
        "offsets_col": [b for _, b, _ in flat],
        "scores": [s for _, _, s in flat],
        "ids": ids,
    }
