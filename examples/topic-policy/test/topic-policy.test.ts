/**
 * The naming policy in a real broker (`plugins=kafka,<dist/index.js>`, loaded by path),
 * driven by a KafkaJS admin and producer: CreateTopics and Metadata auto-creation.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startBroker, type BrokerProcess } from '../../../plugins/kafka/test/broker-process.js';

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  broker = await startBroker({
    overrides: {
      plugins: `kafka,${join(import.meta.dirname, '../dist/index.js')}`,
      'topic-policy.pattern': '[a-z]+\\.[a-z0-9-]+',
    },
  });
  kafka = new Kafka({ clientId: 'sluice-it-policy', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
});

async function createErrors(topics: string[], validateOnly = false): Promise<string[]> {
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic })), validateOnly });
    return [];
  } catch (err) {
    const errors = (err as { errors?: Array<{ type: string }> }).errors;
    if (errors === undefined) throw err;
    return errors.map((e) => e.type);
  }
}

it('creates a topic whose name matches; refuses one that does not with POLICY_VIOLATION', async () => {
  expect(await createErrors(['orders.created'])).toEqual([]);
  expect(await createErrors(['Orders_Created', 'orders.shipped'])).toEqual(['POLICY_VIOLATION']);
  // A dry run gets the same answer.
  expect(await createErrors(['bad'], true)).toEqual(['POLICY_VIOLATION']);
  const topics = await admin.listTopics();
  expect(topics).toEqual(expect.arrayContaining(['orders.created', 'orders.shipped']));
  expect(topics).not.toContain('Orders_Created');
  expect(topics).not.toContain('bad');
  expect(broker.output()).toMatch(/topic creation refused.*Orders_Created/);
});

it('auto-creation by a producer is refused for a bad name and allowed for a good one; the broker keeps serving', async () => {
  // Separate producers: KafkaJS keeps a refused topic in every later metadata request.
  const refused = kafka.producer({ allowAutoTopicCreation: true });
  await refused.connect();
  try {
    await expect(refused.send({ topic: 'NoDots', messages: [{ value: 'x' }] })).rejects.toMatchObject({ cause: { type: 'POLICY_VIOLATION' } });
  } finally {
    await refused.disconnect();
  }
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const sent = await producer.send({ topic: 'payments.settled', acks: -1, messages: [{ value: 'ok' }] });
    expect(sent[0]!.errorCode).toBe(0);
  } finally {
    await producer.disconnect();
  }
  const topics = await admin.listTopics();
  expect(topics).toContain('payments.settled');
  expect(topics).not.toContain('NoDots');
});
