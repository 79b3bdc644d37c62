"""Entry timestamps: RFC 3339 UTC strings with six fractional digits in the entry
(as in TypeScript and the Qdrant payload), Avro timestamp-micros on the wire."""
from __future__ import annotations

import datetime as _dt
import time

from .validation_table import reason, rules

# The reasons and the range (schemas/validation.json's timestampMaxMicros: the TypeScript side
# keeps microseconds in a JS number, the same range keeps them interchangeable) are read
# from the validation table on first use.
_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_last: tuple[str, int] = ("", 0)


def parse_timestamp(value: object) -> int | str:
    """Microseconds since the epoch, or the reason the value is not a timestamp."""
    global _last  # a one-entry cache: validation and encoding read the same string
    if value is _last[0]:
        return _last[1]
    if type(value) is not str:
        return reason("timestampFormat")
    n = len(value)
    if (n != 20 and not 22 <= n <= 27) or value[4] != "-" or value[7] != "-" or value[10] != "T" \
            or value[13] != ":" or value[16] != ":" or value[n - 1] != "Z" or (n > 20 and value[19] != "."):
        return reason("timestampFormat")
    digits = value[0:4] + value[5:7] + value[8:10] + value[11:13] + value[14:16] + value[17:19] + value[20 : n - 1]
    if not (digits.isascii() and digits.isdigit()):
        return reason("timestampFormat")
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    hour, minute, second = int(value[11:13]), int(value[14:16]), int(value[17:19])
    fraction = int(value[20 : n - 1].ljust(6, "0")) if n > 20 else 0
    try:
        ordinal = _dt.date(year, month, day).toordinal()
    except ValueError:
        return reason("timestampDate")
    if hour > 23 or minute > 59 or second > 59:
        return reason("timestampTime")
    micros = ((ordinal - _EPOCH_ORDINAL) * 86_400 + hour * 3600 + minute * 60 + second) * 1_000_000 + fraction
    limit = rules.timestamp_max_micros
    if not -limit <= micros <= limit or year < 100:
        return reason("timestampRange")
    _last = (value, micros)
    return micros


def timestamp_from_micros(micros: int) -> str:
    seconds, fraction = divmod(micros, 1_000_000)
    t = time.gmtime(seconds)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{fraction:06d}Z"


def now_timestamp() -> str:
    """The current wall-clock time as an entry timestamp."""
    return timestamp_from_micros(time.time_ns() // 1000)
