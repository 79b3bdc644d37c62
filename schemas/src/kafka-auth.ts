// How the packages authenticate to Kafka, as our own types rather than the client
// library's: swapping the client (kafkajs is no longer released) changes no
// public type. The producer takes these as options, the consumer reads them from
// KAFKA_SASL_*.

/** The SASL mechanisms that authenticate with a user name and password. */
export const saslMechanisms = Object.freeze(['plain', 'scram-sha-256', 'scram-sha-512'] as const);
export type SaslMechanism = (typeof saslMechanisms)[number];

/** SASL credentials for the brokers; the password never appears in a log or an error. */
export interface SaslOptions {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}
