"""The producer's options: the same names (in snake_case) and defaults as
producer/src/options.ts, and the one validation pass at creation. WitnessProducer() is
the only place the SDK raises: a bad value is a deployment bug, and failing at boot
with the option's name beats dropping entries at 3 a.m."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Optional

from .env import read_env
from .errors import InvalidOptionError
from .identity import resolve_service
from .kafka_connection import BROKER_LIST_RULE, is_broker_address
from .log import Log

DEFAULTS: dict[str, Any] = {
    "topic": "witness.entries",
    "client_id": "witnesslog-producer",
    "embedding_dim": 768,
    "max_queue_depth": 10_000,
    "max_queue_bytes": 64 * 1024 * 1024,
    "linger_ms": 5,
    "max_batch_entries": 500,
    "max_batch_bytes": 960 * 1024,
    "compression": "none",
    "critical_timeout_ms": 10_000,
    "flush_timeout_ms": 30_000,
    "request_timeout_ms": 10_000,
    "retry_initial_ms": 100,
    "retry_max_ms": 5_000,
    "sample_rate": 1.0,
    "checkpoint_interval_ms": 10_000,
}
# librdkafka brings all of Kafka's codecs; the TypeScript SDK only has none and gzip.
COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
SASL_MECHANISMS = {"plain": "PLAIN", "scram-sha-256": "SCRAM-SHA-256", "scram-sha-512": "SCRAM-SHA-512", "oauthbearer": "OAUTHBEARER"}
_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}\Z")
# The same words as core/src/patterns.ts TOPIC_NAME_RULE (core/kafka-connection.cases.json checks both).
TOPIC_NAME_RULE = 'a Kafka topic name: 1-249 characters of [a-zA-Z0-9._-], not "." or ".."'
_KNOWN = frozenset(["brokers", "ssl", "sasl", "registry", "logger", "redact", "env", "service", *DEFAULTS])


@dataclass(frozen=True)
class ResolvedOptions:
    brokers: tuple[str, ...]
    topic: str
    client_id: str
    ssl: Any
    sasl: Optional[dict[str, Any]]
    embedding_dim: int
    max_queue_depth: int
    max_queue_bytes: int
    linger_ms: int
    max_batch_entries: int
    max_batch_bytes: int
    compression: str
    critical_timeout_ms: int
    flush_timeout_ms: int
    request_timeout_ms: int
    retry_initial_ms: int
    retry_max_ms: int
    registry: Any
    logger: Any
    sample_rate: float = 1.0
    redact: Any = None
    #: ms between checkpoints (issue 26, checkpoint.py); WITNESS_CHECKPOINT_INTERVAL_MS.
    checkpoint_interval_ms: int = 10_000
    #: producer.service of every entry (schema v2; OpenTelemetry's service.name).
    service: str = "python"

    def librdkafka_config(self) -> dict[str, Any]:
        """The confluent-kafka configuration these options mean."""
        config: dict[str, Any] = {
            "bootstrap.servers": ",".join(self.brokers),
            "client.id": self.client_id,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": self.linger_ms,
            "batch.num.messages": self.max_batch_entries,
            "batch.size": self.max_batch_bytes,
            "compression.type": self.compression,
            "request.timeout.ms": self.request_timeout_ms,
            "retry.backoff.ms": self.retry_initial_ms,
            "retry.backoff.max.ms": self.retry_max_ms,
            "reconnect.backoff.ms": self.retry_initial_ms,
            "reconnect.backoff.max.ms": self.retry_max_ms,
            # As in the TypeScript SDK, an entry is retried until delivered, dropped by
            # close(), or crowded out by the caps: time alone never drops it.
            "message.timeout.ms": 0,
            # librdkafka's own caps sit above ours (record() checks first); they are the
            # backstop, and its BufferError becomes a counted queue_full drop.
            "queue.buffering.max.messages": min(2 * self.max_queue_depth + 1000, 2_147_483_647),
            "queue.buffering.max.kbytes": min(2 * self.max_queue_bytes // 1024 + 1024, 2_147_483_647),
        }
        protocol = "SASL_" if self.sasl else ""
        protocol += "SSL" if self.ssl else "PLAINTEXT"
        config["security.protocol"] = protocol
        if isinstance(self.ssl, dict):
            config.update({f"ssl.{key}": value for key, value in self.ssl.items()})
        if self.sasl:
            config["sasl.mechanisms"] = SASL_MECHANISMS[self.sasl["mechanism"].lower()]
            for key, value in self.sasl.items():
                if key in ("username", "password"):
                    config[f"sasl.{key}"] = value
                elif key != "mechanism":
                    config[f"sasl.{key.replace('_', '.')}"] = value
        return config


def resolve_options(given: dict[str, Any]) -> ResolvedOptions:
    # The environment fills in what the arguments leave out (None = not given); explicit wins.
    env = given.pop("env", None)
    for key, value in given.items():
        # A misspelt option (max_queue_size) would otherwise be ignored in silence.
        # Only the type is echoed: an unknown key may well hold a secret.
        if key not in _KNOWN:
            raise InvalidOptionError(key, f"(a {type(value).__name__})", f"a known option: {', '.join(sorted(_KNOWN))}")
    options, deprecations = read_env(os.environ if env is None else env)
    options.update({k: v for k, v in given.items() if v is not None})
    brokers = options.get("brokers")
    # A string is refused, as in TypeScript: "k1:9092,k2:9092" as one broker is a silent typo.
    if not isinstance(brokers, (list, tuple)) or len(brokers) == 0:
        raise InvalidOptionError("brokers", brokers, 'a non-empty list of "host:port" strings (or WITNESS_KAFKA_BROKERS)')
    for i, broker in enumerate(brokers):
        if not is_broker_address(broker):
            raise InvalidOptionError(f"brokers[{i}]", broker, f'a "host:port" string ({BROKER_LIST_RULE})')

    topic = _get(options, "topic")
    if not is_topic_name(topic):
        raise InvalidOptionError("topic", topic, TOPIC_NAME_RULE)
    client_id = _get(options, "client_id")
    if not isinstance(client_id, str) or client_id == "":
        raise InvalidOptionError("client_id", client_id, "a non-empty string")

    ssl = options.get("ssl")
    if ssl is not None and not isinstance(ssl, (bool, dict)):
        raise InvalidOptionError("ssl", ssl, "a bool or a dict of librdkafka ssl.* settings without the prefix (ca.location, ...)")
    sasl = options.get("sasl")
    if sasl is not None:
        # The value itself is never echoed: it holds the password.
        mechanism = sasl.get("mechanism") if isinstance(sasl, dict) else None
        if not isinstance(mechanism, str) or mechanism.lower() not in SASL_MECHANISMS:
            raise InvalidOptionError("sasl", "[redacted]", f"a dict with a `mechanism` ({', '.join(SASL_MECHANISMS)})")

    max_batch_bytes = _integer(options, "max_batch_bytes", 1024, 64 * 1024 * 1024)
    compression = _get(options, "compression")
    if compression not in COMPRESSIONS:
        raise InvalidOptionError("compression", compression, " or ".join(f'"{c}"' for c in COMPRESSIONS))
    resolved = ResolvedOptions(
        brokers=tuple(brokers),
        topic=topic,
        client_id=client_id,
        ssl=ssl,
        sasl=dict(sasl) if sasl else None,
        embedding_dim=_integer(options, "embedding_dim", 1, 65_536),
        max_queue_depth=_integer(options, "max_queue_depth", 1, 10_000_000),
        max_queue_bytes=_integer(options, "max_queue_bytes", max_batch_bytes, 2**53 - 1, "at least max_batch_bytes"),
        linger_ms=_integer(options, "linger_ms", 0, 60_000),
        max_batch_entries=_integer(options, "max_batch_entries", 1, 100_000),
        max_batch_bytes=max_batch_bytes,
        compression=compression,
        critical_timeout_ms=_integer(options, "critical_timeout_ms", 1, 3_600_000),
        flush_timeout_ms=_integer(options, "flush_timeout_ms", 1, 3_600_000),
        request_timeout_ms=_integer(options, "request_timeout_ms", 100, 600_000),
        retry_initial_ms=_integer(options, "retry_initial_ms", 1, 600_000),
        retry_max_ms=_integer(options, "retry_max_ms", 1, 3_600_000),
        registry=_registry(options.get("registry")),
        logger=_logger(options.get("logger")),
        sample_rate=_sample_rate(_get(options, "sample_rate")),
        redact=_redact(options.get("redact")),
        checkpoint_interval_ms=_integer(options, "checkpoint_interval_ms", 10, 3_600_000),
        service=resolve_service(options.get("service")),
    )
    if resolved.retry_max_ms < resolved.retry_initial_ms:
        raise InvalidOptionError("retry_max_ms", resolved.retry_max_ms, f"at least retry_initial_ms ({resolved.retry_initial_ms})")
    # Once per producer, at creation: the host sees which variables to rename.
    log = Log(resolved.logger)
    for d in deprecations:
        log.warning("%s", d.message())
    return resolved


def is_topic_name(text: Any) -> bool:
    """A name the broker takes as a topic: the pattern, and not "." or ".." (which Kafka refuses)."""
    return isinstance(text, str) and _TOPIC.match(text) is not None and text not in (".", "..")


def _get(options: dict[str, Any], name: str) -> Any:
    value = options.get(name)
    return DEFAULTS[name] if value is None else value


def _integer(options: dict[str, Any], name: str, lo: int, hi: int, expected: Optional[str] = None) -> int:
    value = _get(options, name)
    if type(value) is not int or not lo <= value <= hi:
        raise InvalidOptionError(name, value, expected or f"an integer from {lo} to {hi}")
    return value


def _registry(value: Any) -> Any:
    if value is None:
        return None
    if not (callable(getattr(value, "register", None)) and callable(getattr(value, "get_sample_value", None))):
        raise InvalidOptionError("registry", value, "a prometheus_client CollectorRegistry")
    return value


def _logger(value: Any) -> Any:
    if value is None:
        return None
    for method in ("debug", "info", "warning", "error"):
        if not callable(getattr(value, method, None)):
            raise InvalidOptionError(f"logger.{method}", getattr(value, method, None), "a function (a logging.Logger fits)")
    return value


def _sample_rate(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidOptionError("sample_rate", value, "a number from 0 to 1 (entries with an error are always kept)")
    return float(value)


def _redact(value: Any) -> Any:
    if value is not None and not callable(value):
        raise InvalidOptionError("redact", f"(a {type(value).__name__})", "a callable taking the entry and returning the entry to send")
    return value
