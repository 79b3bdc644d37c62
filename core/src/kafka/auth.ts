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

/** AWS IAM authentication (MSK), for a host that configures the producer in code. */
export interface AwsSaslOptions {
  readonly mechanism: 'aws';
  readonly authorizationIdentity: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** OAUTHBEARER: the host supplies tokens; the provider is called whenever one is needed. */
export interface OauthBearerSaslOptions {
  readonly mechanism: 'oauthbearer';
  readonly oauthBearerProvider: () => Promise<{ value: string }>;
}

/** Every SASL form the producer takes in code; the environment only carries the password mechanisms. */
export type ProducerSaslOptions = SaslOptions | AwsSaslOptions | OauthBearerSaslOptions;
