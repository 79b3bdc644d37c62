"""An entry's trace from OpenTelemetry: when the caller gave none and opentelemetry-api is
installed (the `otel` extra), record() takes the active span's context; an invalid one
is left out. Tested with the real API, SDK and context manager (contextvars), inside
and outside a span. Without OpenTelemetry nothing is imported, neither at
`import witnesslog` nor when a producer is created, and the absence is looked up once."""
import json
import subprocess
import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan, SpanContext, TraceFlags
from witnesslog import WitnessCodec, WitnessProducer
from witnesslog.otel import ActiveTrace

from conftest import BROKERS, full_entry, read_topic

DIM = 8
GIVEN = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}


@pytest.fixture
def tracer():
    # A provider of its own, never installed as the global one: the test changes nothing either.
    provider = TracerProvider()
    yield provider.get_tracer("witnesslog-test")
    provider.shutdown()


def ids(span) -> dict:
    context = span.get_span_context()
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


def test_the_active_span_is_read_inside_a_span_and_nothing_outside(tracer):
    active = ActiveTrace()
    assert active.available is None  # nothing looked up before the first entry
    assert active() is None
    assert active.available is True
    with tracer.start_as_current_span("request") as span:
        assert active() == ids(span)
        with tracer.start_as_current_span("generate") as child:
            assert active() == ids(child) and ids(child)["trace_id"] == ids(span)["trace_id"]
        assert active() == ids(span)
    assert active() is None


def test_an_invalid_span_context_is_left_out(tracer):
    active = ActiveTrace()
    with trace.use_span(NonRecordingSpan(INVALID_SPAN_CONTEXT)):
        assert active() is None
    zero_span = SpanContext(trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0, is_remote=True, trace_flags=TraceFlags(1))
    with trace.use_span(NonRecordingSpan(zero_span)):
        assert active() is None
    remote = SpanContext(trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7, is_remote=True)
    with trace.use_span(NonRecordingSpan(remote)):
        assert active() == GIVEN  # a valid remote parent (W3C traceparent) is read, lowercase, zero-padded


def test_without_opentelemetry_the_absence_is_looked_up_once_and_kept(monkeypatch):
    missing = "witnesslog_test_no_such_module.trace"
    active = ActiveTrace(missing)
    assert active() is None and active.available is False
    # Installed afterwards: the answer was kept, nothing is imported again.
    monkeypatch.setitem(sys.modules, missing, trace)
    assert active() is None and active.available is False
    fresh = ActiveTrace(missing)  # another producer looks up afresh, and now finds it
    assert fresh() is None and fresh.available is True


def test_record_takes_the_trace_from_the_active_span_unless_the_caller_gave_one(topic, tracer):
    with WitnessProducer(brokers=[BROKERS], topic=topic, embedding_dim=DIM, env={}) as producer:
        outside = full_entry(DIM)
        assert producer.record(outside)
        with tracer.start_as_current_span("request") as span:
            inside, given, nulled = full_entry(DIM), full_entry(DIM, trace=GIVEN), full_entry(DIM, trace=None)
            assert producer.record(inside) and producer.record(given) and producer.record(nulled)
            critical = full_entry(DIM)
            producer.record_critical(critical)
            expected = ids(span)
        producer.flush()
    codec = WitnessCodec(dim=DIM)
    got = {e["request_id"]: e["trace"] for e in (codec.decode(m.value()) for m in read_topic(topic, 5))}
    assert got[outside["request_id"]] is None
    assert got[inside["request_id"]] == got[nulled["request_id"]] == got[critical["request_id"]] == expected
    assert got[given["request_id"]] == GIVEN
    assert "trace" not in inside  # the caller's entry is left alone: the SDK fills its own copy


def test_importing_witnesslog_and_recording_with_a_trace_imports_no_opentelemetry():
    code = """
import json, sys
def otel(): return sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")
import witnesslog
seen = {"import": otel()}
p = witnesslog.WitnessProducer(brokers=["127.0.0.1:1"], topic="t", embedding_dim=4, flush_timeout_ms=1, env={})
seen["create"] = otel()
e = witnesslog.create_witness_entry("s", [0.5, 0.5, 0.5, 0.5])
p.record({**e, "trace": {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}})
seen["given"] = otel()
p.record(e)
seen["without"] = otel()
p.close()
print(json.dumps(seen))
"""
    seen = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout)
    assert seen["import"] == seen["create"] == seen["given"] == []
    # Installed here (the test extra): looked up on the first entry without a trace.
    assert "opentelemetry.trace" in seen["without"]


def test_opentelemetry_is_the_optional_otel_extra_and_no_dependency():
    from importlib.metadata import metadata

    requires = [r.replace("'", '"') for r in metadata("witnesslog").get_all("Requires-Dist")]
    assert any(r.startswith("opentelemetry-api") and 'extra == "otel"' in r for r in requires), requires
    assert not any(r.startswith("opentelemetry") and "extra ==" not in r for r in requires), requires
