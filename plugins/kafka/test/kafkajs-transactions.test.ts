/**
 * KafkaJS 2.2.4 transactions against a real broker process: a committed and an aborted
 * transaction, each with sendOffsets, read back by a KafkaJS group consumer (read_committed
 * by default) and by librdkafka consumers at both isolation levels; the group's committed
 * offsets are those of the committed transaction only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python } from './clients.js';

let broker: BrokerProcess;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'num.partitions': '1', 'transaction.state.log.num.partitions': '4', 'offsets.topic.num.partitions': '4' } });
  kafka = new Kafka({ clientId: 'sluice-it-kafkajs-txn', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

describe.sequential('KafkaJS transactions', () => {
  it('commits one transaction and aborts another; consumers and group offsets see only the committed one', async () => {
    const topic = 'kjs-txn';
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }, { topic: 'upstream', numPartitions: 1 }] });
    const producer = kafka.producer({ transactionalId: 'kjs-txn-1', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();

    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'c1' }, { value: 'c2' }] });
    await committed.sendOffsets({ consumerGroupId: 'kjs-upstream', topics: [{ topic: 'upstream', partitions: [{ partition: 0, offset: '5' }] }] });
    await committed.commit();

    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'a1' }] });
    await aborted.sendOffsets({ consumerGroupId: 'kjs-upstream', topics: [{ topic: 'upstream', partitions: [{ partition: 0, offset: '9' }] }] });
    await aborted.abort();

    const last = await producer.transaction();
    await last.send({ topic, messages: [{ value: 'c3' }] });
    await last.commit();
    await producer.disconnect();

    const offsets = await admin.fetchOffsets({ groupId: 'kjs-upstream', topics: ['upstream'] });
    expect(offsets[0]!.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '5' })]);
    await admin.disconnect();

    const consumer = kafka.consumer({ groupId: 'kjs-txn-reader' });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${JSON.stringify(seen)} after 30 s`)), 30_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length >= 3) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(seen).toEqual(['c1', 'c2', 'c3']);

    const readCommitted = await python<{ values: string[] }>('transactions.py', 'consume', broker.bootstrap, { topic, partitions: [0], isolation: 'read_committed' });
    expect(readCommitted.values).toEqual(['c1', 'c2', 'c3']);
    const readUncommitted = await python<{ values: string[] }>('transactions.py', 'consume', broker.bootstrap, { topic, partitions: [0], isolation: 'read_uncommitted' });
    expect(readUncommitted.values).toEqual(['a1', 'c1', 'c2', 'c3']);
  }, 120_000);
});
