"""The validator's limits and reasons come from schemas/validation.json, the table the
TypeScript validator reads too, and it answers the shared boundary cases
(schemas/test/fixtures/validation-cases.json) as schemas/test/unit/validation-table.test.ts
expects of TypeScript: same entry in, same field and reason out."""
import copy
import json
import math
import subprocess
import sys

import pytest
from witnesslog import PRODUCER_DEFAULTS, InvalidEntryError, InvalidOptionError, limits, validate_entry
from witnesslog.options import resolve_options
from witnesslog.validate import check_dim
from witnesslog.validation_table import reason, rules, snake_case, table

from conftest import FIXTURES, REPO

TABLE = json.loads((REPO / "schemas" / "validation.json").read_text(encoding="utf-8"))
CASES = json.loads((FIXTURES / "validation-cases.json").read_text(encoding="utf-8"))
GOLDEN = json.loads((FIXTURES / "golden-entry.json").read_text(encoding="utf-8"))
_NUMBERS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def build(value):
    """A value of the cases file: JSON as written, or one of its forms (see valueForms there)."""
    if isinstance(value, list):
        return [build(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$repeat" in value:
        return value["$repeat"] * value["times"]
    if "$list" in value:
        return [build(value["$list"]) for _ in range(value["times"])]
    if "$number" in value:
        return _NUMBERS[value["$number"]]
    return {k: build(v) for k, v in value.items()}


def entry_of(case):
    """The golden entry with the case's path set to its value (or left out)."""
    if case["path"] == "":
        return build(case["value"])
    entry = copy.deepcopy(GOLDEN["entry"]["value"])
    *parents, last = [int(k) if k.isdigit() else k for k in case["path"].split(".")]
    target = entry
    for key in parents:
        target = target[key]
    if case["value"] == {"$delete": True}:
        del target[last]
    else:
        target[last] = build(case["value"])
    return entry


def outcome(run):
    try:
        run()
        return {"valid": True}
    except InvalidEntryError as err:
        return {"field": err.field, "reason": err.reason}
    except InvalidOptionError as err:
        # The reason is in the message only: `invalid option embedding_dim = 0 (reason)`.
        return {"reason": str(err)[str(err).rindex("(") + 1 : -1]}


def expected(case):
    want = case.get("python", case)  # an override is the whole outcome for Python
    if want.get("valid"):
        return {"valid": True}
    return {k: want[k] for k in ("field", "reason") if k in want}


def test_the_packaged_table_is_the_one_in_schemas():
    assert table() == TABLE, "the SDK build is stale: rm .run/python-sdk/.witnesslog-sdk && bash local/setup.sh"


def test_limits_default_dim_and_error_codes_are_those_of_the_table():
    assert {k: getattr(limits, snake_case(k)) for k in TABLE["limits"]} == TABLE["limits"]
    assert sorted(dir(limits)) == sorted(snake_case(k) for k in TABLE["limits"])
    assert limits.session_id_max_chars == 256  # the spelling callers use
    assert rules.default_dim == TABLE["defaultDim"]
    assert InvalidEntryError("f", 1, "r").code == TABLE["errorCodes"]["invalidEntry"]
    assert InvalidOptionError("o", 1, "r").code == TABLE["errorCodes"]["invalidOption"]


def test_the_producer_options_agree_with_the_table():
    # options.py keeps its own default and bound for embedding_dim: they must be the table's.
    assert PRODUCER_DEFAULTS["embedding_dim"] == TABLE["defaultDim"]
    top = TABLE["limits"]["embeddingMaxDim"]
    assert resolve_options({"brokers": ["b:9092"], "topic": "t", "embedding_dim": top, "env": {}}).embedding_dim == top
    with pytest.raises(InvalidOptionError, match="embedding_dim"):
        resolve_options({"brokers": ["b:9092"], "topic": "t", "embedding_dim": top + 1, "env": {}})


def test_reasons_are_the_shared_ones_then_pythons_own():
    for key, text in TABLE["reasons"].items():
        assert reason(key) == text
    for key, text in TABLE["pythonReasons"].items():
        assert reason(key) == text
    assert reason("tooLong", max=3, length=4) == "must be at most 3 characters, is 4"


@pytest.mark.parametrize("case", CASES["entryCases"], ids=lambda c: f"{c['path'] or 'entry'}={json.dumps(c['value'])[:40]}")
def test_each_shared_boundary_case_gets_the_field_and_reason_typescript_gets(case):
    assert outcome(lambda: validate_entry(entry_of(case), GOLDEN["dim"])) == expected(case)


@pytest.mark.parametrize("case", CASES["dimCases"], ids=lambda c: json.dumps(c["dim"]))
def test_each_shared_dimension_case(case):
    assert outcome(lambda: check_dim(case["dim"])) == expected(case)


def test_importing_the_sdk_reads_no_table():
    code = "import witnesslog, witnesslog.validation_table as t; print(t.table.cache_info().currsize)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0"
