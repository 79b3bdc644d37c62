// kafkajs is known to leak promise rejections when a broker goes away; the producer
// must contain them. Tests that break the broker collect any that escape and fail.
export function collectUnhandledRejections(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onRejection = (reason: unknown) => errors.push(reason);
  process.on('unhandledRejection', onRejection);
  return { errors, stop: () => process.off('unhandledRejection', onRejection) };
}
