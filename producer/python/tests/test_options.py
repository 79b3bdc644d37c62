"""Options: the TypeScript SDK's names in snake_case with its defaults, validated once
at creation, naming the option and never echoing a secret."""
import math
import re

import pytest
from prometheus_client import CollectorRegistry
from witnesslog import PRODUCER_DEFAULTS, InvalidOptionError, WitnessProducer
from witnesslog.options import resolve_options

from conftest import REPO


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def typescript_defaults() -> dict:
    """producerDefaults of producer/src/options.ts, read from the source."""
    source = next(p for p in (REPO / "producer").rglob("options.ts") if "node_modules" not in p.parts).read_text(encoding="utf-8")
    body = re.search(r"producerDefaults = Object\.freeze\(\{(.*?)\}\);", source, re.S).group(1)
    constants = dict(re.findall(r"const (\w+)(?:: \w+)? = '(\w+)';", source))
    out = {}
    for key, raw in re.findall(r"(\w+): ([^,\n]+),", body):
        raw = raw.strip()
        if raw.startswith("'"):
            out[snake(key)] = raw.strip("'")
        elif raw in ("true", "false"):
            out[snake(key)] = raw == "true"
        elif raw in constants:
            out[snake(key)] = constants[raw]
        else:  # an integer, perhaps a product such as 64 * 1024 * 1024
            out[snake(key)] = math.prod(int(factor.replace("_", "")) for factor in raw.split("*"))
    return out


def test_defaults_are_the_typescript_sdk_defaults():
    ts = typescript_defaults()
    # fastCrc32c switches kafkajs's CRC module; librdkafka computes CRCs natively (README).
    assert ts.pop("fast_crc32_c", ts.pop("fast_crc32c", None)) is False
    assert ts == PRODUCER_DEFAULTS


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"brokers": []}, "brokers"),
        ({"brokers": ["kafka"]}, "brokers[0]"),
        ({"brokers": ["k:9092"], "topic": "bad topic"}, "topic"),
        ({"brokers": ["k:9092"], "max_queue_depth": 0}, "max_queue_depth"),
        ({"brokers": ["k:9092"], "linger_ms": 1.5}, "linger_ms"),
        ({"brokers": ["k:9092"], "max_queue_bytes": 1000}, "max_queue_bytes"),
        ({"brokers": ["k:9092"], "compression": "brotli"}, "compression"),
        ({"brokers": ["k:9092"], "retry_initial_ms": 500, "retry_max_ms": 100}, "retry_max_ms"),
        ({"brokers": ["k:9092"], "registry": object()}, "registry"),
        ({"brokers": ["k:9092"], "logger": object()}, "logger.debug"),
        ({"brokers": ["k:9092"], "max_queue_size": 5}, "max_queue_size"),
    ],
)
def test_a_bad_option_is_refused_naming_it(options, option):
    with pytest.raises(InvalidOptionError) as err:
        WitnessProducer(**options)
    assert err.value.option == option and err.value.code == "WITNESS_INVALID_OPTION"


def test_secrets_are_never_echoed():
    with pytest.raises(InvalidOptionError) as err:
        WitnessProducer(brokers=["k:9092"], sasl={"mechanism": "gssapi", "password": "hunter2"})
    assert "hunter2" not in str(err.value)
    with pytest.raises(InvalidOptionError) as err:
        WitnessProducer(brokers=["k:9092"], sasl_password="hunter2")
    assert "hunter2" not in str(err.value)


def test_librdkafka_gets_acks_all_idempotence_and_the_limits():
    o = resolve_options({"brokers": ["a:1", "b:2"], "linger_ms": 7, "compression": "gzip", "ssl": {"ca.location": "/ca.pem"},
                         "sasl": {"mechanism": "scram-sha-512", "username": "u", "password": "p"}})
    config = o.librdkafka_config()
    assert config["bootstrap.servers"] == "a:1,b:2"
    assert (config["acks"], config["enable.idempotence"], config["linger.ms"]) == ("all", True, 7)
    assert (config["batch.num.messages"], config["batch.size"], config["compression.type"]) == (500, 960 * 1024, "gzip")
    assert config["security.protocol"] == "SASL_SSL" and config["sasl.mechanisms"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"], config["ssl.ca.location"]) == ("u", "p", "/ca.pem")
    assert resolve_options({"brokers": ["a:1"]}).librdkafka_config()["security.protocol"] == "PLAINTEXT"


def test_one_producer_per_registry():
    registry = CollectorRegistry()
    first = WitnessProducer(brokers=["127.0.0.1:1"], registry=registry)
    try:
        with pytest.raises(InvalidOptionError) as err:
            WitnessProducer(brokers=["127.0.0.1:1"], registry=registry)
        assert err.value.option == "registry"
    finally:
        first.close()
