import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { LogConfig } from '../config/topic-config.js';
import { buildBatch, type BatchFields } from './batch-builder.js';
import { CLEANER_CHECKPOINT_FILE, LogCleaner, type CleanResult } from './cleaner.js';
import { CODEC_GZIP, hasCodec } from './compression.js';
import { PartitionLog } from './partition-log.js';
import * as rb from './record-batch.js';
import { segmentFileName } from './segment.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { decodeBatches, readAllBatches, readAllRecords, recordsFrom, type DecodedRecord } from '../../test/log-records.js';

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

const DAY_MS = 86_400_000;
const UNREGISTERED_CODEC = 7;

/** A log dir with one partition directory `t-0` in it, as the log manager lays them out. */
function logDir(): { root: string; partition: string } {
  const d = tempDir();
  dirs.push(d);
  const partition = join(d.path, 't-0');
  mkdirSync(partition);
  return { root: d.path, partition };
}

function compactConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...logConfig({ 'cleanup.policy': 'compact' }), segmentBytes: 300, indexIntervalBytes: 100, ...overrides };
}

function openLog(dir: string, clock: ManualClock, config: LogConfig, cleanShutdown = false): PartitionLog {
  return PartitionLog.open({
    dir, topic: 't', partition: 0, config, clock, log: captureLogger(),
    recoveryPoint: 0, logStartOffset: 0, cleanShutdown,
  });
}

type Rec = readonly [key: string, value: string | null];

function batchOf(records: readonly Rec[], clock: ManualClock, fields: BatchFields = {}): Buffer {
  return buildBatch(records.map(([k, v]) => ({
    key: Buffer.from(k), value: v === null ? null : Buffer.from(v), timestampMs: clock.nowMs(),
  })), fields);
}

async function appendAll(log: PartitionLog, clock: ManualClock, batches: ReadonlyArray<readonly Rec[]>,
  fields: BatchFields = {}): Promise<void> {
  for (const records of batches) await log.append(batchOf(records, clock, fields), 'durable');
}

function cleaner(keyMapBytesMax = 1 << 20): LogCleaner {
  return new LogCleaner({ log: captureLogger(), keyMapBytesMax });
}

/** Cleans until a round makes no progress: everything cleanable is then clean. */
async function cleanFully(c: LogCleaner, log: PartitionLog, nowMs: number): Promise<CleanResult> {
  for (;;) {
    const r = await c.cleanLog(log, nowMs);
    if (r.endOffset === r.firstDirtyOffset) return r;
  }
}

/**
 * The log as compaction must leave it: below `end` (the cleaner checkpoint) the last
 * record of each key within [0, end), tombstones too unless `tombstonesGone`; from `end`
 * on every record appended.
 */
function expectedRecords(appended: readonly DecodedRecord[], end: number, tombstonesGone: boolean): DecodedRecord[] {
  const lastBelowEnd = new Map<string, number>();
  for (const r of appended) if (r.offset < end) lastBelowEnd.set(r.key!, r.offset);
  return appended.filter((r) => r.offset >= end
    || (lastBelowEnd.get(r.key!) === r.offset && !(tombstonesGone && r.value === null)));
}

function shape(records: readonly DecodedRecord[]): Array<[number, string | null, string | null]> {
  return records.map((r) => [r.offset, r.key, r.value]);
}

/** Reading from the start and fetching from every offset both give `expected`. */
function expectContents(log: PartitionLog, expected: readonly DecodedRecord[], what = ''): void {
  expect(shape(readAllRecords(log)), what).toEqual(shape(expected));
  for (let o = Number(log.logStartOffset); o < log.highWatermark; o++) {
    expect(shape(recordsFrom(log, o, 2)), `${what} from ${o}`).toEqual(shape(expected.filter((r) => r.offset >= o).slice(0, 2)));
  }
}

describe('LogCleaner', () => {
  it('keeps the last record per key with its offset, and keeps batch offset ranges', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig());
    await appendAll(log, clock, [[['a', '1'], ['b', '1'], ['c', '1']], [['a', '2']], [['b', '2']], [['d', '1']]]);
    for (let i = 0; i < 12; i++) await appendAll(log, clock, [[['x', `${i}`]]]);
    const leo = log.logEndOffset;
    const segmentsBefore = log.segmentCount;
    const before = readAllRecords(log);
    const c = cleaner();
    expect(c.needsCleaning(log, clock.nowMs())).toBe(true);
    const result = await cleanFully(c, log, clock.nowMs());
    expect(result.aborted).toBe(false);
    expect(log.logEndOffset).toBe(leo);
    const after = readAllRecords(log);
    expect(shape(after)).toEqual(shape(expectedRecords(before, result.endOffset, false)));
    // The first batch lost a and b but keeps its range 0..2, so the next batch still starts at 3.
    const first = readAllBatches(log)[0]!;
    expect([first.baseOffset, first.lastOffset, first.records.map((r) => r.offset)]).toEqual([0, 2, [2]]);
    expect(log.segmentCount).toBeLessThan(segmentsBefore);
    await log.close();
  });

  it('never touches the active segment or data above the high watermark', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig());
    for (let i = 0; i < 20; i++) await appendAll(log, clock, [[['k', `${i}`]]]);
    const hw = log.highWatermark;
    // Not yet synced: above the high watermark, in segments that roll.
    for (let i = 20; i < 40; i++) log.appendNow(batchOf([['k', `${i}`]], clock));
    expect(log.highWatermark).toBe(hw);
    const segments = log.segmentList();
    const cleanableEnd = segments.find((s, i) => segments[i + 1] === undefined || segments[i + 1]!.baseOffset > hw)!.baseOffset;
    const result = await cleaner().cleanLog(log, clock.nowMs());
    expect(result.endOffset).toBe(cleanableEnd);
    await log.waitFlushed(log.logEndOffset);
    const offsets = readAllRecords(log).map((r) => r.offset);
    expect(offsets).toEqual([cleanableEnd - 1, ...Array.from({ length: 40 - cleanableEnd }, (_, i) => cleanableEnd + i)]);
    await log.close();
  });

  it('keeps tombstones until delete.retention.ms after the round that first kept them', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig({ deleteRetentionMs: DAY_MS, minCleanableDirtyRatio: 0.9 }));
    await appendAll(log, clock, [[['a', '1'], ['b', '1']], [['a', null]]]);
    clock.advance(5000);
    for (let i = 0; i < 12; i++) await appendAll(log, clock, [[['x', `${i}`]]]);
    const c = cleaner();
    await cleanFully(c, log, clock.nowMs());
    const tombstone = readAllRecords(log).find((r) => r.key === 'a')!;
    expect(tombstone).toMatchObject({ offset: 2, value: null });
    // The horizon lives in the batch, and record timestamps are unchanged by it.
    const batch = readAllBatches(log).find((b) => b.baseOffset === 2)!;
    expect(batch.attributes & rb.ATTR_DELETE_HORIZON).toBe(rb.ATTR_DELETE_HORIZON);
    expect(tombstone.timestampMs).toBe(clock.nowMs() - 5000);

    clock.advance(DAY_MS - 1);
    expect(c.needsCleaning(log, clock.nowMs())).toBe(false);
    await c.cleanLog(log, clock.nowMs());
    expect(readAllRecords(log).some((r) => r.key === 'a')).toBe(true);
    clock.advance(1);
    expect(c.needsCleaning(log, clock.nowMs())).toBe(true);
    await c.cleanLog(log, clock.nowMs());
    expect(readAllRecords(log).some((r) => r.key === 'a')).toBe(false);
    expect(c.needsCleaning(log, clock.nowMs())).toBe(false);
    await log.close();
  });

  it('recompresses gzip batches and leaves batches of unavailable codecs as they are', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    // Written as a delete-policy topic: the produce path does not look inside batches then.
    const log = openLog(partition, clock, { ...compactConfig(), cleanupPolicyCompact: false, cleanupPolicyDelete: true });
    await appendAll(log, clock, [[['a', '1'], ['b', '1'], ['c', '1']]], { compression: CODEC_GZIP });
    // Codec 7 stands for one not registered (yet): its bytes mean nothing to the cleaner.
    const opaque = batchOf([['a', 'opaque']], clock);
    opaque.writeInt16BE(UNREGISTERED_CODEC, rb.OFFSET_ATTRIBUTES);
    rb.rewriteBatchCrc(opaque, 0, opaque.length);
    const opaqueBytes = Buffer.from(opaque.subarray(rb.OFFSET_ATTRIBUTES));
    await log.append(opaque, 'durable');
    await appendAll(log, clock, [[['b', '2']]], { compression: CODEC_GZIP });
    for (let i = 0; i < 12; i++) await appendAll(log, clock, [[['x', `${i}`]]]);
    log.config = compactConfig();
    expect(hasCodec(UNREGISTERED_CODEC)).toBe(false);
    const logger = captureLogger();
    const c = new LogCleaner({ log: logger, keyMapBytesMax: 1 << 20 });
    await cleanFully(c, log, clock.nowMs());
    await cleanFully(c, log, clock.nowMs());
    const raw = log.read(log.logStartOffset, 1 << 20, 'read_uncommitted').records;
    const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let pos = 0;
    expect(rb.batchCompression(buf, pos)).toBe(CODEC_GZIP);
    pos += rb.batchSize(buf, pos);
    expect(Buffer.from(buf.subarray(pos + rb.OFFSET_ATTRIBUTES, pos + rb.batchSize(buf, pos))).equals(opaqueBytes)).toBe(true);
    const gzipped = decodeBatches(buf.subarray(0, rb.batchSize(buf, 0)));
    // a is not superseded (its newer record sits in the opaque batch); b is.
    expect(gzipped[0]!.records.map((r) => [r.offset, r.key])).toEqual([[0, 'a'], [2, 'c']]);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    await log.close();
  });

  it('keeps an emptied batch that is the last of its producer, for its sequence numbers', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig());
    await appendAll(log, clock, [[['a', '1'], ['b', '1']]], { producerId: 9, producerEpoch: 0, baseSequence: 0 });
    await appendAll(log, clock, [[['c', '1']]], { producerId: 8, producerEpoch: 0, baseSequence: 0 });
    await appendAll(log, clock, [[['c', '2']]], { producerId: 8, producerEpoch: 0, baseSequence: 1 });
    await appendAll(log, clock, [[['a', '2'], ['b', '2']]]);
    for (let i = 0; i < 12; i++) await appendAll(log, clock, [[['x', `${i}`]]]);
    await cleanFully(cleaner(), log, clock.nowMs());
    const batches = readAllBatches(log);
    expect(batches[0]).toMatchObject({ baseOffset: 0, lastOffset: 1, producerId: 9, baseSequence: 0, records: [] });
    expect(batches[1]).toMatchObject({ baseOffset: 3, producerId: 8 });
    // A restart that rebuilds producer state from the log still recognises the producer's retry.
    await log.close();
    for (const f of readdirSync(partition).filter((n) => n.endsWith('.snapshot'))) rmSync(join(partition, f));
    const reopened = openLog(partition, clock, compactConfig());
    await expect(reopened.append(batchOf([['a', '1'], ['b', '1']], clock, { producerId: 9, producerEpoch: 0, baseSequence: 0 }), 'durable'))
      .resolves.toMatchObject({ duplicate: true, baseOffset: 0, lastOffset: 1 });
    await reopened.close();
  });

  it('keeps an expired tombstone that lies past the end of a round, where its key is not mapped', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig({ segmentBytes: 4096, deleteRetentionMs: 1000 }));
    await appendAll(log, clock, [[['k', 'old']], [['x', '1']], [['y', '1']], [['k', null]]]);
    log.roll();
    await log.waitFlushed(log.logEndOffset);
    // 2 slots at 24 bytes: one key per round.
    const c = cleaner(48);
    expect((await c.cleanLog(log, clock.nowMs())).endOffset).toBe(1);
    clock.advance(2000);
    // This round maps x only; the tombstone of k, with its horizon passed, lies after the
    // round's end, so the map cannot know that k's older value is still in place.
    expect((await c.cleanLog(log, clock.nowMs())).endOffset).toBe(2);
    expect(readAllRecords(log).filter((r) => r.key === 'k').map((r) => r.value)).toEqual(['old', null]);
    await cleanFully(c, log, clock.nowMs());
    expect(readAllRecords(log).filter((r) => r.key === 'k')).toEqual([]);
    await log.close();
  });

  it('runs rounds of different logs one after the other, as they share the key map', async () => {
    const a = logDir();
    const b = logDir();
    const clock = new ManualClock();
    const logs = [openLog(a.partition, clock, compactConfig()), openLog(b.partition, clock, compactConfig())];
    const appended: DecodedRecord[][] = [[], []];
    for (const [n, log] of logs.entries()) {
      // Same keys, different offsets: a map shared by two rounds at once would mix them up.
      for (let i = 0; i < 30 + 15 * n; i++) {
        const key = `k${i % 4}`;
        const res = await log.append(batchOf([[key, `${i}`]], clock), 'durable');
        appended[n]!.push({ offset: res.baseOffset, key, value: `${i}`, timestampMs: clock.nowMs() });
      }
    }
    const c = cleaner();
    const results = await Promise.all(logs.map((log) => c.cleanLog(log, clock.nowMs())));
    for (const [n, log] of logs.entries()) {
      expectContents(log, expectedRecords(appended[n]!, results[n]!.endOffset, false));
      await log.close();
    }
  });

  it('stops a round where the key map is full and finishes in later rounds', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig());
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (let round = 0; round < 3; round++) for (const k of keys) await appendAll(log, clock, [[[k, `${round}`]]]);
    const before = readAllRecords(log);
    // 4 slots at 24 bytes: 3 keys at the 0.75 load factor.
    const c = cleaner(96);
    const first = await c.cleanLog(log, clock.nowMs());
    expect(first.endOffset).toBe(3);
    const last = await cleanFully(c, log, clock.nowMs());
    expect(shape(readAllRecords(log))).toEqual(shape(expectedRecords(before, last.endOffset, false)));
    await log.close();
  });

  it('cleans by min.cleanable.dirty.ratio and keeps its checkpoint in cleaner-offset-checkpoint', async () => {
    const { root, partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig({ minCleanableDirtyRatio: 0.5 }));
    for (let i = 0; i < 30; i++) await appendAll(log, clock, [[[`k${i % 10}`, `${i}`]]]);
    const c = cleaner();
    expect(c.needsCleaning(log, clock.nowMs())).toBe(true);
    const r = await cleanFully(c, log, clock.nowMs());
    expect(c.needsCleaning(log, clock.nowMs())).toBe(false);
    expect(readFileSync(join(root, CLEANER_CHECKPOINT_FILE), 'utf8')).toBe(`0\n1\nt 0 ${r.endOffset}\n`);
    // A little dirt stays below the ratio; enough dirt crosses it.
    await appendAll(log, clock, [[['k1', 'x']], [['k2', 'x']], [['k3', 'x']], [['k4', 'x']]]);
    const fresh = cleaner();
    expect(fresh.needsCleaning(log, clock.nowMs())).toBe(false);
    for (let i = 0; i < 30; i++) await appendAll(log, clock, [[[`k${i % 3}`, `${i}`]]]);
    expect(fresh.needsCleaning(log, clock.nowMs())).toBe(true);
    const next = await fresh.cleanLog(log, clock.nowMs());
    expect(next.firstDirtyOffset).toBe(r.endOffset);
    await log.close();
  });

  it('honours min.compaction.lag.ms and max.compaction.lag.ms', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig({ minCompactionLagMs: 60_000, minCleanableDirtyRatio: 1 }));
    for (let i = 0; i < 20; i++) await appendAll(log, clock, [[['k', `${i}`]]]);
    const c = cleaner();
    expect(c.needsCleaning(log, clock.nowMs())).toBe(false);
    expect((await c.cleanLog(log, clock.nowMs())).recordsRemoved).toBe(0);
    clock.advance(60_001);
    for (let i = 20; i < 40; i++) await appendAll(log, clock, [[['k', `${i}`]]]);
    const r = await c.cleanLog(log, clock.nowMs());
    // Only the old records were compacted: the round ends at the first young segment.
    expect(r.endOffset).toBeLessThanOrEqual(20);
    expect(readAllRecords(log).filter((rec) => rec.offset >= 20)).toHaveLength(20);

    log.config = compactConfig({ minCleanableDirtyRatio: 1, maxCompactionLagMs: 30_000 });
    await cleanFully(c, log, clock.nowMs());
    for (let i = 0; i < 10; i++) await appendAll(log, clock, [[['j', `${i}`]]]);
    expect(c.needsCleaning(log, clock.nowMs())).toBe(false);
    clock.advance(30_001);
    expect(c.needsCleaning(log, clock.nowMs())).toBe(true);
    await log.close();
  });

  it('carries on with appends while cleaning, and ends a round quietly when retention removes its segments', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig({ cleanupPolicyDelete: true }));
    for (let i = 0; i < 40; i++) await appendAll(log, clock, [[[`k${i % 4}`, `${i}`]]]);
    const c = cleaner();
    const round = c.cleanLog(log, clock.nowMs());
    // Lets the round map the keys and start rewriting, then pulls segments from under it.
    await new Promise(setImmediate);
    log.appendNow(batchOf([['z', 'during']], clock));
    log.advanceLogStartOffset(log.segmentList()[2]!.baseOffset);
    const result = await round;
    expect(result.aborted).toBe(true);
    expect(readdirSync(partition).filter((f) => f.includes('.cleaned') || f.includes('.swap'))).toEqual([]);
    await log.waitFlushed(log.logEndOffset);
    expect(readAllRecords(log).at(-1)).toMatchObject({ offset: 40, key: 'z' });
    const again = await cleanFully(c, log, clock.nowMs());
    expect(again.aborted).toBe(false);
    await log.close();
  });

  it('cleans write-cached logs whose rolled segments still wait for their sync', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig({ writeCaching: true }));
    for (let i = 0; i < 30; i++) log.appendNow(batchOf([[`k${i % 3}`, `${i}`]], clock));
    await cleanFully(cleaner(), log, clock.nowMs());
    log.appendNow(batchOf([['k0', 'after']], clock));
    log.flush();
    await log.waitFlushed(log.logEndOffset);
    expect(log.offline).toBe(false);
    await log.close();
  });

  it('leaves no empty segment that blocks retention.ms', async () => {
    const { partition } = logDir();
    const clock = new ManualClock();
    const log = openLog(partition, clock, compactConfig({ cleanupPolicyDelete: true, retentionMs: 10_000, deleteRetentionMs: 1000 }));
    for (let i = 0; i < 6; i++) await appendAll(log, clock, [[['a', `${i}`]]]);
    await appendAll(log, clock, [[['a', null]]]);
    log.roll();
    await log.waitFlushed(log.logEndOffset);
    const c = cleaner();
    await cleanFully(c, log, clock.nowMs());
    clock.advance(2000);
    await cleanFully(c, log, clock.nowMs());
    // Everything was deleted: the cleaned segment is empty.
    expect(log.segmentList()[0]!.sizeBytes).toBe(0);
    await appendAll(log, clock, [[['c', '1']]]);
    log.roll();
    await log.waitFlushed(log.logEndOffset);
    clock.advance(10_001);
    log.applyRetention(clock.nowMs());
    expect(log.logStartOffset).toBe(log.logEndOffset);
    expect(log.segmentCount).toBe(1);
    await log.close();
  });
});

describe('LogCleaner crash safety', () => {
  /**
   * Builds a log whose whole cleanable part compacts into one group, and returns the
   * directory before cleaning, the cleaned directory, and the group's range.
   */
  async function scenario(): Promise<{ before: string; after: string; base: number; end: number; dir: string;
    expectedBefore: DecodedRecord[]; expectedAfter: DecodedRecord[]; basesBefore: number[]; basesAfter: number[] }> {
    const { partition, root } = logDir();
    const clock = new ManualClock();
    const config = compactConfig({ segmentBytes: 1024 });
    let log = openLog(partition, clock, config);
    for (let i = 0; i < 60; i++) await appendAll(log, clock, [[[`k${i % 3}`, `value-${i}`]]]);
    await log.close();
    const before = join(root, 'before');
    cpSync(partition, before, { recursive: true });
    log = openLog(partition, clock, config, true);
    const expectedBefore = readAllRecords(log);
    const oldBases = log.segmentList().map((s) => s.baseOffset);
    await cleaner().cleanLog(log, clock.nowMs());
    const newBases = log.segmentList().map((s) => s.baseOffset);
    const expectedAfter = readAllRecords(log);
    await log.close();
    expect(newBases[0]).toBe(0);
    const end = newBases[1]!;
    expect(oldBases.filter((b) => b < end).length).toBeGreaterThan(2);
    const after = join(root, 'after');
    cpSync(partition, after, { recursive: true });
    return {
      before, after, base: 0, end, dir: partition, expectedBefore, expectedAfter, basesBefore: oldBases, basesAfter: newBases,
    };
  }

  const name = (base: number, suffix: string): string => segmentFileName(base, suffix);

  /** The states a crash can leave, each as the set of files in the partition directory. */
  function crashStates(s: Awaited<ReturnType<typeof scenario>>): Array<{ step: string; committed: boolean; make(dir: string): void }> {
    const replaced = readdirSync(s.before).filter((f) => /^\d{20}\.log$/.test(f)).map((f) => Number(f.slice(0, 20)))
      .filter((b) => b > s.base && b < s.end);
    const fresh = (dir: string): void => {
      rmSync(dir, { recursive: true, force: true });
      cpSync(s.before, dir, { recursive: true });
    };
    const cleaned = (dir: string, suffix: string, to: string): void => copyFileSync(join(s.after, name(s.base, suffix)), join(dir, to));
    const written = (dir: string): void => {
      fresh(dir);
      for (const sfx of ['.log', '.index', '.timeindex']) cleaned(dir, sfx, name(s.base, sfx) + '.cleaned');
    };
    const indexesSwapped = (dir: string): void => {
      written(dir);
      for (const sfx of ['.index', '.timeindex']) renameSync(join(dir, name(s.base, sfx) + '.cleaned'), join(dir, name(s.base, sfx) + '.swap'));
    };
    const logSwap = `${name(s.base, '')}.${name(s.end, '.log')}.swap`;
    const committed = (dir: string): void => {
      indexesSwapped(dir);
      renameSync(join(dir, name(s.base, '.log') + '.cleaned'), join(dir, logSwap));
    };
    const deletedSome = (dir: string): void => {
      committed(dir);
      const first = replaced[0]!;
      renameSync(join(dir, name(first, '.log')), join(dir, name(first, '.log') + '.deleted'));
      rmSync(join(dir, name(first, '.index')), { force: true });
    };
    const deletedAll = (dir: string): void => {
      committed(dir);
      for (const b of replaced) for (const sfx of ['.log', '.index', '.timeindex']) rmSync(join(dir, name(b, sfx)), { force: true });
    };
    const oneIndexInstalled = (dir: string): void => {
      deletedAll(dir);
      renameSync(join(dir, name(s.base, '.index') + '.swap'), join(dir, name(s.base, '.index')));
    };
    const indexesInstalled = (dir: string): void => {
      oneIndexInstalled(dir);
      renameSync(join(dir, name(s.base, '.timeindex') + '.swap'), join(dir, name(s.base, '.timeindex')));
    };
    const partialCleaned = (dir: string): void => {
      fresh(dir);
      cleaned(dir, '.log', name(s.base, '.log') + '.cleaned');
    };
    return [
      { step: 'while writing the cleaned files', committed: false, make: partialCleaned },
      { step: 'after writing the cleaned files', committed: false, make: written },
      { step: 'after renaming the index swaps', committed: false, make: indexesSwapped },
      { step: 'at the commit point', committed: true, make: committed },
      { step: 'while deleting the replaced segments', committed: true, make: deletedSome },
      { step: 'after deleting the replaced segments', committed: true, make: deletedAll },
      { step: 'after installing one index', committed: true, make: oneIndexInstalled },
      { step: 'after installing both indexes', committed: true, make: indexesInstalled },
    ];
  }

  it('recovers either the old segments or the cleaned one after a crash at any step', async () => {
    const s = await scenario();
    const clock = new ManualClock();
    for (const state of crashStates(s)) {
      for (const cleanShutdown of [false, true]) {
        state.make(s.dir);
        const log = openLog(s.dir, clock, compactConfig({ segmentBytes: 1024 }), cleanShutdown);
        const expected = state.committed ? s.expectedAfter : s.expectedBefore;
        expectContents(log, expected, `${state.step}, clean shutdown ${cleanShutdown}`);
        expect(log.segmentList().map((seg) => seg.baseOffset)).toEqual(state.committed ? s.basesAfter : s.basesBefore);
        expect(log.logEndOffset).toBe(60);
        expect(readdirSync(s.dir).filter((f) => /\.(cleaned|swap|deleted)$/.test(f))).toEqual([]);
        await log.close();
      }
    }
    expect(existsSync(s.after)).toBe(true);
  });
});

describe('LogCleaner against a model', () => {
  const op = fc.record({
    records: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.option(fc.string({ maxLength: 12 }), { freq: 4 })),
      { minLength: 1, maxLength: 3 }),
    gzip: fc.boolean(),
    cleanAfter: fc.boolean(),
  });

  it('keeps the latest record per key, offsets and the log end, across rounds and restarts', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(op, { minLength: 1, maxLength: 50 }), fc.boolean(), fc.constantFrom(96, 1 << 16),
      async (ops, writeCaching, keyMapBytes) => {
        const { partition } = logDir();
        const clock = new ManualClock();
        const config = compactConfig({ segmentBytes: 256, deleteRetentionMs: 1000, writeCaching, segmentIndexBytes: 24 });
        let log = openLog(partition, clock, config);
        const c = cleaner(keyMapBytes);
        const appended: DecodedRecord[] = [];
        for (const o of ops) {
          const batch = batchOf(o.records, clock, o.gzip ? { compression: CODEC_GZIP } : {});
          const res = await log.append(batch, 'durable');
          o.records.forEach(([k, v], i) => appended.push({ offset: res.baseOffset + i, key: k, value: v, timestampMs: clock.nowMs() }));
          if (o.cleanAfter) await c.cleanLog(log, clock.nowMs());
        }
        await log.waitFlushed(log.logEndOffset);
        const leo = log.logEndOffset;
        const kept = await cleanFully(c, log, clock.nowMs());
        expectContents(log, expectedRecords(appended, kept.endOffset, false));
        expect(log.logEndOffset).toBe(leo);

        clock.advance(1000);
        const gone = await cleanFully(c, log, clock.nowMs());
        expect(gone.endOffset).toBe(kept.endOffset);
        const expected = expectedRecords(appended, gone.endOffset, true);
        expectContents(log, expected);
        // For every key, the log's last record is the last one appended (or its tombstone is gone).
        const lastByKey = new Map(appended.map((r) => [r.key, r]));
        const readByKey = new Map(readAllRecords(log).map((r) => [r.key, r]));
        for (const [k, r] of lastByKey) {
          if (r.value === null && r.offset < gone.endOffset) expect(readByKey.has(k)).toBe(false);
          else expect(readByKey.get(k)).toEqual(r);
        }
        expect(log.logEndOffset).toBe(leo);

        for (const cleanShutdown of [true, false]) {
          await log.close();
          log = openLog(partition, clock, config, cleanShutdown);
          expect(log.logEndOffset).toBe(leo);
          expectContents(log, expected);
        }
        await log.close();
      }), { numRuns: 40 });
  });

  it('never brings back a deleted value, with tombstones expiring between partial rounds', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({
        records: fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.option(fc.constantFrom('v', 'w'), { freq: 3 })),
          { minLength: 1, maxLength: 3 }),
        cleanAfter: fc.boolean(),
        advanceMs: fc.constantFrom(0, 0, 400),
      }), { minLength: 1, maxLength: 60 }),
      fc.constantFrom(48, 96, 1 << 16),
      async (ops, keyMapBytes) => {
        const { partition } = logDir();
        const clock = new ManualClock();
        const config = compactConfig({ segmentBytes: 256, deleteRetentionMs: 1000, writeCaching: true });
        const log = openLog(partition, clock, config);
        const c = cleaner(keyMapBytes);
        const appended: DecodedRecord[] = [];
        let checkpoint = 0;
        for (const o of ops) {
          const res = log.appendNow(batchOf(o.records, clock));
          o.records.forEach(([k, v], i) => appended.push({ offset: res.baseOffset + i, key: k, value: v, timestampMs: clock.nowMs() }));
          clock.advance(o.advanceMs);
          if (o.cleanAfter) checkpoint = (await c.cleanLog(log, clock.nowMs())).endOffset;
        }
        const read = readAllRecords(log);
        const byOffset = new Map(appended.map((r) => [r.offset, r]));
        for (const r of read) expect(r).toEqual(byOffset.get(r.offset));
        expect(read.map((r) => r.offset)).toEqual([...read.map((r) => r.offset)].sort((x, y) => x - y));
        expect(read.filter((r) => r.offset >= checkpoint)).toEqual(appended.filter((r) => r.offset >= checkpoint));
        const lastAppended = new Map(appended.map((r) => [r.key, r]));
        const lastRead = new Map(read.map((r) => [r.key, r]));
        for (const [k, r] of lastAppended) {
          if (lastRead.has(k) || r.value !== null) expect(lastRead.get(k)).toEqual(r);
        }
        await log.close();
      }), { numRuns: 60 });
  });
});
