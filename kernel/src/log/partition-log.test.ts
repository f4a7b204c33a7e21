import { afterEach, describe, expect, it } from 'vitest';
import { asOffset } from '@sluice/sdk';
import { ManualClock } from '../clock.js';
import { buildBatch } from './batch-builder.js';
import { PartitionLog, type PartitionLogOptions } from './partition-log.js';
import * as rb from './record-batch.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { readdirSync } from 'node:fs';

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function open(dir: string, overrides: Partial<PartitionLogOptions> = {}, config: Record<string, string> = {}): PartitionLog {
  return PartitionLog.open({
    dir, topic: 't', partition: 0, config: logConfig(config), clock: new ManualClock(), log: captureLogger(),
    recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false, ...overrides,
  });
}

function batch(values: string[], fields: Parameters<typeof buildBatch>[1] = {}): Buffer {
  return buildBatch(values.map((v) => ({ key: Buffer.from('k' + v), value: Buffer.from(v), timestampMs: 1000 })), fields);
}

function valuesOf(records: Uint8Array): number[] {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  const offsets: number[] = [];
  for (let pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) {
    for (let o = rb.batchBaseOffset(buf, pos); o <= rb.batchLastOffset(buf, pos); o++) offsets.push(o);
  }
  return offsets;
}

describe('PartitionLog', () => {
  it('assigns offsets, reads back whole batches, and makes durable appends visible', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = open(d.path);
    const r1 = await log.append(batch(['a', 'b', 'c']), 'durable');
    const r2 = await log.append(batch(['d']), 'durable');
    expect([r1.baseOffset, r1.lastOffset, r2.baseOffset]).toEqual([0, 2, 3]);
    expect(log.highWatermark).toBe(4);
    const read = log.read(asOffset(1), 1 << 20, 'read_uncommitted');
    expect(valuesOf(read.records)).toEqual([0, 1, 2, 3]);
    expect(log.read(asOffset(3), 1, 'read_uncommitted').records.length).toBeGreaterThan(0);
    await log.close();
  });

  it('rolls segments by size and reads across them after a clean restart', async () => {
    const d = tempDir();
    dirs.push(d);
    let log = open(d.path, {}, { 'segment.bytes': '1024' });
    for (let i = 0; i < 50; i++) await log.append(batch([`v${i}`.repeat(20)]), 'durable');
    expect(log.segmentCount).toBeGreaterThan(3);
    await log.close();
    log = open(d.path, { cleanShutdown: true }, { 'segment.bytes': '1024' });
    expect(log.logEndOffset).toBe(50);
    const all: number[] = [];
    let next = 0;
    while (next < 50) {
      const got = valuesOf(log.read(asOffset(next), 100, 'read_uncommitted').records);
      all.push(...got.filter((o) => o >= next));
      next = all[all.length - 1]! + 1;
    }
    expect(all).toEqual([...Array(50).keys()]);
    await log.close();
  });

  it('rejects a corrupt batch without writing anything', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = open(d.path);
    const good = batch(['a']);
    const bad = batch(['b']);
    bad[bad.length - 1]! ^= 0xff;
    await expect(log.append(Buffer.concat([good, bad]), 'durable')).rejects.toMatchObject({ code: 2 });
    expect(log.logEndOffset).toBe(0);
    await log.close();
    expect(readdirSync(d.path).some((f) => f.endsWith('.log'))).toBe(true);
  });

  it('answers a retried idempotent batch with its original offsets', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = open(d.path);
    const first = await log.append(batch(['a', 'b'], { producerId: 7, producerEpoch: 0, baseSequence: 0 }), 'durable');
    await log.append(batch(['c'], { producerId: 7, producerEpoch: 0, baseSequence: 2 }), 'durable');
    const retry = await log.append(batch(['a', 'b'], { producerId: 7, producerEpoch: 0, baseSequence: 0 }), 'durable');
    expect(retry).toMatchObject({ duplicate: true, baseOffset: first.baseOffset, lastOffset: first.lastOffset });
    await expect(log.append(batch(['x'], { producerId: 7, producerEpoch: 0, baseSequence: 5 }), 'durable'))
      .rejects.toMatchObject({ code: 45 });
    await expect(log.append(batch(['x'], { producerId: 7, producerEpoch: 0, baseSequence: 3 }), 'durable'))
      .resolves.toMatchObject({ baseOffset: 3 });
    await expect(log.append(batch(['y'], { producerId: 7, producerEpoch: 1, baseSequence: 1 }), 'durable'))
      .rejects.toMatchObject({ code: 45 });
    await expect(log.append(batch(['y'], { producerId: 7, producerEpoch: 1, baseSequence: 0 }), 'durable'))
      .resolves.toMatchObject({ baseOffset: 4 });
    await expect(log.append(batch(['z'], { producerId: 7, producerEpoch: 0, baseSequence: 4 }), 'durable'))
      .rejects.toMatchObject({ code: 47 });
    expect(log.logEndOffset).toBe(5);
    await log.close();
  });

  it('with write caching, acknowledges from the page cache and syncs by flush.messages and flush.ms', async () => {
    const d = tempDir();
    dirs.push(d);
    const clock = new ManualClock();
    const log = open(d.path, { clock }, { 'write.caching': 'true', 'flush.messages': '3', 'flush.ms': '1000' });
    await log.append(batch(['a']), 'durable');
    await log.append(batch(['b']), 'durable');
    // Visible at once, not yet synced.
    expect([log.highWatermark, log.flushedOffset]).toEqual([2, 0]);
    await log.append(batch(['c']), 'durable');
    await log.waitFlushed(3);
    expect(log.flushedOffset).toBe(3);
    await log.append(batch(['d']), 'leader');
    log.flushIfDue(clock.nowMs() + 999);
    expect(log.flushedOffset).toBe(3);
    clock.advance(1000);
    log.flushIfDue(clock.nowMs());
    await log.waitFlushed(4);
    expect(log.flushedOffset).toBe(4);
    await log.close();
  });

  it('rolls a segment once segment.ms has passed since its first append', async () => {
    const d = tempDir();
    dirs.push(d);
    const clock = new ManualClock();
    const log = open(d.path, { clock }, { 'segment.ms': '60000' });
    await log.append(batch(['a']), 'durable');
    clock.advance(59_000);
    await log.append(batch(['b']), 'durable');
    expect(log.segmentCount).toBe(1);
    clock.advance(2_000);
    await log.append(batch(['c']), 'durable');
    expect(log.segmentList().map((s) => s.baseOffset)).toEqual([0, 2]);
    await log.close();
  });
});
