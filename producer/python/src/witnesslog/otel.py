"""The trace of an entry the caller gave none: the active OpenTelemetry span's context,
when opentelemetry-api is installed (the optional extra `pip install witnesslog[otel]`),
as producer/src/otel.ts. Nothing is imported at `import witnesslog`, nor when a producer
is created: the API is imported the first time an entry without a trace is recorded, and
the answer (the API, or its absence) kept by that producer; without it, an entry costs
one comparison. The SDK only reads the active context: it sets no provider, patches
nothing and starts no span."""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

# The schema's rule; OpenTelemetry's ids are ints, so formatting them always gives lowercase.
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SPAN_ID = re.compile(r"[0-9a-f]{16}")


class ActiveTrace:
    """ActiveTrace()() -> {"trace_id", "span_id"} of the active span, or None (no
    OpenTelemetry, no span, an invalid context). Never raises."""

    def __init__(self, module: str = "opentelemetry.trace") -> None:
        self._module = module
        self._read: Optional[Callable[[], Any]] = None
        self._looked_up = False

    def __call__(self) -> Optional[dict[str, str]]:
        if not self._looked_up:
            self._read = _load(self._module)
            self._looked_up = True
        read = self._read
        if read is None:
            return None
        try:
            context = read()
            if not context.is_valid:
                return None
            trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
        except Exception:  # noqa: BLE001 - a broken context must not cost the entry
            return None
        if _TRACE_ID.fullmatch(trace_id) is None or _SPAN_ID.fullmatch(span_id) is None:
            return None  # out of range: not a W3C id
        return {"trace_id": trace_id, "span_id": span_id}

    @property
    def available(self) -> Optional[bool]:
        """None until looked up, then whether the API was found (for tests and stats)."""
        return self._read is not None if self._looked_up else None


def _load(module: str) -> Optional[Callable[[], Any]]:
    """The span-context reader of the API, or None when it is not installed or unusable."""
    try:
        trace = __import__(module, fromlist=["get_current_span"])
        get_current_span = trace.get_current_span
    except Exception:  # noqa: BLE001 - absent (ImportError) or broken: both mean "no trace"
        return None
    if not callable(get_current_span):
        return None
    return lambda: get_current_span().get_span_context()
