/**
 * The audit plugin in a real broker (`plugins=kafka,<dist/index.js>`, loaded by path): a
 * KafkaJS admin creates, reconfigures and deletes topics; a KafkaJS consumer reads the
 * audit topic back.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { startBroker, type BrokerProcess } from '../../../plugins/kafka/test/broker-process.js';

let broker: BrokerProcess;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({
    overrides: { plugins: `kafka,${join(import.meta.dirname, '../dist/index.js')}`, 'audit-topic.topic': 'audit.log' },
  });
  kafka = new Kafka({ clientId: 'sluice-it-audit', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
});

async function auditRecords(count: number): Promise<Array<Record<string, unknown>>> {
  const consumer = kafka.consumer({ groupId: 'audit-reader' });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'audit.log', fromBeginning: true });
    const out: Array<Record<string, unknown>> = [];
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`got ${out.length} of ${count} records: ${broker.output()}`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          out.push(JSON.parse(message.value!.toString()) as Record<string, unknown>);
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

it('writes who created, reconfigured and deleted which topic to the audit topic', async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'orders',
      configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
    await admin.deleteTopics({ topics: ['orders'] });
  } finally {
    await admin.disconnect();
  }
  const records = await auditRecords(3);
  expect(records.map(({ timestampMs, ...rest }) => (expect(typeof timestampMs).toBe('number'), rest))).toEqual([
    { event: 'topic.created', topic: 'orders', partitions: 3, principal: 'User:ANONYMOUS', clientId: 'sluice-it-audit' },
    { event: 'topic.config.changed', topic: 'orders', configs: { 'retention.ms': '60000' }, principal: 'User:ANONYMOUS',
      clientId: 'sluice-it-audit' },
    { event: 'topic.deleted', topic: 'orders', principal: 'User:ANONYMOUS', clientId: 'sluice-it-audit' },
  ]);
});
