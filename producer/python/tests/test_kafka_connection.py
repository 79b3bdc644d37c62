"""The Kafka connection parser against the table the TypeScript packages are tested
with too (core/kafka-connection.cases.json): a case that passes there and fails here,
or the reverse, is the two parsers drifting apart. Needs no broker."""
import json

import pytest
from witnesslog import InvalidOptionError
from witnesslog.kafka_connection import SDK_LEGACY_KAFKA_NAMES, EnvReader, kafka_connection_from_env
from witnesslog.options import TOPIC_NAME_RULE, is_topic_name, resolve_options

from conftest import REPO

TABLE = json.loads((REPO / "core" / "kafka-connection.cases.json").read_text(encoding="utf-8"))
FIXTURES = str(REPO / "core" / "test" / "fixtures")
# The table's keys are the TypeScript ones; the Python parser's are snake_case.
KEYS = {"client_id": "clientId", "reject_unauthorized": "rejectUnauthorized"}
# The consumer's old names are TypeScript only: the SDK never reads KAFKA_*.
CASES = [c for c in TABLE["cases"] if c.get("legacy") != "consumer"]


def parse(case):  # type: ignore[no-untyped-def]
    env = {k: v.replace("{fixtures}", FIXTURES) for k, v in case["env"].items()}
    reader = EnvReader(env, SDK_LEGACY_KAFKA_NAMES if case.get("legacy") == "sdk" else {})
    return reader, lambda: kafka_connection_from_env(reader)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_shared_table(case):  # type: ignore[no-untyped-def]
    reader, connection = parse(case)
    if "error" in case:
        with pytest.raises(InvalidOptionError) as info:
            connection()
        assert info.value.option == case["error"]
        for key, value in case["env"].items():
            if "PASSWORD" in key:
                assert value.strip() not in str(info.value)
        return
    got = {KEYS.get(k, k): v for k, v in connection().items()}
    assert got == case["expect"]
    if "deprecated" in case:
        assert [d.__dict__ for d in reader.deprecations] == case["deprecated"]


def test_the_topic_name_rule_and_its_words_are_the_tables():
    assert TOPIC_NAME_RULE == TABLE["topicNameRule"]
    assert [n for n in TABLE["topicNames"]["valid"] if not is_topic_name(n)] == []
    assert [n for n in TABLE["topicNames"]["invalid"] if is_topic_name(n)] == []


def test_brokers_as_a_string_are_refused_and_ipv6_accepted():
    with pytest.raises(InvalidOptionError) as info:
        resolve_options({"brokers": "127.0.0.1:9092", "env": {}})
    assert info.value.option == "brokers"
    assert resolve_options({"brokers": ["[::1]:9092"], "env": {}}).brokers == ("[::1]:9092",)
    with pytest.raises(InvalidOptionError) as info:
        resolve_options({"brokers": ["::1:9092"], "env": {}})
    assert info.value.option == "brokers[0]"
