// The shapes of names and ids that more than one package checks.

/** A request id: a UUID (Qdrant takes it as a point id). Lower-case is what producers emit. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A Kafka topic name as the broker accepts it (legal characters, at most 249). */
export const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;
