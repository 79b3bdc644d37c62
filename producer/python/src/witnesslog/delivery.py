"""The delivery thread of WitnessProducer and librdkafka's callbacks it serves: where a
pending entry settles (delivered or send_failed), the connection state, and the send
metrics. A mixin of WitnessProducer: it reads the producer's counters, metrics and `_kafka`."""
from __future__ import annotations

import time
from typing import Any, Optional

from confluent_kafka import KafkaError, KafkaException

_POLL_S = 0.05
# Errors librdkafka reports while it retries by itself (the entry stays pending).
_DISCONNECTED = {KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT}


class _Delivery:
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
                seq = self._seq_of(msg)
                if seq is not None:
                    self._undelivered.add(seq, seq, "send_failed")
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

    def _seq_of(self, msg: Any) -> Optional[int]:
        """The producer.seq of a failed entry (read only on failure: the value is copied)."""
        try:
            return int(self._codec.decode(msg.value(), validate=False)["producer"]["seq"])
        except Exception:  # noqa: BLE001 - counted as send_failed all the same
            return None

    def _send_checkpoint(self, final: bool) -> None:
        """Hand the next checkpoint to librdkafka, outside our entry queue (sent even when it
        is full), keyed by the producer id; the final one (close()) is waited for, bounded.
        One that cannot be sent is superseded by the next: it is cumulative."""
        if final and not self._connected:
            # As in the TypeScript SDK: close() does not wait on a broker it cannot reach.
            self._log.warning("closed without the final checkpoint: not connected to Kafka")
            return
        try:
            with self._accept_lock, self._cond:
                refused = {k: self._dropped[k] for k in ("invalid", "sampled_out", "redact_failed")}
                value = self._checkpoints.build(assigned=self._assigned, ranges=self._undelivered, refused=refused, final=final, now_ms=int(time.time() * 1000))
            if value is None:
                return
            self._kafka.produce(self.options.topic, value, self._identity["id"].encode("ascii"), on_delivery=self._on_checkpoint)
            if final:
                self._kafka.flush(min(5.0, self.options.request_timeout_ms / 1000))
        except Exception as err:  # noqa: BLE001 - a checkpoint never hurts the host
            self._log.warning("could not send a checkpoint: %r", err)

    def _on_checkpoint(self, err: Optional[KafkaError], _msg: Any) -> None:
        if err is not None and self._warn_send():
            self._log.warning("a checkpoint was not delivered (%s); the next one supersedes it", err)

    def _on_error(self, err: KafkaError) -> None:
        if err.code() in _DISCONNECTED:
            with self._cond:
                self._connected = False
        self._metrics.count_send_error(err.name(), True)
        self._log.warning("kafka: %s", err)

    def _serve(self) -> None:
        """The delivery thread: serves librdkafka's callbacks until close()."""
        next_probe = 0.0
        interval_s = self.options.checkpoint_interval_ms / 1000
        next_checkpoint = time.monotonic() + interval_s
        while not self._stop.is_set():
            try:
                self._kafka.poll(_POLL_S)
                if time.monotonic() >= next_checkpoint:
                    next_checkpoint = time.monotonic() + interval_s
                    self._send_checkpoint(final=False)
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
