"""WitnessProducer: what a serving node calls on every LLM request. Its first duty is
to never hurt the request: record() never raises, never blocks, and holds at most
max_queue_depth entries / max_queue_bytes bytes. Its second is to lose nothing it does
not count: every entry handed to it ends up delivered, pending, or dropped under one
reason, with the invariants of the TypeScript SDK (producer/src/counts.ts):
    total     = delivered + dropped.send_failed + pending
    attempted = total + dropped.invalid + dropped.queue_full + dropped.closed
librdkafka (confluent-kafka) does the sending, batching, retries and idempotence; a
daemon thread serves its delivery reports, which is where entries settle."""
from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Mapping
from typing import Any, Optional

from confluent_kafka import KafkaError, KafkaException, Producer

from .codec import WitnessCodec
from .errors import (
    CriticalTimeoutError,
    FlushTimeoutError,
    InvalidEntryError,
    ProducerClosedError,
    QueueFullError,
    RedactFailedError,
    SendFailedError,
)
from .log import Log, rate_limiter
from .metrics import DROP_REASONS, MODELS, ProducerMetrics
from .options import resolve_options

_POLL_S = 0.05
# Errors librdkafka reports while it retries by itself (the entry stays pending).
_DISCONNECTED = {KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT}


class WitnessProducer:
    """WitnessProducer(brokers=["kafka-1:9092"], topic=..., registry=..., logger=..., **options).

    The constructor is the only call that raises on bad input (InvalidOptionError, naming
    the option). It connects lazily in the background."""

    def __init__(self, brokers: Any = None, topic: Optional[str] = None, registry: Any = None, logger: Any = None, **options: Any) -> None:
        self.options = resolve_options({"brokers": brokers, "topic": topic, "registry": registry, "logger": logger, **options})
        o = self.options
        self._log = Log(o.logger)
        self._codec = WitnessCodec(dim=o.embedding_dim)
        self._cond = threading.Condition(threading.Lock())
        self._recorded = self._success = self._error = self._delivered = 0
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
            "created (brokers=%s topic=%s client_id=%s ssl=%s sasl=%s compression=%s max_queue_depth=%d max_queue_bytes=%d)",
            ",".join(o.brokers), o.topic, o.client_id, bool(o.ssl),
            o.sasl["mechanism"] if o.sasl else None,  # the mechanism only: the rest is credentials
            o.compression, o.max_queue_depth, o.max_queue_bytes,
        )

    # --- the serving path ---------------------------------------------------------

    def record(self, entry: Any) -> bool:
        """Validate, encode and enqueue one entry. Never raises, never blocks; False when
        the entry was dropped (invalid, queue_full, closed), and counted."""
        try:
            if not self._accepting:
                self._count_drop("closed")
                return False
            # Checked before encoding: during an outage a refused entry should cost nothing.
            if self._pending >= self.options.max_queue_depth:
                self._queue_full()
                return False
            entry = self._snapshot(entry, sampled=True)
            if entry is _DROPPED:
                return False
            message = self._encode(entry)
            if message is None:
                return False
            key, value, size = message
            if self._pending_bytes + size > self.options.max_queue_bytes:
                self._queue_full()
                return False
            return self._produce(entry, key, value, size, None) is None
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
            }

    # --- internals --------------------------------------------------------------------

    def _metric_view(self) -> dict[str, Any]:
        """stats() plus the per-model counts the `model` label reads (not a stats key in TS either)."""
        view = self.stats()
        with self._cond:
            view["witnessed"] = {m: dict(n) for m, n in self._witnessed.items()}
        return view

    def _snapshot(self, entry: Any, sampled: bool, raise_refused: bool = False) -> Any:
        """Read the entry once into a plain dict, then sample (record() only) and redact
        that copy; _DROPPED (counted) when it is dropped. A hostile mapping cannot change
        between validation and encoding: only the copy is read from here on."""
        try:
            copy = _read_once(entry)
        except Exception as err:  # noqa: BLE001 - whatever reading raised, one invalid entry
            self._count_drop("invalid")
            if self._warn_invalid():
                self._log.warning("invalid witness entry dropped: reading it raised %s (dropped_invalid=%d)", type(err).__name__, self._dropped["invalid"])
            if raise_refused:
                raise InvalidEntryError("(entry)", None, f"reading it raised {type(err).__name__}: {err}") from err
            return _DROPPED
        if copy is None:
            return entry  # not a mapping: the validator names it
        rate = self.options.sample_rate
        # An entry with an error is always kept: failures are what the log is searched for.
        if sampled and rate < 1 and copy.get("error") is None and random.random() >= rate:
            self._count_drop("sampled_out")
            return _DROPPED
        redact = self.options.redact
        if redact is not None:
            try:
                redacted = redact(copy)
                copy = copy if redacted is copy else _read_once(redacted)
                if copy is None:
                    raise TypeError(f"the hook returned a {type(redacted).__name__}, not a mapping")
            except Exception as err:  # noqa: BLE001 - a failing hook never reaches the caller
                self._count_drop("redact_failed")
                if self._warn_invalid():
                    self._log.warning("the redact hook threw %s; witness entry dropped (redact_failed=%d)", type(err).__name__, self._dropped["redact_failed"])
                if raise_refused:
                    raise RedactFailedError(err) from err
                return _DROPPED
        return copy

    def _encode(self, entry: Any, raise_invalid: bool = False) -> Optional[tuple[bytes, bytes, int]]:
        """(key, value, size), or None (counted as invalid) when the entry cannot be sent."""
        try:
            value = self._codec.encode(entry)
            key = entry["session_id"].encode("utf-8")
            size = len(key) + len(value)
            if size > self.options.max_batch_bytes:
                raise InvalidEntryError(
                    "(encoded entry)", f"{size} bytes", f"at most max_batch_bytes = {self.options.max_batch_bytes} bytes once encoded"
                )
            return key, value, size
        except Exception as err:  # noqa: BLE001 - whatever reading the entry raised, it is one invalid entry
            self._count_drop("invalid")
            if self._warn_invalid():
                self._log.warning("invalid witness entry dropped: %s (dropped_invalid=%d)", err, self._dropped["invalid"])
            if raise_invalid:
                if isinstance(err, InvalidEntryError):
                    raise
                raise InvalidEntryError("(entry)", None, f"reading it raised {type(err).__name__}: {err}") from err
            return None

    def _produce(self, entry: Any, key: bytes, value: bytes, size: int, on_delivery: Any) -> Optional[BaseException]:
        """Accepts and hands the message to librdkafka; the error when it refused it."""
        ok = entry.get("error") is None  # validated: a plain None or an error record
        by_model = self._witnessed.get(entry.get("model_used"), self._witnessed["other"])
        outcome = "success" if ok else "error"
        with self._cond:
            try:
                if on_delivery is None:
                    self._kafka.produce(self.options.topic, value, key)
                else:
                    self._kafka.produce(self.options.topic, value, key, on_delivery=on_delivery)
            except BufferError:
                # librdkafka's own cap (the backstop of ours): never accepted.
                self._dropped["queue_full"] += 1
                return QueueFullError(self._pending_bytes, self.options.max_queue_bytes)
            except KafkaException as err:
                # Accepted and refused at once (e.g. message too large): counted as send_failed.
                self._recorded += 1
                self._success += ok
                self._error += not ok
                by_model[outcome] += 1
                self._dropped["send_failed"] += 1
                return SendFailedError(err.args[0].name() if err.args else str(err), self.options.topic)
            self._recorded += 1
            self._success += ok
            self._error += not ok
            by_model[outcome] += 1
            self._pending += 1
            self._pending_bytes += size
            if self._dropped_full:
                self._log.info("queue accepts entries again after %d drops (pending=%d)", self._dropped_full, self._pending)
                self._dropped_full = 0
        return None

    def _start_critical(self, entry: Any, settle: Any) -> None:
        if not self._accepting:
            self._count_drop("closed")
            raise ProducerClosedError()
        entry = self._snapshot(entry, sampled=False, raise_refused=True)
        key, value, size = self._encode(entry, raise_invalid=True)  # type: ignore[misc]
        if self._pending_bytes + size > self.options.max_queue_bytes:
            self._count_drop("queue_full")
            raise QueueFullError(self._pending_bytes, self.options.max_queue_bytes)

        def on_delivery(err: Optional[KafkaError], msg: Any) -> None:
            self._on_delivery(err, msg)
            settle(None if err is None else SendFailedError(err.name(), self.options.topic))

        refused = self._produce(entry, key, value, size, on_delivery)
        if refused is not None:
            raise refused

    def _count_drop(self, reason: str) -> None:
        with self._cond:
            self._dropped[reason] += 1

    def _queue_full(self) -> None:
        with self._cond:
            self._dropped["queue_full"] += 1
            self._dropped_full += 1
            first = self._dropped_full == 1
        if first and self._warn_full():
            self._log.warning(
                "queue is full (pending=%d pending_bytes=%d max_queue_depth=%d); dropping entries (queue_full) until the broker catches up",
                self._pending, self._pending_bytes, self.options.max_queue_depth,
            )

    def _on_delivery(self, err: Optional[KafkaError], msg: Any) -> None:
        """librdkafka's delivery report, in the delivery thread: where an entry settles."""
        # len(msg) is the value's length without copying it out (msg.value() would copy 6 KB).
        size = len(msg) + len(msg.key() or b"")
        with self._cond:
            self._pending -= 1
            self._pending_bytes -= size
            if err is None:
                self._delivered += 1
                self._connected = True
            else:
                self._dropped["send_failed"] += 1
            if self._pending == 0:
                self._cond.notify_all()
        if err is None:
            batch = self._batch.setdefault(msg.partition(), [0, 0, 0.0])
            batch[0] += 1
            batch[1] += size
            batch[2] = msg.latency() or batch[2]
        else:
            self._metrics.count_send_error(err.name(), err.retriable())
            if self._warn_send():
                self._log.error("the broker refused a witness entry (send_failed): %s", err)

    def _on_error(self, err: KafkaError) -> None:
        if err.code() in _DISCONNECTED:
            with self._cond:
                self._connected = False
        self._metrics.count_send_error(err.name(), True)
        self._log.warning("kafka: %s", err)

    def _serve(self) -> None:
        """The delivery thread: serves librdkafka's callbacks until close()."""
        next_probe = 0.0
        while not self._stop.is_set():
            try:
                self._kafka.poll(_POLL_S)
                if self._batch:
                    # Acknowledgements of one partition served by one poll: librdkafka does not
                    # expose its produce requests, this is the closest observable batch.
                    for entries, size, latency in self._batch.values():
                        self._metrics.observe_send(int(entries), int(size), latency)
                    self._batch = {}
                if not self._connected and time.monotonic() >= next_probe and not self._stop.is_set():
                    next_probe = time.monotonic() + self.options.retry_max_ms / 1000
                    self._kafka.list_topics(timeout=min(1.0, self.options.request_timeout_ms / 1000))
                    with self._cond:
                        self._connected = True
            except KafkaException:
                pass  # the broker is down: librdkafka reconnects by itself; probed again later
            except Exception as err:  # noqa: BLE001 - the thread must outlive any one failure
                self._log.error("delivery thread: %r", err)
        with self._cond:
            self._cond.notify_all()


_DROPPED = object()  # _snapshot's answer for an entry it dropped (None is an entry the validator names)


def _read_once(entry: Any) -> Optional[dict[str, Any]]:
    """A plain dict with each field of a mapping read once (nested error record too);
    None when the entry is not a mapping. Raises whatever the object raises."""
    if not isinstance(entry, Mapping):
        return None
    copy = {key: entry[key] for key in list(entry.keys())}
    error = copy.get("error")
    if isinstance(error, Mapping):
        copy["error"] = {key: error[key] for key in list(error.keys())}
    return copy


def _request_id(entry: Any) -> str:
    try:
        return str(entry["request_id"])
    except Exception:  # noqa: BLE001
        return "(unknown)"
