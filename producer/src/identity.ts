// Who writes an entry (schema v2's `producer`): an id new for each SDK instance, the
// service (option `service`, WITNESS_SERVICE, or the process's name) and the host.
// `seq` is taken by every entry that passes sampling, redaction and validation
// (Counts.assigned), before it is queued: one then dropped (queue_full, closed) or
// never delivered (send_failed) holds its seq, and the checkpoints say so
// (checkpoint.ts); an entry refused before numbering takes none.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { limits, type ProducerIdentity } from '@witnesslog/schemas';
import { InvalidOptionError } from './errors.js';

/** The parts of the identity fixed for the instance's life. */
export interface InstanceIdentity {
  readonly id: string;
  readonly service: string;
  readonly host: string;
}

/** The `service` option, checked; the process's name when none was given. */
export function resolveService(value: unknown): string {
  if (value === undefined) return clip(processName());
  if (typeof value !== 'string' || value.trim() === '' || value.length > limits.producerServiceMaxChars) {
    throw new InvalidOptionError('service', value, `a non-empty string of at most ${limits.producerServiceMaxChars} characters (or WITNESS_SERVICE)`);
  }
  return value;
}

/** A new identity: called once per producer, at creation. */
export function instanceIdentity(service: string): InstanceIdentity {
  // The OS's name can in principle be empty or longer than the schema allows; the entry must stay valid.
  const host = clip(hostname()) || 'unknown-host';
  return Object.freeze({ id: randomUUID(), service, host });
}

/** The identity of the entry that takes `seq`. */
export function identityAt(instance: InstanceIdentity, seq: number): ProducerIdentity {
  return { id: instance.id, seq, service: instance.service, host: instance.host };
}

/** The script being run (`node server.js` -> server.js), or the executable (a bundled binary). */
function processName(): string {
  const name = basename(process.argv[1] ?? process.execPath);
  return name === '' ? 'node' : name;
}

function clip(text: string): string {
  return text.length > limits.producerHostMaxChars ? text.slice(0, limits.producerHostMaxChars) : text;
}
