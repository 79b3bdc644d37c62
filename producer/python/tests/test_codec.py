"""Golden messages both ways: what the TypeScript codec writes, Python reads; what
Python writes is committed (schemas/test/fixtures/witness-entry.v1.python.hex) and read
by schemas/test/integration/python-golden.test.ts; the entries are those of
schemas/test/fixtures/golden-entry.json, which both read. Plus schema evolution and
broken messages."""
import json
import os
from array import array

import numpy as np
import pytest
from witnesslog import DecodeError, SchemaVersion, WitnessCodec, current_schema_version

from conftest import FIXTURES


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
    assert WitnessCodec(dim=GOLDEN["dim"]).decode(message) == as_decoded(golden_entry())


def test_writes_the_committed_python_fixture_which_typescript_reads():
    message = WitnessCodec(dim=GOLDEN["dim"]).encode(golden_entry())
    if os.environ.get("WITNESSLOG_WRITE_FIXTURES") == "1":
        (FIXTURES / "witness-entry.v1.python.hex").write_text(message.hex() + "\n", encoding="utf-8")
    assert message == fixture("witness-entry.v1.python.hex")
    # Same codec, same bytes: the two implementations agree byte for byte.
    assert message == fixture("witness-entry.v1.typescript.hex")


def test_reads_and_rewrites_the_fastavro_golden_of_the_typescript_tests():
    message = fixture("witness-entry.v1.fastavro.hex")
    codec = WitnessCodec(dim=GOLDEN["dim"])
    entry = codec.decode(message)
    assert entry == as_decoded(fastavro_golden_entry())
    assert codec.encode(entry) == message
    assert codec.encode(fastavro_golden_entry()) == message


def test_round_trip_of_a_768_dim_entry_keeps_float32_values_exactly():
    codec = WitnessCodec()
    vec = np.random.default_rng(7).standard_normal(768).astype(np.float32)
    entry = {**golden_entry(), "query_embedding": vec, "response_embedding": [], "error": None, "quality_metrics": None}
    decoded = codec.decode(codec.encode(entry))
    assert np.array_equal(np.frombuffer(decoded["query_embedding"], dtype=np.float32), vec)
    assert decoded["error"] is None and len(decoded["response_embedding"]) == 0


def test_v2_writer_v1_reader_drops_the_added_field_and_v1_writer_v2_reader_gets_its_default():
    v1 = current_schema_version()
    v2 = SchemaVersion(2, json.loads((FIXTURES / "witness-entry.test-v3.avsc").read_text(encoding="utf-8")))
    new_producer = WitnessCodec(dim=4, reader=v2, writers=[v1])
    old_consumer = WitnessCodec(dim=4, reader=v1, writers=[v2])
    message = new_producer.encode({**golden_entry(), "serving_node": "gpu-node-17"})
    assert message[2:10] == v2.fingerprint.to_bytes(8, "little")
    decoded = old_consumer.decode(message)
    assert decoded == as_decoded(golden_entry())
    assert "serving_node" not in decoded
    assert new_producer.decode(message)["serving_node"] == "gpu-node-17"
    assert new_producer.decode(WitnessCodec(dim=4).encode(golden_entry()))["serving_node"] is None
    with pytest.raises(DecodeError) as err:
        WitnessCodec(dim=4).decode(message)
    assert err.value.code == "WITNESS_UNKNOWN_FINGERPRINT" and v2.fingerprint_hex in str(err.value)


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
