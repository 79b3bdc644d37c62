"""The schemas (v1, and v2 which the SDK writes) come packaged with the SDK, and their
fingerprints are computed from the Parsing Canonical Form: they must equal fastavro's
and the TypeScript codec's."""
import json
import re
from importlib import resources

import fastavro.schema
import pytest
import witnesslog
from witnesslog import crc64_avro, current_schema_version, parsing_canonical_form, schema_version, schema_versions
from witnesslog.schema import CRC64_AVRO_EMPTY, SchemaVersion

from conftest import EVOLUTION_SCHEMA, REPO


def test_the_packaged_schemas_are_the_repository_files_and_read_from_the_package():
    for name in ("witness-entry.v1.avsc", "witness-entry.v2.avsc"):
        packaged = resources.files("witnesslog").joinpath("schemas", name)
        assert packaged.read_text(encoding="utf-8") == (REPO / "schemas" / name).read_text(encoding="utf-8")
    assert [v.version for v in schema_versions()] == [1, 2]
    assert current_schema_version() is schema_version(2)
    with pytest.raises(ValueError, match="no schema version 3"):
        schema_version(3)
    # Imported from the installed build, not from the checkout's source folder.
    assert "producer/python/src" not in witnesslog.__file__


def test_fingerprint_equals_fastavro_and_the_typescript_codec():
    v1 = schema_version(1)
    form = fastavro.schema.to_parsing_canonical_form(v1.schema)
    assert v1.canonical_form == form
    # fastavro prints the fingerprint's bytes little-endian.
    assert bytes.fromhex(fastavro.schema.fingerprint(form, "CRC-64-AVRO")) == v1.fingerprint.to_bytes(8, "little")
    # schemas/test/unit/fingerprint.test.ts asserts the same value for the TypeScript codec.
    ts_test = (REPO / "schemas" / "test" / "unit" / "fingerprint.test.ts").read_text(encoding="utf-8")
    assert f"'{v1.fingerprint_hex}'" in ts_test
    assert v1.header == b"\xc3\x01" + bytes.fromhex("1384dc295d7bb3d5")


def test_v2_fingerprint_equals_fastavro_and_v2_is_v1_plus_three_nullable_fields_with_defaults():
    v1, v2 = schema_version(1), schema_version(2)
    form = fastavro.schema.to_parsing_canonical_form(v2.schema)
    assert v2.canonical_form == form
    assert bytes.fromhex(fastavro.schema.fingerprint(form, "CRC-64-AVRO")) == v2.fingerprint.to_bytes(8, "little")
    assert v2.header == b"\xc3\x01" + bytes.fromhex("4470dcc0d272a026")
    assert v2.schema["fields"][: len(v1.schema["fields"])] == v1.schema["fields"]
    added = v2.schema["fields"][len(v1.schema["fields"]) :]
    assert [(f["name"], f["type"][0], f["type"][1]["name"], f["default"]) for f in added] == [
        ("producer", "null", "ProducerIdentity", None), ("trace", "null", "TraceContext", None), ("usage", "null", "TokenUsage", None)
    ]


def test_crc64_avro_of_nothing_is_the_specification_empty_value():
    assert crc64_avro(b"") == CRC64_AVRO_EMPTY
    assert crc64_avro('"int"') == crc64_avro(b'"int"')


def test_canonical_form_strips_docs_defaults_and_namespaces_and_a_new_version_gets_another_fingerprint():
    newer = SchemaVersion(3, json.loads(EVOLUTION_SCHEMA.read_text(encoding="utf-8")))
    assert newer.fingerprint != current_schema_version().fingerprint
    assert newer.canonical_form == fastavro.schema.to_parsing_canonical_form(newer.schema)
    form = parsing_canonical_form(current_schema_version().schema)
    assert '{"name":"model_used","type":"dev.witnesslog.ModelSize"}' in form
    assert not re.search(r'"doc"|"logicalType"|"default"|\s', form)
