// The Kafka connection from environment variables: one vocabulary (WITNESS_KAFKA_*)
// and one set of checks for the producer SDK and the consumer. The Python SDK
// has the same parser (producer/python/src/witnesslog/kafka_connection.py); both
// are tested against core/kafka-connection.cases.json, so neither can drift.
import { readFileSync } from 'node:fs';
import { InvalidOptionError } from '../errors.js';
import { saslMechanisms, type SaslMechanism, type SaslOptions } from '../kafka/auth.js';
import { parseBool, type EnvReader, type EnvValue } from './env.js';

/** The variables read, in the order the READMEs list them. */
export const kafkaConnectionVars = Object.freeze([
  'WITNESS_KAFKA_BROKERS',
  'WITNESS_KAFKA_CLIENT_ID',
  'WITNESS_KAFKA_SSL',
  'WITNESS_KAFKA_SSL_CA_FILE',
  'WITNESS_KAFKA_SSL_CA',
  'WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED',
  'WITNESS_KAFKA_SASL_MECHANISM',
  'WITNESS_KAFKA_SASL_USERNAME',
  'WITNESS_KAFKA_SASL_PASSWORD',
] as const);

export type KafkaConnectionVar = (typeof kafkaConnectionVars)[number];

/** The producer SDKs' names before WITNESS_KAFKA_* (new -> old); still read, with a warning. */
export const sdkLegacyKafkaNames: Readonly<Partial<Record<KafkaConnectionVar, string>>> = Object.freeze({
  WITNESS_KAFKA_BROKERS: 'WITNESS_BROKERS',
  WITNESS_KAFKA_CLIENT_ID: 'WITNESS_CLIENT_ID',
  WITNESS_KAFKA_SSL: 'WITNESS_SSL',
  WITNESS_KAFKA_SSL_CA: 'WITNESS_SSL_CA',
  WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED: 'WITNESS_SSL_REJECT_UNAUTHORIZED',
  WITNESS_KAFKA_SASL_MECHANISM: 'WITNESS_SASL_MECHANISM',
  WITNESS_KAFKA_SASL_USERNAME: 'WITNESS_SASL_USERNAME',
  WITNESS_KAFKA_SASL_PASSWORD: 'WITNESS_SASL_PASSWORD',
});

/** The consumer's names before WITNESS_KAFKA_* (new -> old); still read, with a warning. */
export const consumerLegacyKafkaNames: Readonly<Partial<Record<KafkaConnectionVar, string>>> = Object.freeze({
  WITNESS_KAFKA_BROKERS: 'KAFKA_BROKERS',
  WITNESS_KAFKA_CLIENT_ID: 'KAFKA_CLIENT_ID',
  WITNESS_KAFKA_SSL: 'KAFKA_SSL',
  WITNESS_KAFKA_SSL_CA_FILE: 'KAFKA_SSL_CA_FILE',
  WITNESS_KAFKA_SASL_MECHANISM: 'KAFKA_SASL_MECHANISM',
  WITNESS_KAFKA_SASL_USERNAME: 'KAFKA_SASL_USERNAME',
  WITNESS_KAFKA_SASL_PASSWORD: 'KAFKA_SASL_PASSWORD',
});

/** What the variables say; a field is absent when its variables are unset (the caller's default applies). */
export interface KafkaConnection {
  readonly brokers?: readonly string[];
  readonly clientId?: string;
  /** TLS on or off; true whenever a CA or REJECT_UNAUTHORIZED is given and WITNESS_KAFKA_SSL is unset. */
  readonly ssl?: boolean;
  /** The CA as PEM text: WITNESS_KAFKA_SSL_CA, or the file WITNESS_KAFKA_SSL_CA_FILE names. */
  readonly ca?: string;
  readonly rejectUnauthorized?: boolean;
  readonly sasl?: SaslOptions;
}

/** What a broker list must look like, for error messages. */
export const BROKER_LIST_RULE = 'a comma-separated list of host:port, IPv6 in brackets ([::1]:9092), ports 1-65535';

// A host name or IPv4 (no colon, no brackets), or an IPv6 address in brackets; then the port.
const BROKER = /^(\[[0-9a-fA-F:.]+(%[\w.-]+)?\]|[^\s:[\]/,]+):(\d{1,5})$/;

/** One broker address, `host:port` or `[ipv6]:port`, port 1-65535. */
export function isBrokerAddress(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  const match = BROKER.exec(text);
  if (!match) return false;
  const port = Number(match[3]);
  return port >= 1 && port <= 65_535;
}

const PEM_START = '-----BEGIN';

/**
 * The Kafka connection `env` describes; throws InvalidOptionError naming the first
 * bad variable (never echoing a password). The CA file is read here, by the caller
 * at creation and only when WITNESS_KAFKA_SSL_CA_FILE is set: never at import.
 */
export function kafkaConnectionFromEnv(env: EnvReader): KafkaConnection {
  const out: { -readonly [K in keyof KafkaConnection]: KafkaConnection[K] } = {};
  const brokers = env.get('WITNESS_KAFKA_BROKERS');
  if (brokers !== undefined) out.brokers = parseBrokerList(brokers);
  const clientId = env.get('WITNESS_KAFKA_CLIENT_ID');
  if (clientId !== undefined) out.clientId = clientId.value;

  const ssl = env.get('WITNESS_KAFKA_SSL');
  const sslOn = ssl === undefined ? undefined : parseBool(ssl);
  const caText = env.get('WITNESS_KAFKA_SSL_CA');
  const caFile = env.get('WITNESS_KAFKA_SSL_CA_FILE');
  const reject = env.get('WITNESS_KAFKA_SSL_REJECT_UNAUTHORIZED');
  if (caText !== undefined && caFile !== undefined) {
    throw new InvalidOptionError(caFile.name, caFile.value, `unset when ${caText.name} is set: one CA, as a file or as PEM text`);
  }
  const ca = caFile !== undefined ? readCaFile(caFile) : caText !== undefined ? pemText(caText) : undefined;
  const rejectUnauthorized = reject === undefined ? undefined : parseBool(reject);
  if (ca !== undefined || rejectUnauthorized !== undefined) {
    const why = [caFile ?? caText, reject].filter((v) => v !== undefined).map((v) => v!.name);
    if (sslOn === false) throw new InvalidOptionError(ssl!.name, ssl!.value, `true (or unset) when ${why.join(' or ')} is set`);
    out.ssl = true;
    if (ca !== undefined) out.ca = ca;
    if (rejectUnauthorized !== undefined) out.rejectUnauthorized = rejectUnauthorized;
  } else if (sslOn !== undefined) {
    out.ssl = sslOn;
  }

  const sasl = saslFromEnv(env);
  if (sasl !== undefined) out.sasl = sasl;
  return out;
}

function parseBrokerList(v: EnvValue): string[] {
  const list = v.value.split(',').map((b) => b.trim());
  if (!list.every(isBrokerAddress)) throw new InvalidOptionError(v.name, v.value, BROKER_LIST_RULE);
  return list;
}

function pemText(v: EnvValue): string {
  if (!v.value.includes(PEM_START)) {
    throw new InvalidOptionError(v.name, v.value, `PEM text (${PEM_START} CERTIFICATE-----…), not a path: a file goes in WITNESS_KAFKA_SSL_CA_FILE`);
  }
  return v.value;
}

function readCaFile(v: EnvValue): string {
  let text: string;
  try {
    text = readFileSync(v.value, 'utf8');
  } catch (err) {
    throw new InvalidOptionError(v.name, v.value, `a readable PEM file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (!text.includes(PEM_START)) throw new InvalidOptionError(v.name, v.value, `a PEM file (no ${PEM_START} line in it)`);
  return text;
}

function saslFromEnv(env: EnvReader): SaslOptions | undefined {
  const mechanism = env.get('WITNESS_KAFKA_SASL_MECHANISM');
  const username = env.get('WITNESS_KAFKA_SASL_USERNAME');
  const password = env.raw('WITNESS_KAFKA_SASL_PASSWORD'); // not trimmed: a password may end in a space
  const list = saslMechanisms.join(', ');
  if (mechanism === undefined) {
    if (username === undefined && password === undefined) return undefined;
    throw new InvalidOptionError('WITNESS_KAFKA_SASL_MECHANISM', undefined, `one of ${list} when a SASL user name or password is set`);
  }
  const name = mechanism.value.toLowerCase();
  if (!(saslMechanisms as readonly string[]).includes(name)) throw new InvalidOptionError(mechanism.name, mechanism.value, `one of ${list}`);
  // Never the password's value: only whether it is set.
  if (username === undefined) throw new InvalidOptionError('WITNESS_KAFKA_SASL_USERNAME', undefined, `set when ${mechanism.name} is set (with the password)`);
  if (password === undefined) throw new InvalidOptionError('WITNESS_KAFKA_SASL_PASSWORD', undefined, `set when ${mechanism.name} is set (with the user name)`);
  return { mechanism: name as SaslMechanism, username: username.value, password: password.value };
}
