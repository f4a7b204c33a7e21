/**
 * FileRaftLog against the model the simulator runs on (MemoryRaftLog): the same operations
 * give the same observable log, across reopen; a torn tail is cut on reopen; batches cross
 * the wire byte for byte; voters entries and snapshot voter sets (KIP-853) round-trip.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../clock.js';
import { buildBatch } from '../log/batch-builder.js';
import { PartitionLog } from '../log/partition-log.js';
import * as rb from '../log/record-batch.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { batchesOfEntries, entriesOfBatches, FileRaftLog } from './file-raft-log.js';
import { MemoryRaftLog, type RaftLog } from './raft-log.js';
import { decodeSnapshot, decodeSnapshotVoters, encodeSnapshot } from './snapshot-format.js';
import type { LogEntry } from './types.js';
import { decodeVotersRecord, encodeVotersRecord, VoterSet } from './voter-set.js';

const dirs: Array<{ cleanup(): void }> = [];
const open: PartitionLog[] = [];
afterEach(async () => {
  for (const log of open.splice(0)) await log.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

function newDir(): string {
  const d = tempDir('sluice-raft-log-');
  dirs.push(d);
  return d.path;
}

function openFileLog(dir: string, cleanShutdown = true, segmentBytes = 1024): FileRaftLog {
  const partitionLog = PartitionLog.open({
    dir, topic: '__cluster_metadata', partition: 0,
    config: logConfig({ 'write.caching': 'true', 'segment.bytes': String(segmentBytes) }),
    clock: new ManualClock(), log: captureLogger(), recoveryPoint: 0, logStartOffset: 0, cleanShutdown,
  });
  open.push(partitionLog);
  return new FileRaftLog(partitionLog, () => 1_700_000_000_000);
}

async function reopen(dir: string, log: FileRaftLog): Promise<FileRaftLog> {
  open.splice(open.indexOf(log.partitionLog), 1);
  await log.partitionLog.close();
  return openFileLog(dir);
}

function observe(log: RaftLog, maxEpoch: number): unknown {
  const entries = log.read(0, log.endOffset()).map((e) => ({ ...e, data: Buffer.from(e.data).toString('hex') }));
  const epochEnds = Array.from({ length: maxEpoch + 2 }, (_, e) => log.endOffsetForEpoch(e));
  return {
    end: log.endOffset(), lastEpoch: log.lastEpoch(), flushed: log.flushedOffset(), entries, epochEnds,
    at: [log.entryAt(0), log.entryAt(log.endOffset() - 1), log.entryAt(log.endOffset())]
      .map((e) => (e === undefined ? null : { ...e, data: Buffer.from(e.data).toString('hex') })),
  };
}

type Op =
  | { readonly op: 'append'; readonly epochStep: number; readonly leaderChange: boolean; readonly data: Uint8Array }
  | { readonly op: 'truncate'; readonly back: number }
  | { readonly op: 'flush' }
  | { readonly op: 'reopen' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({
    op: fc.constant('append' as const), epochStep: fc.constantFrom(0, 0, 0, 1, 2), leaderChange: fc.boolean(),
    data: fc.uint8Array({ maxLength: 200 }),
  }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), back: fc.nat(6) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('flush' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reopen' as const) }) },
);

describe('FileRaftLog', () => {
  it('behaves as MemoryRaftLog under append, truncate, flush and reopen', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
      const dir = newDir();
      let file = openFileLog(dir);
      const model = new MemoryRaftLog();
      let epoch = 1;
      for (const op of ops) {
        switch (op.op) {
          case 'append': {
            epoch += op.epochStep;
            const entry: LogEntry = { epoch, offset: model.endOffset(), kind: op.leaderChange ? 'leader-change' : 'data', data: op.data };
            model.append(entry);
            file.append(entry);
            break;
          }
          case 'truncate': {
            const to = Math.max(0, model.endOffset() - op.back);
            model.truncateTo(to);
            file.truncateTo(to);
            break;
          }
          case 'flush':
            model.flush();
            file.flush();
            break;
          case 'reopen':
            // A reopened log has synced everything it found, so all of it counts as flushed.
            model.flush();
            file = await reopen(dir, file);
            break;
        }
        expect(observe(file, epoch)).toEqual(observe(model, epoch));
      }
    }), { numRuns: 40, seed: 7 });
  });

  it('cuts a torn tail on reopen and keeps every whole entry', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 60 }), async (count, cut) => {
      const dir = newDir();
      const log = openFileLog(dir, true, 1 << 20);
      for (let i = 0; i < count; i++) log.append({ epoch: 1 + (i >> 2), offset: i, kind: i === 0 ? 'leader-change' : 'data', data: Buffer.from(`entry ${i}`) });
      log.flush();
      const expected = log.read(0, count - 1);
      // Lets the partition log's own background sync finish, so nothing of it runs after the "crash".
      await log.partitionLog.waitFlushed(count);
      open.splice(open.indexOf(log.partitionLog), 1);
      for (const s of log.partitionLog.segmentList()) s.detach();
      // The crash tore the last batch: some of its bytes never reached the disk.
      const segment = readdirSync(dir).filter((n) => n.endsWith('.log')).sort().at(-1)!;
      const path = join(dir, segment);
      truncateSync(path, statSync(path).size - cut);
      const reopened = openFileLog(dir, false, 1 << 20);
      expect(reopened.endOffset()).toBe(count - 1);
      expect(reopened.flushedOffset()).toBe(count - 1);
      expect(reopened.read(0, count)).toEqual(expected);
      expect(reopened.lastEpoch()).toBe(expected.at(-1)!.epoch);
    }), { numRuns: 15, seed: 11 });
  });

  it('refuses a log that is not one entry per batch, such as a metadata log of an earlier layout', () => {
    const dir = newDir();
    const partitionLog = PartitionLog.open({
      dir, topic: '__cluster_metadata', partition: 0, config: logConfig({ 'write.caching': 'true' }),
      clock: new ManualClock(), log: captureLogger(), recoveryPoint: 0, logStartOffset: 0, cleanShutdown: true,
    });
    open.push(partitionLog);
    partitionLog.appendNow(buildBatch([{ key: null, value: Buffer.from('a') }, { key: null, value: Buffer.from('b') }]));
    expect(() => new FileRaftLog(partitionLog)).toThrow(/is not a Raft log: the batch at offset 0 holds 2 records/);
  });

  it('ships stored batches byte for byte and appends them on a follower', () => {
    const leader = openFileLog(newDir());
    const follower = openFileLog(newDir());
    leader.append({ epoch: 3, offset: 0, kind: 'leader-change', data: new Uint8Array(0) });
    leader.append({ epoch: 3, offset: 1, kind: 'data', data: Buffer.from('hello') });
    const stored = leader.readBatches(0, 1 << 20);
    const shipped = batchesOfEntries(leader.read(0, 2), 0);
    expect(Buffer.from(shipped)).toEqual(Buffer.from(stored));
    const buf = Buffer.from(stored);
    expect(rb.batchIsControl(buf, 0)).toBe(true);
    expect(rb.batchLeaderEpoch(buf, 0)).toBe(3);
    expect(follower.appendBatches(stored).map((e) => e.offset)).toEqual([0, 1]);
    expect(Buffer.from(follower.readBatches(0, 1 << 20))).toEqual(buf);
    expect(follower.endOffsetForEpoch(3)).toEqual({ offset: 2, epoch: 3 });
    expect(entriesOfBatches(batchesOfEntries(leader.read(0, 2), 0, 10)).map((e) => e.offset)).toEqual([0]);
    const corrupt = Buffer.from(stored);
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 1;
    expect(() => entriesOfBatches(corrupt)).toThrow(/invalid Raft batch/);
  });
});

describe('FileRaftLog snapshots', () => {
  const snapshotOf = (text: string): Buffer => encodeSnapshot({ offset: 0, epoch: 0 }, [Buffer.from(text)], 0);

  function fill(log: FileRaftLog, count: number, epochOf: (offset: number) => number): void {
    for (let o = log.endOffset(); o < count; o++) log.append({ offset: o, epoch: epochOf(o), kind: 'data', data: Buffer.from(`entry ${o} `.repeat(4)) });
    log.flush();
  }

  it('deletes whole segments below a snapshot and reopens at the first kept segment with the snapshot', async () => {
    const dir = newDir();
    let log = openFileLog(dir);
    fill(log, 60, (o) => (o < 40 ? 1 : 2));
    expect(() => log.deleteBefore(10)).toThrow(/snapshot/);
    log.storeSnapshot({ offset: 45, epoch: 2 }, snapshotOf('state'));
    log.deleteBefore(45);
    expect(log.startOffset()).toBe(45);
    expect(log.endOffsetForEpoch(2)).toEqual({ offset: 60, epoch: 2 });
    expect(log.endOffsetForEpoch(1)).toEqual({ offset: 0, epoch: 0 });
    const segmentsLeft = readdirSync(dir).filter((n) => n.endsWith('.log')).length;

    log = await reopen(dir, log);
    // Only whole segments went: the log now starts at the base of the segment holding 45.
    expect(log.startOffset()).toBeGreaterThan(0);
    expect(log.startOffset()).toBeLessThanOrEqual(45);
    expect(readdirSync(dir).filter((n) => n.endsWith('.log'))).toHaveLength(segmentsLeft);
    expect([log.endOffset(), log.lastEpoch(), log.latestSnapshot()]).toEqual([60, 2, { offset: 45, epoch: 2 }]);
    expect(log.read(log.startOffset(), 100).map((e) => e.offset)).toEqual(Array.from({ length: 60 - log.startOffset() }, (_, i) => log.startOffset() + i));
    expect(decodeSnapshot(log.readSnapshot({ offset: 45, epoch: 2 }, 0, 1000)!.bytes).map((r) => Buffer.from(r).toString())).toEqual(['state']);
  });

  it('reopens when its latest snapshot ends at the log end, of a newer epoch than the segments kept below it', async () => {
    const dir = newDir();
    let log = openFileLog(dir);
    fill(log, 40, (o) => (o < 39 ? 1 : 2));
    log.storeSnapshot({ offset: 40, epoch: 2 }, snapshotOf('state'));
    log.deleteBefore(40);
    log = await reopen(dir, log);
    // The segment holding offset 39 stays, and with it entries of epoch 1.
    expect(log.startOffset()).toBeLessThan(39);
    expect([log.endOffset(), log.lastEpoch()]).toEqual([40, 2]);
    expect(log.endOffsetForEpoch(1)).toEqual({ offset: 39, epoch: 1 });
  });

  it('installs a snapshot from a leader as an empty log at its end, and finishes an install a crash interrupted', async () => {
    const dir = newDir();
    let log = openFileLog(dir);
    fill(log, 20, () => 1);
    log.installSnapshot({ offset: 100, epoch: 5 }, snapshotOf('leader state'));
    expect(() => log.installSnapshot({ offset: 200, epoch: 5 }, Buffer.from('not a snapshot'))).toThrow(/header|torn/);
    expect([log.startOffset(), log.endOffset(), log.lastEpoch(), log.flushedOffset()]).toEqual([100, 100, 5, 100]);
    log.append({ offset: 100, epoch: 6, kind: 'leader-change', data: new Uint8Array(0) });
    log.flush();
    log = await reopen(dir, log);
    expect([log.startOffset(), log.endOffset(), log.lastEpoch()]).toEqual([100, 101, 6]);

    // A crash after the snapshot was written but before the log was emptied.
    log.snapshots.write({ offset: 300, epoch: 9 }, snapshotOf('newer'));
    log = await reopen(dir, log);
    expect([log.startOffset(), log.endOffset(), log.lastEpoch()]).toEqual([300, 300, 9]);
  });

  it('refuses to open a log whose prefix is gone with no snapshot to hold it', async () => {
    const dir = newDir();
    let log = openFileLog(dir);
    fill(log, 60, () => 1);
    log.storeSnapshot({ offset: 45, epoch: 1 }, snapshotOf('state'));
    log.deleteBefore(45);
    const partitionLog = log.partitionLog;
    open.splice(open.indexOf(partitionLog), 1);
    await partitionLog.close();
    for (const name of readdirSync(dir)) if (name.endsWith('.checkpoint')) rmSync(join(dir, name));
    expect(() => openFileLog(dir)).toThrow(/no snapshot holds/);
  });
});

describe('voters entries (KIP-853)', () => {
  const voters = new VoterSet([
    { id: 1, directoryId: new Uint8Array(16).fill(1), endpoints: [{ name: 'CONTROLLER', host: 'c1', port: 9093 }] },
    { id: 4, directoryId: new Uint8Array(16).fill(4), endpoints: [{ name: 'CONTROLLER', host: 'c4', port: 9093 }] },
  ]);

  it('are KRAFT_VOTERS control batches that survive reopen and the wire, told apart from leader changes', async () => {
    const dir = newDir();
    let log = openFileLog(dir);
    const entries: LogEntry[] = [
      { epoch: 1, offset: 0, kind: 'leader-change', data: new Uint8Array(0) },
      { epoch: 1, offset: 1, kind: 'voters', data: encodeVotersRecord(voters) },
      { epoch: 1, offset: 2, kind: 'data', data: new Uint8Array([9]) },
    ];
    for (const e of entries) log.append(e);
    log.flush();
    const wire = batchesOfEntries(log.read(0, 3), 0);
    // The control key of the second batch is (version 0, type 6).
    const second = rb.batchSize(Buffer.from(wire), 0);
    expect(rb.batchIsControl(Buffer.from(wire), second)).toBe(true);
    expect(Buffer.from(wire).includes(Buffer.from([0, 0, 0, 6]))).toBe(true);
    log = await reopen(dir, log);
    for (const read of [log.read(0, 3), entriesOfBatches(wire)]) {
      expect(read.map((e) => e.kind)).toEqual(['leader-change', 'voters', 'data']);
      expect(decodeVotersRecord(read[1]!.data).voters).toEqual(voters.voters);
    }
  });

  it('refuses a control batch of another type rather than reading it as a leader change', () => {
    const batch = buildBatch([{ key: new Uint8Array([0, 0, 0, 1]), value: new Uint8Array(0) }], {
      baseOffset: 0, partitionLeaderEpoch: 1, control: true, baseTimestampMs: 0,
    });
    expect(() => entriesOfBatches(batch)).toThrow(/control batch of type 1/);
  });

  it('a snapshot carries the voter set after its header, and a static one carries none', () => {
    const id = { offset: 10, epoch: 2 };
    const records = [new Uint8Array([1]), new Uint8Array([2])];
    const dynamic = encodeSnapshot(id, records, 0, voters);
    expect(decodeSnapshot(dynamic)).toEqual(records);
    expect(decodeSnapshotVoters(dynamic)?.voters).toEqual(voters.voters);
    expect(decodeSnapshotVoters(encodeSnapshot(id, records, 0))).toBeNull();
  });
});
