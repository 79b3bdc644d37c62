"""The Python SDK's hot path beside what a Python user would otherwise write:
    producer.produce(topic, json.dumps(entry)); producer.flush()   # per request
Same process, same broker, same entries (768-dim numpy embeddings). Also record() with
the codec writing schema v1 beside the v2 it writes (producer, trace and usage; the
trace looked up in OpenTelemetry when installed, as in the SDK's test venv). Prints one
JSON object with the samples' summaries; bench/python-producer.bench.ts turns it into rows.

    WITNESS_KAFKA_BROKERS=127.0.0.1:9092 python record_bench.py [scale]
"""
from __future__ import annotations

import gc
import json
import os
import secrets
import sys
import time

import numpy as np
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from witnesslog import WitnessCodec, WitnessProducer, create_witness_entry, schema_version, with_latency, with_quality

BROKERS = os.environ.get("WITNESS_KAFKA_BROKERS", "127.0.0.1:9092")
SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
REPEATS = 3


def n(count: int) -> int:
    return max(1, round(count * SCALE))


def entries(count: int) -> list:
    rng = np.random.default_rng(1)
    out = []
    for i in range(count):
        e = create_witness_entry(f"session-{i % 50}", rng.standard_normal(768).astype(np.float32))
        e["response_embedding"] = rng.standard_normal(768).astype(np.float32)
        e["tags"] = ["bench", f"n{i % 7}"]
        out.append(with_quality(with_latency(e, embedding_ms=1, retrieval_ms=2, routing_ms=0.5, attention_ms=20, generation_ms=300), 0.8))
    return out


def summary(samples_us: list[float]) -> dict:
    s = sorted(samples_us)
    return {"median": s[len(s) // 2], "p99": s[min(len(s) - 1, int(0.99 * len(s)))]}


def redact(entry: dict) -> dict:
    """A typical hook: strip the user tags."""
    entry["tags"] = [t for t in entry["tags"] if not t.startswith("user:")]
    return entry


def record_cost(producer: WitnessProducer, pool: list, count: int, sampled: bool = False) -> list[float]:
    """Per-call µs of record(), in bursts of 200 with a pause between them (a serving
    node records between requests; the delivery thread works meanwhile)."""
    samples = []
    clock = time.perf_counter_ns
    for i in range(count):
        entry = pool[i % len(pool)]
        t0 = clock()
        ok = producer.record(entry)
        samples.append((clock() - t0) / 1000)
        if not ok and not sampled:
            raise RuntimeError(f"entry dropped: {producer.stats()}")
        if i % 200 == 199:
            time.sleep(0.005)
    producer.flush(60)
    return samples


def writing_v1(producer: WitnessProducer) -> WitnessProducer:
    """The same producer with its codec writing schema v1, as record() did before v2 (the
    identity is still set, and dropped by the v1 writer): the bench's one reach inside."""
    producer._codec = WitnessCodec(dim=producer.options.embedding_dim, reader=schema_version(1))
    return producer


def throughput(producer: WitnessProducer, pool: list, count: int) -> float:
    """Records as fast as the queue takes entries (backing off below its cap), then flushes."""
    started = time.perf_counter()
    high = producer.options.max_queue_depth - 1000
    for i in range(count):
        while producer.stats()["pending"] >= high:
            time.sleep(0.001)
        if not producer.record(pool[i % len(pool)]):
            raise RuntimeError(f"entry {i} dropped: {producer.stats()}")
    producer.flush(120)
    return count / (time.perf_counter() - started)


def naive_json(entry: dict) -> str:
    return json.dumps({**entry, "query_embedding": entry["query_embedding"].tolist(), "response_embedding": entry["response_embedding"].tolist()})


def naive_cost(topic: str, pool: list, count: int) -> tuple[list[float], float]:
    """produce(json.dumps(entry)) then flush() per request: µs per call, and entries/s."""
    producer = Producer({"bootstrap.servers": BROKERS, "acks": "all", "enable.idempotence": True})
    samples = []
    started = time.perf_counter()
    for i in range(count):
        entry = pool[i % len(pool)]
        t0 = time.perf_counter_ns()
        producer.produce(topic, naive_json(entry).encode(), entry["session_id"].encode())
        producer.flush()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    rate = count / (time.perf_counter() - started)
    return samples, rate


def main() -> None:
    admin = AdminClient({"bootstrap.servers": BROKERS})
    topics = [f"bench-py-{name}-{secrets.token_hex(4)}" for name in ("ours", "naive")]
    for f in admin.create_topics([NewTopic(t, num_partitions=3, replication_factor=1) for t in topics]).values():
        f.result(30)
    pool = entries(2000)
    result: dict = {"ours": {"median": [], "p99": [], "rate": []}, "shaped": {"median": [], "p99": []}, "v1": {"median": [], "p99": []}, "naive": {"median": [], "p99": [], "rate": []}, "python": sys.version.split()[0]}
    try:
        for _ in range(REPEATS):
            with WitnessProducer(brokers=[BROKERS], topic=topics[0]) as producer:
                record_cost(producer, pool, 500)  # warm-up: connection, first batches
                gc.collect()
                s = summary(record_cost(producer, pool, n(5000)))
                result["ours"]["median"].append(s["median"])
                result["ours"]["p99"].append(s["p99"])
                result["ours"]["rate"].append(throughput(producer, pool, n(20000)))
            # record() with sample_rate 0.1 and a redact hook, as the TypeScript bench does.
            with WitnessProducer(brokers=[BROKERS], topic=topics[0], sample_rate=0.1, redact=redact) as producer:
                record_cost(producer, pool, 500, sampled=True)
                gc.collect()
                s = summary(record_cost(producer, pool, n(5000), sampled=True))
                result["shaped"]["median"].append(s["median"])
                result["shaped"]["p99"].append(s["p99"])
            with writing_v1(WitnessProducer(brokers=[BROKERS], topic=topics[0])) as producer:
                record_cost(producer, pool, 500)
                gc.collect()
                s = summary(record_cost(producer, pool, n(5000)))
                result["v1"]["median"].append(s["median"])
                result["v1"]["p99"].append(s["p99"])
            samples, rate = naive_cost(topics[1], pool, n(300))
            s = summary(samples)
            result["naive"]["median"].append(s["median"])
            result["naive"]["p99"].append(s["p99"])
            result["naive"]["rate"].append(rate)
    finally:
        admin.delete_topics(topics)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
