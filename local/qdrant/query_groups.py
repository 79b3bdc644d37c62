"""Query groups and the distance matrix for the embedded engine. Edge 0.9.0
has neither, so both are computed here from Edge's own results:

- groups: Edge runs the query in rounds, as the server's group_by does (the
  same limits, widened prefetches and exclusions: a prefetch's candidates
  depend on them), and the hits are grouped here by the key's values, groups
  in the order of their best hit;
- matrix: Edge samples the points (`Sample.Random`, filtered, having the
  vector), then searches each sampled point's vector among the sample (its
  nearest search, hence the collection's distance), the point itself left out.
"""

from __future__ import annotations

from typing import Any

import qdrant_edge as edge
from qdrant_client import models

from edge_store import Collection, EdgeStore, record_json, rest_id, run, to_filter, with_payload, with_vector
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


def by_kind(values: list[Any]) -> list[list[Any]]:
    """Group keys split by kind: a match condition takes integers or strings, not both."""
    return [kind for kind in ([v for v in values if isinstance(v, int)], [v for v in values if isinstance(v, str)]) if kind]


def scaled(prefetch: Any, factor: int) -> Any:
    """A prefetch with its limit (and its own prefetches') multiplied, as the server widens them for groups."""
    if prefetch is None:
        return None
    if isinstance(prefetch, list):
        return [scaled(p, factor) for p in prefetch]
    limit = (prefetch.limit if prefetch.limit is not None else 10) * factor
    return prefetch.model_copy(update={"limit": limit, "prefetch": scaled(prefetch.prefetch, factor)})


class Groups:
    """The groups found so far (the server's aggregator): hits per key, in arrival order."""

    def __init__(self, key: str, size: int, limit: int):
        self.key, self.size, self.limit = key, size, limit
        self.hits: dict[Any, list[Any]] = {}
        self.ids: list[Any] = []

    def add(self, points: list[Any]) -> None:
        """Each point into the group of each of its key's values; a group keeps its
        `size` best (a later round's point, ranked afresh, can score above an earlier one)."""
        for point in points:
            for value in values_at(point.payload or {}, self.key):
                members = self.hits.setdefault(value, [])
                if all(m.id != point.id for m in members):
                    members.append(point)
                    members.sort(key=lambda h: -h.score)
                    del members[self.size :]
            if point.id not in self.ids:
                self.ids.append(point.id)

    def best(self) -> list[Any]:
        """The `limit` keys with the best hits, best first."""
        ranked = sorted(self.hits, key=lambda k: -max(h.score for h in self.hits[k]))
        return ranked[: self.limit]

    def full(self, keys: Any) -> list[Any]:
        return [k for k in keys if len(self.hits[k]) >= self.size]

    def done(self) -> bool:
        return len(self.full(self.best())) >= self.limit


def query_groups(store: EdgeStore, c: Collection, req: models.QueryGroupsRequest) -> dict[str, Any]:
    """The server's group_by: rounds of the query (limit groups x group_size, prefetch
    limits x groups), each leaving out the points already taken; first excluding the
    groups already full (up to 5 rounds), then only the best groups still short (5 more)."""
    at_least(req.group_size, 1, "group_request.group_size")
    at_least(req.limit, 1, "group_request.limit")
    if req.with_lookup is not None:
        raise ApiError(400, "Bad request: with_lookup is not supported by the embedded engine")
    groups = Groups(req.group_by, req.group_size or DEFAULT_GROUP_SIZE, req.limit or DEFAULT_GROUPS)
    widened = req.model_copy(update={"prefetch": scaled(req.prefetch, groups.limit), "with_payload": [req.group_by], "with_vector": False})

    def round_(keys: list[Any], match_cls: Any) -> bool:
        must: list[Any] = [req.filter] if req.filter else []
        for kind in by_kind(keys):
            cond = models.MatchExcept(**{"except": kind}) if match_cls is models.MatchExcept else models.MatchAny(any=kind)
            must.append(models.FieldCondition(key=req.group_by, match=cond))
        must_not: list[Any] = [models.IsEmptyCondition(is_empty=models.PayloadField(key=req.group_by))]
        if groups.ids:
            must_not.append(models.HasIdCondition(has_id=list(groups.ids)))
        request = widened.model_copy(update={"filter": models.Filter(must=must or None, must_not=must_not)})
        points = run(lambda: c.shard.query(edge_request(store, c, request, limit=groups.limit * groups.size)))
        groups.add(points)
        return bool(points)

    for _ in range(5):
        if not round_(groups.full(groups.hits), models.MatchExcept) or groups.done():
            break
    if not groups.done():
        for _ in range(5):
            short = [k for k in groups.best() if k not in groups.full([k])]
            if not round_(short, models.MatchAny) or groups.done():
                break
    return {"groups": hydrate(c, req, groups)}


def hydrate(c: Collection, req: models.QueryGroupsRequest, groups: Groups) -> list[dict[str, Any]]:
    """The best groups, their hits best first, with the payload and vectors the request asks for."""
    best = groups.best()
    hits = {k: sorted(groups.hits[k], key=lambda h: -h.score) for k in best}
    ids = [h.id for k in best for h in hits[k]]
    records = {r.id: r for r in run(lambda: c.shard.retrieve(ids, with_payload(req.with_payload, False), with_vector(req.with_vector)))}
    out = []
    for key in best:
        members = []
        for h in hits[key]:
            point = {"id": rest_id(h.id), "version": h.version, "score": float(h.score)}
            full = record_json(records[h.id]) if h.id in records else {}
            point.update({k: v for k, v in full.items() if k in ("payload", "vector")})
            members.append(point)
        out.append({"id": key, "hits": members})
    return out


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
