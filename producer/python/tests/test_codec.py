"""Golden messages both ways: what the TypeScript codec writes, Python reads; what
Python writes is committed (schemas/test/fixtures/witness-entry.v1.python.hex) and read
by schemas/test/python-golden.test.ts. Plus schema evolution and broken messages."""
import json
import os
from array import array

import numpy as np
import pytest
from witnesslog import DecodeError, SchemaVersion, WitnessCodec, current_schema_version

from conftest import FIXTURES


def golden_entry():
    """The entry of the golden fixtures (the same values as schemas/test/python-golden.test.ts)."""
    return {
        "request_id": "6f9619ff-8b86-4011-b42d-00c04fc964ff",
        "session_id": "session-4f1c2a",
        "query_embedding": np.array([0.5, -1.25, 3.0, 0.1], dtype=np.float32),
        "routing_decision": {"model": "medium", "context_size": 4096, "temperature": 0.7, "top_p": 0.9, "confidence": 0.83, "model_probs": [0.05, 0.12, 0.71, 0.12]},
        "model_used": "large",
        "quality_score": 0.91,
        "latency": {"embedding_ms": 3.2, "retrieval_ms": 11.8, "routing_ms": 0.4, "attention_ms": 41.5, "generation_ms": 812.3, "total_ms": 870.1},
        "context_doc_ids": ["0b5e5bd6-9a4c-4f57-8d5a-3c6f0e7b1a2d", "00000000-0000-0000-0000-000000000000"],
        "response_embedding": [0.25, 0.5, -0.75, 1.0],
        "timestamp": "2026-11-23T21:57:52.123456Z",
        "error": {
            "code": "UPSTREAM_TIMEOUT",
            "message": "retrieval timed out after 10 ms; served without context — ünïcödé ✓",
            "stack_trace": "Traceback (most recent call last):\n  File \"serve.py\", line 42",
            "recovery_attempted": True,
        },
        "quality_metrics": {"overall_score": 0.91, "relevance": 0.88, "coherence": 0.95, "factuality": 0.9},
        "tags": ["prod", "eu-west-1", "zürich"],
    }


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
    assert WitnessCodec(dim=4).decode(message) == as_decoded(golden_entry())


def test_writes_the_committed_python_fixture_which_typescript_reads():
    message = WitnessCodec(dim=4).encode(golden_entry())
    if os.environ.get("WITNESSLOG_WRITE_FIXTURES") == "1":
        (FIXTURES / "witness-entry.v1.python.hex").write_text(message.hex() + "\n", encoding="utf-8")
    assert message == fixture("witness-entry.v1.python.hex")
    # Same codec, same bytes: the two implementations agree byte for byte.
    assert message == fixture("witness-entry.v1.typescript.hex")


def test_reads_and_rewrites_the_fastavro_golden_of_the_typescript_tests():
    message = fixture("witness-entry.v1.fastavro.hex")
    codec = WitnessCodec(dim=4)
    entry = codec.decode(message)
    assert entry["session_id"] == "golden-session" and entry["tags"] == ["golden", "fastavro"]
    assert codec.encode(entry) == message


def test_round_trip_of_a_768_dim_entry_keeps_float32_values_exactly():
    codec = WitnessCodec()
    vec = np.random.default_rng(7).standard_normal(768).astype(np.float32)
    entry = {**golden_entry(), "query_embedding": vec, "response_embedding": [], "error": None, "quality_metrics": None}
    decoded = codec.decode(codec.encode(entry))
    assert np.array_equal(np.frombuffer(decoded["query_embedding"], dtype=np.float32), vec)
    assert decoded["error"] is None and len(decoded["response_embedding"]) == 0


def test_v2_writer_v1_reader_drops_the_added_field_and_v1_writer_v2_reader_gets_its_default():
    v1 = current_schema_version()
    v2 = SchemaVersion(2, json.loads((FIXTURES / "witness-entry.v2.avsc").read_text(encoding="utf-8")))
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
