"""From an entry handed to WitnessProducer to a message in librdkafka's queue: read once,
sampled, its trace taken from OpenTelemetry when it has none (otel.py), redacted,
validated (a `producer` of the caller's refused), given the SDK's producer identity,
encoded, counted as accepted (or dropped under one reason). A mixin of WitnessProducer:
it reads the producer's options, codec, identity, counters and `_kafka`.

producer.seq is the next seq (`_assigned`, issue 26): every entry that passes sampling,
redaction and validation takes it before it is queued, under `_accept_lock`, whichever
thread and call brought it. One then dropped (queue_full, closed) or never delivered
(send_failed) holds its seq, and the checkpoints report it (checkpoint.py); an entry
refused before numbering (invalid, too large once encoded, sampled_out, redact_failed)
takes none and is only counted."""
from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, Optional

from confluent_kafka import KafkaError, KafkaException

from .errors import InvalidEntryError, ProducerClosedError, QueueFullError, RedactFailedError, SendFailedError
from .validate import to_avro_record


class _Enqueue:
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
        # Before the hook, so it may strip the trace like any other field.
        if copy.get("trace") is None:
            copy["trace"] = self._active_trace()
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

    def _prepare(self, entry: Any, raise_invalid: bool = False) -> Optional[dict[str, Any]]:
        """The record of the caller's entry (its own `producer` refused), or None (counted as invalid)."""
        try:
            return to_avro_record(entry, self._codec.dim)
        except Exception as err:  # noqa: BLE001 - whatever reading the entry raised, it is one invalid entry
            self._refuse_invalid(err, raise_invalid)
            return None

    def _encode(self, record: dict[str, Any], raise_invalid: bool = False) -> Optional[tuple[bytes, bytes, int]]:
        """(key, value, size) of the record with this instance's identity, numbered as the
        next accepted entry; None (counted as invalid) when it cannot be sent. Under _accept_lock."""
        record["producer"] = {**self._identity, "seq": self._assigned}
        try:
            value = self._codec.write(record)
            key = record["session_id"].encode("utf-8")
            size = len(key) + len(value)
            if size > self.options.max_batch_bytes:
                raise InvalidEntryError(
                    "(encoded entry)", f"{size} bytes", f"at most max_batch_bytes = {self.options.max_batch_bytes} bytes once encoded"
                )
            return key, value, size
        except Exception as err:  # noqa: BLE001
            self._refuse_invalid(err, raise_invalid)
            return None

    def _refuse_invalid(self, err: Exception, raise_invalid: bool) -> None:
        self._count_drop("invalid")
        if self._warn_invalid():
            self._log.warning("invalid witness entry dropped: %s (dropped_invalid=%d)", err, self._dropped["invalid"])
        if raise_invalid:
            if isinstance(err, InvalidEntryError):
                raise err
            raise InvalidEntryError("(entry)", None, f"reading it raised {type(err).__name__}: {err}") from err

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
                # librdkafka's own cap (the backstop of ours): never accepted, its seq reported.
                self._take_seq("queue_full")
                self._dropped["queue_full"] += 1
                return QueueFullError(self._pending_bytes, self.options.max_queue_bytes)
            except KafkaException as err:
                # Accepted and refused at once (e.g. message too large): counted as send_failed.
                self._take_seq("send_failed")
                self._recorded += 1
                self._success += ok
                self._error += not ok
                by_model[outcome] += 1
                self._dropped["send_failed"] += 1
                return SendFailedError(err.args[0].name() if err.args else str(err), self.options.topic)
            self._take_seq(None)
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

    def _take_seq(self, undelivered: Optional[str]) -> int:
        """The next seq, taken (under _cond); `undelivered` names why it will never be delivered."""
        seq = self._assigned
        self._assigned += 1
        if undelivered is not None:
            self._undelivered.add(seq, seq, undelivered)
        return seq

    def _numbered_drop(self, reason: str) -> None:
        """An entry dropped at the queue (queue_full, closed): checked before reading, so it
        takes a seq whatever it holds, reported in the checkpoints."""
        with self._accept_lock, self._cond:
            self._take_seq(reason)
            self._dropped[reason] += 1

    def _start_critical(self, entry: Any, settle: Any) -> None:
        if not self._accepting:
            self._numbered_drop("closed")
            raise ProducerClosedError()
        entry = self._snapshot(entry, sampled=False, raise_refused=True)
        record = self._prepare(entry, raise_invalid=True)

        def on_delivery(err: Optional[KafkaError], msg: Any) -> None:
            self._on_delivery(err, msg)
            settle(None if err is None else SendFailedError(err.name(), self.options.topic))

        with self._accept_lock:
            key, value, size = self._encode(record, raise_invalid=True)  # type: ignore[arg-type, misc]
            if self._pending_bytes + size > self.options.max_queue_bytes:
                with self._cond:  # _accept_lock is held already
                    self._take_seq("queue_full")
                    self._dropped["queue_full"] += 1
                raise QueueFullError(self._pending_bytes, self.options.max_queue_bytes)
            refused = self._produce(entry, key, value, size, on_delivery)
        if refused is not None:
            raise refused


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
