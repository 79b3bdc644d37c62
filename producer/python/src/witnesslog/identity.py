"""Who writes an entry (schema v2's `producer`), as producer/src/identity.ts: an id new
for each SDK instance (uuid4), the service (option `service`, WITNESS_SERVICE, or the
process's name) and the host (the OS's name). `seq` numbers the entries the instance
accepted: it is the count of entries accepted before this one (the producer's
`_recorded`, taken under the lock that accepts it, enqueue.py), so it runs from 0
without gaps in acceptance order, and an entry refused before acceptance takes none."""
from __future__ import annotations

import os
import socket
import sys
import uuid
from typing import Any

from .errors import InvalidOptionError
from .validation_table import limits


def resolve_service(value: Any, name: str = "service") -> str:
    """The `service` option (or the variable `name`), checked; the process's name when none was given."""
    top = limits.producer_service_max_chars
    if value is None:
        return _clip(_process_name(), top) or "python"
    if not isinstance(value, str) or value.strip() == "" or _utf16_length(value) > top:
        raise InvalidOptionError(name, value, f"a non-empty string of at most {top} characters (or WITNESS_SERVICE)")
    return value


def instance_identity(service: str) -> dict[str, str]:
    """A new identity, without its seq: called once per producer, at creation."""
    try:
        host = socket.gethostname()
    except OSError:
        host = ""
    # The OS's name could in principle be empty or longer than the schema allows; the entry must stay valid.
    return {"id": str(uuid.uuid4()), "service": service, "host": _clip(host, limits.producer_host_max_chars) or "unknown-host"}


def _process_name() -> str:
    """The script being run (`python serve.py` -> serve.py; `python -m uvicorn` -> uvicorn),
    else the executable's name (`python -c`, an embedded interpreter)."""
    argv = getattr(sys, "argv", None) or [""]
    path = str(argv[0])
    name = os.path.basename(path)
    if name == "__main__.py":
        name = os.path.basename(os.path.dirname(path))
    if name in ("", "-c", "-m"):
        name = os.path.basename(sys.executable or "")
    return name


def _utf16_length(text: str) -> int:
    # Lengths count UTF-16 code units, as the validator and TypeScript's String#length do.
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _clip(text: str, top: int) -> str:
    while _utf16_length(text) > top:
        text = text[:-1]
    return text
