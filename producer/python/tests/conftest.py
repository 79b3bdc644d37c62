"""Where the running local stack is (local/stack.ts sets these for every test run), and
the entries and topics the tests share. Tests talk to the real broker."""
from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

BROKERS = os.environ.get("WITNESS_KAFKA_BROKERS", "127.0.0.1:9092")
QDRANT_URL = os.environ.get("WITNESS_QDRANT_URL", "http://127.0.0.1:6333")
REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "schemas" / "test" / "fixtures"
#: The TEST-ONLY schema of the evolution tests (a version after the current one: it adds
#: `serving_node`), the one place its path is written. The TypeScript side renames it
#: (witness-entry.test-v3.avsc) now that a real v2 exists: change it here when that lands.
EVOLUTION_SCHEMA = FIXTURES / "witness-entry.test-v3.avsc"


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def vector(dim: int, seed: int = 1) -> np.ndarray:
    return (np.sin(seed + np.arange(dim) * 0.37) * 0.5).astype(np.float32)


def full_entry(dim: int = 768, **overrides):  # type: ignore[no-untyped-def]
    entry = {
        "request_id": str(uuid.uuid4()),
        "session_id": "session-4f1c2a",
        "query_embedding": vector(dim, 1),
        "routing_decision": {"model": "medium", "context_size": 4096, "temperature": 0.7, "top_p": 0.9, "confidence": 0.83, "model_probs": [0.05, 0.12, 0.71, 0.12]},
        "model_used": "large",
        "quality_score": 0.91,
        "latency": {"embedding_ms": 3.2, "retrieval_ms": 11.8, "routing_ms": 0.4, "attention_ms": 41.5, "generation_ms": 812.3, "total_ms": 870.1},
        "context_doc_ids": ["0b5e5bd6-9a4c-4f57-8d5a-3c6f0e7b1a2d"],
        "response_embedding": vector(dim, 2),
        "timestamp": "2026-11-23T21:57:52.123456Z",
        "error": None,
        "quality_metrics": {"overall_score": 0.91, "relevance": 0.88, "coherence": 0.95, "factuality": 0.9},
        "tags": ["prod", "zürich"],
    }
    entry.update(overrides)
    return entry


@pytest.fixture(scope="session")
def admin() -> AdminClient:
    return AdminClient({"bootstrap.servers": BROKERS})


@pytest.fixture
def topic(admin: AdminClient):  # type: ignore[no-untyped-def]
    """A fresh topic with 3 partitions, deleted afterwards."""
    name = unique("py-producer")
    admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)])[name].result(30)
    yield name
    admin.delete_topics([name])[name].result(30)


def read_topic(topic: str, count: int, timeout_s: float = 30.0, checkpoints: bool = False) -> list:  # type: ignore[type-arg]
    """Every message of the topic, from the beginning, until `count` were read; the SDK's
    checkpoints (issue 26: not entries) are left out unless `checkpoints`."""
    import time

    from witnesslog.checkpoint import checkpoint_schema

    header = checkpoint_schema().header

    consumer = Consumer({"bootstrap.servers": BROKERS, "group.id": unique("py-reader"), "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    messages = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(messages) < count and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and (checkpoints or not (msg.value() or b"").startswith(header)):
                messages.append(msg)
    finally:
        consumer.close()
    return messages
