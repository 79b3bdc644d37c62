"""Avro single-object encoding (Avro specification, "Single object encoding"):
    C3 01 | CRC-64-AVRO fingerprint of the writer schema, 8 bytes little-endian | Avro binary body
the same bytes schemas/src/codec.ts writes and reads. fastavro writes and reads the
body; everything that can be decided once (parsed schemas, the header) is decided in
WitnessCodec's constructor."""
from __future__ import annotations

import io
from array import array
from typing import Any, Iterable

import fastavro

from .errors import DecodeError
from .schema import SchemaVersion, current_schema_version, schema_versions
from .timestamp import timestamp_from_micros
from .validate import check_dim, to_avro_record
from .validation_table import rules

HEADER_BYTES = 10


class WitnessCodec:
    def __init__(
        self,
        *,
        dim: int | None = None,
        reader: SchemaVersion | None = None,
        writer: SchemaVersion | None = None,
        writers: Iterable[SchemaVersion] = (),
    ) -> None:
        # None is the table's default dimension (768), read here rather than at import.
        self.dim = rules.default_dim if dim is None else check_dim(dim, "dim")
        self.reader = reader or current_schema_version()
        self.writer = writer or self.reader
        self._reader_schema = fastavro.parse_schema(_plain(self.reader.schema))
        self._writer_schema = fastavro.parse_schema(_plain(self.writer.schema))
        self._header = self.writer.header
        # Fields of a newer writer that validation does not know: copied from the entry as given.
        validated = {f["name"] for f in current_schema_version().schema["fields"]}
        self._extra = tuple(f["name"] for f in self.writer.schema["fields"] if f["name"] not in validated)
        self._known: dict[int, Any] = {}
        # Every packaged version decodes (a v2 reader reads v1 messages), plus the ones given.
        for version in (self.reader, self.writer, *schema_versions(), *writers):
            self._known.setdefault(version.fingerprint, fastavro.parse_schema(_plain(version.schema)))

    def encode(self, entry: Any) -> bytes:
        """Validates, then encodes; InvalidEntryError names the first bad field. The entry's
        `producer` is checked like any other field here (the producer refuses a caller's
        own: it sets it, see enqueue.py)."""
        record = to_avro_record(entry, self.dim, origin="sdk")
        for name in self._extra:
            if name in entry:
                record[name] = entry[name]
        return self.write(record)

    def write(self, record: dict[str, Any]) -> bytes:
        """A record to_avro_record() built (and the SDK completed) as a message: header, body."""
        out = io.BytesIO()
        out.write(self._header)
        fastavro.schemaless_writer(out, self._writer_schema, record)
        return out.getvalue()

    def decode(self, message: bytes, *, validate: bool = True) -> dict[str, Any]:
        """The entry, embeddings as array('f'); DecodeError for bytes that are not a message."""
        data = bytes(message)
        if (len(data) > 0 and data[0] != 0xC3) or (len(data) > 1 and data[1] != 0x01):
            raise DecodeError("WITNESS_BAD_MARKER", f"not an Avro single-object message: starts with {data[:2].hex()}, not c301")
        if len(data) < HEADER_BYTES:
            raise DecodeError("WITNESS_TRUNCATED", f"message of {len(data)} bytes is shorter than the {HEADER_BYTES}-byte header")
        fingerprint = int.from_bytes(data[2:10], "little")
        writer = self._known.get(fingerprint)
        if writer is None:
            raise DecodeError("WITNESS_UNKNOWN_FINGERPRINT", f"unknown writer schema fingerprint {fingerprint:016x}")
        body = io.BytesIO(data)
        body.seek(HEADER_BYTES)
        try:
            record = fastavro.schemaless_reader(body, writer, self._reader_schema)
        except EOFError as err:
            raise DecodeError("WITNESS_TRUNCATED", f"message of {len(data)} bytes ends inside the body") from err
        except Exception as err:  # noqa: BLE001 - anything fastavro raises means a malformed body
            raise DecodeError("WITNESS_MALFORMED_BODY", f"body does not follow the writer schema: {err}") from err
        if body.tell() != len(data):
            raise DecodeError("WITNESS_MALFORMED_BODY", f"{len(data) - body.tell()} bytes after the end of the body")
        entry = dict(record)
        for field in ("query_embedding", "response_embedding"):
            vector = array("f")
            vector.frombytes(entry[field])
            if array("f", b"\0\0\x80\x3f")[0] != 1.0:  # big-endian host: the wire is little-endian
                vector.byteswap()
            entry[field] = vector
        entry["timestamp"] = timestamp_from_micros(entry["timestamp"])
        if validate:
            to_avro_record(entry, self.dim, origin="sdk")
        return entry


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without its logical types: fastavro would otherwise turn the uuid
    strings into UUID objects and the micros into datetimes; the entry keeps strings
    and our own timestamp form, as the TypeScript codec does."""
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "logicalType"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return strip(schema)
