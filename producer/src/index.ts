export { createWitnessProducer } from './producer.js';
export { producerDefaults } from './options.js';
export { producerMetricNames, dropReasons } from './metrics.js';
export {
  WitnessProducerError,
  ProducerClosedError,
  CriticalTimeoutError,
  FlushTimeoutError,
  QueueFullError,
  SendFailedError,
  InvalidOptionError,
  producerErrorCodes,
} from './errors.js';

export type { WitnessProducer } from './producer.js';
export type { WitnessProducerOptions, ProducerLogger, ProducerCompression } from './options.js';
export type { WitnessProducerStats } from './counts.js';
export type { DropReason } from './metrics.js';
export type { ProducerErrorCode } from './errors.js';
