"""Schema v2's producer identity, written by the SDK into every entry it accepts: an id
new for each instance, seq numbering the accepted entries from 0 without gaps in the
order record(), record_batch() and record_critical() accepted them (refused entries take
none), the service (option, WITNESS_SERVICE, the process's name) and the host. A caller's
own `producer`, a bad trace or a negative token count is refused by record(), named and
counted as invalid, never raised. Against the real local broker."""
import logging
import os
import re
import socket
import subprocess
import sys
import threading

import pytest
from witnesslog import InvalidEntryError, InvalidOptionError, WitnessCodec, WitnessProducer
from witnesslog.options import resolve_options

from conftest import BROKERS, full_entry, read_topic

DIM = 8
UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def decoded(topic, count):
    codec = WitnessCodec(dim=DIM)
    return [codec.decode(m.value()) for m in read_topic(topic, count)]


def fail_marked(entry):
    if "fail-redact" in entry["tags"]:
        raise RuntimeError("redact hook failed")
    return entry


def test_seq_numbers_accepted_entries_from_0_without_gaps_across_the_three_calls(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic, embedding_dim=DIM, max_batch_bytes=2048, redact=fail_marked, env={}) as producer:
        first = full_entry(DIM)
        assert producer.record(first)
        assert not producer.record(full_entry(DIM, quality_score=2))  # invalid: no seq
        assert not producer.record(full_entry(DIM, tags=["fail-redact"]))  # redact_failed: no seq
        assert not producer.record(full_entry(DIM, tags=["x" * 100] * 30))  # too large once encoded: no seq
        assert producer.record_batch([full_entry(DIM), full_entry(DIM, model_used="huge"), full_entry(DIM)]) == 2
        critical = full_entry(DIM)
        producer.record_critical(critical)
        with pytest.raises(InvalidEntryError):
            producer.record_critical(full_entry(DIM, session_id=""))
        assert producer.record(full_entry(DIM))
        producer.flush()
        stats = producer.stats()
    assert stats["dropped"]["invalid"] == 4 and stats["dropped"]["redact_failed"] == 1 and stats["total"] == 5
    entries = decoded(topic, 5)
    identities = [e["producer"] for e in entries]
    assert sorted(p["seq"] for p in identities) == [0, 1, 2, 3, 4]
    assert {(p["id"], p["service"], p["host"]) for p in identities} == {(stats["producer"]["id"], stats["producer"]["service"], stats["producer"]["host"])}
    by_id = {e["request_id"]: e["producer"]["seq"] for e in entries}
    assert (by_id[first["request_id"]], by_id[critical["request_id"]]) == (0, 3)
    assert stats["producer"]["last_seq"] == 4
    assert re.fullmatch(UUID4, stats["producer"]["id"])
    assert stats["producer"]["host"] == socket.gethostname()


def test_seq_is_gapless_under_concurrent_threads_and_each_instance_has_its_own_id(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic, embedding_dim=DIM, env={}) as a, WitnessProducer(brokers=[BROKERS], topic=topic, embedding_dim=DIM, env={}) as b:
        assert a.stats()["producer"]["last_seq"] is None

        def work():
            for i in range(50):
                a.record(full_entry(DIM)) if i % 5 else a.record_critical(full_entry(DIM))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert b.record(full_entry(DIM))
        a.flush()
        b.flush()
        ids = (a.stats()["producer"]["id"], b.stats()["producer"]["id"])
    entries = decoded(topic, 201)
    assert ids[0] != ids[1]
    assert sorted(e["producer"]["seq"] for e in entries if e["producer"]["id"] == ids[0]) == list(range(200))
    assert [e["producer"]["seq"] for e in entries if e["producer"]["id"] == ids[1]] == [0]


OWN = {"id": "5f0c6a1e-2b7d-4c3a-9e8f-1a2b3c4d5e6f", "seq": 41, "service": "mine", "host": "mine"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"producer": OWN}, "producer = {"),
        ({"producer": "mine"}, 'producer = "mine" (is set by the SDK, never by the caller)'),
        ({"tags": ["sneak"]}, "producer = {"),  # the redact hook sets one: refused all the same
        ({"trace": {"trace_id": "0" * 32, "span_id": "00f067aa0ba902b7"}}, 'trace.trace_id = "00000000000000000000000000000000" (must be 32 lowercase hex'),
        ({"trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "XYZ"}}, 'trace.span_id = "XYZ" (must be 16 lowercase hex'),
        ({"usage": {"prompt_tokens": -3, "completion_tokens": 1}}, "usage.prompt_tokens = -3 (must be an integer within 0..2147483647)"),
        ({"usage": {"prompt_tokens": 3, "completion_tokens": 2**31}}, "usage.completion_tokens = 2147483648 (must be an integer"),
    ],
)
def test_a_callers_producer_a_bad_trace_or_token_count_is_refused_by_record_named_and_counted(topic, caplog, change, named):
    logger = logging.getLogger("witness-identity-test")
    sneak = lambda e: {**e, "producer": OWN} if "sneak" in e["tags"] else e  # noqa: E731
    with WitnessProducer(brokers=[BROKERS], topic=topic, embedding_dim=DIM, logger=logger, redact=sneak, env={}) as producer:
        with caplog.at_level(logging.WARNING, "witness-identity-test"):
            assert producer.record(full_entry(DIM, **change)) is False
        assert producer.stats()["dropped"]["invalid"] == 1 and producer.stats()["total"] == 0
    assert named in caplog.text, caplog.text


def test_record_critical_raises_for_a_callers_producer_and_given_trace_and_usage_arrive(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic, embedding_dim=DIM, env={}) as producer:
        with pytest.raises(InvalidEntryError) as err:
            producer.record_critical(full_entry(DIM, producer=OWN))
        assert (err.value.field, err.value.value, err.value.reason) == ("producer", OWN, "is set by the SDK, never by the caller")
        good = full_entry(DIM, trace={"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}, usage={"prompt_tokens": 512, "completion_tokens": 128})
        assert producer.record(good)
        producer.flush()
        assert producer.stats()["dropped"]["invalid"] == 1
    (entry,) = decoded(topic, 1)
    assert (entry["trace"], entry["usage"]) == (good["trace"], good["usage"])
    assert entry["producer"]["seq"] == 0 and entry["producer"]["id"] != OWN["id"]


def options(**given):
    return resolve_options({"brokers": ["b:9092"], "topic": "t", **given})


def test_service_comes_from_the_option_then_witness_service_then_the_process_name():
    assert options(service="router", env={"WITNESS_SERVICE": "other"}).service == "router"
    assert options(env={"WITNESS_SERVICE": " checkout "}).service == "checkout"
    for bad in ("", "   ", "s" * 257, 7):
        with pytest.raises(InvalidOptionError, match="invalid option service"):
            options(service=bad, env={})
    with pytest.raises(InvalidOptionError, match="invalid option WITNESS_SERVICE"):
        options(env={"WITNESS_SERVICE": "s" * 257})
    assert options(service="é" * 256, env={}).service == "é" * 256


@pytest.mark.parametrize(("argv", "service"), [(["serve.py"], "serve.py"), (["-m", "servepkg"], "servepkg"), (["-c", "import serve"], None)])
def test_the_default_service_is_the_processs_name(tmp_path, argv, service):
    code = "from witnesslog.options import resolve_options as r; print(r({'brokers': ['b:9092'], 'env': {}}).service)"
    (tmp_path / "serve.py").write_text(code, encoding="utf-8")
    (tmp_path / "servepkg").mkdir()
    (tmp_path / "servepkg" / "__main__.py").write_text(code, encoding="utf-8")
    if argv[0] == "-c":
        argv = ["-c", code]
    out = subprocess.run([sys.executable, *argv], cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert out == (service or os.path.basename(sys.executable))
