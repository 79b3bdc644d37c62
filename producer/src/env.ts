// Options from the environment, read once at creation (never at import), the way
// OpenTelemetry SDKs read OTEL_*: a fleet sets WITNESS_KAFKA_BROKERS once per
// deployment instead of every service wiring it through its own config. Explicit
// options win (options.ts merges). The Kafka connection is core's parser, the
// same as the consumer's; a bad variable is refused naming the variable, never
// echoing a secret. The one file it may read, WITNESS_KAFKA_SSL_CA_FILE, is read
// here at creation, and only when that variable is set.
import { envReader, kafkaConnectionFromEnv, kafkaConnectionVars, sdkLegacyKafkaNames, type Deprecation } from '@witnesslog/core';
import { InvalidOptionError } from './errors.js';
import type { WitnessProducerOptions } from './options.js';

export type WitnessEnv = Readonly<Record<string, string | undefined>>;

/** The variables read, for the README and the error messages (old names: sdkLegacyKafkaNames). */
export const witnessEnvVars = Object.freeze([...kafkaConnectionVars, 'WITNESS_TOPIC', 'WITNESS_SAMPLE_RATE', 'WITNESS_SERVICE', 'WITNESS_CHECKPOINT_INTERVAL_MS'] as const);

/** The options the variables set, and the old variable names that were read (each to warn about once). */
export function readEnv(env: WitnessEnv): { options: WitnessProducerOptions; deprecations: readonly Deprecation[] } {
  const reader = envReader(env, sdkLegacyKafkaNames);
  const kafka = kafkaConnectionFromEnv(reader);
  const options: WitnessProducerOptions = {};
  if (kafka.brokers !== undefined) options.brokers = kafka.brokers;
  if (kafka.clientId !== undefined) options.clientId = kafka.clientId;
  if (kafka.ca !== undefined || kafka.rejectUnauthorized !== undefined) {
    options.ssl = {
      ...(kafka.ca === undefined ? {} : { ca: [kafka.ca] }),
      ...(kafka.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: kafka.rejectUnauthorized }),
    };
  } else if (kafka.ssl !== undefined) {
    options.ssl = kafka.ssl;
  }
  if (kafka.sasl !== undefined) options.sasl = kafka.sasl;

  const topic = reader.get('WITNESS_TOPIC');
  if (topic !== undefined) options.topic = topic.value;
  const service = reader.get('WITNESS_SERVICE');
  if (service !== undefined) options.service = service.value;
  const rate = reader.get('WITNESS_SAMPLE_RATE');
  if (rate !== undefined) {
    const n = Number(rate.value);
    if (!(n >= 0 && n <= 1)) throw new InvalidOptionError(rate.name, rate.value, 'a number from 0 to 1');
    options.sampleRate = n;
  }
  const interval = reader.get('WITNESS_CHECKPOINT_INTERVAL_MS');
  if (interval !== undefined) {
    const n = Number(interval.value);
    if (!Number.isSafeInteger(n) || n < 10) throw new InvalidOptionError(interval.name, interval.value, 'an integer number of milliseconds, at least 10');
    options.checkpointIntervalMs = n;
  }
  return { options, deprecations: reader.deprecations };
}
