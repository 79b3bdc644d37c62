// The flags only `witness audit` and `witness dlq` take, apart so that args.ts can
// add them to its OPTIONS without importing the commands.
export const AUDIT_OPTIONS = {
  grace: { type: 'string' },
  reason: { type: 'string' },
  rate: { type: 'string' },
} as const;
