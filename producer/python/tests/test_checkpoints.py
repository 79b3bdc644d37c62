"""Checkpoints (issue 26) from the Python SDK: the record byte-identical to the
TypeScript SDK's (golden fixture), the range bookkeeping, and, through the real broker
and the TypeScript consumer, queue_full seqs reported in <collection>_checkpoints and
never stored, with close()'s final checkpoint."""
import json
import time
import urllib.request

import numpy as np
from witnesslog import WitnessProducer, create_witness_entry
from witnesslog.checkpoint import UndeliveredRanges, decode_checkpoint, encode_checkpoint

from conftest import BROKERS, FIXTURES, QDRANT_URL
from test_end_to_end import consumer  # noqa: F401 - the fixture: a real TypeScript consumer

DIM = 8


def test_the_golden_checkpoint_is_byte_identical_to_the_typescript_one():
    golden = json.loads((FIXTURES / "golden-checkpoint.json").read_text())
    message = encode_checkpoint(golden)
    (FIXTURES / "witness-checkpoint.python.hex").write_text(message.hex() + "\n")
    assert message.hex() == (FIXTURES / "witness-checkpoint.typescript.hex").read_text().strip()
    assert decode_checkpoint(message) == golden


def test_ranges_merge_sort_and_cap_like_the_typescript_sdk():
    r = UndeliveredRanges()
    for first, last, reason in [(2, 2, "queue_full"), (3, 5, "queue_full"), (6, 6, "closed"), (10, 10, "send_failed"), (8, 8, "send_failed"), (9, 9, "send_failed"), (0, 0, "send_failed")]:
        r.add(first, last, reason)
    assert r.list() == [
        {"from": 0, "to": 0, "reason": "send_failed"},
        {"from": 2, "to": 5, "reason": "queue_full"},
        {"from": 6, "to": 6, "reason": "closed"},
        {"from": 8, "to": 10, "reason": "send_failed"},
    ]
    capped = UndeliveredRanges(3)
    for seq in (0, 2, 4, 6):
        capped.add(seq, seq, "queue_full")
    assert [x["from"] for x in capped.list()] == [0, 2, 4] and capped.truncated


def scroll(collection: str, must: list) -> list:
    body = json.dumps({"filter": {"must": must}, "with_payload": True, "limit": 1000}).encode()
    request = urllib.request.Request(f"{QDRANT_URL}/collections/{collection}/points/scroll", data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return [p["payload"] for p in json.load(response)["result"]["points"]]
    except OSError:
        return []


def wait_for(what, check, timeout_s=30.0):
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout_s} s"
        time.sleep(0.2)


def test_queue_full_seqs_are_reported_in_checkpoints_and_never_stored_and_close_sends_the_final_one(consumer):  # noqa: F811
    names, _env = consumer
    collection = names["WITNESS_COLLECTION"]
    rng = np.random.default_rng(5)
    producer = WitnessProducer(brokers=[BROKERS], topic=names["WITNESS_TOPIC"], embedding_dim=DIM, service="py-ckpt", max_queue_depth=5, checkpoint_interval_ms=200)
    pid = producer.stats()["producer"]["id"]
    accepted = [producer.record(create_witness_entry(f"s{i}", rng.standard_normal(DIM).astype(np.float32))) for i in range(8)]
    assert accepted == [True] * 5 + [False] * 3, "five fit the queue; three dropped as queue_full, holding seqs 5..7"
    assert producer.stats()["producer"]["last_seq"] == 7
    producer.flush()
    by_producer = [{"key": "producer_id", "match": {"value": pid}}]
    wait_for("a periodic checkpoint stored", lambda: len(scroll(f"{collection}_checkpoints", by_producer)) >= 1)
    producer.close()
    wait_for("the final checkpoint stored", lambda: any(c["final"] for c in scroll(f"{collection}_checkpoints", by_producer)))
    final = next(c for c in scroll(f"{collection}_checkpoints", by_producer) if c["final"])
    assert (final["kind"], final["high_seq"], final["service"], final["undelivered"]) == ("checkpoint", 7, "py-ckpt", [{"from": 5, "to": 7, "reason": "queue_full"}])
    assert final["refused"] == {"invalid": 0, "sampled_out": 0, "redact_failed": 0}
    wait_for("the five entries stored", lambda: len(scroll(collection, [{"key": "producer.id", "match": {"value": pid}}])) == 5)
    seqs = sorted(p["producer"]["seq"] for p in scroll(collection, [{"key": "producer.id", "match": {"value": pid}}]))
    assert seqs == [0, 1, 2, 3, 4]
