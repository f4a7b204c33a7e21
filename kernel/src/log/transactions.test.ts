import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asOffset, KafkaError } from '@sluice/sdk';
import { ManualClock } from '../clock.js';
import { buildBatch } from './batch-builder.js';
import { crc32c } from './crc32c.js';
import { LogCleaner } from './cleaner.js';
import { PartitionLog } from './partition-log.js';
import { ProducerStateManager } from './producer-state.js';
import * as rb from './record-batch.js';
import { emptyRecordView, readRecord } from './records.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { readAllRecords } from '../../test/log-records.js';

const dirs: Array<{ cleanup(): void }> = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});

function open(dir: string, cleanShutdown: boolean, segmentBytes = 100_000): PartitionLog {
  return PartitionLog.open({
    dir, topic: 't', partition: 0, config: logConfig({ 'segment.bytes': String(segmentBytes) }), clock: new ManualClock(),
    log: captureLogger(), recoveryPoint: 0, logStartOffset: 0, cleanShutdown,
  });
}

function txnBatch(pid: number, epoch: number, seq: number, count: number, transactional = true): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`p${pid}-${seq + i}`), timestampMs: 1000 }));
  return buildBatch(records, { producerId: pid, producerEpoch: epoch, baseSequence: seq, transactional });
}

/**
 * What a consumer keeps from a read_committed read, done as clients do it: a data batch
 * of a producer whose aborted transaction has begun (by the aborted list) is dropped
 * until that producer's ABORT marker; control batches are never records.
 */
function visibleOffsets(records: Uint8Array, aborted: ReadonlyArray<{ producerId: number; firstOffset: number }>): number[] {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  const pending = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<number>();
  const out: number[] = [];
  for (let pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) {
    const base = rb.batchBaseOffset(buf, pos);
    const pid = rb.batchProducerId(buf, pos);
    while (pending.length > 0 && pending[0]!.firstOffset <= rb.batchLastOffset(buf, pos)) abortedProducers.add(pending.shift()!.producerId);
    if (rb.batchIsControl(buf, pos)) {
      const view = emptyRecordView();
      readRecord(buf, pos + rb.BATCH_HEADER_BYTES, pos + rb.batchSize(buf, pos), view);
      if (buf.readInt16BE(view.keyStart + 2) === 0) abortedProducers.delete(pid);
      continue;
    }
    if (rb.batchIsTransactional(buf, pos) && abortedProducers.has(pid)) continue;
    for (let o = base; o <= rb.batchLastOffset(buf, pos); o++) out.push(o);
  }
  return out;
}

type Op =
  | { kind: 'produce'; pid: number; count: number }
  | { kind: 'plain'; count: number }
  | { kind: 'end'; pid: number; commit: boolean }
  | { kind: 'restart'; clean: boolean };

const opSpec: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('produce' as const), pid: fc.integer({ min: 1, max: 3 }), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('plain' as const), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('end' as const), pid: fc.integer({ min: 1, max: 3 }), commit: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), clean: fc.boolean() }) },
);

describe('transactions in the partition log', () => {
  it('keeps the LSO, the aborted index and what read_committed shows equal to a model, across restarts', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opSpec, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1024, max: 3000 }),
      async (ops, segmentBytes) => {
        const d = tempDir();
        dirs.push(d);
        let log = open(d.path, false, segmentBytes);
        let leo = 0;
        const seq = new Map<number, number>();
        const open_ = new Map<number, number>();
        const txnOffsets = new Map<number, number[]>();
        const aborted: Array<{ producerId: number; firstOffset: number; lastOffset: number }> = [];
        const committedVisible: number[] = [];
        for (const op of ops) {
          if (op.kind === 'produce') {
            const s = seq.get(op.pid) ?? 0;
            const r = await log.append(txnBatch(op.pid, 0, s, op.count), 'durable');
            expect(r.baseOffset).toBe(leo);
            seq.set(op.pid, s + op.count);
            if (!open_.has(op.pid)) open_.set(op.pid, leo);
            const mine = txnOffsets.get(op.pid) ?? [];
            for (let i = 0; i < op.count; i++) mine.push(leo + i);
            txnOffsets.set(op.pid, mine);
            leo += op.count;
          } else if (op.kind === 'plain') {
            await log.append(buildBatch(Array.from({ length: op.count }, () => ({ key: null, value: Buffer.from('x') }))), 'durable');
            for (let i = 0; i < op.count; i++) committedVisible.push(leo + i);
            leo += op.count;
          } else if (op.kind === 'end') {
            const r = await log.writeTxnMarker(op.pid, 0, 0, op.commit);
            expect(r.baseOffset).toBe(leo);
            const first = open_.get(op.pid);
            if (first !== undefined) {
              if (op.commit) committedVisible.push(...txnOffsets.get(op.pid)!);
              else aborted.push({ producerId: op.pid, firstOffset: first, lastOffset: leo });
              open_.delete(op.pid);
              txnOffsets.delete(op.pid);
            }
            leo += 1;
          } else {
            if (op.clean) await log.close();
            log = open(d.path, op.clean, segmentBytes);
          }
          const lso = Math.min(leo, ...open_.values());
          expect(log.logEndOffset).toBe(leo);
          expect(log.lastStableOffset).toBe(lso);
          expect(log.txnIndex.all().map((e) => ({ producerId: e.producerId, firstOffset: e.firstOffset, lastOffset: e.lastOffset })))
            .toEqual([...aborted].sort((a, b) => a.firstOffset - b.firstOffset));
          if (leo > 0) {
            // Each fetch on its own, as a client filters each response with the list it carries.
            const shown = readChunks(log, 'read_committed').flatMap((r) => visibleOffsets(r.records, r.abortedTransactions));
            expect(shown).toEqual(committedVisible.filter((o) => o < lso).sort((a, b) => a - b));
            // From the middle too, as a consumer resuming at a committed offset does.
            const mid = Math.floor(leo / 2);
            const fromMid = readChunks(log, 'read_committed', mid).flatMap((r) => visibleOffsets(r.records, r.abortedTransactions)).filter((o) => o >= mid);
            expect(fromMid).toEqual(committedVisible.filter((o) => o >= mid && o < lso).sort((a, b) => a - b));
            const all = Buffer.concat(readChunks(log, 'read_uncommitted').map((r) => Buffer.from(r.records)));
            expect(visibleOffsets(all, []).length).toBe(leo - countMarkers(all));
          }
        }
        await log.close();
      }), { numRuns: 40 });
  }, 120_000);

  it('refuses zombie markers and batches, and non-transactional batches inside an open transaction', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = open(d.path, false);
    await log.append(txnBatch(7, 1, 0, 2), 'durable');
    await expect(log.append(txnBatch(7, 1, 2, 1, false), 'durable')).rejects.toMatchObject({ codeName: 'INVALID_TXN_STATE' });
    await log.writeTxnMarker(7, 2, 3, false);
    expect(log.producers()[0]).toMatchObject({ producerEpoch: 2, coordinatorEpoch: 3, currentTxnStartOffset: -1 });
    await expect(log.writeTxnMarker(7, 1, 3, true)).rejects.toMatchObject({ codeName: 'INVALID_PRODUCER_EPOCH' });
    await expect(log.writeTxnMarker(7, 2, 2, true)).rejects.toMatchObject({ codeName: 'TRANSACTION_COORDINATOR_FENCED' });
    await expect(log.append(txnBatch(7, 1, 3, 1), 'durable')).rejects.toSatisfy((e: unknown) => KafkaError.is(e) && e.codeName === 'INVALID_PRODUCER_EPOCH');
    expect(log.lastStableOffset).toBe(log.logEndOffset);
    await log.close();
  });

  it('appends a coordinator\'s sequence-less transactional batches for a producer each time, fenced by epoch', async () => {
    const d = tempDir();
    dirs.push(d);
    const log = open(d.path, false);
    const offsetsBatch = (): Buffer => buildBatch([{ key: Buffer.from('k'), value: Buffer.from('v') }],
      { producerId: 9, producerEpoch: 2, baseSequence: -1, transactional: true });
    expect((await log.append(offsetsBatch(), 'durable')).duplicate).toBe(false);
    expect((await log.append(offsetsBatch(), 'durable')).baseOffset).toBe(1);
    expect(log.lastStableOffset).toBe(0);
    await log.writeTxnMarker(9, 2, 0, true);
    expect(log.lastStableOffset).toBe(3);
    await expect(log.append(buildBatch([{ key: null, value: null }], { producerId: 9, producerEpoch: 1, baseSequence: -1, transactional: true }), 'durable'))
      .rejects.toMatchObject({ codeName: 'INVALID_PRODUCER_EPOCH' });
    await log.close();
  });

  it('compaction lets neither an aborted nor an open transaction\'s records supersede committed ones', async () => {
    const d = tempDir();
    dirs.push(d);
    const dir = join(d.path, 't-0');
    const config = { ...logConfig({ 'cleanup.policy': 'compact' }), segmentBytes: 200 };
    const log = PartitionLog.open({
      dir, topic: 't', partition: 0, config, clock: new ManualClock(), log: captureLogger(), recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false,
    });
    const rec = (k: string, v: string, fields: Parameters<typeof buildBatch>[1] = {}) => buildBatch([{ key: Buffer.from(k), value: Buffer.from(v) }], fields);
    await log.append(rec('a', 'committed-a'), 'durable');
    await log.append(rec('b', 'committed-b'), 'durable');
    await log.append(rec('a', 'aborted-a', { producerId: 3, producerEpoch: 0, baseSequence: 0, transactional: true }), 'durable');
    await log.writeTxnMarker(3, 0, 0, false);
    await log.append(rec('b', 'open-b', { producerId: 4, producerEpoch: 0, baseSequence: 0, transactional: true }), 'durable');
    for (let i = 0; i < 6; i++) await log.append(rec(`filler-${i}`, 'x'.repeat(100)), 'durable');
    expect(log.segmentCount).toBeGreaterThan(3);
    const cleaner = new LogCleaner({ log: captureLogger(), keyMapBytesMax: 1 << 20 });
    await cleaner.cleanLog(log, 0);
    const values = readAllRecords(log).map((r) => r.value);
    expect(values).toContain('committed-a');
    expect(values).toContain('committed-b');
    await log.close();
  });

  it('reads a version 1 producer snapshot, written before transactions', () => {
    const d = tempDir();
    dirs.push(d);
    const body = Buffer.alloc(4 + 19 + 24);
    body.writeUInt32BE(1, 0);
    body.writeBigInt64BE(42n, 4);
    body.writeInt16BE(3, 12);
    body.writeBigInt64BE(5000n, 14);
    body.writeUInt8(1, 22);
    body.writeInt32BE(0, 23);
    body.writeInt32BE(4, 27);
    body.writeBigInt64BE(10n, 31);
    body.writeBigInt64BE(14n, 39);
    const file = Buffer.alloc(8 + body.length);
    file.writeUInt32BE(0x534c5031, 0);
    file.writeUInt32BE(crc32c(body), 4);
    body.copy(file, 8);
    writeFileSync(join(d.path, '00000000000000000015.snapshot'), file);
    const state = new ProducerStateManager(d.path);
    expect(state.loadSnapshot(100)).toBe(15);
    expect(state.entry(42)).toEqual({
      producerId: 42, epoch: 3, lastTimestamp: 5000, coordinatorEpoch: -1, currentTxnFirstOffset: -1,
      batches: [{ firstSeq: 0, lastSeq: 4, firstOffset: 10, lastOffset: 14 }],
    });
  });
});

/** The reads a consumer makes from `from` to the end the isolation level allows. */
function readChunks(log: PartitionLog, isolation: 'read_committed' | 'read_uncommitted', from = 0): ReturnType<PartitionLog['read']>[] {
  const out: ReturnType<PartitionLog['read']>[] = [];
  let next = from;
  for (;;) {
    const r = log.read(asOffset(next), 1 << 24, isolation);
    if (r.records.length === 0) return out;
    out.push(r);
    const buf = Buffer.from(r.records);
    for (let pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) next = rb.batchLastOffset(buf, pos) + 1;
  }
}

function countMarkers(records: Uint8Array): number {
  const buf = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  let n = 0;
  for (let pos = 0; pos < buf.length; pos += rb.batchSize(buf, pos)) if (rb.batchIsControl(buf, pos)) n++;
  return n;
}
