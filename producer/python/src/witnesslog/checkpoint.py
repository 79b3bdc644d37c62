"""Checkpoints (issue 26), the same record as the TypeScript SDK's (producer/src/checkpoint.ts):
what this instance says about the seqs it assigned, sent on the witness topic keyed by its
producer id. UndeliveredRanges keeps the seqs that will never be delivered (queue_full,
closed, send_failed) as sorted, merged ranges, cumulative and capped (then `truncated`);
encode_checkpoint frames the record like an entry (C3 01 | fingerprint | body) with the
packaged witness-checkpoint.avsc, read on first use, never at import."""
from __future__ import annotations

import io
import json
from functools import lru_cache
from importlib import resources
from typing import Any

import fastavro

from .codec import _plain
from .schema import SchemaVersion

#: Past this many ranges the highest are left out and `truncated` is set.
MAX_RANGES = 1000


class UndeliveredRanges:
    def __init__(self, max_ranges: int = MAX_RANGES) -> None:
        self._ranges: list[dict[str, Any]] = []
        self._max = max_ranges
        self.truncated = False

    def add(self, first: int, last: int, reason: str) -> None:
        """Seqs first..last will never be delivered. Drops come mostly in order: O(1) then."""
        if last < first:
            return
        r = self._ranges
        i = len(r)
        while i > 0 and r[i - 1]["to"] >= first:
            i -= 1
        before = r[i - 1] if i > 0 else None
        after = r[i] if i < len(r) else None
        if before is not None and before["reason"] == reason and before["to"] + 1 == first:
            before["to"] = last
            if after is not None and after["reason"] == reason and after["from"] == last + 1:
                before["to"] = after["to"]
                del r[i]
            return
        if after is not None and after["reason"] == reason and after["from"] == last + 1:
            after["from"] = first
            return
        r.insert(i, {"from": first, "to": last, "reason": reason})
        if len(r) > self._max:
            r.pop()
            self.truncated = True

    def list(self) -> list[dict[str, Any]]:
        return [dict(x) for x in self._ranges]


@lru_cache(maxsize=None)
def checkpoint_schema() -> SchemaVersion:
    text = resources.files("witnesslog").joinpath("schemas", "witness-checkpoint.avsc").read_text(encoding="utf-8")
    return SchemaVersion(0, json.loads(text))


@lru_cache(maxsize=None)
def _parsed() -> Any:
    return fastavro.parse_schema(_plain(checkpoint_schema().schema))


def encode_checkpoint(record: dict[str, Any]) -> bytes:
    """The message of a checkpoint record (the fields of witness-checkpoint.avsc)."""
    out = io.BytesIO()
    out.write(checkpoint_schema().header)
    fastavro.schemaless_writer(out, _parsed(), record)
    return out.getvalue()


def decode_checkpoint(message: bytes) -> dict[str, Any]:
    """A checkpoint message back into its record (fastavro reads the uuid as a string here)."""
    if message[:10] != checkpoint_schema().header:
        raise ValueError("not a witness checkpoint: another fingerprint")
    return fastavro.schemaless_reader(io.BytesIO(message[10:]), _parsed(), None)  # type: ignore[no-any-return]


class Checkpoints:
    """Numbers this instance's checkpoints from 0; build() says nothing when nothing changed."""

    def __init__(self, identity: dict[str, str]) -> None:
        self._identity = identity
        self._next = 0
        self._last: Any = None

    def build(self, *, assigned: int, ranges: UndeliveredRanges, refused: dict[str, int], final: bool, now_ms: int) -> bytes | None:
        if assigned == 0 and sum(refused.values()) == 0:
            return None  # never numbered nor refused an entry: nothing to say
        undelivered = ranges.list()
        state = (assigned, json.dumps(undelivered), ranges.truncated, tuple(sorted(refused.items())))
        if not final and state == self._last:
            return None
        self._last = state
        record = {
            "producer_id": self._identity["id"],
            "service": self._identity["service"],
            "host": self._identity["host"],
            "checkpoint_seq": self._next,
            "sent_at": now_ms,
            "high_seq": assigned - 1,
            "undelivered": undelivered,
            "truncated": ranges.truncated,
            "refused": {"invalid": refused["invalid"], "sampled_out": refused["sampled_out"], "redact_failed": refused["redact_failed"]},
            "final": final,
        }
        self._next += 1
        return encode_checkpoint(record)
