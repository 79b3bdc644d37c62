"""witnesslog: the Python producer SDK of the witness log (same contract as @witnesslog/producer)."""
from .codec import HEADER_BYTES, WitnessCodec
from .entry import (
    ErrorInfo,
    LatencyBreakdown,
    ProducerIdentity,
    QualityMetrics,
    RoutingDecision,
    TokenUsage,
    TraceContext,
    WitnessEntry,
    compute_latency_total,
    create_witness_entry,
    default_routing_decision,
    is_success,
    with_error,
    with_latency,
    with_quality,
)
from .errors import (
    CriticalTimeoutError,
    DecodeError,
    FlushTimeoutError,
    InvalidEntryError,
    InvalidOptionError,
    ProducerClosedError,
    QueueFullError,
    RedactFailedError,
    SendFailedError,
    WitnessError,
)
from .metrics import DROP_REASONS, PRODUCER_METRIC_NAMES
from .options import DEFAULTS as PRODUCER_DEFAULTS
from .producer import WitnessProducer
from .schema import SchemaVersion, crc64_avro, current_schema_version, parsing_canonical_form, schema_version, schema_versions
from .timestamp import now_timestamp
from .validate import limits, validate_entry

__all__ = [
    "HEADER_BYTES", "WitnessCodec", "ErrorInfo", "LatencyBreakdown", "ProducerIdentity", "QualityMetrics", "RoutingDecision",
    "TokenUsage", "TraceContext", "WitnessEntry",
    "compute_latency_total", "create_witness_entry", "default_routing_decision", "is_success", "with_error", "with_latency",
    "with_quality", "CriticalTimeoutError", "DecodeError", "FlushTimeoutError", "InvalidEntryError", "InvalidOptionError",
    "ProducerClosedError", "QueueFullError",
    "RedactFailedError", "SendFailedError", "WitnessError", "DROP_REASONS", "PRODUCER_METRIC_NAMES",
    "PRODUCER_DEFAULTS", "WitnessProducer", "SchemaVersion", "crc64_avro", "current_schema_version", "parsing_canonical_form",
    "schema_version", "schema_versions", "now_timestamp", "limits", "validate_entry",
]
