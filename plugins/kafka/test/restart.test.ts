/**
 * Restarts of a real broker process on the same data dir. After SIGTERM: every record,
 * every partition's offsets, timestamp lookups, topic ids and topic configs are as before,
 * and new records continue the offsets. After SIGKILL in the middle of an idempotent
 * acks=all stream: every acknowledged record is there, at the offset it was acknowledged
 * with, and nothing is there twice.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { Admin } from '@platformatic/kafka';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { PYTHON, python } from './clients.js';

interface Consumed {
  ends: Record<string, number>;
  records: Record<string, Array<[offset: number, value: string, timestampMs: number]>>;
}

const CONFIGS = { 'retention.ms': '7200000', 'max.message.bytes': '500000', 'cleanup.policy': 'delete', 'segment.bytes': '1048576' };

let broker: BrokerProcess;
/** Every broker process this file started, for the ERROR-line check. */
const outputs: string[] = [];

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'num.partitions': '3' } });
});

afterAll(async () => {
  if (broker !== undefined) {
    await broker.stop();
    outputs.push(broker.output());
    broker.removeDataDir();
  }
  expect(outputs.flatMap((o) => logLines(o, 'ERROR'))).toEqual([]);
});

async function restart(how: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const code = how === 'SIGTERM' ? await broker.stop() : await broker.kill('SIGKILL');
  outputs.push(broker.output());
  if (how === 'SIGTERM') expect(code, broker.output()).toBe(0);
  broker = await startBroker({ dataDir: broker.dataDir, port: broker.port, overrides: { 'num.partitions': '3' } });
}

/** What admin clients see of a topic: its id, partitions' offsets and the configs set on it. */
async function describeTopic(topic: string): Promise<{ id: string; offsets: string[][]; configs: Record<string, string> }> {
  const kafka = new Kafka({ clientId: 'sluice-it-restart', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  // KafkaJS does not show topic ids; @platformatic/kafka does.
  const platformatic = new Admin({ clientId: 'sluice-it-restart', bootstrapBrokers: [broker.bootstrap] });
  await admin.connect();
  try {
    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: Object.keys(CONFIGS) }], includeSynonyms: false,
    });
    const configs = Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    const offsets = (await admin.fetchTopicOffsets(topic)).map((o) => [String(o.partition), o.low, o.high]);
    const id = (await platformatic.metadata({ topics: [topic] })).topics.get(topic)!.id;
    return { id, offsets, configs };
  } finally {
    await Promise.all([admin.disconnect(), platformatic.close()]);
  }
}

describe.sequential('restart', () => {
  it('after SIGTERM: records, offsets, timestamp lookups and topic configs are intact, and offsets continue', async () => {
    const topic = 'rs-term';
    const kafka = new Kafka({ clientId: 'sluice-it-restart', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({
        topics: [{ topic, numPartitions: 3, configEntries: Object.entries(CONFIGS).map(([name, value]) => ({ name, value })) }],
        waitForLeaders: true,
      })).toBe(true);
    } finally {
      await admin.disconnect();
    }
    const produced = await python<{ acked: number; error_count: number }>('confluent.py', 'produce-seq', broker.bootstrap, {
      topic, partitions: 3, count: 30_000, config: { 'linger.ms': 20 },
    });
    expect(produced).toMatchObject({ acked: 30_000, error_count: 0 });
    // After every append time of the records above, so the lookup lands on these three.
    const t0 = Date.now() + 60_000;
    const timed = await python<{ reports: Array<{ error: number | null }> }>('confluent.py', 'produce', broker.bootstrap, {
      topic, messages: [0, 10, 20].map((dt) => ({ partition: 1, timestamp: t0 + dt, value: `t${dt}` })),
    });
    expect(timed.reports.map((r) => r.error)).toEqual([null, null, null]);
    const lookup = (): Promise<unknown> => python('confluent.py', 'offsets-for-times', broker.bootstrap, {
      topic, queries: [{ partition: 1, timestamp: t0 + 5 }],
    });

    const before = {
      described: await describeTopic(topic),
      records: await python<Consumed>('confluent.py', 'consume', broker.bootstrap, { topic, partitions: [0, 1, 2] }),
      lookup: await lookup(),
    };
    expect(before.described.configs).toEqual(CONFIGS);
    expect(before.described.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(before.described.id).not.toBe('00000000-0000-0000-0000-000000000000');
    expect(before.records.ends).toEqual({ 0: 10_000, 1: 10_003, 2: 10_000 });
    expect(before.lookup).toEqual([{ partition: 1, offset: 10_001, error: null }]);

    await restart('SIGTERM');

    expect(await describeTopic(topic)).toEqual(before.described);
    expect(await python<Consumed>('confluent.py', 'consume', broker.bootstrap, { topic, partitions: [0, 1, 2] })).toEqual(before.records);
    expect(await lookup()).toEqual(before.lookup);
    const after = await python<{ reports: Array<{ error: number | null; partition: number; offset: number }> }>(
      'confluent.py', 'produce', broker.bootstrap, { topic, messages: [0, 1, 2].map((partition) => ({ partition, value: 'after' })) });
    expect(after.reports).toEqual([
      expect.objectContaining({ error: null, partition: 0, offset: 10_000 }),
      expect.objectContaining({ error: null, partition: 1, offset: 10_003 }),
      expect.objectContaining({ error: null, partition: 2, offset: 10_000 }),
    ]);
  });

  it('after SIGKILL mid-stream: every acknowledged acks=all record is there, at its offset, once', async () => {
    const topic = 'rs-kill';
    const killAfterAcks = 5_000;
    const producer = spawn(PYTHON, [join(import.meta.dirname, 'clients/confluent.py'), 'produce-stream', broker.bootstrap], {
      stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000, killSignal: 'SIGKILL',
    });
    producer.stdin.end(JSON.stringify({ topic, partitions: 3, max_count: 500_000, timeout_s: 30, message_timeout_ms: 3000 }));
    const stderr: Buffer[] = [];
    producer.stderr.on('data', (b: Buffer) => stderr.push(b));
    const acked: Array<{ partition: number; offset: number; value: string }> = [];
    let summary: { sent: number; acked: number; failed: number } | undefined;
    let killed: Promise<number | null> | undefined;
    const exited = new Promise<number | null>((ok) => producer.once('close', ok));
    for await (const line of createInterface({ input: producer.stdout })) {
      if (line.startsWith('ack ')) {
        const [, partition, offset, value] = line.split(' ');
        acked.push({ partition: Number(partition), offset: Number(offset), value: value! });
        // The kill lands while the producer still has records in flight.
        if (acked.length === killAfterAcks) killed = broker.kill('SIGKILL');
      } else if (line.startsWith('{')) {
        summary = JSON.parse(line) as typeof summary;
      }
    }
    expect(await exited, Buffer.concat(stderr).toString()).toBe(0);
    expect(killed, `the producer finished with only ${acked.length} acks`).toBeDefined();
    expect(await killed).toBeNull();
    // Some records were refused or timed out: the stream really was cut, not finished.
    expect(summary!.failed).toBeGreaterThan(0);
    expect(summary!.acked).toBe(acked.length);
    outputs.push(broker.output());

    broker = await startBroker({ dataDir: broker.dataDir, port: broker.port, overrides: { 'num.partitions': '3' } });
    const read = await python<Consumed>('confluent.py', 'consume', broker.bootstrap, { topic, partitions: [0, 1, 2] });
    const stored = new Map<string, string>();
    for (const [p, records] of Object.entries(read.records)) for (const [offset, value] of records) stored.set(`${p}@${offset}`, value);
    const missing = acked.filter((a) => stored.get(`${a.partition}@${a.offset}`) !== a.value);
    expect(missing.slice(0, 5), `${missing.length} of ${acked.length} acknowledged records missing or moved`).toEqual([]);
    // No duplicates, and each partition's sequence in order without holes below what was acknowledged.
    for (const [p, records] of Object.entries(read.records)) {
      const firstBad = records.findIndex(([offset, value], i) => offset !== i || value !== `${p}:${i}`);
      expect(firstBad, `partition ${p}: ${JSON.stringify(records[firstBad])}`).toBe(-1);
    }
  });
});
