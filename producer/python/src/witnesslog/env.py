"""Options from the environment, read once when a producer is created (never at import),
like the TypeScript SDK's env.ts and OpenTelemetry's OTEL_*: a fleet sets WITNESS_BROKERS
once per deployment. Explicit arguments win. A bad variable is refused naming the
variable; a password is never echoed."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from .errors import InvalidOptionError

WITNESS_ENV_VARS = (
    "WITNESS_BROKERS",
    "WITNESS_TOPIC",
    "WITNESS_CLIENT_ID",
    "WITNESS_SAMPLE_RATE",
    "WITNESS_SSL",
    "WITNESS_SSL_CA",
    "WITNESS_SSL_REJECT_UNAUTHORIZED",
    "WITNESS_SASL_MECHANISM",
    "WITNESS_SASL_USERNAME",
    "WITNESS_SASL_PASSWORD",
)
_SASL = ("plain", "scram-sha-256", "scram-sha-512")


def options_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The producer options the WITNESS_* variables of `env` set."""
    if not isinstance(env, Mapping):
        raise InvalidOptionError("env", f"(a {type(env).__name__})", "a mapping of variables, like os.environ")

    def get(name: str) -> Optional[str]:
        value = env.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    options: dict[str, Any] = {}
    if (brokers := get("WITNESS_BROKERS")) is not None:
        options["brokers"] = [b.strip() for b in brokers.split(",")]
    if (topic := get("WITNESS_TOPIC")) is not None:
        options["topic"] = topic
    if (client_id := get("WITNESS_CLIENT_ID")) is not None:
        options["client_id"] = client_id
    if (rate := get("WITNESS_SAMPLE_RATE")) is not None:
        try:
            n = float(rate)
        except ValueError:
            n = float("nan")
        if not 0 <= n <= 1:
            raise InvalidOptionError("WITNESS_SAMPLE_RATE", rate, "a number from 0 to 1")
        options["sample_rate"] = n

    ssl = _bool(get("WITNESS_SSL"), "WITNESS_SSL")
    ca = get("WITNESS_SSL_CA")
    verify = _bool(get("WITNESS_SSL_REJECT_UNAUTHORIZED"), "WITNESS_SSL_REJECT_UNAUTHORIZED")
    if ca is not None or verify is not None:
        if ssl is False:
            raise InvalidOptionError("WITNESS_SSL", "false", "true (or unset) when WITNESS_SSL_CA or WITNESS_SSL_REJECT_UNAUTHORIZED is set")
        # The CA is the PEM text itself, as in TS: the SDK reads no file.
        settings: dict[str, Any] = {}
        if ca is not None:
            settings["ca.pem"] = ca
        if verify is False:
            settings["endpoint.identification.algorithm"] = "none"
            settings["enable.certificate.verification"] = False
        options["ssl"] = settings or True
    elif ssl is not None:
        options["ssl"] = ssl

    mechanism = get("WITNESS_SASL_MECHANISM")
    username = get("WITNESS_SASL_USERNAME")
    password = env.get("WITNESS_SASL_PASSWORD")  # not stripped: a password may end in a space
    if mechanism is not None:
        mechanism = mechanism.lower()
        if mechanism not in _SASL:
            raise InvalidOptionError("WITNESS_SASL_MECHANISM", mechanism, ", ".join(_SASL))
        if username is None:
            raise InvalidOptionError("WITNESS_SASL_USERNAME", None, f"set when WITNESS_SASL_MECHANISM is {mechanism}")
        if not password:
            raise InvalidOptionError("WITNESS_SASL_PASSWORD", None, f"set when WITNESS_SASL_MECHANISM is {mechanism}")
        options["sasl"] = {"mechanism": mechanism, "username": username, "password": password}
    elif username is not None or password is not None:
        raise InvalidOptionError("WITNESS_SASL_MECHANISM", None, f"one of {', '.join(_SASL)} when WITNESS_SASL_USERNAME or _PASSWORD is set")
    return options


def _bool(value: Optional[str], name: str) -> Optional[bool]:
    if value is None:
        return None
    v = value.lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise InvalidOptionError(name, value, "true or false")
