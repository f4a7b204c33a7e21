import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { asOffset } from '@sluice/sdk';
import { ManualClock } from '../clock.js';
import type { LogConfig } from '../config/topic-config.js';
import { buildBatch } from './batch-builder.js';
import { PartitionLog } from './partition-log.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { readAllRecords } from '../../test/log-records.js';

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function openLog(dir: string, clock: ManualClock, config: LogConfig, logStartOffset = 0, cleanShutdown = false): PartitionLog {
  return PartitionLog.open({
    dir, topic: 't', partition: 0, config, clock, log: captureLogger(), recoveryPoint: 0, logStartOffset, cleanShutdown,
  });
}

/** What the model knows of each batch appended. */
interface AppendedBatch {
  readonly base: number;
  readonly last: number;
  readonly maxTimestamp: number;
  readonly size: number;
}

interface ModelSegment {
  readonly base: number;
  readonly end: number;
  readonly maxTimestamp: number;
  readonly size: number;
  readonly active: boolean;
}

/** The log's segments, with timestamps and sizes taken from the model, not from the log. */
function modelSegments(log: PartitionLog, appended: readonly AppendedBatch[]): ModelSegment[] {
  const segments = log.segmentList();
  return segments.map((s, i) => {
    const end = segments[i + 1]?.baseOffset ?? log.logEndOffset;
    const inside = appended.filter((b) => b.base >= s.baseOffset && b.base < end);
    const model = {
      base: s.baseOffset, end, active: i === segments.length - 1,
      maxTimestamp: inside.reduce((m, b) => Math.max(m, b.maxTimestamp), -1),
      size: inside.reduce((sum, b) => sum + b.size, 0),
    };
    expect(s.sizeBytes).toBe(model.size);
    return model;
  });
}

/** retention.ms: the oldest segments wholly expired and wholly below the high watermark go. */
function expectedAfterTime(segments: readonly ModelSegment[], cutoff: number, hw: number, leo: number): number {
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s.size === 0 || s.maxTimestamp < 0 || s.maxTimestamp >= cutoff) return s.base;
    // An expired active segment is rolled and deleted, once everything in it is replicated.
    if (s.active) return leo > hw ? s.base : leo;
    if (segments[i + 1]!.base > hw) return s.base;
  }
  return leo;
}

/** retention.bytes: the oldest segments go while the rest still exceeds the limit. */
function expectedAfterBytes(segments: readonly ModelSegment[], retentionBytes: number, hw: number): number {
  let excess = segments.reduce((sum, s) => sum + s.size, 0) - retentionBytes;
  let i = 0;
  while (i < segments.length - 1 && excess >= segments[i]!.size && segments[i + 1]!.base <= hw) {
    excess -= segments[i]!.size;
    i++;
  }
  return segments[i]!.base;
}

const append = fc.record({
  kind: fc.constant('append' as const),
  records: fc.integer({ min: 1, max: 3 }),
  advanceMs: fc.integer({ min: 0, max: 3000 }),
  /** Producer timestamps lag the clock by up to this much, out of order between batches. */
  skewMs: fc.oneof(fc.integer({ min: 0, max: 2000 }), fc.constant(60_000)),
  durable: fc.boolean(),
});
const retentionMs = fc.record({ kind: fc.constant('retention.ms' as const), ms: fc.integer({ min: 0, max: 20_000 }) });
const retentionBytes = fc.record({ kind: fc.constant('retention.bytes' as const), bytes: fc.integer({ min: 0, max: 3000 }) });
const deleteRecords = fc.record({ kind: fc.constant('delete-records' as const), at: fc.double({ min: 0, max: 1.2, noNaN: true }) });
const restart = fc.record({ kind: fc.constant('restart' as const), cleanShutdown: fc.boolean() });

describe('retention and the high watermark', () => {
  function batchAt(timestampMs: number, value: string): Buffer {
    return buildBatch([{ key: Buffer.from('k'), value: Buffer.from(value), timestampMs }]);
  }

  it('deletes nothing that is not yet below the high watermark', async () => {
    const d = tempDir();
    dirs.push(d);
    const clock = new ManualClock();
    const config = { ...logConfig(), segmentBytes: 300, retentionMs: 1000 };
    const log = openLog(d.path, clock, config);
    const old = clock.nowMs() - 100_000;
    for (let i = 0; i < 10; i++) await log.append(batchAt(old, `${i}`), 'durable');
    for (let i = 10; i < 30; i++) log.appendNow(batchAt(old, `${i}`));
    expect(log.highWatermark).toBe(10);
    const bases = log.segmentList().map((s) => s.baseOffset);
    log.applyRetention(clock.nowMs());
    // Only segments that end at or below offset 10 may go.
    const keptFrom = bases.filter((b, i) => (bases[i + 1] ?? Infinity) > 10)[0]!;
    expect(log.logStartOffset).toBe(keptFrom);
    log.config = { ...config, retentionMs: -1, retentionBytes: 0 };
    log.applyRetention(clock.nowMs());
    expect(log.logStartOffset).toBe(keptFrom);
    expect(() => log.advanceLogStartOffset(11)).toThrow(expect.objectContaining({ code: 1 }));
    await log.waitFlushed(log.logEndOffset);
    log.config = { ...config };
    log.applyRetention(clock.nowMs());
    // Everything expired and replicated: the active segment is rolled and deleted too.
    expect([log.logStartOffset, log.logEndOffset, log.segmentCount]).toEqual([30, 30, 1]);
    await log.close();
  });
});

describe('retention against a model', () => {
  it('deletes what retention.ms, retention.bytes and DeleteRecords allow, never at or above the high watermark', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.oneof({ weight: 6, arbitrary: append }, retentionMs, retentionBytes, deleteRecords, restart), { minLength: 1, maxLength: 60 }),
      async (ops) => {
        const d = tempDir();
        dirs.push(d);
        const clock = new ManualClock();
        let config: LogConfig = { ...logConfig(), segmentBytes: 300, indexIntervalBytes: 100 };
        let log = openLog(d.path, clock, config);
        const appended: AppendedBatch[] = [];
        const values = new Map<number, string>();
        let start = 0;
        for (const op of ops) {
          const hw = log.highWatermark;
          const leo = log.logEndOffset;
          if (op.kind === 'append') {
            clock.advance(op.advanceMs);
            const ts = clock.nowMs() - op.skewMs;
            const records = Array.from({ length: op.records }, (_, i) => ({
              key: Buffer.from('k'), value: Buffer.from(`v${leo + i}`), timestampMs: ts - i,
            }));
            const batch = buildBatch(records);
            const res = op.durable ? await log.append(batch, 'durable') : log.appendNow(batch);
            appended.push({ base: res.baseOffset, last: res.lastOffset, maxTimestamp: ts, size: batch.length });
            records.forEach((_, i) => values.set(res.baseOffset + i, `v${leo + i}`));
            continue;
          }
          if (op.kind === 'restart') {
            await log.close();
            log = openLog(d.path, clock, config, start, op.cleanShutdown);
            expect(log.logStartOffset).toBe(start);
            continue;
          }
          const segments = modelSegments(log, appended);
          if (op.kind === 'retention.ms') {
            config = { ...config, retentionMs: op.ms, retentionBytes: -1 };
            log.config = config;
            const expected = Math.max(start, expectedAfterTime(segments, clock.nowMs() - op.ms, hw, leo));
            log.applyRetention(clock.nowMs());
            expect(log.logStartOffset).toBe(expected);
            start = expected;
          } else if (op.kind === 'retention.bytes') {
            config = { ...config, retentionMs: -1, retentionBytes: op.bytes };
            log.config = config;
            const expected = Math.max(start, expectedAfterBytes(segments, op.bytes, hw));
            log.applyRetention(clock.nowMs());
            expect(log.logStartOffset).toBe(expected);
            start = expected;
          } else {
            const target = Math.floor(op.at * leo);
            if (target > hw) {
              expect(() => log.advanceLogStartOffset(target)).toThrow(expect.objectContaining({ code: 1 }));
            } else {
              log.advanceLogStartOffset(target);
              start = Math.max(start, target);
              const kept = segments.filter((s, i) => i === segments.length - 1 || segments[i + 1]!.base > start);
              expect(log.segmentList().map((s) => s.baseOffset)).toEqual(kept.map((s) => s.base));
            }
            expect(log.logStartOffset).toBe(start);
          }
          expect(log.logStartOffset).toBeLessThanOrEqual(hw);
          expect(log.logEndOffset).toBe(leo);
        }
        await log.waitFlushed(log.logEndOffset);
        const read = readAllRecords(log);
        expect(read.map((r) => r.offset)).toEqual([...values.keys()].filter((o) => o >= start));
        expect(read.every((r) => r.value === values.get(r.offset))).toBe(true);
        if (start > 0) {
          expect(() => log.read(asOffset(start - 1), 1024, 'read_uncommitted')).toThrow(expect.objectContaining({ code: 1 }));
        }
        await log.close();
      }), { numRuns: 60 });
  });
});
