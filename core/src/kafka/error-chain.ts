// kafkajs hides the useful error: its retrier wraps the broker's answer in
// `originalError` (KafkaJSNumberOfRetriesExceeded), its errors take a `cause`, an
// aggregate keeps `errors`, and fetch puts ECONNREFUSED in `cause`. One walk over
// all of them, so every check looks at the same errors in the same order.

const MAX_DEPTH = 5;
const MAX_AGGREGATED = 4;

type Linked = { originalError?: unknown; cause?: unknown; errors?: unknown };

/**
 * `err` and the errors it wraps, outermost first (depth first through
 * originalError, cause, then an aggregate's first errors). Bounded in depth and
 * safe on cycles; only objects are listed.
 */
export function errorChain(err: unknown, maxDepth = MAX_DEPTH): object[] {
  const chain: object[] = [];
  const visit = (cur: unknown, depth: number): void => {
    if (cur === null || typeof cur !== 'object' || depth >= maxDepth || chain.includes(cur)) return;
    chain.push(cur);
    const e = cur as Linked;
    const inner = [e.originalError, e.cause, ...(Array.isArray(e.errors) ? e.errors.slice(0, MAX_AGGREGATED) : [])];
    for (const next of inner) visit(next, depth + 1);
  };
  visit(err, 0);
  return chain;
}
