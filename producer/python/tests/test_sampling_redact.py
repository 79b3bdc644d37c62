"""sample_rate, the redact hook and hostile entries, against the real broker: each
refusal counted under its reason (sampled_out, redact_failed, invalid), record() never
raises whatever it is given, record_critical is never sampled and raises
RedactFailedError when the hook fails."""
import pytest
from witnesslog import InvalidEntryError, InvalidOptionError, RedactFailedError, WitnessCodec, WitnessProducer, with_error

from conftest import BROKERS, full_entry, read_topic


def test_sample_rate_keeps_errors_and_counts_the_rest_as_sampled_out(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic, sample_rate=0.2) as producer:
        kept = sum(producer.record(full_entry()) for _ in range(500))
        errors = sum(producer.record(with_error(full_entry(), code="E", message="m")) for _ in range(20))
        producer.flush()
        s = producer.stats()
    assert errors == 20
    assert 40 <= kept <= 180  # binomial(500, 0.2): mean 100, far inside
    assert s["dropped"]["sampled_out"] == 500 - kept
    assert s["total"] == s["delivered"] == kept + 20
    assert s["attempted"] == 520 and s["sample_rate"] == 0.2


def test_sample_rate_zero_and_record_critical_is_never_sampled(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic, sample_rate=0) as producer:
        assert producer.record(full_entry()) is False
        producer.record_critical(full_entry(request_id="00000000-0000-4000-8000-000000000001"))
        assert producer.stats()["dropped"]["sampled_out"] == 1
    assert len(read_topic(topic, 1)) == 1


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.5", True, float("nan")])
def test_sample_rate_outside_0_1_is_refused_naming_the_option(bad):
    with pytest.raises(InvalidOptionError, match="sample_rate"):
        WitnessProducer(brokers=[BROKERS], sample_rate=bad)


def test_redact_hook_runs_before_encoding(topic):
    def redact(entry):
        entry["tags"] = [t for t in entry["tags"] if not t.startswith("user:")]
        entry["session_id"] = "redacted"
        return entry

    with WitnessProducer(brokers=[BROKERS], topic=topic, redact=redact) as producer:
        original = full_entry(tags=["prod", "user:alice@example.com"])
        assert producer.record(original)
        producer.flush()
    assert original["tags"] == ["prod", "user:alice@example.com"]  # the caller's object is untouched
    [msg] = read_topic(topic, 1)
    decoded = WitnessCodec().decode(msg.value())
    assert decoded["tags"] == ["prod"] and msg.key() == b"redacted"


def test_a_raising_redact_hook_drops_as_redact_failed_and_critical_raises(topic):
    def redact(entry):
        raise ValueError("secret-in-message")

    with WitnessProducer(brokers=[BROKERS], topic=topic, redact=redact) as producer:
        assert producer.record(full_entry()) is False
        with pytest.raises(RedactFailedError) as info:
            producer.record_critical(full_entry())
        assert info.value.code == "WITNESS_REDACT_FAILED" and "secret-in-message" not in str(info.value)
        s = producer.stats()
    assert s["dropped"]["redact_failed"] == 2 and s["total"] == 0 and s["attempted"] == 2


def test_a_redact_hook_returning_no_mapping_is_redact_failed(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic, redact=lambda e: None) as producer:
        assert producer.record(full_entry()) is False
        assert producer.stats()["dropped"]["redact_failed"] == 1


class RaisingGetitem(dict):
    def __getitem__(self, key):
        raise RuntimeError("boom")


class RaisingKeys(dict):
    def keys(self):
        raise RuntimeError("boom")


class RaisingLen(list):
    def __len__(self):
        raise RuntimeError("boom")


class Shifty(dict):
    """Answers a valid model_used the first time it is read, garbage afterwards."""

    reads = 0

    def __getitem__(self, key):
        if key == "model_used":
            Shifty.reads += 1
            return "large" if Shifty.reads == 1 else object()
        return super().__getitem__(key)


def test_record_never_raises_on_hostile_objects(topic):
    with WitnessProducer(brokers=[BROKERS], topic=topic) as producer:
        for hostile in (RaisingGetitem(full_entry()), RaisingKeys(full_entry()), full_entry(tags=RaisingLen(["a"])), object(), 42, "x", None, [1]):
            assert producer.record(hostile) is False
        with pytest.raises(InvalidEntryError):
            producer.record_critical(RaisingGetitem(full_entry()))
        # Read once: validated and encoded from the same copy, so the shifting value cannot slip in.
        assert producer.record(Shifty(full_entry())) is True
        assert Shifty.reads == 1
        producer.flush()
        s = producer.stats()
    assert s["dropped"]["invalid"] == 9 and s["delivered"] == 1
