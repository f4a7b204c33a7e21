/**
 * The redactor in a real broker (`plugins=kafka,<dist/index.js>`, loaded by path as an
 * operator would): KafkaJS produces JSON and non-JSON records, a KafkaJS consumer reads
 * back what was stored.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type BrokerProcess } from '../../../plugins/kafka/test/broker-process.js';

let broker: BrokerProcess;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({
    overrides: {
      plugins: `kafka,${join(import.meta.dirname, '../dist/index.js')}`,
      'pii-redactor.fields': 'email, ssn',
    },
  });
  kafka = new Kafka({ clientId: 'sluice-it-pii', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
});

async function consumeAll(topic: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `pii-${topic}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const out: string[] = [];
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`got ${out.length} of ${count} records: ${broker.output()}`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          out.push(message.value?.toString() ?? '<null>');
          if (out.length === count) {
            clearTimeout(timer);
            done();
          }
        },
      });
    });
    return out;
  } finally {
    await consumer.disconnect();
  }
}

it('masks configured fields of JSON objects, at any depth, and stores everything else as produced', async () => {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const values = [
    JSON.stringify({ name: 'Ada', email: 'ada@example.com', ssn: '078-05-1120', age: 36 }),
    JSON.stringify({ order: 7, customer: { email: 'bob@example.com', tier: 'gold' } }),
    'plain text with ada@example.com',
    JSON.stringify(['email', 'ssn']),
    '{"email": not json',
    JSON.stringify({ nothing: 'to hide' }),
  ];
  await producer.send({ topic: 'pii-users', acks: -1, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
  await producer.send({ topic: 'pii-users', acks: -1, messages: [{ value: null }] });
  await producer.disconnect();

  expect(await consumeAll('pii-users', 7)).toEqual([
    JSON.stringify({ name: 'Ada', email: '***', ssn: '***', age: 36 }),
    JSON.stringify({ order: 7, customer: { email: '***', tier: 'gold' } }),
    'plain text with ada@example.com',
    JSON.stringify(['email', 'ssn']),
    '{"email": not json',
    JSON.stringify({ nothing: 'to hide' }),
    '<null>',
  ]);
});
