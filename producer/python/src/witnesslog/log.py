"""The SDK's logging: through the caller's logger only, silent without one, and a
logger that raises (a broken handler) never reaches record() or the delivery thread."""
from __future__ import annotations

import time
from typing import Any, Callable


class Log:
    def __init__(self, logger: Any) -> None:
        self._logger = logger

    def _emit(self, level: str, msg: str, *args: Any) -> None:
        if self._logger is None:
            return
        try:
            getattr(self._logger, level)("witness-producer: " + msg, *args)
        except Exception:  # noqa: BLE001 - a failing logger must not fail the caller
            pass

    def debug(self, msg: str, *args: Any) -> None:
        self._emit("debug", msg, *args)

    def info(self, msg: str, *args: Any) -> None:
        self._emit("info", msg, *args)

    def warning(self, msg: str, *args: Any) -> None:
        self._emit("warning", msg, *args)

    def error(self, msg: str, *args: Any) -> None:
        self._emit("error", msg, *args)


def rate_limiter(interval_s: float, now: Callable[[], float] = time.monotonic) -> Callable[[], bool]:
    """True at most once per interval: for warnings that an outage would repeat per entry."""
    last = [-float("inf")]

    def allow() -> bool:
        t = now()
        if t - last[0] < interval_s:
            return False
        last[0] = t
        return True

    return allow
