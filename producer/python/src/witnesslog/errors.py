"""The SDK's errors: the same codes as the TypeScript packages (schemas/src/errors.ts,
producer/src/errors.ts), so alerts and dead-letter reasons read one vocabulary.
`code` is stable and safe as a metric label; `retriable` says whether the same call
can succeed later."""
from __future__ import annotations

import json
from typing import Any

MAX_VALUE_CHARS = 80


class _Missing:
    """A field absent from the entry (TypeScript's undefined), told apart from None (null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: object = _Missing()


class WitnessError(Exception):
    code = "WITNESS_ERROR"
    retriable = False

    def __init__(self, message: str, *, retriable: bool | None = None) -> None:
        super().__init__(message)
        if retriable is not None:
            self.retriable = retriable


class InvalidEntryError(WitnessError):
    """An entry that breaks a rule of the schema or of `limits`; names the field and value."""

    code = "WITNESS_INVALID_ENTRY"

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(f"invalid witness entry: {field} = {describe_value(value)} ({reason})")
        self.field = field
        self.value = value
        self.reason = reason


class InvalidOptionError(WitnessError):
    """A bad option of WitnessProducer: refused at creation, naming it and its value."""

    code = "WITNESS_INVALID_OPTION"

    def __init__(self, option: str, value: Any, expected: str) -> None:
        super().__init__(f"invalid option {option} = {describe_value(value)} ({expected})")
        self.option = option
        self.value = value


class DecodeError(WitnessError):
    """Bytes that are not a witness entry message (the consumer dead-letters them)."""

    code = "WITNESS_MALFORMED_BODY"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ProducerClosedError(WitnessError):
    code = "WITNESS_PRODUCER_CLOSED"

    def __init__(self, message: str = "the witness producer is closed") -> None:
        super().__init__(message)


class CriticalTimeoutError(WitnessError):
    """record_critical() was not acknowledged in time; the entry stays queued and may
    still be delivered (downstream deduplicates by request_id)."""

    code = "WITNESS_CRITICAL_TIMEOUT"
    retriable = True

    def __init__(self, timeout_ms: int, request_id: str) -> None:
        super().__init__(
            f"critical witness entry {request_id} was not acknowledged by the broker within {timeout_ms} ms; "
            "it stays queued and may still be delivered"
        )
        self.timeout_ms = timeout_ms
        self.request_id = request_id


class FlushTimeoutError(WitnessError):
    code = "WITNESS_FLUSH_TIMEOUT"
    retriable = True

    def __init__(self, timeout_ms: int, pending: int) -> None:
        super().__init__(f"flush did not complete within {timeout_ms} ms: {pending} entries still pending")
        self.timeout_ms = timeout_ms
        self.pending = pending


class QueueFullError(WitnessError):
    code = "WITNESS_QUEUE_FULL"
    retriable = True

    def __init__(self, pending_bytes: int, max_queue_bytes: int) -> None:
        super().__init__(f"witness producer queue is full ({pending_bytes} of {max_queue_bytes} bytes)")
        self.pending_bytes = pending_bytes
        self.max_queue_bytes = max_queue_bytes


class SendFailedError(WitnessError):
    """The broker refused the entry for a reason retrying cannot fix."""

    code = "WITNESS_SEND_FAILED"

    def __init__(self, reason: str, topic: str) -> None:
        super().__init__(f"the broker refused witness entries for topic {topic}: {reason}")
        self.reason = reason
        self.topic = topic


def describe_value(value: Any) -> str:
    """Short printable form for messages: a 32 KiB stack trace must not become a 32 KiB log line."""
    if value is MISSING:
        text = "undefined"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif hasattr(value, "shape") and hasattr(value, "dtype"):
        text = f"{type(value).__name__}{tuple(value.shape)}"
    elif isinstance(value, (list, tuple)) and len(value) > 8:
        text = f"{type(value).__name__}({len(value)})"
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


class RedactFailedError(WitnessError):
    """The redact hook raised: the entry was dropped, never sent unredacted."""

    code = "WITNESS_REDACT_FAILED"

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"the redact hook raised {type(cause).__name__}; the witness entry was dropped, not sent unredacted", retriable=False)
