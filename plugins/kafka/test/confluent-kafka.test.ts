/**
 * confluent_kafka (librdkafka 2.x) against a real broker process: an idempotent acks=all
 * producer's 100,000 messages read back by assign-based consumers with nothing lost,
 * nothing duplicated and each partition in order; offsets_for_times against the
 * timestamps the producer set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python } from './clients.js';

const PARTITIONS = 6;

interface Consumed {
  ends: Record<string, number>;
  records: Record<string, Array<[offset: number, value: string, timestampMs: number]>>;
}
interface Delivery {
  error: number | null;
  error_name: string | null;
  partition: number;
  offset: number;
}

let broker: BrokerProcess;

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'num.partitions': String(PARTITIONS) } });
});

afterAll(async () => {
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

describe.sequential('confluent_kafka', () => {
  it('an idempotent producer\'s 100,000 messages come back once each, in order per partition', async () => {
    const count = 100_000;
    const produced = await python<{ acked: number; error_count: number; errors: string[]; unflushed: number }>(
      'confluent.py', 'produce-seq', broker.bootstrap, { topic: 'ck-seq', partitions: PARTITIONS, count, timeout_s: 90 });
    expect(produced).toEqual({ acked: count, error_count: 0, errors: [], unflushed: 0 });

    // Two consumers at once, each assigned half of the partitions.
    const halves = [[0, 1, 2], [3, 4, 5]];
    const consumed = await Promise.all(halves.map((partitions) =>
      python<Consumed>('confluent.py', 'consume', broker.bootstrap, { topic: 'ck-seq', partitions, timeout_s: 90 })));
    let total = 0;
    for (const [half, result] of consumed.entries()) {
      for (const p of halves[half]!) {
        const expected = Math.floor(count / PARTITIONS) + (p < count % PARTITIONS ? 1 : 0);
        const records = result.records[String(p)]!;
        expect(result.ends[String(p)]).toBe(expected);
        expect(records.length).toBe(expected);
        // Offsets dense from 0 and each value the partition's next sequence number: no
        // loss, no duplicate, no reordering. Compared as one mismatch, not 16,000 asserts.
        const firstBad = records.findIndex(([offset, value], i) => offset !== i || value !== `${p}:${i}`);
        expect(firstBad, `partition ${p} record ${firstBad}: ${JSON.stringify(records[firstBad])}`).toBe(-1);
        total += records.length;
      }
    }
    expect(total).toBe(count);

    // Fetching from the middle of a partition starts exactly there.
    const middle = await python<Consumed>('confluent.py', 'consume', broker.bootstrap, { topic: 'ck-seq', partitions: [4], offset: 12_345 });
    expect(middle.records['4']![0]).toEqual([12_345, '4:12345', expect.any(Number)]);
    expect(middle.records['4']!.length).toBe(middle.ends['4']! - 12_345);
  });

  it('offsets_for_times finds the first offset at or after each timestamp', async () => {
    const t0 = 1_700_000_000_000;
    const topic = 'ck-times';
    // Partition 0: increasing timestamps, in two produce runs so they span two batches.
    // Partition 1: out of order; the answer is the first offset whose timestamp is at or after.
    const runs = [
      [0, 10, 20, 30, 40].map((dt) => ({ partition: 0, timestamp: t0 + dt })),
      [50, 60, 70, 80, 90].map((dt) => ({ partition: 0, timestamp: t0 + dt })),
      [0, 30, 10, 20].map((dt) => ({ partition: 1, timestamp: t0 + dt })),
    ];
    for (const messages of runs) {
      const produced = await python<{ reports: Delivery[] }>('confluent.py', 'produce', broker.bootstrap, {
        topic, messages: messages.map((m) => ({ ...m, value: `ts-${m.timestamp - t0}` })),
      });
      expect(produced.reports.map((r) => r.error)).toEqual(messages.map(() => null));
    }

    const read = await python<Consumed>('confluent.py', 'consume', broker.bootstrap, { topic, partitions: [0, 1] });
    expect(read.records['0']!.map(([, , ts]) => ts - t0)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(read.records['1']!.map(([, , ts]) => ts - t0)).toEqual([0, 30, 10, 20]);

    const queries = [
      { partition: 0, dt: -1, offset: 0 },
      { partition: 0, dt: 0, offset: 0 },
      { partition: 0, dt: 5, offset: 1 },
      { partition: 0, dt: 40, offset: 4 },
      { partition: 0, dt: 41, offset: 5 },
      { partition: 0, dt: 90, offset: 9 },
      { partition: 0, dt: 91, offset: -1 },
      { partition: 1, dt: 5, offset: 1 },
      { partition: 1, dt: 15, offset: 1 },
      { partition: 1, dt: 31, offset: -1 },
    ];
    // One request per query: librdkafka merges a list by partition.
    for (const q of queries) {
      const found = await python<Array<{ partition: number; offset: number; error: number | null }>>(
        'confluent.py', 'offsets-for-times', broker.bootstrap, { topic, queries: [{ partition: q.partition, timestamp: t0 + q.dt }] });
      expect(found, `partition ${q.partition} at t0+${q.dt}`).toEqual([{ partition: q.partition, offset: q.offset, error: null }]);
    }
  });
});
