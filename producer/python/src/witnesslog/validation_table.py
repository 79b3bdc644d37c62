"""The validation table: schemas/validation.json, the one table of limits, model sizes,
UUID shape and reason texts that this SDK's validator and schemas/src/validate.ts both
read. It is copied into the package at build (pyproject.toml) and read on first use,
never at import; after that the values are plain attributes, so the serving path pays
no lookup for them."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

TABLE_FILE = "validation.json"


@lru_cache(maxsize=None)
def table() -> dict[str, Any]:
    """The table as packaged with the SDK (read once, on first use)."""
    text = resources.files("witnesslog").joinpath("schemas", TABLE_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def reason(key: str, **values: object) -> str:
    """The reason text `key` (a shared one, else one of Python's own) with its {names} filled."""
    t = table()
    text = t["reasons"][key] if key in t["reasons"] else t["pythonReasons"][key]
    return text.format(**values) if values else text


def snake_case(name: str) -> str:
    """sessionIdMaxChars -> session_id_max_chars: the table's names as Python spells them."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class LazyNamespace:
    """Attributes computed by `load()` on first access, then kept as instance attributes
    (__getattr__ runs only for a name not found, so never again once loaded)."""

    def __init__(self, load: Callable[[], dict[str, Any]]) -> None:
        self._load = load

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # _load itself, copy and pickle probing: not table values
            raise AttributeError(name)
        self.__dict__.update(self._load())
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no {name!r}") from None

    def __dir__(self) -> list[str]:
        self.__dict__.update(self._load())
        return [k for k in self.__dict__ if not k.startswith("_")]


def _rules() -> dict[str, Any]:
    t = table()
    return {
        "default_dim": t["defaultDim"],
        # fullmatch: Python's $ would also match before a trailing newline.
        "uuid": re.compile(t["uuidPattern"]),
        "models": frozenset(t["modelSizes"]),
        "model_count": len(t["modelSizes"]),
        "float32_max": t["float32Max"],
        "timestamp_max_micros": t["timestampMaxMicros"],
    }


#: The size limits, named as in TypeScript's `limits` but snake_case (limits.session_id_max_chars).
limits = LazyNamespace(lambda: {snake_case(k): v for k, v in table()["limits"].items()})
#: The rest of the table the validator uses, ready to use (a compiled pattern, a frozenset).
rules = LazyNamespace(_rules)
