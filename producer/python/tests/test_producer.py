"""The producer against the real local broker: what record() accepts arrives, decoded
as written; what it refuses is counted under the TypeScript SDK's reasons; critical
writes wait for acks=all; stats() and the metrics say the same thing, under the names
of producer/metrics.json."""
import asyncio
import json
import logging
import re

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from witnesslog import (
    DROP_REASONS,
    PRODUCER_METRIC_NAMES,
    InvalidEntryError,
    ProducerClosedError,
    WitnessCodec,
    WitnessProducer,
    with_error,
)

from conftest import BROKERS, REPO, full_entry, read_topic, vector

TABLE = json.loads((REPO / "producer" / "metrics.json").read_text(encoding="utf-8"))


def typescript_stats_keys() -> set:
    source = next(p for p in (REPO / "producer").rglob("counts.ts") if "node_modules" not in p.parts).read_text(encoding="utf-8")
    body = re.search(r"interface WitnessProducerStats \{(.*?)\n\}", source, re.S).group(1)
    return set(re.findall(r"^\s+(\w+):", body, re.M))


def samples(registry: CollectorRegistry) -> dict:
    out = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out[s.name + json.dumps(s.labels, sort_keys=True)] = s.value
    return out


def sample(registry, name, **labels):
    return samples(registry).get(name + json.dumps(labels, sort_keys=True))


def test_recorded_entries_arrive_keyed_by_session_and_decode_as_written(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic) as producer:
        entries = [full_entry(session_id=f"session-{i % 3}", query_embedding=vector(768, i)) for i in range(30)]
        entries[7] = with_error(entries[7], code="CUDA_OOM", message="out of memory")
        assert all(producer.record(e) for e in entries)
        producer.flush(30)
        stats = producer.stats()
        assert (stats["total"], stats["delivered"], stats["pending"], stats["error"], stats["success"]) == (30, 30, 0, 1, 29)
        assert stats["connected"] is True
    messages = read_topic(topic, 30)
    codec = WitnessCodec()
    by_id = {e["request_id"]: e for e in entries}
    assert len(messages) == 30
    for msg in messages:
        decoded = codec.decode(msg.value())
        original = by_id[decoded["request_id"]]
        assert msg.key().decode() == original["session_id"]
        assert np.array_equal(np.frombuffer(decoded["query_embedding"], dtype=np.float32), original["query_embedding"])
        assert decoded["error"] == original["error"]


def test_stats_have_the_typescript_keys_and_invariants(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic) as producer:
        producer.record(full_entry())
        producer.record(full_entry(quality_score=2))
        producer.flush()
        stats = producer.stats()
    # `producer` (schema v2's identity) is a key of the TypeScript stats too once its v2 side lands.
    assert set(stats) == typescript_stats_keys() | {"producer"}
    assert set(stats["dropped"]) == set(TABLE["dropReasons"]) == set(DROP_REASONS)
    assert stats["total"] == stats["delivered"] + stats["dropped"]["send_failed"] + stats["pending"]
    assert stats["attempted"] == stats["total"] + stats["dropped"]["invalid"] + stats["dropped"]["queue_full"] + stats["dropped"]["closed"] + stats["dropped"]["sampled_out"] + stats["dropped"]["redact_failed"] == 2
    assert stats["sample_rate"] == 1.0 and stats["fast_crc32c"] is False
    assert producer.stats()["running"] is False


def test_bad_input_is_a_counted_drop_and_a_log_line_naming_the_field_never_an_exception(topic, caplog):
    logger = logging.getLogger("witness-test")

    class Hostile(dict):
        # The SDK reads each field once with [] into its own copy (.get is never called).
        def __getitem__(self, key):
            raise RuntimeError("a getter that throws")

    with WitnessProducer(brokers=[BROKERS], topic=topic, logger=logger) as producer, caplog.at_level(logging.WARNING, "witness-test"):
        bad = [None, 42, "entry", full_entry(query_embedding=[1.0] * 3), full_entry(model_used="huge"), Hostile(full_entry())]
        assert [producer.record(e) for e in bad] == [False] * len(bad)
        assert producer.record_batch([full_entry(), full_entry(tags=[""])]) == 1
        assert producer.record_batch(7) == 0
        producer.flush()
        assert producer.stats()["dropped"]["invalid"] == len(bad) + 1
        assert producer.stats()["delivered"] == 1
    # One warning per 10 s: the first bad entry is named.
    assert "invalid witness entry dropped: invalid witness entry: entry = null (must be an object)" in caplog.text


def test_a_logger_that_raises_never_reaches_the_caller(topic):
    class Broken:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise OSError("disk full")
            return fail

    with WitnessProducer(brokers=[BROKERS], topic=topic, logger=Broken()) as producer:
        assert producer.record(None) is False
        assert producer.record(full_entry()) is True
        producer.flush()


def test_record_critical_returns_once_acknowledged_sync_and_async(topic):
    registry = CollectorRegistry()
    with WitnessProducer(brokers=[BROKERS], topic=topic, registry=registry) as producer:
        producer.record_critical(with_error(full_entry(), code="OOM", message="generation aborted"))
        assert producer.stats()["delivered"] == 1

        async def critical():
            await producer.record_critical_async(full_entry())
        asyncio.run(critical())
        assert producer.stats()["delivered"] == 2
        with pytest.raises(InvalidEntryError) as err:
            producer.record_critical(full_entry(session_id=""))
        assert err.value.field == "session_id"
        assert sample(registry, "witness_producer_critical_write_duration_seconds_count") == 2
    with pytest.raises(ProducerClosedError):
        producer.record_critical(full_entry())
    assert producer.stats()["dropped"] == {"queue_full": 0, "invalid": 1, "send_failed": 0, "closed": 1, "sampled_out": 0, "redact_failed": 0}


def test_close_is_idempotent_and_later_entries_are_dropped_as_closed(topic):
    producer = WitnessProducer(brokers=[BROKERS], topic=topic)
    producer.record(full_entry())
    producer.close()
    producer.close()
    assert producer.record(full_entry()) is False
    stats = producer.stats()
    assert (stats["delivered"], stats["dropped"]["closed"], stats["running"], stats["connected"]) == (1, 1, False, False)


def test_metrics_follow_the_shared_table_and_agree_with_stats(topic):
    registry = CollectorRegistry()
    with WitnessProducer(brokers=[BROKERS], topic=topic, registry=registry) as producer:
        producer.record(full_entry())
        producer.record(with_error(full_entry(), code="E", message="m"))
        producer.record(None)
        producer.flush()
        families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
        stats = producer.stats()
        for row in TABLE["metrics"]:
            base = row["name"][: -len("_total")] if row["type"] == "counter" else row["name"]
            assert base in families, row["name"]
            assert families[base].type == row["type"], row["name"]
            for s in families[base].samples:
                assert set(s.labels) - {"le"} == set(row["labels"]), row["name"]
        assert PRODUCER_METRIC_NAMES == {row["key"]: row["name"] for row in TABLE["metrics"]}
        assert sample(registry, "witness_producer_entries_recorded_total") == stats["total"] == 2
        # full_entry() is model_used "large"; `other` is left out while it is zero, as in TS.
        assert sample(registry, "witness_producer_witnessed_requests_total", outcome="error", model="large") == 1
        assert sample(registry, "witness_producer_witnessed_requests_total", outcome="success", model="large") == 1
        assert sample(registry, "witness_producer_witnessed_requests_total", outcome="success", model="tiny") == 0
        assert sample(registry, "witness_producer_witnessed_requests_total", outcome="success", model="other") is None
        assert set(TABLE["models"]) == {"tiny", "small", "medium", "large", "other"}
        assert sample(registry, "witness_producer_entries_delivered_total") == 2
        for reason in TABLE["dropReasons"]:
            assert sample(registry, "witness_producer_entries_dropped_total", reason=reason) == stats["dropped"][reason]
        assert sample(registry, "witness_producer_queue_entries") == 0
        assert sample(registry, "witness_producer_connected") == 1
        assert sample(registry, "witness_producer_batch_entries_sum") == 2
        assert sample(registry, "witness_producer_send_duration_seconds_count") >= 1
