// The shapes of names and ids that more than one package checks.

/** A request id: a UUID (Qdrant takes it as a point id), in either case, as a query may give it. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The same shape in lower case only: what producers emit and the validator requires. */
export const LOWERCASE_UUID_PATTERN = new RegExp(UUID_PATTERN.source);

/** A Kafka topic name as the broker accepts it (legal characters, at most 249). */
export const TOPIC_NAME_PATTERN = /^[a-zA-Z0-9._-]{1,249}$/;

/** The topic rule in words, the same in every package's errors (Python's options.py included). */
export const TOPIC_NAME_RULE = 'a Kafka topic name: 1-249 characters of [a-zA-Z0-9._-], not "." or ".."';

/** A name the broker takes as a topic: the pattern, and not "." or ".." (which Kafka refuses). */
export function isTopicName(text: unknown): text is string {
  return typeof text === 'string' && TOPIC_NAME_PATTERN.test(text) && text !== '.' && text !== '..';
}
