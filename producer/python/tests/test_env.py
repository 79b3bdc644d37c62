"""WITNESS_* variables (WITNESS_KAFKA_* for the connection), as the TypeScript SDK reads them: they fill in what the
arguments leave out, explicit arguments win, a bad variable is named, a password never
echoed. Read at construction from `env` (default os.environ), never at import."""
import logging

import pytest
from witnesslog import InvalidOptionError, WitnessProducer

from conftest import BROKERS, full_entry, read_topic


def test_brokers_and_topic_from_the_environment_deliver(topic):
    env = {"WITNESS_KAFKA_BROKERS": f" {BROKERS} ", "WITNESS_TOPIC": topic, "WITNESS_SAMPLE_RATE": "1"}
    with WitnessProducer(env=env) as producer:
        assert producer.options.brokers == (BROKERS,) and producer.options.topic == topic
        assert producer.record(full_entry())
        producer.flush()
    assert len(read_topic(topic, 1)) == 1


def test_explicit_arguments_win_over_variables():
    env = {"WITNESS_KAFKA_BROKERS": "elsewhere:9092", "WITNESS_TOPIC": "from-env", "WITNESS_SAMPLE_RATE": "0.5"}
    with WitnessProducer(brokers=[BROKERS], topic="explicit", sample_rate=1, env=env) as producer:
        assert producer.options.brokers == (BROKERS,)
        assert (producer.options.topic, producer.options.sample_rate) == ("explicit", 1.0)


def test_sasl_and_ssl_variables_reach_librdkafka():
    env = {"WITNESS_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "WITNESS_KAFKA_SASL_USERNAME": "svc", "WITNESS_KAFKA_SASL_PASSWORD": "pw ",
           "WITNESS_KAFKA_SSL_CA": "-----BEGIN CERTIFICATE-----", "WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED": "false"}
    from witnesslog.options import resolve_options

    config = resolve_options({"brokers": [BROKERS], "env": env}).librdkafka_config()
    assert config["security.protocol"] == "SASL_SSL" and config["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"]) == ("svc", "pw ")
    assert config["ssl.ca.pem"].startswith("-----BEGIN") and config["ssl.enable.certificate.verification"] is False


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WITNESS_SAMPLE_RATE": "lots"}, "WITNESS_SAMPLE_RATE"),
        ({"WITNESS_KAFKA_SSL": "maybe"}, "WITNESS_KAFKA_SSL"),
        ({"WITNESS_KAFKA_SSL": "false", "WITNESS_KAFKA_SSL_CA": "-----BEGIN CERTIFICATE-----"}, "WITNESS_KAFKA_SSL"),
        ({"WITNESS_KAFKA_SASL_MECHANISM": "kerberos"}, "WITNESS_KAFKA_SASL_MECHANISM"),
        ({"WITNESS_KAFKA_SASL_MECHANISM": "plain", "WITNESS_KAFKA_SASL_PASSWORD": "hunter2"}, "WITNESS_KAFKA_SASL_USERNAME"),
        ({"WITNESS_KAFKA_SASL_MECHANISM": "plain", "WITNESS_KAFKA_SASL_USERNAME": "u"}, "WITNESS_KAFKA_SASL_PASSWORD"),
        ({"WITNESS_KAFKA_SASL_USERNAME": "u", "WITNESS_KAFKA_SASL_PASSWORD": "hunter2"}, "WITNESS_KAFKA_SASL_MECHANISM"),
    ],
)
def test_a_bad_variable_is_named_and_the_password_never_echoed(env, named):
    with pytest.raises(InvalidOptionError) as info:
        WitnessProducer(brokers=[BROKERS], env=env)
    assert named in str(info.value) and "hunter2" not in str(info.value)


def test_an_old_name_still_works_and_warns_once(caplog):
    """WITNESS_BROKERS and WITNESS_SSL (the names before WITNESS_KAFKA_*) are still read;
    each is named in one warning with its replacement; with both set the new one wins."""
    logger = logging.getLogger("witness-env-test")
    env = {"WITNESS_BROKERS": BROKERS, "WITNESS_SSL": "false", "WITNESS_KAFKA_SSL": "true"}
    from witnesslog.options import resolve_options

    with caplog.at_level(logging.WARNING, logger="witness-env-test"):
        options = resolve_options({"env": env, "logger": logger})
    assert options.brokers == (BROKERS,) and options.ssl is True
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings
    assert "WITNESS_BROKERS is deprecated: rename it to WITNESS_KAFKA_BROKERS" in warnings[0]
    assert "WITNESS_SSL is deprecated and ignored: WITNESS_KAFKA_SSL is also set and wins" in warnings[1]
