// The flags only the postmortem commands (postmortem.ts) take, apart so that
// args.ts can add them to its OPTIONS without importing the commands.
export const POSTMORTEM_OPTIONS = {
  sample: { type: 'string' },
  'min-size': { type: 'string' },
  threshold: { type: 'string' },
  every: { type: 'string' },
  'max-entries': { type: 'string' },
} as const;
