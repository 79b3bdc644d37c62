// A bounded wait: shutdown and hand-over give each step a share of a deadline.

/** Waits for `promise` at most `ms`; the timer does not outlive the wait. */
export async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}
