"""The Query API of the embedded engine: `points/query` (and its batch) with
every query kind witnesslog's console and CLI send, turned into Edge's own
query types: nearest (by vector or point id), recommend (best_score and
sum_scores are Edge's; average_vector is Edge's nearest search on the vector
averaged here, as the server does), discover, context, fusion (rrf, dbsf),
order_by, `sample: random`, and prefetch chains. Groups and the distance
matrix are in query_groups.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import qdrant_edge as edge
from qdrant_client import models

from edge_store import Collection, EdgeStore, to_filter, with_payload, with_vector
from validation import ApiError, parse_id

DEFAULT_LIMIT = 10
# The server's default `k` for `{"fusion": "rrf"}`.
RRF_K = 2


def at_least(value: int | None, minimum: int, where: str) -> None:
    """The server validates these bounds before it runs anything, and answers 422."""
    if value is not None and value < minimum:
        raise ApiError(422, f"Validation error in JSON body: [{where}: value {value} invalid, must be {minimum} or larger]")


def check_using(c: Collection, using: str | None) -> str:
    """The named vector a request searches, refused as the server refuses it."""
    config = c.config["vectors"]
    names = [""] if "size" in config else sorted(config)
    name = using or ""
    if name not in names:
        if not name:
            raise ApiError(400, f"Wrong input: Collection requires specified vector name in the request, available names: {', '.join(names)}")
        raise ApiError(400, f"Wrong input: Vector with name `{name}` is not configured in this collection, available names: {', '.join(names)}")
    return name


class Stage:
    """One stage's query as Edge's, and the point ids it names (left out of the
    results, as the server leaves out the point of a query by id)."""

    def __init__(self, store: EdgeStore, c: Collection, using: str | None):
        self.store, self.c, self.using = store, c, using
        self.ids: list[Any] = []

    def vector(self, value: Any) -> list[float]:
        if isinstance(value, (str, int, uuid.UUID)) and not isinstance(value, bool):
            pid = parse_id(value)
            self.ids.append(pid)
            return self.store.vector_of(self.c, pid, self.using)
        if isinstance(value, list) and all(isinstance(x, (int, float)) for x in value):
            return np.asarray(value, dtype=np.float32).tolist()
        raise ApiError(400, f"Bad request: query input {type(value).__name__} is not supported by the embedded engine (dense vectors and point ids only)")

    def query(self, q: Any) -> Any:
        using = self.using
        if q is None:
            return None
        if isinstance(q, models.NearestQuery):
            if q.mmr is not None:
                raise ApiError(400, "Bad request: mmr is not supported by the embedded engine")
            q = q.nearest
        if isinstance(q, models.RecommendQuery):
            r = q.recommend
            positives = [self.vector(v) for v in r.positive or []]
            negatives = [self.vector(v) for v in r.negative or []]
            strategy = (r.strategy or models.RecommendStrategy.AVERAGE_VECTOR).value
            if strategy == "average_vector":
                return edge.Query.Nearest(average_vector(positives, negatives), using=using)
            kind = edge.Query.RecommendBestScore if strategy == "best_score" else edge.Query.RecommendSumScores
            return kind(edge.RecommendQuery(positives, negatives), using=using)
        if isinstance(q, models.DiscoverQuery):
            d = q.discover
            return edge.Query.Discover(edge.DiscoverQuery(self.vector(d.target), self.pairs(d.context)), using=using)
        if isinstance(q, models.ContextQuery):
            return edge.Query.Context(edge.ContextQuery(self.pairs(q.context)), using=using)
        if isinstance(q, models.FusionQuery):
            return edge.Fusion.Rrf(k=RRF_K) if q.fusion == models.Fusion.RRF else edge.Fusion.Dbsf()
        if isinstance(q, models.RrfQuery):
            return edge.Fusion.Rrf(k=q.rrf.k if q.rrf.k is not None else RRF_K, weights=q.rrf.weights)
        if isinstance(q, models.OrderByQuery):
            return order_by(q.order_by)
        if isinstance(q, models.SampleQuery):
            return edge.Sample.Random
        if isinstance(q, (models.FormulaQuery, models.RelevanceFeedbackQuery, models.Document, models.Image, models.InferenceObject, models.SparseVector)):
            raise ApiError(400, f"Bad request: query {type(q).__name__} is not supported by the embedded engine")
        return edge.Query.Nearest(self.vector(q), using=using)

    def pairs(self, context: Any) -> list[Any]:
        items = context if isinstance(context, list) else [context] if context is not None else []
        return [edge.ContextPair(self.vector(p.positive), self.vector(p.negative)) for p in items]


def average_vector(positives: list[list[float]], negatives: list[list[float]]) -> list[float]:
    """The server's average_vector recommendation: avg(positive) + (avg(positive) - avg(negative))."""
    if not positives:
        raise ApiError(400, "Bad request: No positive examples given, at least one is required for the average_vector strategy")
    avg = np.mean(np.asarray(positives, dtype=np.float32), axis=0)
    if negatives:
        avg = avg + (avg - np.mean(np.asarray(negatives, dtype=np.float32), axis=0))
    return avg.tolist()


def order_by(o: Any) -> Any:
    o = models.OrderBy(key=o) if isinstance(o, str) else o
    direction = edge.Direction.Desc if o.direction == models.Direction.DESC else edge.Direction.Asc
    return edge.OrderBy(o.key, direction=direction, start_from=o.start_from)


def search_params(p: Any) -> Any:
    return edge.SearchParams(hnsw_ef=p.hnsw_ef, exact=bool(p.exact)) if p else None


def walk(value: Any) -> list[Any]:
    """Every prefetch of a request, nested ones too."""
    return [q for p in as_items(value) for q in [p, *walk(p.prefetch)]]


def prefetch(queries: dict[int, Any], p: models.Prefetch) -> Any:
    """A prefetch as Edge's. The request's filter (with the ids left out) is not
    repeated here: Edge applies it to every prefetch, as the server does."""
    return edge.Prefetch(
        limit=p.limit if p.limit is not None else DEFAULT_LIMIT,
        query=queries[id(p)],
        prefetches=[prefetch(queries, q) for q in as_items(p.prefetch)] or None,
        params=search_params(p.params),
        filter=to_filter(p.filter),
        score_threshold=p.score_threshold,
    )


def as_items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def edge_request(store: EdgeStore, c: Collection, req: Any, limit: int | None = None, offset: int | None = None) -> Any:
    """A REST QueryRequest (or QueryGroupsRequest) as Edge's QueryRequest."""
    if req.lookup_from is not None:
        raise ApiError(400, "Bad request: lookup_from is not supported by the embedded engine")
    if req.prefetch and req.query is None:
        raise ApiError(400, "Bad request: A query is needed to merge the prefetches. Can't have prefetches without defining a query.")
    # Every query converted first: a point id named by any stage is left out of
    # every stage (the server does so: a prefetch by vector does not return a
    # point the fusion's other prefetch queries by).
    for p in walk(req.prefetch):
        at_least(p.limit, 1, "prefetch.limit")
        if p.lookup_from is not None:
            raise ApiError(400, "Bad request: lookup_from is not supported by the embedded engine")
    queries: dict[int, Any] = {}
    named: list[Any] = []
    for p in [req, *walk(req.prefetch)]:
        stage = Stage(store, c, p.using)
        queries[id(p)] = stage.query(p.query)
        named += stage.ids
    filter_ = req.filter
    if named:
        filter_ = models.Filter(must=[filter_] if filter_ else None, must_not=[models.HasIdCondition(has_id=named)])
    return edge.QueryRequest(
        limit=limit if limit is not None else req.limit if req.limit is not None else DEFAULT_LIMIT,
        offset=offset,
        query=queries[id(req)],
        prefetches=[prefetch(queries, q) for q in as_items(req.prefetch)] or None,
        with_payload=with_payload(req.with_payload, False),
        with_vector=with_vector(req.with_vector),
        filter=to_filter(filter_),
        score_threshold=req.score_threshold,
        params=search_params(req.params),
    )
