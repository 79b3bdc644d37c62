"""The Kafka connection from environment variables: the same vocabulary (WITNESS_KAFKA_*)
and checks as the TypeScript packages' core/src/config/kafka-connection.ts. Both are
tested against core/kafka-connection.cases.json, so neither can drift. Errors name
the variable and its value, never a password's. The CA file is read when the
connection is parsed (at producer creation, only when WITNESS_KAFKA_SSL_CA_FILE is
set): never at import."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .errors import InvalidOptionError

KAFKA_CONNECTION_VARS = (
    "WITNESS_KAFKA_BROKERS",
    "WITNESS_KAFKA_CLIENT_ID",
    "WITNESS_KAFKA_SSL",
    "WITNESS_KAFKA_SSL_CA_FILE",
    "WITNESS_KAFKA_SSL_CA",
    "WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED",
    "WITNESS_KAFKA_SASL_MECHANISM",
    "WITNESS_KAFKA_SASL_USERNAME",
    "WITNESS_KAFKA_SASL_PASSWORD",
)
# The SDKs' names before WITNESS_KAFKA_* (new -> old): still read, with one warning.
SDK_LEGACY_KAFKA_NAMES = {
    "WITNESS_KAFKA_BROKERS": "WITNESS_BROKERS",
    "WITNESS_KAFKA_CLIENT_ID": "WITNESS_CLIENT_ID",
    "WITNESS_KAFKA_SSL": "WITNESS_SSL",
    "WITNESS_KAFKA_SSL_CA": "WITNESS_SSL_CA",
    "WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED": "WITNESS_SSL_REJECT_UNAUTHORIZED",
    "WITNESS_KAFKA_SASL_MECHANISM": "WITNESS_SASL_MECHANISM",
    "WITNESS_KAFKA_SASL_USERNAME": "WITNESS_SASL_USERNAME",
    "WITNESS_KAFKA_SASL_PASSWORD": "WITNESS_SASL_PASSWORD",
}
SASL_ENV_MECHANISMS = ("plain", "scram-sha-256", "scram-sha-512")
BROKER_LIST_RULE = "a comma-separated list of host:port, IPv6 in brackets ([::1]:9092), ports 1-65535"
# A host name or IPv4 (no colon, no brackets), or an IPv6 address in brackets; then the port.
_BROKER = re.compile(r"(\[[0-9a-fA-F:.]+(%[\w.-]+)?\]|[^\s:\[\]/,]+):(\d{1,5})\Z")
_PEM_START = "-----BEGIN"


def is_broker_address(text: Any) -> bool:
    """One broker address, host:port or [ipv6]:port, port 1-65535."""
    if not isinstance(text, str):
        return False
    match = _BROKER.match(text)
    return match is not None and 1 <= int(match.group(3)) <= 65535


@dataclass(frozen=True)
class Deprecation:
    old: str
    replacement: str
    ignored: bool  # both set: the replacement wins

    def message(self) -> str:
        if self.ignored:
            return f"{self.old} is deprecated and ignored: {self.replacement} is also set and wins; remove {self.old}"
        return f"{self.old} is deprecated: rename it to {self.replacement}"


@dataclass
class EnvReader:
    """Reads `env`, falling back from a new name to its old one (`legacy`: new -> old).
    Blank counts as unset. Returns (name read, value) so errors name what was set."""

    env: Mapping[str, str]
    legacy: Mapping[str, str] = field(default_factory=dict)
    deprecations: list[Deprecation] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.env, Mapping):
            raise InvalidOptionError("env", f"(a {type(self.env).__name__})", "a mapping of variables, like os.environ")

    def _present(self, name: str) -> Optional[str]:
        value = self.env.get(name)
        return None if value is None or value.strip() == "" else value

    def raw(self, name: str) -> Optional[tuple[str, str]]:
        value = self._present(name)
        old = self.legacy.get(name)
        old_value = None if old is None else self._present(old)
        if old is not None and old_value is not None and all(d.old != old for d in self.deprecations):
            self.deprecations.append(Deprecation(old, name, value is not None))
        if value is not None:
            return name, value
        return (old, old_value) if old is not None and old_value is not None else None

    def get(self, name: str) -> Optional[tuple[str, str]]:
        found = self.raw(name)
        return None if found is None else (found[0], found[1].strip())


def parse_bool(found: tuple[str, str]) -> bool:
    """true|false|1|0 in any case: the one set of boolean words every package accepts."""
    name, value = found
    text = value.strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise InvalidOptionError(name, value, "true, false, 1 or 0")


def kafka_connection_from_env(env: EnvReader) -> dict[str, Any]:
    """The connection the variables describe, with the TypeScript parser's keys
    (brokers, client_id, ssl, ca, reject_unauthorized, sasl); unset ones are absent."""
    out: dict[str, Any] = {}
    if (brokers := env.get("WITNESS_KAFKA_BROKERS")) is not None:
        items = [b.strip() for b in brokers[1].split(",")]
        if not all(is_broker_address(b) for b in items):
            raise InvalidOptionError(brokers[0], brokers[1], BROKER_LIST_RULE)
        out["brokers"] = items
    if (client_id := env.get("WITNESS_KAFKA_CLIENT_ID")) is not None:
        out["client_id"] = client_id[1]

    ssl = env.get("WITNESS_KAFKA_SSL")
    ssl_on = None if ssl is None else parse_bool(ssl)
    ca_text = env.get("WITNESS_KAFKA_SSL_CA")
    ca_file = env.get("WITNESS_KAFKA_SSL_CA_FILE")
    reject = env.get("WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED")
    if ca_text is not None and ca_file is not None:
        raise InvalidOptionError(ca_file[0], ca_file[1], f"unset when {ca_text[0]} is set: one CA, as a file or as PEM text")
    ca = _read_ca_file(ca_file) if ca_file is not None else _pem_text(ca_text) if ca_text is not None else None
    reject_unauthorized = None if reject is None else parse_bool(reject)
    if ca is not None or reject_unauthorized is not None:
        why = " or ".join(v[0] for v in (ca_file or ca_text, reject) if v is not None)
        if ssl_on is False:
            assert ssl is not None
            raise InvalidOptionError(ssl[0], ssl[1], f"true (or unset) when {why} is set")
        out["ssl"] = True
        if ca is not None:
            out["ca"] = ca
        if reject_unauthorized is not None:
            out["reject_unauthorized"] = reject_unauthorized
    elif ssl_on is not None:
        out["ssl"] = ssl_on

    sasl = _sasl(env)
    if sasl is not None:
        out["sasl"] = sasl
    return out


def _pem_text(found: tuple[str, str]) -> str:
    if _PEM_START not in found[1]:
        raise InvalidOptionError(found[0], found[1], f"PEM text ({_PEM_START} CERTIFICATE-----...), not a path: a file goes in WITNESS_KAFKA_SSL_CA_FILE")
    return found[1]


def _read_ca_file(found: tuple[str, str]) -> str:
    name, path = found
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise InvalidOptionError(name, path, f"a readable PEM file ({type(err).__name__})") from None
    if _PEM_START not in text:
        raise InvalidOptionError(name, path, f"a PEM file (no {_PEM_START} line in it)")
    return text


def _sasl(env: EnvReader) -> Optional[dict[str, str]]:
    mechanism = env.get("WITNESS_KAFKA_SASL_MECHANISM")
    username = env.get("WITNESS_KAFKA_SASL_USERNAME")
    password = env.raw("WITNESS_KAFKA_SASL_PASSWORD")  # not stripped: a password may end in a space
    names = ", ".join(SASL_ENV_MECHANISMS)
    if mechanism is None:
        if username is None and password is None:
            return None
        raise InvalidOptionError("WITNESS_KAFKA_SASL_MECHANISM", None, f"one of {names} when a SASL user name or password is set")
    name = mechanism[1].lower()
    if name not in SASL_ENV_MECHANISMS:
        raise InvalidOptionError(mechanism[0], mechanism[1], f"one of {names}")
    # Never the password's value: only whether it is set.
    if username is None:
        raise InvalidOptionError("WITNESS_KAFKA_SASL_USERNAME", None, f"set when {mechanism[0]} is set (with the password)")
    if password is None:
        raise InvalidOptionError("WITNESS_KAFKA_SASL_PASSWORD", None, f"set when {mechanism[0]} is set (with the user name)")
    return {"mechanism": name, "username": username[1], "password": password[1]}
