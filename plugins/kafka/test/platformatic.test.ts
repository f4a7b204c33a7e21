/**
 * @platformatic/kafka 1.x against a real broker process: Producer.send (plain and
 * idempotent, with and without compression), Consumer.fetch with explicit partitions and
 * offsets (group consumption is covered in groups.test.ts), ListOffsets, and admin metadata.
 * It speaks the flexible versions: Produce v9+, Fetch v12, Metadata v12, InitProducerId v4.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Consumer, Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python } from './clients.js';

let broker: BrokerProcess;
let admin: Admin;
let consumer: Consumer;

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'num.partitions': '3' } });
  const base = { clientId: 'sluice-it-platformatic', bootstrapBrokers: [broker.bootstrap], retries: 2 };
  admin = new Admin(base);
  consumer = new Consumer({ ...base, groupId: 'sluice-it-unused' });
});

afterAll(async () => {
  await Promise.all([admin?.close(), consumer?.close()]);
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

/**
 * The records of one partition from `from` up to `until`, through Consumer.fetch. Waits
 * (long poll) for records not yet readable: acks=1 answers before the high watermark
 * covers the records (see the report on acks=1 visibility).
 */
async function fetchRange(topic: string, partition: number, from: bigint, until: bigint): Promise<Array<{ offset: bigint; key: string; value: string }>> {
  const out: Array<{ offset: bigint; key: string; value: string }> = [];
  let offset = from;
  // Fetch v13+ names topics by id (KIP-516); the client sends what it is given.
  const topicId = (await admin.metadata({ topics: [topic] })).topics.get(topic)!.id;
  for (let round = 0; round < 200 && offset < until; round++) {
    const response = await consumer.fetch({
      node: 1, maxWaitTime: 500, minBytes: 1, maxBytes: 4 << 20,
      topics: [{ topicId, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    });
    const p = response.responses[0]!.partitions[0]!;
    expect(p.errorCode).toBe(0);
    for (const batch of p.records ?? []) {
      for (const r of batch.records) {
        const at = batch.firstOffset + BigInt(r.offsetDelta);
        if (at < offset || at >= until) continue;
        out.push({ offset: at, key: r.key?.toString() ?? '', value: r.value?.toString() ?? '' });
      }
    }
    if (out.length > 0) offset = out[out.length - 1]!.offset + 1n;
  }
  return out;
}

describe.sequential('@platformatic/kafka', () => {
  it('admin metadata lists the broker and an auto-created topic with its partitions', async () => {
    const metadata = await admin.metadata({ topics: ['pk-meta'], autocreateTopics: true });
    expect([...metadata.brokers.entries()]).toEqual([[1, { host: '127.0.0.1', port: broker.port, rack: null }]]);
    const topic = metadata.topics.get('pk-meta')!;
    expect(topic.partitionsCount).toBe(3);
    expect(topic.partitions.map((p) => p.leader)).toEqual([1, 1, 1]);
  });

  for (const [name, options] of [
    ['acks=all', { acks: ProduceAcks.ALL }],
    ['acks=1', { acks: ProduceAcks.LEADER }],
    ['idempotent', { idempotent: true }],
    ['idempotent gzip', { idempotent: true, compression: 'gzip' as const }],
  ] as const) {
    it(`sends (${name}) and fetches back each partition in order`, async () => {
      const topic = `pk-${name.replace(/[^a-z0-9]+/g, '-')}`;
      const producer = new Producer({
        clientId: 'sluice-it-platformatic', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers,
        autocreateTopics: true, ...options,
      });
      try {
        for (let round = 0; round < 3; round++) {
          const result = await producer.send({
            messages: Array.from({ length: 30 }, (_, i) => ({ topic, partition: i % 3, key: `k${i}`, value: `${round}:${i}` })),
          });
          expect(result.offsets?.map((o) => o.partition).sort()).toEqual([0, 1, 2]);
        }
      } finally {
        await producer.close();
      }
      for (const partition of [0, 1, 2]) {
        const got = await fetchRange(topic, partition, 0n, 30n);
        const expected = [0, 1, 2].flatMap((round) => Array.from({ length: 10 }, (_, j) => `${round}:${j * 3 + partition}`));
        expect(got.map((r) => r.value), `partition ${partition}`).toEqual(expected);
        expect(got.map((r) => Number(r.offset))).toEqual(expected.map((_, i) => i));
      }
      // From the middle.
      expect((await fetchRange(topic, 1, 15n, 16n)).map((r) => r.value)).toEqual(['1:16']);
    });
  }

  it('lists offsets, and librdkafka reads what it produced', async () => {
    // acks=all answered after the high watermark moved, so the latest offsets are final.
    const offsets = await consumer.listOffsets({ topics: ['pk-acks-all'] });
    expect([...offsets.get('pk-acks-all')!]).toEqual([30n, 30n, 30n]);
    const earliest = await consumer.listOffsets({ topics: ['pk-acks-all'], timestamp: -2n });
    expect([...earliest.get('pk-acks-all')!]).toEqual([0n, 0n, 0n]);
    const read = await python<{ records: Record<string, Array<[number, string, number]>> }>(
      'confluent.py', 'consume', broker.bootstrap, { topic: 'pk-idempotent-gzip', partitions: [2] });
    expect(read.records['2']!.map(([, v]) => v).slice(0, 3)).toEqual(['0:2', '0:5', '0:8']);
  });
});
