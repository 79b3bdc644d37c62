"""The witness entry schemas and their fingerprints. The .avsc files are those in
schemas/ (version 2 written, version 1 still read), copied into the package at build
(pyproject.toml); each is read on first use, never at import. The fingerprint is CRC-64-AVRO of the Parsing Canonical Form, both
written out here from the Avro specification, so nothing is pasted that could drift
from the file."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

#: The packaged schema versions, oldest first; the last is the one the SDK writes.
SCHEMA_FILES = ("witness-entry.v1.avsc", "witness-entry.v2.avsc")
CRC64_AVRO_EMPTY = 0xC15D213AA4D7A795
_PRIMITIVES = frozenset(["null", "boolean", "int", "long", "float", "double", "bytes", "string"])


def _table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (CRC64_AVRO_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _table()


def crc64_avro(data: bytes | str) -> int:
    """CRC-64-AVRO (the specification's Rabin fingerprint), unsigned."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    fp = CRC64_AVRO_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def parsing_canonical_form(schema: Any) -> str:
    """Primitives as bare names, full names, only name/type/fields/symbols/items/values/size,
    in that order, no whitespace (Avro specification, "Parsing Canonical Form")."""
    return _canonical(schema, "", set())


def _full_name(name: str, namespace: str) -> str:
    return name if "." in name or namespace == "" else f"{namespace}.{name}"


def _canonical(schema: Any, namespace: str, defined: set[str]) -> str:
    dump = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    if isinstance(schema, str):
        return dump(schema) if schema in _PRIMITIVES else dump(_full_name(schema, namespace))
    if isinstance(schema, list):
        return "[" + ",".join(_canonical(b, namespace, defined) for b in schema) + "]"
    if not isinstance(schema, dict):
        raise ValueError(f"not an Avro schema: {schema!r}")
    kind = schema.get("type")
    if not isinstance(kind, str):
        return _canonical(kind, namespace, defined)
    if kind in _PRIMITIVES:
        return dump(kind)
    if kind == "array":
        return '{"type":"array","items":' + _canonical(schema["items"], namespace, defined) + "}"
    if kind == "map":
        return '{"type":"map","values":' + _canonical(schema["values"], namespace, defined) + "}"
    if kind in ("record", "error", "enum", "fixed"):
        name = _full_name(schema["name"], schema.get("namespace", namespace))
        if name in defined:  # a named type is written in full once, then referenced
            return dump(name)
        defined.add(name)
        head = '{"name":' + dump(name) + ',"type":' + dump(kind)
        if kind == "enum":
            return head + ',"symbols":' + dump(schema["symbols"]) + "}"
        if kind == "fixed":
            return head + ',"size":' + str(int(schema["size"])) + "}"
        inner = name.rsplit(".", 1)[0] if "." in name else ""
        fields = ",".join(
            '{"name":' + dump(f["name"]) + ',"type":' + _canonical(f["type"], inner, defined) + "}" for f in schema["fields"]
        )
        return head + ',"fields":[' + fields + "]}"
    return dump(_full_name(kind, namespace))


class SchemaVersion:
    """One schema version: its JSON, canonical form and fingerprint."""

    def __init__(self, version: int, schema: dict[str, Any]) -> None:
        self.version = version
        self.schema = schema
        self.canonical_form = parsing_canonical_form(schema)
        self.fingerprint = crc64_avro(self.canonical_form)
        self.fingerprint_hex = f"{self.fingerprint:016x}"
        #: The 10-byte single-object header: C3 01, then the fingerprint little-endian.
        self.header = b"\xc3\x01" + self.fingerprint.to_bytes(8, "little")


@lru_cache(maxsize=None)
def schema_version(version: int) -> SchemaVersion:
    """Version `version` (1 or 2), from the file packaged with the SDK (read once, on first use)."""
    if type(version) is not int or not 1 <= version <= len(SCHEMA_FILES):
        raise ValueError(f"no schema version {version!r}: the SDK knows 1..{len(SCHEMA_FILES)}")
    text = resources.files("witnesslog").joinpath("schemas", SCHEMA_FILES[version - 1]).read_text(encoding="utf-8")
    return SchemaVersion(version, json.loads(text))


def schema_versions() -> tuple[SchemaVersion, ...]:
    """Every packaged version, oldest first: what a codec reads by default."""
    return tuple(schema_version(v) for v in range(1, len(SCHEMA_FILES) + 1))


def current_schema_version() -> SchemaVersion:
    """The version the SDK writes: 2."""
    return schema_version(len(SCHEMA_FILES))
