// A topic filled before a benchmark's clock starts: messages sent in batches of
// `batch` with acks=all, into `partitions` partitions, keyed as given.
import kafkajs, { type Kafka } from 'kafkajs';

export interface TopicMessage {
  key: string;
  value: Buffer | string;
}

export async function fillTopic(kafka: Kafka, topic: string, messages: readonly TopicMessage[], { partitions = 3, batch = 200 } = {}): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += batch) await producer.send({ topic, messages: messages.slice(i, i + batch), acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
}
