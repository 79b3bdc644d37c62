"""No broker at all: record() keeps returning at once, the queue stops at its caps,
every refused entry is counted as queue_full, and close() counts what it could not
deliver as send_failed: attempted = delivered + dropped, exactly."""
import socket
import statistics
import time

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from witnesslog import CriticalTimeoutError, WitnessCodec, WitnessProducer

from conftest import full_entry


def dead_broker() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def sizes(producer: WitnessProducer, entry: dict, count: int) -> list[int]:
    """Key + value bytes of `entry` as the producer's first `count` accepted entries (schema
    v2: its identity, whose seq takes more bytes as it grows)."""
    identity = {k: producer.stats()["producer"][k] for k in ("id", "service", "host")}
    codec = WitnessCodec()
    return [len(codec.encode({**entry, "producer": {**identity, "seq": seq}})) + len(entry["session_id"]) for seq in range(count)]


def test_the_entry_cap_holds_and_every_refused_entry_is_counted():
    producer = WitnessProducer(brokers=[dead_broker()], max_queue_depth=200, flush_timeout_ms=300, registry=CollectorRegistry())
    entry = full_entry()
    costs = []
    for _ in range(1000):
        started = time.perf_counter()
        producer.record(entry)
        costs.append(time.perf_counter() - started)
    stats = producer.stats()
    assert (stats["total"], stats["pending"], stats["dropped"]["queue_full"]) == (200, 200, 800)
    assert stats["pending_bytes"] == sum(sizes(producer, entry, 200))
    assert stats["connected"] is False
    # Refused entries are not even encoded; a blocking send would take a request timeout.
    assert statistics.median(costs[200:]) < 0.001
    started = time.monotonic()
    producer.close()
    assert time.monotonic() - started < 5
    stats = producer.stats()
    assert (stats["pending"], stats["pending_bytes"], stats["delivered"]) == (0, 0, 0)
    assert stats["dropped"] == {"queue_full": 800, "invalid": 0, "send_failed": 200, "closed": 0, "sampled_out": 0, "redact_failed": 0}
    assert stats["attempted"] == 1000


def test_the_byte_cap_holds_too():
    entry = full_entry()
    cap = 960 * 1024  # the smallest allowed: max_batch_bytes
    producer = WitnessProducer(brokers=[dead_broker()], max_queue_bytes=cap, flush_timeout_ms=200)
    try:
        accepted = sum(producer.record(entry) for _ in range(500))
        cumulative = np.cumsum(sizes(producer, entry, 500))
        assert accepted == int(np.searchsorted(cumulative, cap, side="right")) and accepted > 100
        assert producer.stats()["pending_bytes"] <= cap
        assert producer.stats()["dropped"]["queue_full"] == 500 - accepted
    finally:
        producer.close()
    assert producer.stats()["dropped"]["send_failed"] == accepted


def test_a_critical_entry_times_out_and_stays_queued():
    producer = WitnessProducer(brokers=[dead_broker()], critical_timeout_ms=300, flush_timeout_ms=200)
    try:
        with pytest.raises(CriticalTimeoutError) as err:
            producer.record_critical(full_entry())
        assert err.value.retriable and producer.stats()["pending"] == 1
    finally:
        producer.close()
    assert producer.stats()["dropped"]["send_failed"] == 1


class Refusing:
    """librdkafka's produce() failing as it does when its own queue is full, or when it
    refuses a message outright; everything else goes to the real client."""

    def __init__(self, real, error):
        self._real, self._error = real, error

    def produce(self, *args, **kwargs):
        raise self._error

    def __getattr__(self, name):
        return getattr(self._real, name)


def test_librdkafka_refusals_are_counted_drops_never_exceptions():
    from confluent_kafka import KafkaError, KafkaException

    producer = WitnessProducer(brokers=[dead_broker()], flush_timeout_ms=100)
    real = producer._kafka
    try:
        producer._kafka = Refusing(real, BufferError("Local: Queue full"))
        assert producer.record(full_entry()) is False
        producer._kafka = Refusing(real, KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)))
        assert producer.record(full_entry()) is False
        stats = producer.stats()
        # Refused by the queue: never accepted. Refused by the client: accepted, then failed.
        assert (stats["total"], stats["pending"], stats["dropped"]["queue_full"], stats["dropped"]["send_failed"]) == (1, 0, 1, 1)
        assert stats["attempted"] == 2
    finally:
        producer._kafka = real
        producer.close()
