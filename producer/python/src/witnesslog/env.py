"""Options from the environment, read once when a producer is created (never at import),
like the TypeScript SDK's env.ts and OpenTelemetry's OTEL_*: a fleet sets
WITNESS_KAFKA_BROKERS once per deployment. Explicit arguments win. The Kafka connection
is kafka_connection.py, the same rules as the TypeScript packages'. A bad variable is
refused naming the variable; a password is never echoed."""
from __future__ import annotations

from typing import Any, Mapping

from .errors import InvalidOptionError
from .identity import resolve_service
from .kafka_connection import KAFKA_CONNECTION_VARS, SDK_LEGACY_KAFKA_NAMES, Deprecation, EnvReader, kafka_connection_from_env

WITNESS_ENV_VARS = (*KAFKA_CONNECTION_VARS, "WITNESS_TOPIC", "WITNESS_SAMPLE_RATE", "WITNESS_SERVICE", "WITNESS_CHECKPOINT_INTERVAL_MS")


def read_env(env: Mapping[str, str]) -> tuple[dict[str, Any], list[Deprecation]]:
    """The producer options the variables of `env` set, and the old names read (to warn about once)."""
    reader = EnvReader(env, SDK_LEGACY_KAFKA_NAMES)
    kafka = kafka_connection_from_env(reader)
    options: dict[str, Any] = {}
    for key in ("brokers", "client_id", "sasl"):
        if key in kafka:
            options[key] = kafka[key]
    if "ca" in kafka or "reject_unauthorized" in kafka:
        # librdkafka's ssl.* settings, without the prefix (options.py adds it).
        settings: dict[str, Any] = {}
        if "ca" in kafka:
            settings["ca.pem"] = kafka["ca"]
        if kafka.get("reject_unauthorized") is False:
            settings["endpoint.identification.algorithm"] = "none"
            settings["enable.certificate.verification"] = False
        options["ssl"] = settings or True
    elif "ssl" in kafka:
        options["ssl"] = kafka["ssl"]

    if (topic := reader.get("WITNESS_TOPIC")) is not None:
        options["topic"] = topic[1]
    if (service := reader.get("WITNESS_SERVICE")) is not None:
        options["service"] = resolve_service(service[1], service[0])
    if (rate := reader.get("WITNESS_SAMPLE_RATE")) is not None:
        try:
            n = float(rate[1])
        except ValueError:
            n = float("nan")
        if not 0 <= n <= 1:
            raise InvalidOptionError(rate[0], rate[1], "a number from 0 to 1")
        options["sample_rate"] = n
    if (interval := reader.get("WITNESS_CHECKPOINT_INTERVAL_MS")) is not None:
        if not interval[1].strip().isdigit() or int(interval[1]) < 10:
            raise InvalidOptionError(interval[0], interval[1], "an integer number of milliseconds, at least 10")
        options["checkpoint_interval_ms"] = int(interval[1])
    return options, reader.deprecations


def options_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The producer options the variables of `env` set (read_env without the deprecations)."""
    return read_env(env)[0]
