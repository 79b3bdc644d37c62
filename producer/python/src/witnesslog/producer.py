"""WitnessProducer: what a serving node calls on every LLM request. Its first duty is
to never hurt the request: record() never raises, never blocks, and holds at most
max_queue_depth entries / max_queue_bytes bytes. Its second is to lose nothing it does
not count: every entry handed to it ends up delivered, pending, or dropped under one
reason, with the invariants of the TypeScript SDK (producer/src/counts.ts):
    total     = delivered + dropped.send_failed + pending
    attempted = total + dropped.invalid + dropped.queue_full + dropped.closed
librdkafka (confluent-kafka) does the sending, batching, retries and idempotence; a
daemon thread serves its delivery reports, which is where entries settle.

The class is split by what each part holds: counts.py the counters and stats(),
enqueue.py the way from an entry to librdkafka's queue, delivery.py the delivery thread
and callbacks; this module the public calls."""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Optional

from confluent_kafka import Producer

from .checkpoint import Checkpoints, UndeliveredRanges
from .codec import WitnessCodec
from .counts import _Counts
from .delivery import _Delivery
from .enqueue import _DROPPED, _Enqueue, _request_id
from .errors import CriticalTimeoutError, FlushTimeoutError
from .identity import instance_identity
from .log import Log, rate_limiter
from .metrics import DROP_REASONS, MODELS, ProducerMetrics
from .options import resolve_options
from .otel import ActiveTrace


class WitnessProducer(_Counts, _Enqueue, _Delivery):
    """WitnessProducer(brokers=["kafka-1:9092"], topic=..., registry=..., logger=..., **options).

    The constructor is the only call that raises on bad input (InvalidOptionError, naming
    the option). It connects lazily in the background."""

    def __init__(self, brokers: Any = None, topic: Optional[str] = None, registry: Any = None, logger: Any = None, **options: Any) -> None:
        self.options = resolve_options({"brokers": brokers, "topic": topic, "registry": registry, "logger": logger, **options})
        o = self.options
        self._log = Log(o.logger)
        self._codec = WitnessCodec(dim=o.embedding_dim)
        # Schema v2's producer: this instance's id, service and host; seq is added per entry (enqueue.py).
        self._identity = instance_identity(o.service)
        self._accept_lock = threading.Lock()
        self._active_trace = ActiveTrace()  # imports nothing until an entry without a trace is recorded
        self._cond = threading.Condition(threading.Lock())
        self._recorded = self._success = self._error = self._delivered = 0
        # Seqs assigned, and those never to be delivered, for the checkpoints (checkpoint.py).
        self._assigned = 0
        self._undelivered = UndeliveredRanges()
        self._checkpoints = Checkpoints(self._identity)
        self._dropped = dict.fromkeys(DROP_REASONS, 0)
        # success and error per model_used: the fleet's own error rate per model (issue 15).
        self._witnessed = {m: {"success": 0, "error": 0} for m in MODELS}
        self._pending = self._pending_bytes = 0
        self._accepting = True
        self._connected = False
        self._dropped_full = 0  # drops since the queue last accepted: one warning per episode
        self._warn_invalid = rate_limiter(10.0)
        self._warn_full = rate_limiter(10.0)
        self._warn_send = rate_limiter(10.0)
        self._metrics = ProducerMetrics(o.registry, self._metric_view)
        self._batch: dict[int, list[float]] = {}  # partition -> [entries, bytes, latency], per poll
        config = o.librdkafka_config()
        config["on_delivery"] = self._on_delivery
        config["error_cb"] = self._on_error
        self._kafka = Producer(config)
        self._close_lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="witnesslog-producer", daemon=True)
        self._thread.start()
        self._log.info(
            "created (producer=%s service=%s brokers=%s topic=%s client_id=%s ssl=%s sasl=%s compression=%s max_queue_depth=%d max_queue_bytes=%d)",
            self._identity["id"], o.service, ",".join(o.brokers), o.topic, o.client_id, bool(o.ssl),
            o.sasl["mechanism"] if o.sasl else None,  # the mechanism only: the rest is credentials
            o.compression, o.max_queue_depth, o.max_queue_bytes,
        )

    # --- the serving path ---------------------------------------------------------

    def record(self, entry: Any) -> bool:
        """Validate, encode and enqueue one entry. Never raises, never blocks; False when
        the entry was dropped (invalid, queue_full, closed), and counted."""
        try:
            if not self._accepting:
                self._numbered_drop("closed")
                return False
            # Checked before encoding: during an outage a refused entry should cost nothing.
            if self._pending >= self.options.max_queue_depth:
                self._queue_full()
                return False
            entry = self._snapshot(entry, sampled=True)
            if entry is _DROPPED:
                return False
            record = self._prepare(entry)
            if record is None:
                return False
            with self._accept_lock:  # numbers the entry (producer.seq) as it is accepted: enqueue.py
                message = self._encode(record)
                if message is None:
                    return False
                key, value, size = message
                if self._pending_bytes + size <= self.options.max_queue_bytes:
                    return self._produce(entry, key, value, size, None) is None
            self._queue_full()
            return False
        except Exception as err:  # noqa: BLE001 - record() must never raise
            self._count_drop("invalid")
            self._log.error("record failed unexpectedly, entry dropped as invalid: %r", err)
            return False

    def record_batch(self, entries: Any) -> int:
        """record() for each entry, in order; how many were accepted."""
        try:
            return sum(1 for entry in entries if self.record(entry))
        except TypeError:
            self._log.warning("record_batch expects an iterable of witness entries; nothing recorded")
            return 0

    def record_critical(self, entry: Any) -> None:
        """For entries that must not be lost: returns once the broker acknowledged it
        (acks=all). Raises InvalidEntryError, ProducerClosedError, QueueFullError,
        SendFailedError, or CriticalTimeoutError after critical_timeout_ms (the entry then
        stays queued). Not held back by max_queue_depth, only by max_queue_bytes."""
        started = time.perf_counter()
        done = threading.Event()
        outcome: list[Optional[BaseException]] = []

        def settle(error: Optional[BaseException]) -> None:
            outcome.append(error)
            done.set()

        self._start_critical(entry, settle)
        if not done.wait(self.options.critical_timeout_ms / 1000):
            raise CriticalTimeoutError(self.options.critical_timeout_ms, _request_id(entry))
        if outcome[0] is not None:
            raise outcome[0]
        self._metrics.observe_critical(time.perf_counter() - started)

    async def record_critical_async(self, entry: Any) -> None:
        """record_critical() for asyncio: awaits the acknowledgement without blocking the loop."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Optional[BaseException]] = loop.create_future()

        def resolve(error: Optional[BaseException]) -> None:
            if not future.done():
                future.set_result(error)

        def settle(error: Optional[BaseException]) -> None:
            try:
                loop.call_soon_threadsafe(resolve, error)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

        self._start_critical(entry, settle)
        try:
            error = await asyncio.wait_for(asyncio.shield(future), self.options.critical_timeout_ms / 1000)
        except asyncio.TimeoutError:
            raise CriticalTimeoutError(self.options.critical_timeout_ms, _request_id(entry)) from None
        if error is not None:
            raise error
        self._metrics.observe_critical(time.perf_counter() - started)

    # --- draining -------------------------------------------------------------------

    def flush(self, timeout: Optional[float] = None) -> None:
        """Returns once nothing is pending (everything delivered or dropped, and counted);
        FlushTimeoutError after `timeout` seconds (default flush_timeout_ms), dropping nothing.
        Under a steady load from other threads it waits for their entries too."""
        timeout_s = self.options.flush_timeout_ms / 1000 if timeout is None else timeout
        with self._cond:
            if not self._cond.wait_for(lambda: self._pending == 0, timeout_s):
                raise FlushTimeoutError(round(timeout_s * 1000), self._pending)

    def close(self) -> None:
        """Stop accepting, deliver what is pending (up to flush_timeout_ms), disconnect.
        What the broker has not acknowledged by then is counted as send_failed. Never
        raises; safe to call again, and from several threads (later calls wait for the first)."""
        with self._close_lock:
            if self._closed:
                return
            self._accepting = False
            try:
                self.flush()
            except FlushTimeoutError as err:
                self._log.warning("close: %d entries not acknowledged within %d ms; dropping them (send_failed)", err.pending, err.timeout_ms)
            except Exception as err:  # noqa: BLE001
                self._log.error("close: flush failed: %r", err)
            try:
                # Purged entries come back through the delivery report as failures: counted there.
                self._kafka.purge(in_queue=True, in_flight=True, blocking=False)
                with self._cond:
                    self._cond.wait_for(lambda: self._pending == 0, 2.0)
            except Exception as err:  # noqa: BLE001
                self._log.error("close: purge failed: %r", err)
            self._send_checkpoint(final=True)
            self._stop.set()
            self._thread.join()
            try:
                self._kafka.poll(0)
            except Exception:  # noqa: BLE001
                pass
            with self._cond:
                if self._pending:  # never reported back: still counted, never lost silently
                    self._dropped["send_failed"] += self._pending
                    self._pending = self._pending_bytes = 0
                self._connected = False
            try:
                self._kafka.close()
            except Exception:  # noqa: BLE001 - older confluent-kafka has no close()
                pass
            self._closed = True
            self._log.info("closed (%s)", self.stats())

    async def close_async(self) -> None:
        """close() without blocking the event loop."""
        await asyncio.to_thread(self.close)

    def __enter__(self) -> "WitnessProducer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
