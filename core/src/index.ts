export { WitnessError, InvalidOptionError, describeValue } from './errors.js';
export { createRetry, createBackoff, backoffDelay, isRetriable, sleep } from './retry.js';
export { deepFreeze } from './freeze.js';
export { UUID_PATTERN, LOWERCASE_UUID_PATTERN, TOPIC_NAME_PATTERN, TOPIC_NAME_RULE, isTopicName } from './patterns.js';
export { clientLogSink } from './kafka/client-log.js';
export { saslMechanisms } from './kafka/auth.js';

export type { WitnessErrorOptions } from './errors.js';
export type { Retry, RetryPolicy, RetryCallOptions, Backoff } from './retry.js';
export type { ClientLogEntry, LevelLogger } from './kafka/client-log.js';
export type { SaslMechanism, SaslOptions, AwsSaslOptions, OauthBearerSaslOptions, ProducerSaslOptions } from './kafka/auth.js';
export { errorChain } from './kafka/error-chain.js';
export { envReader, parseBool, parseInteger, deprecationMessage } from './config/env.js';
export {
  kafkaConnectionFromEnv,
  kafkaConnectionVars,
  sdkLegacyKafkaNames,
  consumerLegacyKafkaNames,
  isBrokerAddress,
  BROKER_LIST_RULE,
} from './config/kafka-connection.js';
export type { EnvMap, EnvReader, EnvValue, Deprecation } from './config/env.js';
export type { KafkaConnection, KafkaConnectionVar } from './config/kafka-connection.js';
