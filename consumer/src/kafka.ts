// The kafkajs client for the configuration: TLS, SASL, and kafkajs's log lines
// routed into our pino logger (component "kafkajs") instead of its own console
// output, at the level the service runs at.
import kafkajs, { type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { ConsumerConfig, LogLevel } from './config.js';

const { Kafka, logLevel: KafkaLogLevel } = kafkajs;

export function kafkaLogLevel(level: LogLevel): kafkajs.logLevel {
  switch (level) {
    case 'trace':
    case 'debug':
      return KafkaLogLevel.DEBUG;
    case 'info':
      return KafkaLogLevel.INFO;
    case 'warn':
      return KafkaLogLevel.WARN;
    case 'error':
    case 'fatal':
      return KafkaLogLevel.ERROR;
    case 'silent':
      return KafkaLogLevel.NOTHING;
  }
}

export function createKafka(config: ConsumerConfig, logger: Logger): kafkajs.Kafka {
  const log = logger.child({ component: 'kafkajs' });
  const { brokers, clientId, ssl, sasl } = config.kafka;
  const options: KafkaConfig = {
    clientId,
    brokers: [...brokers],
    logLevel: kafkaLogLevel(config.logLevel),
    logCreator:
      () =>
      ({ namespace, level, log: entry }) => {
        // kafkajs puts its own timestamp and logger name in every entry; pino has both.
        const { message, timestamp: _timestamp, logger: _logger, ...context } = entry as { message: string; [key: string]: unknown };
        const fields = { namespace, ...context };
        if (level === KafkaLogLevel.ERROR) log.error(fields, message);
        else if (level === KafkaLogLevel.WARN) log.warn(fields, message);
        else if (level === KafkaLogLevel.INFO) log.info(fields, message);
        else log.debug(fields, message);
      },
  };
  if (ssl !== false) options.ssl = ssl.ca === undefined ? true : { ca: [ssl.ca] };
  if (sasl) options.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
  return new Kafka(options);
}
