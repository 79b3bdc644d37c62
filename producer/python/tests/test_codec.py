"""Golden messages both ways: what the TypeScript codec writes, Python reads; what
Python writes is committed (schemas/test/fixtures/witness-entry.v1.python.hex, written
by a v1 writer, and witness-entry.v2.python.hex, the current one) and read by the
TypeScript tests; the entries are those of schemas/test/fixtures/golden-entry.json,
which both read. Plus schema evolution and broken messages."""
import io
import json
import os
import uuid
from array import array

import fastavro
import fastavro.schema
import numpy as np
import pytest
from witnesslog import DecodeError, SchemaVersion, WitnessCodec, current_schema_version, schema_version

from conftest import EVOLUTION_SCHEMA, FIXTURES


GOLDEN = json.loads((FIXTURES / "golden-entry.json").read_text(encoding="utf-8"))


def _golden(which: str):
    """A fresh copy of an entry of fixtures/golden-entry.json (the file the TypeScript tests
    read too): the query embedding as a float32 numpy array, the response one as a list,
    so both forms the SDK takes are in the golden messages."""
    entry = json.loads(json.dumps(GOLDEN[which]["value"]))
    entry["query_embedding"] = np.array(entry["query_embedding"], dtype=np.float32)
    return entry


def golden_entry():
    """The entry of witness-entry.v1.python.hex and witness-entry.v1.typescript.hex."""
    return _golden("entry")


def golden_v2_entry():
    """The entry of witness-entry.v2.python.hex and witness-entry.v2.typescript.hex."""
    return _golden("v2")


def v1_codec() -> WitnessCodec:
    """Reads and writes version 1: the v1 golden messages stay v1 bytes."""
    return WitnessCodec(dim=GOLDEN["dim"], reader=schema_version(1))


NO_V2 = {"producer": None, "trace": None, "usage": None}


def fastavro_golden_entry():
    """The entry of witness-entry.v1.fastavro.hex, which fastavro itself wrote."""
    return _golden("fastavroEntry")


def as_decoded(entry):
    out = dict(entry)
    out["query_embedding"] = array("f", list(np.asarray(entry["query_embedding"], dtype=np.float32)))
    out["response_embedding"] = array("f", entry["response_embedding"])
    return out


def fixture(name: str) -> bytes:
    return bytes.fromhex((FIXTURES / name).read_text(encoding="utf-8").strip())


def test_decodes_what_the_typescript_codec_wrote():
    # schemas/test/python-golden.test.ts checks that the TypeScript codec writes exactly these bytes.
    message = fixture("witness-entry.v1.typescript.hex")
    assert v1_codec().decode(message) == as_decoded(golden_entry())
    # The current (v2) reader reads a v1 message with the three new fields null.
    assert WitnessCodec(dim=GOLDEN["dim"]).decode(message) == {**as_decoded(golden_entry()), **NO_V2}


def test_writes_the_committed_python_fixture_which_typescript_reads():
    message = v1_codec().encode(golden_entry())
    if os.environ.get("WITNESSLOG_WRITE_FIXTURES") == "1":
        (FIXTURES / "witness-entry.v1.python.hex").write_text(message.hex() + "\n", encoding="utf-8")
    assert message == fixture("witness-entry.v1.python.hex")
    # Same codec, same bytes: the two implementations agree byte for byte.
    assert message == fixture("witness-entry.v1.typescript.hex")


def test_reads_and_rewrites_the_fastavro_golden_of_the_typescript_tests():
    message = fixture("witness-entry.v1.fastavro.hex")
    codec = v1_codec()
    entry = codec.decode(message)
    assert entry == as_decoded(fastavro_golden_entry())
    assert WitnessCodec(dim=GOLDEN["dim"]).decode(message) == {**entry, **NO_V2}
    assert codec.encode(entry) == message
    assert codec.encode(fastavro_golden_entry()) == message


def test_round_trip_of_a_768_dim_entry_keeps_float32_values_exactly():
    codec = WitnessCodec()
    vec = np.random.default_rng(7).standard_normal(768).astype(np.float32)
    entry = {**golden_entry(), "query_embedding": vec, "response_embedding": [], "error": None, "quality_metrics": None}
    decoded = codec.decode(codec.encode(entry))
    assert {k: decoded[k] for k in NO_V2} == NO_V2
    assert np.array_equal(np.frombuffer(decoded["query_embedding"], dtype=np.float32), vec)
    assert decoded["error"] is None and len(decoded["response_embedding"]) == 0


def test_the_golden_v2_entry_is_the_v1_entry_plus_producer_trace_and_usage():
    v2 = dict(GOLDEN["v2"]["value"])
    assert {k: v2.pop(k) for k in NO_V2} == {
        "producer": {"id": "5f0c6a1e-2b7d-4c3a-9e8f-1a2b3c4d5e6f", "seq": 41, "service": "golden-service", "host": "golden-host"},
        "trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"},
        "usage": {"prompt_tokens": 512, "completion_tokens": 128},
    }
    assert v2 == GOLDEN["entry"]["value"]
    assert list(GOLDEN)[-1] == "v2"


def test_writes_the_committed_python_v2_fixture_identical_to_typescripts_and_reads_it_back():
    codec = WitnessCodec(dim=GOLDEN["dim"])
    message = codec.encode(golden_v2_entry())
    if os.environ.get("WITNESSLOG_WRITE_FIXTURES") == "1":
        (FIXTURES / "witness-entry.v2.python.hex").write_text(message.hex() + "\n", encoding="utf-8")
    assert message == fixture("witness-entry.v2.python.hex")
    assert current_schema_version().version == 2
    assert message[:10] == b"\xc3\x01" + current_schema_version().fingerprint.to_bytes(8, "little")
    assert codec.decode(message) == as_decoded(golden_v2_entry())
    # The v2 body is the v1 body with the three unions appended: v1's bytes stay a prefix.
    v1_body = v1_codec().encode(golden_entry())[10:]
    assert message[10 : 10 + len(v1_body)] == v1_body and len(message) > 10 + len(v1_body)
    # A v1 reader (an old consumer) reads it, without the new fields.
    assert v1_codec().decode(message) == as_decoded(golden_entry())
    typescript = FIXTURES / "witness-entry.v2.typescript.hex"
    if typescript.exists():  # written by the TypeScript tests (schemas/test/unit/golden-v2.test.ts)
        assert message == fixture(typescript.name)
        assert codec.decode(fixture(typescript.name)) == as_decoded(golden_v2_entry())


def test_fastavro_alone_reads_the_golden_v2_message_with_the_packaged_schema_as_written():
    # fastavro straight from the .avsc, logical types and all: no code of ours on the way.
    message = fixture("witness-entry.v2.python.hex")
    schema = current_schema_version().schema
    form = fastavro.schema.to_parsing_canonical_form(schema)
    assert message[2:10] == bytes.fromhex(fastavro.schema.fingerprint(form, "CRC-64-AVRO"))
    body = io.BytesIO(message[10:])
    record = fastavro.schemaless_reader(body, fastavro.parse_schema(schema))
    assert body.tell() == len(message) - 10
    want = GOLDEN["v2"]["value"]
    assert {k: record[k] for k in NO_V2} == {**{k: want[k] for k in NO_V2}, "producer": {**want["producer"], "id": uuid.UUID(want["producer"]["id"])}}


def test_a_newer_writer_reads_back_on_an_older_reader_without_its_field_and_the_reverse_gets_the_default():
    current = current_schema_version()
    newer = SchemaVersion(3, json.loads(EVOLUTION_SCHEMA.read_text(encoding="utf-8")))
    new_producer = WitnessCodec(dim=4, reader=newer)
    old_consumer = WitnessCodec(dim=4, reader=current, writers=[newer])
    message = new_producer.encode({**golden_entry(), "serving_node": "gpu-node-17"})
    assert message[2:10] == newer.fingerprint.to_bytes(8, "little")
    decoded = old_consumer.decode(message)
    assert decoded == {**as_decoded(golden_entry()), **NO_V2}
    assert "serving_node" not in decoded
    assert new_producer.decode(message)["serving_node"] == "gpu-node-17"
    # Every packaged version decodes on any codec: v1 and v2 messages on the newer reader.
    assert new_producer.decode(WitnessCodec(dim=4).encode(golden_entry()))["serving_node"] is None
    assert new_producer.decode(v1_codec().encode(golden_entry()))["serving_node"] is None
    with pytest.raises(DecodeError) as err:
        WitnessCodec(dim=4).decode(message)
    assert err.value.code == "WITNESS_UNKNOWN_FINGERPRINT" and newer.fingerprint_hex in str(err.value)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda m: b"\x00\x01" + m[2:], "WITNESS_BAD_MARKER"),
        (lambda m: m[:7], "WITNESS_TRUNCATED"),
        (lambda m: m[:-3], "WITNESS_TRUNCATED"),
        (lambda m: m + b"\x00", "WITNESS_MALFORMED_BODY"),
    ],
)
def test_broken_messages_are_decode_errors_with_the_consumer_codes(mutate, code):
    message = WitnessCodec(dim=4).encode(golden_entry())
    with pytest.raises(DecodeError) as err:
        WitnessCodec(dim=4).decode(mutate(message))
    assert err.value.code == code
