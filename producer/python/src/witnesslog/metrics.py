"""The producer's Prometheus metrics, registered only into the CollectorRegistry the
host application passes in; the same names, types and labels as the TypeScript SDK
(producer/metrics.json is the table both are tested against). Counters and gauges are
read from the producer's own counts at scrape time, so record() touches no
prometheus_client code and the metrics can never disagree with stats()."""
from __future__ import annotations

from typing import Any, Callable

from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .errors import InvalidOptionError

PRODUCER_METRIC_NAMES = {
    "entriesRecorded": "witness_producer_entries_recorded_total",
    "requestsWitnessed": "witness_producer_witnessed_requests_total",
    "entriesDelivered": "witness_producer_entries_delivered_total",
    "entriesDropped": "witness_producer_entries_dropped_total",
    "queueEntries": "witness_producer_queue_entries",
    "queueBytes": "witness_producer_queue_bytes",
    "batchEntries": "witness_producer_batch_entries",
    "batchBytes": "witness_producer_batch_bytes",
    "sendDuration": "witness_producer_send_duration_seconds",
    "criticalWriteDuration": "witness_producer_critical_write_duration_seconds",
    "sendErrors": "witness_producer_send_errors_total",
    "connected": "witness_producer_connected",
}
DROP_REASONS = ("queue_full", "invalid", "send_failed", "closed", "sampled_out", "redact_failed")
# The `model` label: model_used, the four sizes; `other` guards (validation lets nothing else through).
MODELS = ("tiny", "small", "medium", "large", "other")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
BYTES_BUCKETS = (4096, 16_384, 65_536, 262_144, 524_288, 1_048_576, 4_194_304)


def _base(name: str) -> str:
    # prometheus_client adds `_total` to counters itself.
    return name[: -len("_total")] if name.endswith("_total") else name


class _CountsCollector:
    """Counters and gauges copied from the producer's stats() at scrape time."""

    def __init__(self, stats: Callable[[], dict[str, Any]]) -> None:
        self._stats = stats

    def describe(self) -> list[Any]:
        return self._families(None)

    def collect(self) -> list[Any]:
        return self._families(self._stats())

    def _families(self, s: dict[str, Any] | None) -> list[Any]:
        n = PRODUCER_METRIC_NAMES
        recorded = CounterMetricFamily(_base(n["entriesRecorded"]), "Witness entries accepted by the producer")
        witnessed = CounterMetricFamily(
            _base(n["requestsWitnessed"]),
            "Accepted witness entries by the outcome of the LLM request they record (error = the entry carries an error)",
            labels=["outcome", "model"],
        )
        delivered = CounterMetricFamily(_base(n["entriesDelivered"]), "Witness entries acknowledged by the broker (acks=all)")
        dropped = CounterMetricFamily(_base(n["entriesDropped"]), "Witness entries given up, by reason", labels=["reason"])
        queue = GaugeMetricFamily(n["queueEntries"], "Witness entries held by the producer (queued or in flight)")
        queue_bytes = GaugeMetricFamily(n["queueBytes"], "Encoded bytes of the witness entries held by the producer")
        connected = GaugeMetricFamily(n["connected"], "1 while the last exchange with the broker succeeded")
        if s is not None:
            recorded.add_metric([], s["total"])
            for model, n in s["witnessed"].items():
                if model == "other" and n["success"] + n["error"] == 0:
                    continue
                witnessed.add_metric(["success", model], n["success"])
                witnessed.add_metric(["error", model], n["error"])
            delivered.add_metric([], s["delivered"])
            for reason in DROP_REASONS:
                dropped.add_metric([reason], s["dropped"][reason])
            queue.add_metric([], s["pending"])
            queue_bytes.add_metric([], s["pending_bytes"])
            connected.add_metric([], 1 if s["connected"] else 0)
        return [recorded, witnessed, delivered, dropped, queue, queue_bytes, connected]


class ProducerMetrics:
    """The histograms and the send error counter; a no-op without a registry."""

    def __init__(self, registry: Any, stats: Callable[[], dict[str, Any]]) -> None:
        self.enabled = registry is not None
        if registry is None:
            return
        n = PRODUCER_METRIC_NAMES
        try:
            # describe() lets the registry refuse names it already holds.
            registry.register(_CountsCollector(stats))
            self._batch_entries = Histogram(n["batchEntries"], "Witness entries per produce request", buckets=BATCH_BUCKETS, registry=registry)
            self._batch_bytes = Histogram(
                n["batchBytes"], "Encoded bytes per produce request, before compression", buckets=BYTES_BUCKETS, registry=registry
            )
            self._send_duration = Histogram(
                n["sendDuration"], "Duration of one produce request, until acknowledgement or failure", buckets=LATENCY_BUCKETS, registry=registry
            )
            self._critical = Histogram(
                n["criticalWriteDuration"], "record_critical(): from the call to the broker acknowledgement", buckets=LATENCY_BUCKETS, registry=registry
            )
            self._send_errors = Counter(
                _base(n["sendErrors"]), "Failed produce requests, by error and whether it is retried", ["error", "retriable"], registry=registry
            )
        except ValueError as err:
            # Each producer's counters are its own; two producers cannot share the series.
            raise InvalidOptionError(
                "registry", f"a registry that already holds witness_producer_ metrics ({err})", "a registry without witness_producer_ metrics (one producer per registry)"
            ) from None

    def observe_send(self, entries: int, size: int, seconds: float) -> None:
        if self.enabled:
            self._batch_entries.observe(entries)
            self._batch_bytes.observe(size)
            self._send_duration.observe(seconds)

    def observe_critical(self, seconds: float) -> None:
        if self.enabled:
            self._critical.observe(seconds)

    def count_send_error(self, error: str, retriable: bool) -> None:
        if self.enabled:
            self._send_errors.labels(error=error, retriable="true" if retriable else "false").inc()
