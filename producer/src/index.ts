export { createWitnessProducer } from './producer.js';
export { producerDefaults } from './options.js';
export { witnessEnvVars } from './env.js';
export { producerMetricNames, dropReasons } from './metrics.js';
export {
  WitnessProducerError,
  ProducerClosedError,
  CriticalTimeoutError,
  FlushTimeoutError,
  QueueFullError,
  SendFailedError,
  InvalidOptionError,
  RedactFailedError,
  producerErrorCodes,
} from './errors.js';

export type { WitnessProducer } from './producer.js';
export type { WitnessProducerOptions, ProducerLogger, ProducerCompression, RedactHook } from './options.js';
export type { WitnessEnv } from './env.js';
export type { WitnessEntryInput } from '@witnesslog/schemas';
export type { WitnessProducerStats } from './counts.js';
export type { DropReason } from './metrics.js';
export type { ProducerErrorCode } from './errors.js';
