// The trace of an entry the caller gave none: the active OpenTelemetry span's
// context, when @opentelemetry/api is installed (an optional peer dependency).
// Nothing is imported at SDK import time: the module is looked up once, when the
// first producer is created, and the answer (the module, or its absence) kept for
// the process; without it, an entry costs one comparison. The SDK only reads the
// active context: it registers, patches and starts nothing.
import { createRequire } from 'node:module';
import type { TraceContext } from '@witnesslog/schemas';

/** The part of @opentelemetry/api read here (stable since 1.0). */
interface OtelApi {
  context: { active(): unknown };
  trace: { getSpanContext(context: unknown): { traceId: string; spanId: string } | undefined };
  isSpanContextValid(spanContext: { traceId: string; spanId: string }): boolean;
}

/** Where the module is looked up; replaced only by tests (see loadOtel). */
const OTEL_MODULE = '@opentelemetry/api';

// undefined: not looked up yet; null: not installed (or unusable).
let cached: OtelApi | null | undefined;

/** The span-context reader, or undefined when OpenTelemetry is absent. Looked up once per process. */
export function otelTraceReader(): (() => TraceContext | null) | undefined {
  if (cached === undefined) cached = loadOtel();
  const api = cached;
  return api === null ? undefined : () => activeTrace(api);
}

function loadOtel(): OtelApi | null {
  try {
    const api = createRequire(import.meta.url)(OTEL_MODULE) as Partial<OtelApi>;
    const usable = typeof api.context?.active === 'function' && typeof api.trace?.getSpanContext === 'function' && typeof api.isSpanContextValid === 'function';
    return usable ? (api as OtelApi) : null;
  } catch {
    return null;
  }
}

// The schema's rule (lowercase, as W3C writes them); OpenTelemetry's own check accepts uppercase.
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

/** The active span's ids; null outside a span or for an invalid context (all zeros, malformed). Never throws. */
function activeTrace(api: OtelApi): TraceContext | null {
  try {
    const span = api.trace.getSpanContext(api.context.active());
    if (span === undefined || !api.isSpanContextValid(span)) return null;
    const { traceId, spanId } = span;
    if (!TRACE_ID.test(traceId) || !SPAN_ID.test(spanId)) return null;
    return { trace_id: traceId, span_id: spanId };
  } catch {
    // A broken context manager must not cost the entry.
    return null;
  }
}
