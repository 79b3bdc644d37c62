"""The schema comes packaged with the SDK, and its fingerprint is computed from the
Parsing Canonical Form: it must equal fastavro's and the TypeScript codec's."""
import json
import re
from importlib import resources

import fastavro.schema
import witnesslog
from witnesslog import crc64_avro, current_schema_version, parsing_canonical_form
from witnesslog.schema import CRC64_AVRO_EMPTY, SchemaVersion

from conftest import FIXTURES, REPO


def test_the_packaged_schema_is_the_repository_file_and_read_from_the_package():
    packaged = resources.files("witnesslog").joinpath("schemas", "witness-entry.v1.avsc")
    assert packaged.read_text(encoding="utf-8") == (REPO / "schemas" / "witness-entry.v1.avsc").read_text(encoding="utf-8")
    # Imported from the installed build, not from the checkout's source folder.
    assert "producer/python/src" not in witnesslog.__file__


def test_fingerprint_equals_fastavro_and_the_typescript_codec():
    v1 = current_schema_version()
    form = fastavro.schema.to_parsing_canonical_form(v1.schema)
    assert v1.canonical_form == form
    # fastavro prints the fingerprint's bytes little-endian.
    assert bytes.fromhex(fastavro.schema.fingerprint(form, "CRC-64-AVRO")) == v1.fingerprint.to_bytes(8, "little")
    # schemas/test/unit/fingerprint.test.ts asserts the same value for the TypeScript codec.
    ts_test = (REPO / "schemas" / "test" / "unit" / "fingerprint.test.ts").read_text(encoding="utf-8")
    assert f"'{v1.fingerprint_hex}'" in ts_test
    assert v1.header == b"\xc3\x01" + bytes.fromhex("1384dc295d7bb3d5")


def test_crc64_avro_of_nothing_is_the_specification_empty_value():
    assert crc64_avro(b"") == CRC64_AVRO_EMPTY
    assert crc64_avro('"int"') == crc64_avro(b'"int"')


def test_canonical_form_strips_docs_defaults_and_namespaces_and_a_new_version_gets_another_fingerprint():
    v2 = SchemaVersion(2, json.loads((FIXTURES / "witness-entry.test-v3.avsc").read_text(encoding="utf-8")))
    assert v2.fingerprint != current_schema_version().fingerprint
    assert v2.canonical_form == fastavro.schema.to_parsing_canonical_form(v2.schema)
    form = parsing_canonical_form(current_schema_version().schema)
    assert '{"name":"model_used","type":"dev.witnesslog.ModelSize"}' in form
    assert not re.search(r'"doc"|"logicalType"|"default"|\s', form)
