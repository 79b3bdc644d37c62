"""Validation names the field, the value and the rule, with the reasons of
schemas/src/validate.ts; embeddings come from numpy arrays or lists."""
import math
from array import array

import numpy as np
import pytest
from witnesslog import (
    InvalidEntryError,
    create_witness_entry,
    is_success,
    validate_entry,
    with_error,
    with_latency,
    with_quality,
)
from witnesslog.errors import MISSING
from witnesslog.vectors import pack_embedding

from conftest import full_entry, vector


def invalid(entry, dim=768) -> InvalidEntryError:
    with pytest.raises(InvalidEntryError) as err:
        validate_entry(entry, dim)
    return err.value


def test_a_full_entry_and_a_fresh_one_are_valid():
    validate_entry(full_entry())
    validate_entry(create_witness_entry("s", vector(768)))


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"request_id": "6F9619FF-8B86-4011-B42D-00C04FC964FF"}, "request_id", "must be a lowercase UUID (8-4-4-4-12 hex digits)"),
        ({"session_id": ""}, "session_id", "must not be empty"),
        ({"session_id": "x" * 257}, "session_id", "must be at most 256 characters, is 257"),
        ({"quality_score": 1.5}, "quality_score", "must be within 0..1"),
        ({"quality_score": math.nan}, "quality_score", "must be finite"),
        ({"quality_score": "high"}, "quality_score", "must be a number"),
        ({"quality_score": True}, "quality_score", "must be a number"),
        ({"model_used": "huge"}, "model_used", "must be one of tiny, small, medium, large"),
        ({"model_used": ["large"]}, "model_used", "must be one of tiny, small, medium, large"),
        ({"timestamp": "2026-02-30T00:00:00Z"}, "timestamp", "is not a valid date"),
        ({"timestamp": "2026-11-23 21:57:52Z"}, "timestamp", "must be RFC 3339 UTC like 2026-11-23T21:57:52.123456Z, at most 6 fractional digits"),
        ({"tags": ["ok", ""]}, "tags[1]", "must not be empty"),
        ({"tags": ["t"] * 33}, "tags", "must have at most 32 entries, has 33"),
        ({"context_doc_ids": ["nope"]}, "context_doc_ids[0]", "must be a lowercase UUID (8-4-4-4-12 hex digits)"),
        ({"error": {"code": "X", "message": "m", "stack_trace": None}}, "error.recovery_attempted", "is required"),
        ({"error": "boom"}, "error", "must be an object or null"),
        ({"quality_metrics": {"overall_score": 1, "relevance": 2, "coherence": 0, "factuality": 0}}, "quality_metrics.relevance", "must be within 0..1"),
        ({"query_embedding": vector(767)}, "query_embedding", "must have exactly 768 values, has 767"),
        ({"response_embedding": [0.5] * 3}, "response_embedding", "must be empty or have exactly 768 values, has 3"),
        ({"query_embedding": np.zeros((1, 768), dtype=np.float32)}, "query_embedding", "must be a 1-D array, has shape (1, 768)"),
        ({"query_embedding": b"\0" * 3072}, "query_embedding", "must be a numpy array or a list of numbers, not bytes"),
    ],
)
def test_the_first_broken_rule_is_named(change, field, reason):
    err = invalid(full_entry(**change))
    assert (err.field, err.reason) == (field, reason)
    assert err.code == "WITNESS_INVALID_ENTRY"
    assert str(err).startswith(f"invalid witness entry: {field} = ")


def test_missing_fields_are_required_and_nested_paths_are_named():
    entry = full_entry()
    del entry["session_id"]
    assert (invalid(entry).field, invalid(entry).reason) == ("session_id", "is required")
    entry = full_entry()
    entry["routing_decision"] = {**entry["routing_decision"], "model_probs": [0.5, 0.5, 1.5, 0]}
    assert invalid(entry).field == "routing_decision.model_probs[2]"
    entry["routing_decision"] = {**entry["routing_decision"], "model_probs": [0.5], "context_size": 1.5}
    assert invalid(entry).field == "routing_decision.context_size"
    assert invalid(None).field == "entry"
    assert invalid([1, 2]).reason == "must be an object"


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ([0.0] * 17 + [math.nan] + [0.0] * 750, "query_embedding[17]", "must be finite"),
        ([0.0] * 5 + [1e39] + [0.0] * 762, "query_embedding[5]", "must fit in a float32 (magnitude up to 3.4e38)"),
        ([0.0] * 3 + ["x"] + [0.0] * 764, "query_embedding[3]", "must be a number"),
    ],
)
def test_a_bad_value_inside_an_embedding_is_named_by_index(values, field, reason):
    for form in (values, np.array(values, dtype=object) if "x" in values else np.array(values, dtype=np.float64)):
        err = invalid(full_entry(query_embedding=form))
        if isinstance(form, np.ndarray) and form.dtype == object:
            assert err.field == "query_embedding" and "dtype object" in err.reason
        else:
            assert (err.field, err.reason) == (field, reason)
    if "x" not in values:
        with np.errstate(over="ignore"):  # the test's own cast of 1e39, not the SDK's
            as_float32 = np.array(values, dtype=np.float32)
        err = invalid(full_entry(query_embedding=as_float32))
        assert err.field == field and err.reason == "must be finite"  # 1e39 is already inf in float32


def test_embeddings_pack_to_float32_little_endian_from_every_form():
    v = vector(768)
    expected = v.astype("<f4").tobytes()
    for form in (v, v.astype(np.float64), v.astype(">f4"), v.tolist(), tuple(v.tolist()), array("f", v.tolist())):
        assert pack_embedding(form, "query_embedding", 768, False) == expected
    assert pack_embedding([], "response_embedding", 768, True) == b""


def test_helpers_return_new_entries_and_leave_their_argument_alone():
    entry = create_witness_entry("session-1", vector(768))
    assert entry["model_used"] == "small" and entry["quality_score"] == 0 and is_success(entry)
    timed = with_latency(entry, embedding_ms=1, retrieval_ms=2, routing_ms=3, attention_ms=4, generation_ms=5)
    assert timed["latency"]["total_ms"] == 15 and entry["latency"]["total_ms"] == 0
    assert with_latency(entry, {"generation_ms": 9, "total_ms": 20})["latency"]["total_ms"] == 20
    scored = with_quality(timed, 0.8, {"overall_score": 0.8, "relevance": 0.7, "coherence": 0.9, "factuality": 1})
    assert scored["quality_score"] == 0.8 and with_quality(scored, 0.5)["quality_metrics"] == scored["quality_metrics"]
    failed = with_error(scored, {"code": "CUDA_OOM", "message": "out of memory"})
    assert failed["error"] == {"code": "CUDA_OOM", "message": "out of memory", "stack_trace": None, "recovery_attempted": False}
    assert not is_success(failed) and is_success(scored)
    assert with_error(entry, code="X", message="m", recovery_attempted=True)["error"]["recovery_attempted"] is True
    validate_entry(failed)


# --- schema v2: trace, usage, and the SDK's producer ----------------------------------

TRACE = {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}
IDENTITY = {"id": "5f0c6a1e-2b7d-4c3a-9e8f-1a2b3c4d5e6f", "seq": 41, "service": "golden-service", "host": "golden-host"}
TRACE_ID_RULE = "must be 32 lowercase hex digits, not all zeros"
SPAN_ID_RULE = "must be 16 lowercase hex digits, not all zeros"
TOKENS_RULE = "must be an integer within 0..2147483647"
SET_BY_SDK = "is set by the SDK, never by the caller"


@pytest.mark.parametrize(
    "change",
    [
        {"trace": TRACE, "usage": {"prompt_tokens": 512, "completion_tokens": 128}},
        {"trace": None, "usage": None, "producer": None},
        {"trace": {"trace_id": "0" * 31 + "1", "span_id": "0" * 15 + "1"}},
        {"usage": {"prompt_tokens": 0, "completion_tokens": 2**31 - 1}},
        {"usage": {"prompt_tokens": np.int64(7), "completion_tokens": np.uint16(3)}},
    ],
)
def test_v2_fields_may_be_set_null_or_left_out(change):
    validate_entry(full_entry(**change))


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"trace": {**TRACE, "trace_id": "0" * 32}}, "trace.trace_id", TRACE_ID_RULE),
        ({"trace": {**TRACE, "trace_id": TRACE["trace_id"].upper()}}, "trace.trace_id", TRACE_ID_RULE),
        ({"trace": {**TRACE, "trace_id": TRACE["trace_id"][:-1]}}, "trace.trace_id", TRACE_ID_RULE),
        ({"trace": {**TRACE, "trace_id": TRACE["trace_id"] + "\n"}}, "trace.trace_id", TRACE_ID_RULE),
        ({"trace": {**TRACE, "trace_id": 7}}, "trace.trace_id", TRACE_ID_RULE),
        ({"trace": {"span_id": TRACE["span_id"]}}, "trace.trace_id", "is required"),
        ({"trace": {**TRACE, "span_id": "0" * 16}}, "trace.span_id", SPAN_ID_RULE),
        ({"trace": {**TRACE, "span_id": "00F067AA0BA902B7"}}, "trace.span_id", SPAN_ID_RULE),
        ({"trace": {**TRACE, "span_id": TRACE["span_id"] + "0"}}, "trace.span_id", SPAN_ID_RULE),
        ({"trace": "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"}, "trace", "must be an object or null"),
        ({"trace": [TRACE["trace_id"], TRACE["span_id"]]}, "trace", "must be an object or null"),
        ({"usage": {"prompt_tokens": -1, "completion_tokens": 128}}, "usage.prompt_tokens", TOKENS_RULE),
        ({"usage": {"prompt_tokens": 2**31, "completion_tokens": 128}}, "usage.prompt_tokens", TOKENS_RULE),
        ({"usage": {"prompt_tokens": 1.5, "completion_tokens": 128}}, "usage.prompt_tokens", TOKENS_RULE),
        ({"usage": {"prompt_tokens": "512", "completion_tokens": 128}}, "usage.prompt_tokens", TOKENS_RULE),
        ({"usage": {"prompt_tokens": True, "completion_tokens": 128}}, "usage.prompt_tokens", TOKENS_RULE),
        ({"usage": {"prompt_tokens": 512, "completion_tokens": -1}}, "usage.completion_tokens", TOKENS_RULE),
        ({"usage": {"prompt_tokens": 512}}, "usage.completion_tokens", "is required"),
        ({"usage": 512}, "usage", "must be an object or null"),
        ({"producer": IDENTITY}, "producer", SET_BY_SDK),
        ({"producer": "my-service"}, "producer", SET_BY_SDK),
    ],
)
def test_a_bad_v2_field_is_named_with_the_shared_reason(change, field, reason):
    err = invalid(full_entry(**change))
    assert (err.field, err.reason) == (field, reason)
    top, _, sub = field.partition(".")
    given = change[top][sub] if sub and sub in change[top] else (MISSING if sub else change[top])
    assert err.value is given


@pytest.mark.parametrize(
    ("identity", "field"),
    [
        ({**IDENTITY, "id": "5F0C6A1E-2B7D-4C3A-9E8F-1A2B3C4D5E6F"}, "producer.id"),
        ({**IDENTITY, "seq": -1}, "producer.seq"),
        ({**IDENTITY, "seq": 2**63}, "producer.seq"),
        ({**IDENTITY, "seq": 1.0}, "producer.seq"),
        ({**IDENTITY, "service": ""}, "producer.service"),
        ({**IDENTITY, "host": "h" * 257}, "producer.host"),
        ("my-service", "producer"),
    ],
)
def test_an_entry_the_sdk_completed_has_its_producer_checked_like_any_field(identity, field):
    validate_entry(full_entry(producer=IDENTITY), origin="sdk")
    with pytest.raises(InvalidEntryError) as err:
        validate_entry(full_entry(producer=identity), origin="sdk")
    assert err.value.field == field
