/**
 * kafka-python 2.0.2 against a real broker process: a producer with keys, headers and
 * timestamps over several partitions, read back by a KafkaConsumer that assigns partitions
 * and seeks (no group), and a seek into the middle of a partition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python } from './clients.js';

interface Consumed {
  ends: Record<string, number>;
  records: Record<string, Array<{ offset: number; key: string | null; value: string; timestamp: number; headers: Record<string, string> }>>;
}

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'num.partitions': '2' } });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

describe.sequential('kafka-python', () => {
  it('produces and consumes back with assign and seek', async () => {
    const t0 = 1_650_000_000_000;
    const messages = Array.from({ length: 200 }, (_, i) => ({
      partition: i % 2, key: `key-${i}`, value: `value-${i}`, timestamp: t0 + i, headers: { n: String(i) },
    }));
    const produced = await python<Array<{ partition: number; offset: number; error: string | null }>>(
      'kafka_python.py', 'produce', broker.bootstrap, { topic: 'kp-roundtrip', messages, linger_ms: 5 });
    expect(produced).toEqual(messages.map((m, i) => ({ partition: m.partition, offset: Math.floor(i / 2), error: null })));

    const read = await python<Consumed>('kafka_python.py', 'consume', broker.bootstrap, { topic: 'kp-roundtrip', partitions: [0, 1] });
    expect(read.ends).toEqual({ 0: 100, 1: 100 });
    for (const p of [0, 1]) {
      const expected = messages.filter((m) => m.partition === p).map((m, offset) => ({
        offset, key: m.key, value: m.value, timestamp: m.timestamp, headers: m.headers,
      }));
      expect(read.records[String(p)], `partition ${p}`).toEqual(expected);
    }

    const middle = await python<Consumed>('kafka_python.py', 'consume', broker.bootstrap, { topic: 'kp-roundtrip', partitions: [1], offset: 57 });
    expect(middle.records['1']!.map((r) => r.value)).toEqual(messages.filter((m) => m.partition === 1).slice(57).map((m) => m.value));
  });

  it('round-trips through gzip, snappy and lz4 batches', async () => {
    for (const compression of ['gzip', 'snappy', 'lz4']) {
      const topic = `kp-${compression}`;
      const messages = Array.from({ length: 50 }, (_, i) => ({ partition: 0, value: `${compression} ${i} ${'x'.repeat(i * 10)}` }));
      const produced = await python<Array<{ error: string | null }>>('kafka_python.py', 'produce', broker.bootstrap, {
        topic, messages, compression, linger_ms: 20,
      });
      expect(produced.map((r) => r.error), compression).toEqual(messages.map(() => null));
      const read = await python<Consumed>('kafka_python.py', 'consume', broker.bootstrap, { topic, partitions: [0] });
      expect(read.records['0']!.map((r) => r.value), compression).toEqual(messages.map((m) => m.value));
    }
  });
});
