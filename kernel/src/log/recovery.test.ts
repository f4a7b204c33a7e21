/**
 * Property tests of the storage engine against a model: what was acknowledged is what
 * is read back, across rolls, clean and unclean restarts, torn tails, flipped bytes,
 * damaged indexes, truncation, idempotent producers and leader epochs.
 *
 * Seeds are fixed so a failure reproduces; run counts are sized for a two-core VM.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { appendFileSync, cpSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asOffset } from '@sluice/sdk';
import { ManualClock } from '../clock.js';
import { buildBatch } from './batch-builder.js';
import { PartitionLog, type PartitionLogOptions } from './partition-log.js';
import * as rb from './record-batch.js';
import { emptyRecordView, readRecord } from './records.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';

const dirs: Array<{ cleanup(): void }> = [];
let valueCounter = 0;
/** Logs a test "crashed" (dropped without close); their descriptors are released at the end. */
const abandoned: PartitionLog[] = [];
afterEach(async () => {
  for (const log of abandoned.splice(0)) {
    for (const s of log.segmentList()) s.detach();
  }
  for (const d of dirs.splice(0)) d.cleanup();
});

/** A fresh directory; also restarts the value counter, so a counterexample replays byte for byte. */
function newDir(): string {
  valueCounter = 0;
  const d = tempDir('sluice-recovery-');
  dirs.push(d);
  return d.path;
}

// --- model -----------------------------------------------------------------------

interface RecordSpec {
  readonly size: number;
  readonly ts: number;
}

interface ModelBatch {
  base: number;
  last: number;
  values: string[];
  /** Each record's timestamp, in offset order. */
  timestamps: number[];
  maxTs: number;
  epoch: number;
}

interface ReadRecordOut {
  offset: number;
  value: string;
}

interface ReadBatchOut {
  base: number;
  last: number;
  epoch: number;
  records: ReadRecordOut[];
}

const recordSpec = fc.record({ size: fc.integer({ min: 0, max: 300 }), ts: fc.integer({ min: 1_000, max: 50_000 }) });
const batchSpec = fc.array(recordSpec, { minLength: 1, maxLength: 6 });

interface LogShape {
  readonly segmentBytes: number;
  readonly indexIntervalBytes: number;
  readonly segmentIndexBytes: number;
}

const logShape: fc.Arbitrary<LogShape> = fc.record({
  segmentBytes: fc.integer({ min: 1024, max: 4096 }),
  indexIntervalBytes: fc.constantFrom(0, 1, 100, 300, 1000),
  // 24 bytes: three offset entries and two time entries, so full indexes force rolls.
  segmentIndexBytes: fc.constantFrom(24, 96, 10 * 1024 * 1024),
});

function configOf(shape: LogShape): Record<string, string> {
  return {
    'segment.bytes': String(shape.segmentBytes),
    'index.interval.bytes': String(shape.indexIntervalBytes),
    'segment.index.bytes': String(shape.segmentIndexBytes),
  };
}

function open(dir: string, shape: LogShape, opts: Partial<PartitionLogOptions>): PartitionLog {
  return PartitionLog.open({
    dir, topic: 't', partition: 0, config: logConfig(configOf(shape)), clock: new ManualClock(), log: captureLogger(),
    recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false, ...opts,
  });
}


/** Builds a batch whose values are unique in the test run, so a misplaced record shows. */
function makeBatch(specs: readonly RecordSpec[], fields: Parameters<typeof buildBatch>[1] = {}): { buf: Buffer; values: string[]; timestamps: number[]; maxTs: number } {
  const values = specs.map((s) => {
    const tag = `v${valueCounter++}:`;
    return tag + String.fromCharCode(97 + (valueCounter % 26)).repeat(s.size);
  });
  const buf = buildBatch(specs.map((s, i) => ({ key: null, value: Buffer.from(values[i]!), timestampMs: s.ts })),
    { baseTimestampMs: Math.min(...specs.map((s) => s.ts)), ...fields });
  return { buf, values, timestamps: specs.map((s) => s.ts), maxTs: Math.max(...specs.map((s) => s.ts)) };
}

async function appendSpec(log: PartitionLog, model: ModelBatch[], specs: readonly RecordSpec[]): Promise<ModelBatch> {
  const b = makeBatch(specs);
  const r = await log.append(b.buf, 'durable');
  const expectedBase = model.length === 0 ? log.logStartOffset : model[model.length - 1]!.last + 1;
  expect(r.duplicate).toBe(false);
  expect(r.baseOffset).toBe(expectedBase);
  expect(r.lastOffset).toBe(expectedBase + specs.length - 1);
  const m: ModelBatch = { base: r.baseOffset, last: r.lastOffset, values: b.values, timestamps: b.timestamps, maxTs: b.maxTs, epoch: log.leaderEpoch };
  model.push(m);
  return m;
}

function decode(records: Uint8Array): ReadBatchOut[] {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  const out: ReadBatchOut[] = [];
  const view = emptyRecordView();
  for (let pos = 0; pos < buf.length;) {
    const size = rb.batchSize(buf, pos);
    expect(pos + size, 'reads return whole batches').toBeLessThanOrEqual(buf.length);
    expect(rb.batchCrcValid(buf, pos, size), 'batches read back pass their CRC').toBe(true);
    const base = rb.batchBaseOffset(buf, pos);
    const batch: ReadBatchOut = { base, last: rb.batchLastOffset(buf, pos), epoch: rb.batchLeaderEpoch(buf, pos), records: [] };
    let rp = pos + rb.BATCH_HEADER_BYTES;
    for (let i = 0; i < rb.batchRecordCount(buf, pos); i++) {
      rp = readRecord(buf, rp, pos + size, view);
      batch.records.push({
        offset: base + view.offsetDelta,
        value: buf.toString('utf8', view.valueStart, view.valueStart + view.valueLength),
      });
    }
    out.push(batch);
    pos += size;
  }
  return out;
}

function modelLeo(model: readonly ModelBatch[], start = 0): number {
  return model.length === 0 ? start : model[model.length - 1]!.last + 1;
}

/** Reads the whole log in pieces of `maxBytes`; the offsets must be contiguous. */
function readAll(log: PartitionLog, maxBytes: number): ReadRecordOut[] {
  const out: ReadRecordOut[] = [];
  let next = Number(log.logStartOffset);
  while (next < log.highWatermark) {
    const batches = decode(log.read(asOffset(next), maxBytes, 'read_uncommitted').records);
    expect(batches.length, `a read at ${next} below the high watermark returns data`).toBeGreaterThan(0);
    for (const b of batches) for (const r of b.records) if (r.offset >= next) out.push(r);
    next = batches[batches.length - 1]!.last + 1;
  }
  return out;
}

function expectedRecords(model: readonly ModelBatch[]): ReadRecordOut[] {
  return model.flatMap((b) => b.values.map((value, i) => ({ offset: b.base + i, value })));
}

/** The first record (in offset order) whose timestamp reaches `ts`, as Kafka's ListOffsets answers. */
function modelOffsetForTimestamp(model: readonly ModelBatch[], ts: number): { offset: number; timestampMs: number } | undefined {
  for (const b of model) {
    const i = b.timestamps.findIndex((t) => t >= ts);
    if (i >= 0) return { offset: b.base + i, timestampMs: b.timestamps[i]! };
  }
  return undefined;
}

/** Everything a reader can observe about the log matches the model. */
function checkLog(log: PartitionLog, model: readonly ModelBatch[], maxBytes: number): void {
  const leo = modelLeo(model, Number(log.logStartOffset));
  expect(log.logEndOffset).toBe(leo);
  expect(log.highWatermark).toBe(leo);
  for (const b of model) {
    for (let o = b.base; o <= b.last; o++) {
      const got = decode(log.read(asOffset(o), 1, 'read_uncommitted').records);
      expect(got.length, `read at ${o}`).toBeGreaterThan(0);
      expect(got[0]!.base, `read at ${o} starts with the batch holding it`).toBe(b.base);
      expect(got[0]!.records.map((r) => r.value)).toEqual(b.values);
    }
  }
  expect(decode(log.read(asOffset(leo), 1 << 20, 'read_uncommitted').records)).toEqual([]);
  expect(readAll(log, maxBytes)).toEqual(expectedRecords(model));
  const probes = new Set<number>([0, 999, 50_001]);
  for (const b of model) {
    probes.add(b.maxTs);
    probes.add(b.maxTs + 1);
    for (const t of b.timestamps) probes.add(t);
  }
  for (const ts of probes) expect(offsetForTimestamp(log, ts), `offsetForTimestamp(${ts})`).toEqual(modelOffsetForTimestamp(model, ts));
}

/** The answer with plain field names: it is moving from `timestamp` to the SDK's `timestampMs`. */
function offsetForTimestamp(log: PartitionLog, ts: number): { offset: number; timestampMs: number } | undefined {
  const found = log.offsetForTimestamp(ts) as unknown as { offset: number; timestamp?: number; timestampMs?: number } | undefined;
  return found === undefined ? undefined : { offset: Number(found.offset), timestampMs: found.timestampMs ?? found.timestamp! };
}

/** Offsets at which a durable append completed: the recovery points a broker could have checkpointed. */
function flushedPoints(model: readonly ModelBatch[]): number[] {
  return [0, ...model.map((b) => b.last + 1)];
}

/** Drops a log without closing it: what a process crash leaves behind (durable appends are synced). */
function crash(log: PartitionLog): void {
  abandoned.push(log);
}

/** A crash whose descriptors are released at once, for loops that open many logs. */
function release(log: PartitionLog): void {
  for (const s of log.segmentList()) s.detach();
}

interface FileBatch {
  readonly file: string;
  readonly segmentBase: number;
  readonly position: number;
  readonly size: number;
  readonly base: number;
}

/** The batches on disk, by walking the .log files directly (the test's own view of the layout). */
function layout(dir: string): FileBatch[] {
  const out: FileBatch[] = [];
  const logs = readdirSync(dir).filter((f) => /^\d{20}\.log$/.test(f)).sort();
  for (const file of logs) {
    const buf = readFileSync(join(dir, file));
    for (let pos = 0; pos + rb.LOG_OVERHEAD_BYTES <= buf.length;) {
      const size = rb.batchSize(buf, pos);
      out.push({ file, segmentBase: Number(file.slice(0, 20)), position: pos, size, base: rb.batchBaseOffset(buf, pos) });
      pos += size;
    }
  }
  return out;
}

function pick<T>(items: readonly T[], fraction: number): T {
  return items[Math.min(items.length - 1, Math.floor(fraction * items.length))]!;
}

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

// --- properties --------------------------------------------------------------------

describe('PartitionLog recovery properties', () => {
  it('reads back exactly what was appended, across rolls and clean and unclean restarts', async () => {
    await fc.assert(fc.asyncProperty(
      logShape, fc.array(batchSpec, { minLength: 1, maxLength: 30 }), fc.array(batchSpec, { maxLength: 3 }),
      fraction, fc.integer({ min: 1, max: 5000 }),
      async (shape, batches, more, rpAt, maxBytes) => {
        const dir = newDir();
        const model: ModelBatch[] = [];
        let log = open(dir, shape, {});
        for (const specs of batches) await appendSpec(log, model, specs);
        checkLog(log, model, maxBytes);

        crash(log);
        log = open(dir, shape, { recoveryPoint: pick(flushedPoints(model), rpAt) });
        checkLog(log, model, maxBytes);
        for (const specs of more) await appendSpec(log, model, specs);
        checkLog(log, model, maxBytes);

        await log.close();
        log = open(dir, shape, { cleanShutdown: true });
        checkLog(log, model, maxBytes);
        await log.close();
        log = open(dir, shape, { recoveryPoint: 0 });
        checkLog(log, model, maxBytes);
        await log.close();
      },
    ), { seed: 0x5eed01, numRuns: 30 });
  });

  it('cuts a torn last batch at every byte position and appends after it', async () => {
    await fc.assert(fc.asyncProperty(
      logShape, fc.array(batchSpec, { minLength: 1, maxLength: 10 }),
      fc.array(fc.record({ size: fc.integer({ min: 0, max: 40 }), ts: fc.integer({ min: 1_000, max: 50_000 }) }), { minLength: 1, maxLength: 2 }),
      async (shape, batches, lastSpecs) => {
        const work = newDir();
        const pristine = newDir();
        const model: ModelBatch[] = [];
        let log = open(pristine, shape, {});
        for (const specs of batches) await appendSpec(log, model, specs);
        const last = await appendSpec(log, model, lastSpecs);
        await log.close();
        const kept = model.slice(0, -1);
        const onDisk = layout(pristine);
        const tail = onDisk[onDisk.length - 1]!;
        expect(tail.base).toBe(last.base);
        for (let cut = tail.position; cut < tail.position + tail.size; cut++) {
          rmSync(work, { recursive: true, force: true });
          cpSync(pristine, work, { recursive: true });
          truncateSync(join(work, tail.file), cut);
          log = open(work, shape, { recoveryPoint: last.base });
          expect(log.logEndOffset).toBe(last.base);
          expect(readAll(log, 1 << 20)).toEqual(expectedRecords(kept));
          const again = [...kept];
          await appendSpec(log, again, [{ size: 5, ts: 2_000 }]);
          expect(readAll(log, 1 << 20)).toEqual(expectedRecords(again));
          release(log);
        }
      },
    ), { seed: 0x5eed02, numRuns: 2 });
  });

  it('drops a batch with a flipped byte, and everything after it, without throwing', async () => {
    await fc.assert(fc.asyncProperty(
      logShape, fc.array(batchSpec, { minLength: 2, maxLength: 20 }), fraction, fraction, fraction,
      fc.integer({ min: 1, max: 255 }), fc.boolean(),
      async (shape, batches, batchAt, byteAt, rpAt, mask, closedFirst) => {
        const dir = newDir();
        const model: ModelBatch[] = [];
        let log = open(dir, shape, {});
        for (const specs of batches) await appendSpec(log, model, specs);
        if (closedFirst) await log.close();
        else crash(log);
        const onDisk = layout(dir);
        const activeBase = onDisk[onDisk.length - 1]!.segmentBase;
        // A batch in the last segment, or in a sealed one the recovery point does not cover.
        const rp = pick(flushedPoints(model).filter((p) => p <= activeBase), rpAt);
        const candidates = onDisk.filter((b) => b.base >= rp);
        const victim = pick(candidates, batchAt);
        // baseOffset (0-7) and partitionLeaderEpoch (12-15) sit outside the CRC by the
        // format's design. A flip in baseOffset's high half moves the batch out of the
        // offsets its segment can hold, which recovery checks; the low half and the epoch
        // are not checkable. Every other byte is covered by the length, magic or CRC check.
        const covered = [0, 1, 2, 3, 8, 9, 10, 11, ...Array.from({ length: victim.size - 16 }, (_, i) => 16 + i)];
        const at = victim.position + pick(covered, byteAt);
        const path = join(dir, victim.file);
        const bytes = readFileSync(path);
        bytes[at]! ^= mask;
        writeFileSync(path, bytes);

        log = open(dir, shape, { recoveryPoint: rp });
        const kept = model.filter((b) => b.base < victim.base);
        checkLog(log, kept, 1 << 20);
        await appendSpec(log, kept, [{ size: 10, ts: 3_000 }]);
        checkLog(log, kept, 1 << 20);
        await log.close();
      },
    ), { seed: 0x5eed03, numRuns: 60 });
  });

  type IndexDamage =
    | { kind: 'delete'; suffix: '.index' | '.timeindex' }
    | { kind: 'truncate'; suffix: '.index' | '.timeindex'; at: number }
    | { kind: 'past-end' | 'non-increasing' | 'mid-batch' | 'partial' }
    | { kind: 'time-garbage' };

  const indexDamage: fc.Arbitrary<IndexDamage> = fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), suffix: fc.constantFrom('.index' as const, '.timeindex' as const) }),
    fc.record({ kind: fc.constant('truncate' as const), suffix: fc.constantFrom('.index' as const, '.timeindex' as const), at: fraction }),
    fc.record({ kind: fc.constantFrom('past-end' as const, 'non-increasing' as const, 'mid-batch' as const, 'partial' as const) }),
    fc.record({ kind: fc.constant('time-garbage' as const) }),
  );

  function damageIndex(dir: string, segmentBase: number, damage: IndexDamage): void {
    const name = (suffix: string): string => join(dir, String(segmentBase).padStart(20, '0') + suffix);
    const logSize = statSync(name('.log')).size;
    switch (damage.kind) {
      case 'delete':
        rmSync(name(damage.suffix), { force: true });
        return;
      case 'truncate': {
        const path = name(damage.suffix);
        const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
        if (size > 0) truncateSync(path, Math.floor(damage.at * size));
        return;
      }
      case 'past-end':
      case 'non-increasing':
      case 'mid-batch': {
        const raw = readFileSync(name('.index'));
        const lastRel = raw.length >= 8 ? raw.readUInt32BE(raw.length - 8) : 0;
        const lastPos = raw.length >= 8 ? raw.readUInt32BE(raw.length - 4) : 0;
        const extra = Buffer.alloc(16);
        if (damage.kind === 'past-end') {
          extra.writeUInt32BE(lastRel + 1, 0);
          extra.writeUInt32BE(logSize, 4);
          extra.writeUInt32BE(lastRel + 2, 8);
          extra.writeUInt32BE(logSize + 1000, 12);
        } else if (damage.kind === 'mid-batch') {
          // Increasing and inside the file, so only a look at the log shows it is wrong.
          extra.writeUInt32BE(lastRel + 1, 0);
          extra.writeUInt32BE(lastPos + 1, 4);
          extra.writeUInt32BE(lastRel + 2, 8);
          extra.writeUInt32BE(lastPos + 2, 12);
        } else {
          extra.writeUInt32BE(lastRel, 0);
          extra.writeUInt32BE(lastPos + 1, 4);
          extra.writeUInt32BE(Math.max(0, lastRel - 1), 8);
          extra.writeUInt32BE(lastPos + 2, 12);
        }
        appendFileSync(name('.index'), extra);
        return;
      }
      case 'partial':
        appendFileSync(name('.index'), Buffer.from([0, 0, 0, 7, 0]));
        appendFileSync(name('.timeindex'), Buffer.from([1, 2, 3]));
        return;
      case 'time-garbage': {
        // Entries the loader must refuse: a timestamp that does not increase.
        const extra = Buffer.alloc(12);
        extra.writeBigInt64BE(0n, 0);
        extra.writeUInt32BE(0, 8);
        appendFileSync(name('.timeindex'), extra);
        return;
      }
    }
  }

  it('answers reads and time lookups correctly after index files are lost, cut or padded with garbage', async () => {
    await fc.assert(fc.asyncProperty(
      logShape, fc.array(batchSpec, { minLength: 1, maxLength: 25 }), fc.array(indexDamage, { minLength: 1, maxLength: 3 }),
      fraction, fraction, fc.constantFrom('clean', 'unclean-closed', 'crash'),
      async (shape, batches, damages, segmentAt, rpAt, how) => {
        const dir = newDir();
        const model: ModelBatch[] = [];
        let log = open(dir, shape, {});
        for (const specs of batches) await appendSpec(log, model, specs);
        if (how === 'crash') crash(log);
        else await log.close();
        const bases = [...new Set(layout(dir).map((b) => b.segmentBase))];
        const target = pick(bases, segmentAt);
        for (const d of damages) damageIndex(dir, target, d);

        log = how === 'clean'
          ? open(dir, shape, { cleanShutdown: true })
          : open(dir, shape, { recoveryPoint: pick(flushedPoints(model), rpAt) });
        checkLog(log, model, 1 << 20);
        await appendSpec(log, model, [{ size: 20, ts: 60_000 }]);
        checkLog(log, model, 1 << 20);
        await log.close();
        log = open(dir, shape, { cleanShutdown: true });
        checkLog(log, model, 1 << 20);
        await log.close();
      },
    ), { seed: 0x5eed04, numRuns: 80 });
  });

  type ProducerOp =
    | { kind: 'new'; producer: number; specs: RecordSpec[] }
    | { kind: 'retry'; producer: number; back: number }
    | { kind: 'gap'; producer: number; skip: number }
    | { kind: 'stale'; producer: number }
    | { kind: 'bump'; producer: number; specs: RecordSpec[] }
    | { kind: 'reopen'; clean: boolean; rpAt: number };

  const producer = fc.integer({ min: 1, max: 3 });
  const producerOp: fc.Arbitrary<ProducerOp> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('new' as const), producer, specs: batchSpec }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('retry' as const), producer, back: fc.integer({ min: 0, max: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('gap' as const), producer, skip: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('stale' as const), producer }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bump' as const), producer, specs: batchSpec }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean(), rpAt: fraction }) },
  );

  interface SentBatch {
    readonly firstSeq: number;
    readonly specs: RecordSpec[];
    readonly values: string[];
    readonly base: number;
    readonly last: number;
  }

  interface ProducerModel {
    epoch: number;
    nextSeq: number;
    /** Batches of the current epoch, newest last, at most five. */
    recent: SentBatch[];
  }

  it('dedups idempotent retries and rejects bad sequences and epochs, before and after restarts', async () => {
    await fc.assert(fc.asyncProperty(
      logShape, fc.array(producerOp, { minLength: 5, maxLength: 60 }),
      async (shape, ops) => {
        const dir = newDir();
        const model: ModelBatch[] = [];
        const producers = new Map<number, ProducerModel>();
        let log = open(dir, shape, {});
        const send = async (id: number, pm: ProducerModel, specs: RecordSpec[], epoch: number): Promise<void> => {
          const b = makeBatch(specs, { producerId: id, producerEpoch: epoch, baseSequence: pm.nextSeq });
          const r = await log.append(b.buf, 'durable');
          expect(r.duplicate).toBe(false);
          expect(r.baseOffset).toBe(modelLeo(model));
          model.push({ base: r.baseOffset, last: r.lastOffset, values: b.values, timestamps: b.timestamps, maxTs: b.maxTs, epoch: 0 });
          // A retry must carry the same bytes, so keep a copy with its original fields.
          pm.recent.push({ firstSeq: pm.nextSeq, specs, values: b.values, base: r.baseOffset, last: r.lastOffset });
          if (pm.recent.length > 5) pm.recent.shift();
          pm.nextSeq += specs.length;
        };
        for (const op of ops) {
          if (op.kind === 'reopen') {
            if (op.clean) {
              await log.close();
              log = open(dir, shape, { cleanShutdown: true });
            } else {
              crash(log);
              log = open(dir, shape, { recoveryPoint: pick(flushedPoints(model), op.rpAt) });
            }
            continue;
          }
          let pm = producers.get(op.producer);
          if (op.kind === 'new') {
            if (pm === undefined) producers.set(op.producer, pm = { epoch: 0, nextSeq: 0, recent: [] });
            await send(op.producer, pm, op.specs, pm.epoch);
          } else if (op.kind === 'bump') {
            if (pm === undefined) producers.set(op.producer, pm = { epoch: 0, nextSeq: 0, recent: [] });
            else producers.set(op.producer, pm = { epoch: pm.epoch + 1, nextSeq: 0, recent: [] });
            await send(op.producer, pm, op.specs, pm.epoch);
          } else if (pm === undefined || pm.recent.length === 0) {
            continue;
          } else if (op.kind === 'retry') {
            const orig = pm.recent[Math.max(0, pm.recent.length - 1 - op.back)]!;
            const buf = buildBatch(orig.specs.map((s, i) => ({ key: null, value: Buffer.from(orig.values[i]!), timestampMs: s.ts })), {
              baseTimestampMs: Math.min(...orig.specs.map((s) => s.ts)),
              producerId: op.producer, producerEpoch: pm.epoch, baseSequence: orig.firstSeq,
            });
            const leo = log.logEndOffset;
            const r = await log.append(buf, 'durable');
            expect(r).toMatchObject({ duplicate: true, baseOffset: orig.base, lastOffset: orig.last });
            expect(log.logEndOffset).toBe(leo);
          } else if (op.kind === 'gap') {
            const b = makeBatch([{ size: 1, ts: 1_000 }], { producerId: op.producer, producerEpoch: pm.epoch, baseSequence: pm.nextSeq + op.skip });
            await expect(log.append(b.buf, 'durable')).rejects.toMatchObject({ code: 45 });
          } else if (pm.epoch > 0) {
            const b = makeBatch([{ size: 1, ts: 1_000 }], { producerId: op.producer, producerEpoch: pm.epoch - 1, baseSequence: 0 });
            await expect(log.append(b.buf, 'durable')).rejects.toMatchObject({ code: 47 });
          }
          expect(log.logEndOffset).toBe(modelLeo(model));
        }
        expect(readAll(log, 1 << 20)).toEqual(expectedRecords(model));
        await log.close();
      },
    ), { seed: 0x5eed05, numRuns: 60 });
  });

  type EpochOp =
    | { kind: 'append'; specs: RecordSpec[] }
    | { kind: 'epoch'; inc: number }
    | { kind: 'truncate'; at: number }
    | { kind: 'reopen'; clean: boolean; rpAt: number };

  const epochOp: fc.Arbitrary<EpochOp> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), specs: batchSpec }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('epoch' as const), inc: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const), clean: fc.boolean(), rpAt: fraction }) },
  );

  /** The epoch cache the model implies: each epoch starts at its first batch, epochs only grow. */
  function modelEndOffsetFor(model: readonly ModelBatch[], epoch: number): { epoch: number; endOffset: number } {
    const entries: Array<{ epoch: number; start: number }> = [];
    for (const b of model) {
      if (entries.length === 0 || b.epoch > entries[entries.length - 1]!.epoch) entries.push({ epoch: b.epoch, start: b.base });
    }
    let i = entries.length - 1;
    while (i >= 0 && entries[i]!.epoch > epoch) i--;
    if (i < 0) return { epoch: -1, endOffset: -1 };
    return { epoch: entries[i]!.epoch, endOffset: entries[i + 1]?.start ?? modelLeo(model) };
  }

  it('keeps offsets, reads and leader-epoch answers consistent through truncation and restarts', async () => {
    await fc.assert(fc.asyncProperty(
      logShape, fc.array(epochOp, { minLength: 5, maxLength: 50 }),
      async (shape, ops) => {
        const dir = newDir();
        let model: ModelBatch[] = [];
        let epoch = 0;
        // A recovery-point checkpoint written before a truncation can lie past the log end.
        let highestLeo = 0;
        let log = open(dir, shape, {});
        const checkEpochs = (): void => {
          for (let e = -1; e <= epoch + 1; e++) expect(log.endOffsetForEpoch(e), `epoch ${e}`).toEqual(modelEndOffsetFor(model, e));
        };
        for (const op of ops) {
          switch (op.kind) {
            case 'append':
              await appendSpec(log, model, op.specs);
              break;
            case 'epoch':
              epoch += op.inc;
              log.leaderEpoch = epoch;
              break;
            case 'truncate': {
              const to = Math.floor(op.at * (modelLeo(model) + 1));
              log.truncateTo(to);
              model = model.filter((b) => b.last < to);
              await log.waitFlushed(log.logEndOffset);
              checkLog(log, model, 1 << 20);
              checkEpochs();
              break;
            }
            case 'reopen':
              if (op.clean) {
                await log.close();
                log = open(dir, shape, { cleanShutdown: true });
              } else {
                crash(log);
                log = open(dir, shape, { recoveryPoint: pick([...flushedPoints(model), highestLeo], op.rpAt) });
              }
              log.leaderEpoch = epoch;
              checkEpochs();
              break;
          }
          expect(log.logEndOffset).toBe(modelLeo(model));
          highestLeo = Math.max(highestLeo, modelLeo(model));
        }
        checkLog(log, model, 1 << 20);
        checkEpochs();
        for (const b of model) {
          const got = decode(log.read(asOffset(b.base), 1, 'read_uncommitted').records);
          expect(got[0]!.epoch, 'batches carry the leader epoch they were appended in').toBe(b.epoch);
        }
        await log.close();
      },
    ), { seed: 0x5eed06, numRuns: 50 });
  });
});
