"""The witness entry: one per LLM request served. Field names are snake_case and the
same in the Avro record, the TypeScript type, this TypedDict and the Qdrant payload."""
from __future__ import annotations

import uuid
from typing import Any, Literal, Mapping, Optional, Sequence, TypedDict, Union

from .timestamp import now_timestamp

ModelSize = Literal["tiny", "small", "medium", "large"]
#: A float32 vector: a numpy array (any float dtype, float32 is taken as is) or a list of numbers.
Embedding = Union[Sequence[float], Any]


class RoutingDecision(TypedDict):
    model: ModelSize
    context_size: int
    temperature: float
    top_p: float
    confidence: float
    model_probs: list[float]


class LatencyBreakdown(TypedDict):
    embedding_ms: float
    retrieval_ms: float
    routing_ms: float
    attention_ms: float
    generation_ms: float
    total_ms: float


class ErrorInfo(TypedDict):
    code: str
    message: str
    stack_trace: Optional[str]
    recovery_attempted: bool


class QualityMetrics(TypedDict):
    overall_score: float
    relevance: float
    coherence: float
    factuality: float


class ProducerIdentity(TypedDict):
    """Set by the SDK, never by the caller (schema v2)."""
    id: str
    seq: int
    service: str
    host: str


class TraceContext(TypedDict):
    """W3C Trace Context ids: 32 and 16 lowercase hex digits, not all zeros."""
    trace_id: str
    span_id: str


class TokenUsage(TypedDict):
    """Each 0..2**31-1 (OpenTelemetry GenAI: gen_ai.usage.input_tokens / output_tokens)."""
    prompt_tokens: int
    completion_tokens: int


class _V2Fields(TypedDict, total=False):
    """Schema v2's fields: each may be left out (null). `producer` is the SDK's own."""
    producer: Optional[ProducerIdentity]
    trace: Optional[TraceContext]
    usage: Optional[TokenUsage]


class WitnessEntry(_V2Fields):
    request_id: str
    session_id: str
    query_embedding: Embedding
    routing_decision: RoutingDecision
    model_used: ModelSize
    quality_score: float
    latency: LatencyBreakdown
    context_doc_ids: list[str]
    response_embedding: Embedding
    timestamp: str
    error: Optional[ErrorInfo]
    quality_metrics: Optional[QualityMetrics]
    tags: list[str]


_LATENCY_PARTS = ("embedding_ms", "retrieval_ms", "routing_ms", "attention_ms", "generation_ms")


def default_routing_decision() -> RoutingDecision:
    """small, 0, 0.7, 0.9, 0.5, uniform probabilities."""
    return {"model": "small", "context_size": 0, "temperature": 0.7, "top_p": 0.9, "confidence": 0.5, "model_probs": [0.25] * 4}


def create_witness_entry(
    session_id: str, query_embedding: Embedding, routing_decision: Optional[RoutingDecision] = None
) -> WitnessEntry:
    """A new entry for one request: random request id, timestamp now, model_used from the
    routing decision, zero latency, nothing else. quality_score starts at 0 ("not scored"),
    so an unscored entry never passes a quality threshold by accident. The embedding is
    kept by reference, not copied: this runs on the serving path."""
    routing = routing_decision if routing_decision is not None else default_routing_decision()
    return {
        "request_id": str(uuid.uuid4()),
        "session_id": session_id,
        "query_embedding": query_embedding,
        "routing_decision": routing,
        "model_used": routing.get("model", "small") if isinstance(routing, Mapping) else routing,  # type: ignore[typeddict-item]
        "quality_score": 0.0,
        "latency": {part: 0.0 for part in (*_LATENCY_PARTS, "total_ms")},  # type: ignore[typeddict-item]
        "context_doc_ids": [],
        "response_embedding": [],
        "timestamp": now_timestamp(),
        "error": None,
        "quality_metrics": None,
        "tags": [],
    }


# The with_* helpers return a new entry and leave their argument alone: an entry
# handed to the producer may still be referenced by the caller.

def with_quality(entry: WitnessEntry, score: float, metrics: Any = ...) -> WitnessEntry:
    """Sets quality_score, and quality_metrics when given (keeps the old metrics otherwise)."""
    return {**entry, "quality_score": score, "quality_metrics": entry["quality_metrics"] if metrics is ... else metrics}  # type: ignore[typeddict-item]


def with_latency(entry: WitnessEntry, latency: Optional[Mapping[str, float]] = None, /, **parts: float) -> WitnessEntry:
    """Sets the latency breakdown (a mapping or keyword arguments); a missing total_ms
    becomes the sum of the five components."""
    given = {**(latency or {}), **parts}
    complete = {part: given.get(part, 0.0) for part in _LATENCY_PARTS}
    complete["total_ms"] = given["total_ms"] if given.get("total_ms") is not None else compute_latency_total(complete)
    return {**entry, "latency": complete}  # type: ignore[typeddict-item]


def with_error(entry: WitnessEntry, error: Optional[Mapping[str, Any]] = None, /, **fields: Any) -> WitnessEntry:
    """Sets the error (code and message; stack_trace defaults to None, recovery_attempted to False)."""
    given = {**(error or {}), **fields}
    return {
        **entry,
        "error": {
            "code": given.get("code"),
            "message": given.get("message"),
            "stack_trace": given.get("stack_trace"),
            "recovery_attempted": given.get("recovery_attempted", False),
        },
    }  # type: ignore[typeddict-item]


def is_success(entry: Mapping[str, Any]) -> bool:
    return entry.get("error") is None


def compute_latency_total(latency: Mapping[str, float]) -> float:
    """Sum of the five components (not total_ms)."""
    return sum(latency[part] for part in _LATENCY_PARTS)
