// Options from the environment, read once at creation (never at import), the way
// OpenTelemetry SDKs read OTEL_*: a fleet sets WITNESS_BROKERS once per deployment
// instead of every service wiring it through its own config. Explicit options win
// (options.ts merges). A bad variable is refused naming the variable, never echoing
// a secret.
import { saslMechanisms as SASL_MECHANISMS, type SaslMechanism } from '@witnesslog/core';
import { InvalidOptionError } from './errors.js';
import type { WitnessProducerOptions } from './options.js';

export type WitnessEnv = Readonly<Record<string, string | undefined>>;

/** The variables read, for the README and the error messages. */
export const witnessEnvVars = Object.freeze([
  'WITNESS_BROKERS',
  'WITNESS_TOPIC',
  'WITNESS_CLIENT_ID',
  'WITNESS_SAMPLE_RATE',
  'WITNESS_SSL',
  'WITNESS_SSL_CA',
  'WITNESS_SSL_REJECT_UNAUTHORIZED',
  'WITNESS_SASL_MECHANISM',
  'WITNESS_SASL_USERNAME',
  'WITNESS_SASL_PASSWORD',
] as const);

export function optionsFromEnv(env: WitnessEnv): WitnessProducerOptions {
  if (typeof env !== 'object' || env === null) throw new InvalidOptionError('env', env, 'an object of variables, like process.env');
  const get = (name: (typeof witnessEnvVars)[number]): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const options: WitnessProducerOptions = {};

  const brokers = get('WITNESS_BROKERS');
  if (brokers !== undefined) options.brokers = brokers.split(',').map((b) => b.trim());
  const topic = get('WITNESS_TOPIC');
  if (topic !== undefined) options.topic = topic;
  const clientId = get('WITNESS_CLIENT_ID');
  if (clientId !== undefined) options.clientId = clientId;
  const rate = get('WITNESS_SAMPLE_RATE');
  if (rate !== undefined) {
    const n = Number(rate);
    if (!(n >= 0 && n <= 1)) throw new InvalidOptionError('WITNESS_SAMPLE_RATE', rate, 'a number from 0 to 1');
    options.sampleRate = n;
  }

  const ssl = bool(get('WITNESS_SSL'), 'WITNESS_SSL');
  const ca = get('WITNESS_SSL_CA');
  const rejectUnauthorized = bool(get('WITNESS_SSL_REJECT_UNAUTHORIZED'), 'WITNESS_SSL_REJECT_UNAUTHORIZED');
  if (ca !== undefined || rejectUnauthorized !== undefined) {
    if (ssl === false) throw new InvalidOptionError('WITNESS_SSL', 'false', 'true (or unset) when WITNESS_SSL_CA or WITNESS_SSL_REJECT_UNAUTHORIZED is set');
    // The CA is the PEM text itself, not a path: the SDK reads no file.
    options.ssl = { ...(ca === undefined ? {} : { ca: [ca] }), ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }) };
  } else if (ssl !== undefined) {
    options.ssl = ssl;
  }

  const mechanism = get('WITNESS_SASL_MECHANISM')?.toLowerCase();
  const username = get('WITNESS_SASL_USERNAME');
  const password = env.WITNESS_SASL_PASSWORD; // not trimmed: a password may end in a space
  if (mechanism !== undefined) {
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
      throw new InvalidOptionError('WITNESS_SASL_MECHANISM', mechanism, SASL_MECHANISMS.join(', '));
    }
    if (username === undefined) throw new InvalidOptionError('WITNESS_SASL_USERNAME', undefined, `set when WITNESS_SASL_MECHANISM is ${mechanism}`);
    if (password === undefined || password === '') {
      throw new InvalidOptionError('WITNESS_SASL_PASSWORD', undefined, `set when WITNESS_SASL_MECHANISM is ${mechanism}`);
    }
    options.sasl = { mechanism: mechanism as SaslMechanism, username, password };
  } else if (username !== undefined || password !== undefined) {
    throw new InvalidOptionError('WITNESS_SASL_MECHANISM', undefined, `one of ${SASL_MECHANISMS.join(', ')} when WITNESS_SASL_USERNAME or _PASSWORD is set`);
  }
  return options;
}

function bool(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidOptionError(name, value, 'true or false');
}
