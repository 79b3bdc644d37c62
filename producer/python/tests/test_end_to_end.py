"""The whole path a Python serving node takes: WitnessProducer -> the real broker ->
the TypeScript consumer service (a real process, as `npm start` runs it) -> Qdrant,
each entry then found by `witness get` with payload and vectors intact, schema v2's
producer, trace and usage included. A consumer that does not know v2 yet (one schema
version in @witnesslog/schemas) must dead-letter the entries as
WITNESS_UNKNOWN_FINGERPRINT instead: asserted then, in place of the Qdrant part."""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pytest
from witnesslog import WitnessProducer, create_witness_entry, with_error, with_latency, with_quality

from conftest import BROKERS, QDRANT_URL, REPO, read_topic, unique

DIM = 8
NODE = [shutil.which("node") or "node", "--conditions=witnesslog-src", "--import", "tsx"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def consumer(admin, tmp_path):
    from confluent_kafka.admin import NewTopic

    names = {"WITNESS_TOPIC": unique("py-e2e"), "WITNESS_DLQ_TOPIC": unique("py-e2e-dlq"), "WITNESS_GROUP_ID": unique("py-e2e-group"), "WITNESS_COLLECTION": unique("py_e2e")}
    for topic in (names["WITNESS_TOPIC"], names["WITNESS_DLQ_TOPIC"]):
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    port = free_port()
    env = {**os.environ, **names, "WITNESS_KAFKA_BROKERS": BROKERS, "WITNESS_QDRANT_URL": QDRANT_URL, "WITNESS_EMBEDDING_DIM": str(DIM),
           "METRICS_PORT": str(port), "LOG_LEVEL": "warn", "WITNESS_BATCH_MAX_WAIT_MS": "200"}
    log = open(tmp_path / "consumer.log", "wb")
    process = subprocess.Popen([*NODE, str(REPO / "consumer" / "src" / "service" / "main.ts")], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not http_ok(f"http://127.0.0.1:{port}/readyz"):
            assert process.poll() is None, (tmp_path / "consumer.log").read_text()
            assert time.monotonic() < deadline, "consumer not ready within 90 s"
            time.sleep(0.3)
        yield names, env
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        admin.delete_topics([names["WITNESS_TOPIC"], names["WITNESS_DLQ_TOPIC"]])
        request = urllib.request.Request(f"{QDRANT_URL}/collections/{names['WITNESS_COLLECTION']}", method="DELETE")
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except OSError:
            pass


def witness_get(request_id: str, env: dict) -> dict | None:
    result = subprocess.run([*NODE, str(REPO / "consumer" / "src" / "cli" / "main.ts"), "get", request_id, "--json"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    return json.loads(result.stdout) if result.returncode == 0 else None


def consumer_schema_versions() -> int:
    """How many schema versions the TypeScript consumer of this checkout decodes."""
    code = "import('@witnesslog/schemas').then((m) => console.log(m.schemaVersions.length))"
    result = subprocess.run([*NODE, "-e", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    return int(result.stdout.strip())


TRACE = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}


def test_python_entries_reach_qdrant_through_the_typescript_consumer(consumer):
    names, env = consumer
    knows_v2 = consumer_schema_versions() >= 2
    rng = np.random.default_rng(3)
    entries = []
    for i in range(3):
        entry = create_witness_entry(f"py-session-{i}", rng.standard_normal(DIM).astype(np.float32))
        entry = with_quality(with_latency(entry, embedding_ms=1.5, retrieval_ms=2, routing_ms=0.25, attention_ms=8, generation_ms=90 + i), 0.5 + i / 10)
        entry["response_embedding"] = rng.standard_normal(DIM).tolist()
        entry["tags"] = ["python", f"n{i}"]
        entries.append(entry)
    entries[2] = with_error(entries[2], code="CUDA_OOM", message="out of memory", recovery_attempted=True)
    entries[0] = {**entries[0], "trace": TRACE, "usage": {"prompt_tokens": 512, "completion_tokens": 128}}
    with WitnessProducer(brokers=[BROKERS], topic=names["WITNESS_TOPIC"], embedding_dim=DIM, service="py-e2e-service") as producer:
        assert all(producer.record(e) for e in entries[:2])
        producer.record_critical(entries[2])
        producer.flush()
        stats = producer.stats()
        assert stats["delivered"] == 3
    identity = {k: stats["producer"][k] for k in ("id", "service", "host")}
    if not knows_v2:
        letters = read_topic(names["WITNESS_DLQ_TOPIC"], 3, timeout_s=90)
        assert len(letters) == 3
        assert {dict(m.headers())["witness-dlq-reason"] for m in letters} == {b"WITNESS_UNKNOWN_FINGERPRINT"}
        return

    deadline = time.monotonic() + 90
    for seq, entry in enumerate(entries):
        while (stored := witness_get(entry["request_id"], env)) is None:
            assert time.monotonic() < deadline, f"{entry['request_id']} not in Qdrant after 90 s"
            time.sleep(1)
        assert stored["session_id"] == entry["session_id"]
        assert stored["timestamp"] == entry["timestamp"]
        assert stored["latency"] == entry["latency"]
        assert stored["quality_score"] == entry["quality_score"]
        assert stored["tags"] == entry["tags"]
        assert stored["error"] == entry["error"]
        assert stored["producer"] == {**identity, "seq": seq}
        assert stored["trace"] == entry.get("trace")
        assert stored["usage"] == entry.get("usage")
        assert_vector_close(stored["query_embedding"], entry["query_embedding"])
        assert_vector_close(stored["response_embedding"], entry["response_embedding"])


def assert_vector_close(actual, expected) -> None:
    """As test/support/pipeline.ts: Qdrant normalizes cosine vectors and the consumer scales
    them back, which costs a couple of float32 ulps, never more than 1e-6 of the largest value."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float32).astype(np.float64)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= 1e-6 * np.abs(expected).max()
