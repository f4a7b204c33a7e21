/**
 * KafkaJS 2.2.4 against a real broker process: the producer at acks=-1 and acks=1 (plain
 * and idempotent), the admin's offset lookups, and fetches through KafkaJS's own broker
 * connection and record decoder (its group consumer is covered in groups.test.ts).
 * Also reads back batches librdkafka compressed with each of gzip, snappy, lz4 and zstd.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompressionTypes, Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python } from './clients.js';
import { registerKernelCodecs } from './kafkajs-codecs.js';
import { advertisedApis } from './raw-client.js';

interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers: Record<string, Buffer | undefined>;
}
interface FetchPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  messages: FetchedMessage[];
}
/** The part of KafkaJS's internal Cluster and Broker these tests use. */
interface KafkaJsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(opts: { nodeId: string }): Promise<{
    fetch(request: object): Promise<{ responses: Array<{ topicName: string; partitions: FetchPartition[] }> }>;
  }>;
}

const CODEC_IDS = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
const PRODUCE = 0;
const FIND_COORDINATOR = 10;

let broker: BrokerProcess;
let kafka: Kafka;
let producer: Producer;
let admin: Admin;
let cluster: KafkaJsCluster;

beforeAll(async () => {
  registerKernelCodecs();
  broker = await startBroker();
  kafka = new Kafka({ clientId: 'sluice-it-kafkajs', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  producer = kafka.producer({ allowAutoTopicCreation: true });
  admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  // KafkaJS keeps its cluster factory private; the symbol is found by its description.
  const create = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster')!;
  cluster = (kafka as unknown as Record<symbol, (opts: object) => KafkaJsCluster>)[create]!({});
  await cluster.connect();
});

afterAll(async () => {
  await Promise.all([producer?.disconnect(), admin?.disconnect(), cluster?.disconnect()]);
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

/**
 * Partition 0's messages from `from` up to the high watermark, or up to `until` when given,
 * through KafkaJS's Fetch and decoder. With `until`, records not yet readable are waited
 * for (long poll): acks=1 answers before the high watermark covers its records.
 */
async function fetchAll(topic: string, from = 0, until?: number): Promise<FetchedMessage[]> {
  await cluster.addTargetTopic(topic);
  const [nodeId] = Object.keys(cluster.findLeaderForPartitions(topic, [0]));
  const leader = await cluster.findBroker({ nodeId: nodeId! });
  const out: FetchedMessage[] = [];
  let offset = from;
  for (let round = 0; round < 1000; round++) {
    const response = await leader.fetch({
      replicaId: -1, isolationLevel: 1, maxWaitTime: until === undefined ? 0 : 500, minBytes: 1, maxBytes: 4 << 20,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: String(offset), maxBytes: 1 << 20 }] }],
    });
    const p = response.responses[0]!.partitions[0]!;
    expect(p.errorCode).toBe(0);
    // A fetch returns whole batches, so the first may start before the offset asked for.
    const fresh = p.messages.filter((m) => Number(m.offset) >= offset);
    out.push(...fresh);
    if (fresh.length > 0) offset = Number(fresh[fresh.length - 1]!.offset) + 1;
    if (offset >= (until ?? Number(p.highWatermark))) return out;
  }
  throw new Error(`${topic}: still short of the end after 1000 fetches, at ${offset}`);
}

/** The compression codec of each batch in partition 0's first segment, read from the log file. */
function storedCodecs(topic: string): number[] {
  const log = readFileSync(join(broker.dataDir, `${topic}-0`, '00000000000000000000.log'));
  const codecs: number[] = [];
  // RecordBatch v2: baseOffset int64, batchLength int32, ..., attributes int16 at byte 21.
  for (let pos = 0; pos + 12 <= log.length; pos += 12 + log.readInt32BE(pos + 8)) codecs.push(log.readInt16BE(pos + 21) & 0x07);
  return codecs;
}

describe.sequential('KafkaJS', () => {
  it('produces at acks=-1 and acks=1, and fetches the messages back with keys, headers and timestamps', async () => {
    const topic = 'kjs-acks';
    const sent: Array<{ key: string; value: string; timestamp: number }> = [];
    const baseTs = 1_700_000_000_000;
    for (const [round, acks] of [[0, -1], [1, 1], [2, -1], [3, 1]] as const) {
      const messages = Array.from({ length: 25 }, (_, i) => ({
        key: `k${round}-${i}`, value: `acks ${acks} #${round * 25 + i}`, timestamp: String(baseTs + round * 25 + i),
        headers: { round: String(round) },
      }));
      const [meta] = await producer.send({ topic, acks, messages });
      expect(meta).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: String(round * 25) });
      sent.push(...messages.map((m) => ({ key: m.key, value: m.value, timestamp: Number(m.timestamp) })));
    }
    const got = await fetchAll(topic, 0, sent.length);
    expect(got.map((m) => ({ key: m.key!.toString(), value: m.value!.toString(), timestamp: Number(m.timestamp) }))).toEqual(sent);
    expect(got.map((m) => Number(m.offset))).toEqual(sent.map((_, i) => i));
    expect(got.map((m) => m.headers['round']!.toString())).toEqual(sent.map((_, i) => String(Math.floor(i / 25))));

    // From the middle: the first message is exactly the one asked for.
    expect((await fetchAll(topic, 60, 61))[0]!.value!.toString()).toBe('acks -1 #60');
  });

  it('an idempotent producer gets a producer id and its messages land once', async () => {
    const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await idempotent.connect();
    try {
      for (let i = 0; i < 5; i++) {
        await idempotent.send({ topic: 'kjs-idem', acks: -1, messages: Array.from({ length: 10 }, (_, j) => ({ value: `m${i * 10 + j}` })) });
      }
    } finally {
      await idempotent.disconnect();
    }
    expect((await fetchAll('kjs-idem')).map((m) => m.value!.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
  });

  it('admin fetchTopicOffsets and fetchTopicOffsetsByTimestamp', async () => {
    const topic = 'kjs-offsets';
    const t0 = 1_600_000_000_000;
    await producer.send({ topic, acks: -1, messages: [0, 100, 200, 300].map((dt) => ({ value: `at ${dt}`, timestamp: String(t0 + dt) })) });
    await producer.send({ topic, acks: -1, messages: [400, 500].map((dt) => ({ value: `at ${dt}`, timestamp: String(t0 + dt) })) });
    expect(await admin.fetchTopicOffsets(topic)).toEqual([{ partition: 0, offset: '6', high: '6', low: '0' }]);
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 - 1)).toEqual([{ partition: 0, offset: '0' }]);
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 150)).toEqual([{ partition: 0, offset: '2' }]);
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 400)).toEqual([{ partition: 0, offset: '4' }]);
    // Past the last timestamp KafkaJS answers the high watermark.
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 501)).toEqual([{ partition: 0, offset: '6' }]);
  });

  it('reads back what librdkafka compressed with gzip, snappy, lz4 and zstd', async () => {
    // librdkafka 2.0.2 silently sends uncompressed batches unless the broker lists Produce
    // v0 (gzip, snappy, lz4) and FindCoordinator (lz4): the stored codec is checked too.
    const listed = new Set((await advertisedApis(broker.port)).map((a) => a.apiKey));
    expect([...listed]).toEqual(expect.arrayContaining([PRODUCE, FIND_COORDINATOR]));
    // Values repeat enough to compress, vary so a misplaced record shows, and some are large
    // enough that lz4 and zstd write several blocks per batch.
    const values = Array.from({ length: 300 }, (_, i) => `${i}:${'é✓ sluice '.repeat(i % 7 === 0 ? 900 : 3)}${i}`);
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      const topic = `kjs-codec-${codec}`;
      const produced = await python<{ reports: Array<{ error: number | null; offset: number }>; unflushed: number }>(
        'confluent.py', 'produce', broker.bootstrap, {
          topic, messages: values.map((value) => ({ value, partition: 0 })),
          config: { 'compression.type': codec, 'linger.ms': 50 },
        });
      expect(produced.reports.map((r) => r.error), codec).toEqual(values.map(() => null));
      expect(new Set(storedCodecs(topic)), codec).toEqual(new Set([CODEC_IDS[codec]]));
      const got = await fetchAll(topic);
      expect(got.map((m) => m.value!.toString('utf8')), codec).toEqual(values);
    }
  });

  it('produces with each codec that librdkafka then reads back', async () => {
    const values = Array.from({ length: 100 }, (_, i) => `kafkajs ${i} ${'abc'.repeat(i)}`);
    for (const [name, type] of [['gzip', CompressionTypes.GZIP], ['snappy', CompressionTypes.Snappy],
      ['lz4', CompressionTypes.LZ4], ['zstd', CompressionTypes.ZSTD]] as const) {
      const topic = `kjs-writes-${name}`;
      await producer.send({ topic, acks: -1, compression: type, messages: values.map((value) => ({ value })) });
      expect(storedCodecs(topic), name).toEqual([CODEC_IDS[name]]);
      const read = await python<{ records: Record<string, Array<[number, string, number]>> }>(
        'confluent.py', 'consume', broker.bootstrap, { topic, partitions: [0] });
      expect(read.records['0']!.map(([, v]) => v), name).toEqual(values);
    }
  });
});
