"""The counts of WitnessProducer and what reads them: stats() and the metric view, and
drops counted under one reason. The invariants are those of the TypeScript SDK
(producer/src/counts.ts):
    total     = delivered + dropped.send_failed + pending
    attempted = total + dropped.invalid + dropped.queue_full + dropped.closed
A mixin of WitnessProducer: the counters are set in its __init__ and guarded by its
condition `_cond`; they are also written in enqueue.py (accepted) and delivery.py (settled)."""
from __future__ import annotations

from typing import Any


class _Counts:
    def stats(self) -> dict[str, Any]:
        """The same keys as the TypeScript SDK's stats()."""
        with self._cond:
            d = dict(self._dropped)
            total = self._recorded
            return {
                "attempted": total + d["invalid"] + d["queue_full"] + d["closed"] + d["sampled_out"] + d["redact_failed"],
                "total": total,
                "success": self._success,
                "error": self._error,
                "success_rate": 1.0 if total == 0 else self._success / total,
                "delivered": self._delivered,
                "pending": self._pending,
                "pending_bytes": self._pending_bytes,
                "dropped": d,
                "running": self._accepting,
                "connected": self._connected,
                "sample_rate": self.options.sample_rate,
                # librdkafka computes CRCs natively: there is no process-wide switch to report.
                "fast_crc32c": False,
                # Schema v2's producer identity; seqs 0..last_seq were assigned (issue 26: accepted, or dropped and in the checkpoints).
                "producer": {**self._identity, "last_seq": None if self._assigned == 0 else self._assigned - 1},
            }

    def _metric_view(self) -> dict[str, Any]:
        """stats() plus the per-model counts the `model` label reads (not a stats key in TS either)."""
        view = self.stats()
        with self._cond:
            view["witnessed"] = {m: dict(n) for m, n in self._witnessed.items()}
        return view

    def _count_drop(self, reason: str) -> None:
        with self._cond:
            self._dropped[reason] += 1

    def _queue_full(self) -> None:
        self._numbered_drop("queue_full")
        with self._cond:
            self._dropped_full += 1
            first = self._dropped_full == 1
        if first and self._warn_full():
            self._log.warning(
                "queue is full (pending=%d pending_bytes=%d max_queue_depth=%d); dropping entries (queue_full) until the broker catches up",
                self._pending, self._pending_bytes, self.options.max_queue_depth,
            )
