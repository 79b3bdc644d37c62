"""One pass over an entry that checks every rule of the schema and of `limits` (the
rules and reasons of schemas/validation.json, which schemas/src/validate.ts reads too:
validation_table.py), stops at the first broken one and names it, and builds the
record fastavro writes: embeddings packed, timestamp in microseconds. Whatever the entry is (a dict, a Mapping that raises, not a mapping at
all), the result is a record or an InvalidEntryError.

Schema v2's fields may be left out (null): `trace` (W3C ids), `usage` (token counts) and
`producer`, which belongs to the SDK: refused from the caller (origin "caller", what
record() is given), checked like any other field in an entry the SDK completed or decoded
(origin "sdk", what the codec validates)."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from .errors import MISSING, InvalidEntryError, InvalidOptionError
from .timestamp import parse_timestamp
from .validation_table import limits, reason, rules
from .vectors import pack_embedding

Origin = Literal["caller", "sdk"]
# W3C Trace Context: lowercase hex; all zeros is the specification's invalid id.
_TRACE_ID = re.compile(r"(?!0{32})[0-9a-f]{32}")
_SPAN_ID = re.compile(r"(?!0{16})[0-9a-f]{16}")
_AVRO_INT_MAX = 2**31 - 1
_AVRO_LONG_MAX = 2**63 - 1


def __getattr__(name: str) -> Any:
    # DEFAULT_DIM as a module attribute, as before, without reading the table at import.
    if name == "DEFAULT_DIM":
        return rules.default_dim
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_dim(dim: object, option: str = "embedding_dim") -> int:
    if type(dim) is not int or not 1 <= dim <= limits.embedding_max_dim:
        raise InvalidOptionError(option, dim, reason("dim", max=limits.embedding_max_dim))
    return dim


def validate_entry(entry: object, dim: int | None = None, *, origin: Origin = "caller") -> None:
    """Raises InvalidEntryError for the first field that breaks a rule; dim None is the
    default (768). A `producer` is refused unless origin is "sdk" (see above)."""
    to_avro_record(entry, rules.default_dim if dim is None else dim, origin)


def to_avro_record(entry: object, dim: int, origin: Origin = "caller") -> dict[str, Any]:
    e = _mapping(entry, "entry")
    get = e.get
    _uuid(get("request_id", MISSING), "request_id")
    _string(get("session_id", MISSING), "session_id", 1, limits.session_id_max_chars)
    query = pack_embedding(get("query_embedding", MISSING), "query_embedding", dim, False)

    routing = _mapping(get("routing_decision", MISSING), "routing_decision")
    _model(routing.get("model", MISSING), "routing_decision.model")
    _context_size(routing.get("context_size", MISSING), "routing_decision.context_size")
    _non_negative(routing.get("temperature", MISSING), "routing_decision.temperature")
    _unit(routing.get("top_p", MISSING), "routing_decision.top_p")
    _unit(routing.get("confidence", MISSING), "routing_decision.confidence")
    probs = routing.get("model_probs", MISSING)
    if not isinstance(probs, (list, tuple)):
        _fail("routing_decision.model_probs", probs, _missing_or(probs, reason("modelProbsArray")))
    if len(probs) != rules.model_count:
        _fail("routing_decision.model_probs", probs, reason("modelProbsCount"))
    for i in range(rules.model_count):
        _unit(probs[i], "routing_decision.model_probs", i)

    _model(get("model_used", MISSING), "model_used")
    _unit(get("quality_score", MISSING), "quality_score")

    latency = _mapping(get("latency", MISSING), "latency")
    for part in ("embedding_ms", "retrieval_ms", "routing_ms", "attention_ms", "generation_ms", "total_ms"):
        _non_negative(latency.get(part, MISSING), f"latency.{part}")

    docs = _array(get("context_doc_ids", MISSING), "context_doc_ids", limits.context_doc_ids_max_count)
    for i, doc in enumerate(docs):
        _uuid(doc, "context_doc_ids", i)

    response = pack_embedding(get("response_embedding", MISSING), "response_embedding", dim, True)

    timestamp = get("timestamp", MISSING)
    micros = parse_timestamp(timestamp)
    if type(micros) is str:
        _fail("timestamp", timestamp, _missing_or(timestamp, micros))

    error = get("error", MISSING)
    if error is not None:
        err = _mapping(error, "error", nullable=True)
        _string(err.get("code", MISSING), "error.code", 1, limits.error_code_max_chars)
        _string(err.get("message", MISSING), "error.message", 0, limits.error_message_max_chars)
        stack = err.get("stack_trace", MISSING)
        if stack is not None:
            _string(stack, "error.stack_trace", 0, limits.stack_trace_max_chars, nullable=True)
        recovery = err.get("recovery_attempted", MISSING)
        if type(recovery) is not bool:
            _fail("error.recovery_attempted", recovery, _missing_or(recovery, reason("boolean")))

    metrics = get("quality_metrics", MISSING)
    if metrics is not None:
        m = _mapping(metrics, "quality_metrics", nullable=True)
        for part in ("overall_score", "relevance", "coherence", "factuality"):
            _unit(m.get(part, MISSING), f"quality_metrics.{part}")

    tags = _array(get("tags", MISSING), "tags", limits.tags_max_count)
    for i, tag in enumerate(tags):
        _string(tag, "tags", 1, limits.tag_max_chars, index=i)

    producer, trace, usage = _v2_fields(get, origin)
    return {
        "request_id": e["request_id"],
        "session_id": e["session_id"],
        "query_embedding": query,
        "routing_decision": routing,
        "model_used": e["model_used"],
        "quality_score": e["quality_score"],
        "latency": latency,
        "context_doc_ids": docs,
        "response_embedding": response,
        "timestamp": micros,
        "error": error,
        "quality_metrics": metrics,
        "tags": tags,
        "producer": producer,
        "trace": trace,
        "usage": usage,
    }


def _v2_fields(get: Any, origin: Origin) -> tuple[Any, Any, Any]:
    """producer, trace and usage as fresh plain records (or None): what fastavro writes is
    what was checked, whatever the caller's mappings do afterwards."""
    producer = get("producer", None)
    if producer is not None:
        if origin != "sdk":
            _fail("producer", producer, reason("setBySdk"))
        p = _mapping(producer, "producer", nullable=True)
        _uuid(p.get("id", MISSING), "producer.id")
        seq = p.get("seq", MISSING)
        if not _is_int(seq) or not 0 <= seq <= _AVRO_LONG_MAX:  # type: ignore[operator]
            _fail("producer.seq", seq, _missing_or(seq, reason("nonNegative")))
        _string(p.get("service", MISSING), "producer.service", 1, limits.producer_service_max_chars)
        _string(p.get("host", MISSING), "producer.host", 1, limits.producer_host_max_chars)
        producer = {"id": p["id"], "seq": int(seq), "service": p["service"], "host": p["host"]}  # type: ignore[call-overload]
    trace = get("trace", None)
    if trace is not None:
        t = _mapping(trace, "trace", nullable=True)
        trace_id, span_id = t.get("trace_id", MISSING), t.get("span_id", MISSING)
        if type(trace_id) is not str or _TRACE_ID.fullmatch(trace_id) is None:
            _fail("trace.trace_id", trace_id, _missing_or(trace_id, reason("traceId")))
        if type(span_id) is not str or _SPAN_ID.fullmatch(span_id) is None:
            _fail("trace.span_id", span_id, _missing_or(span_id, reason("spanId")))
        trace = {"trace_id": trace_id, "span_id": span_id}
    usage = get("usage", None)
    if usage is not None:
        u = _mapping(usage, "usage", nullable=True)
        counts = {}
        for part in ("prompt_tokens", "completion_tokens"):
            n = u.get(part, MISSING)
            if not _is_int(n) or not 0 <= n <= _AVRO_INT_MAX:  # type: ignore[operator]
                _fail(f"usage.{part}", n, _missing_or(n, reason("tokenCount")))
            counts[part] = int(n)  # type: ignore[call-overload]
        usage = counts
    return producer, trace, usage


def _fail(field: str, value: object, why: str, index: int | None = None) -> None:
    raise InvalidEntryError(field if index is None else f"{field}[{index}]", value, why)


def _missing_or(value: object, why: str, nullable: bool = False) -> str:
    if value is MISSING:
        return reason("requiredOrNull") if nullable else reason("required")
    return why


def _mapping(value: object, field: str, nullable: bool = False) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail(field, value, _missing_or(value, reason("objectOrNull" if nullable else "object"), nullable))
    return value  # type: ignore[return-value]


def _array(value: object, field: str, max_count: int) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, (list, tuple)):
        _fail(field, value, _missing_or(value, reason("array")))
    if len(value) > max_count:  # type: ignore[arg-type]
        _fail(field, value, reason("tooMany", max=max_count, count=len(value)))  # type: ignore[arg-type]
    return value  # type: ignore[return-value]


def _string(value: object, field: str, lo: int, hi: int, nullable: bool = False, index: int | None = None) -> None:
    if type(value) is not str:
        if not isinstance(value, str):
            _fail(field, value, _missing_or(value, reason("stringOrNull" if nullable else "string"), nullable), index)
    # Lengths count UTF-16 code units, as String#length does in TypeScript.
    n = len(value) if value.isascii() else len(value.encode("utf-16-le")) // 2  # type: ignore[union-attr]
    if n < lo:
        _fail(field, value, reason("empty"), index)
    if n > hi:
        _fail(field, value, reason("tooLong", max=hi, length=n), index)


def _uuid(value: object, field: str, index: int | None = None) -> None:
    if type(value) is not str or rules.uuid.fullmatch(value) is None:
        _fail(field, value, _missing_or(value, reason("uuid")), index)


def _model(value: object, field: str) -> None:
    if type(value) is not str or value not in rules.models:
        _fail(field, value, _missing_or(value, reason("model")))


def _context_size(value: object, field: str) -> None:
    if type(value) is not int or not 0 <= value <= limits.context_size_max:
        if not _is_int(value):
            _number(value, field)
            _fail(field, value, reason("contextSize", max=limits.context_size_max))
        if not 0 <= value <= limits.context_size_max:  # type: ignore[operator]
            _fail(field, value, reason("contextSize", max=limits.context_size_max))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or (type(value).__name__.startswith(("int", "uint")) and hasattr(value, "__index__"))


def _number(value: object, field: str, index: int | None = None) -> float:
    t = type(value)
    if t is float or t is int:
        f = value
    elif isinstance(value, bool) or not (isinstance(value, (int, float)) or hasattr(value, "__float__")) or isinstance(value, str):
        _fail(field, value, _missing_or(value, reason("number")), index)
    else:
        f = float(value)  # type: ignore[arg-type]
    if not math.isfinite(f):  # type: ignore[arg-type]
        _fail(field, value, reason("finite"), index)
    return f  # type: ignore[return-value]


def _unit(value: object, field: str, index: int | None = None) -> None:
    n = _number(value, field, index)
    if not 0 <= n <= 1:
        _fail(field, value, reason("unit"), index)


def _non_negative(value: object, field: str) -> None:
    if _number(value, field) < 0:
        _fail(field, value, reason("nonNegative"))
