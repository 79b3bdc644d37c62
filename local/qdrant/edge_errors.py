"""The one error the embedded engine answers with: a refusal carrying the real server's HTTP status."""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """A request Edge (or this module) refuses; `status` is the real server's HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def run(call: Any) -> Any:
    """Edge raises a plain Exception with the real server's message; the server answers those with 400."""
    try:
        return call()
    except EngineError:
        raise
    except Exception as err:  # noqa: BLE001 - Edge has no exception classes of its own
        message = str(err)
        raise EngineError(400, message if message.startswith(("Wrong input", "Bad request")) else f"Wrong input: {message}") from None
