/**
 * Offsets committed inside transactions (TxnOffsetCommit): pending until the marker,
 * applied on COMMIT, dropped on ABORT, and rebuilt the same way from the log's bytes,
 * markers included, after a restart.
 */
import { crc32c } from '@node-rs/crc32';
import { describe, expect, it } from 'vitest';
import { buildBatch, readEntries, type TransactionalProducer } from '../records/batch.js';
import { DEFAULT_GROUP_CONFIG, type GroupConfig } from './config.js';
import { GroupCoordinator } from './coordinator.js';
import { GroupError as E } from './errors.js';
import type { GroupLog, TransactionalStorageRecord, TxnMarker } from './offsets-store.js';
import type { PartitionLeadership } from './partition-leadership.js';
import type { StorageRecord } from './storage-records.js';
import type { Timer } from './timer.js';

const timer: Timer = { now: () => 1_700_000_000_000, schedule: () => () => {} };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const CONFIG: GroupConfig = { ...DEFAULT_GROUP_CONFIG, offsetsTopicPartitions: 1 };

/** `__consumer_offsets` as bytes, with markers written as the kernel writes them. */
class MemoryLog implements GroupLog {
  /** This node leads every partition, as a single node does. */
  readonly leadership: PartitionLeadership = {
    led: () => Array.from({ length: this.partitions }, (_, partition) => ({ partition, leader: true, leaderEpoch: 0 })),
    subscribe: () => () => {},
    caughtUp: () => undefined,
  };
  readonly partitions = 1;
  readonly batches: Buffer[] = [];

  append(_partition: number, records: readonly StorageRecord[], producer?: TransactionalProducer): Promise<number> {
    this.batches.push(buildBatch(records, 0, { producer }));
    return Promise.resolve(0);
  }

  marker(producer: TransactionalProducer, commit: boolean): void {
    const key = Buffer.alloc(4);
    key.writeInt16BE(commit ? 1 : 0, 2);
    const batch = buildBatch([{ key, value: Buffer.alloc(6) }], 0, { producer });
    batch.writeInt16BE(batch.readInt16BE(21) | 0x20, 21);
    batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
    this.batches.push(batch);
  }

  *replay(): Iterable<StorageRecord | TransactionalStorageRecord | TxnMarker> {
    let offset = 0;
    for (const b of this.batches) {
      b.writeBigInt64BE(BigInt(offset), 0);
      offset += b.readInt32BE(23) + 1;
    }
    for (const e of readEntries(Buffer.concat(this.batches))) {
      if (e.kind === 'marker') yield { marker: e.commit ? 'commit' : 'abort', producerId: e.producerId };
      else if (e.txnProducerId !== undefined) yield { key: e.record.key!, value: e.record.value, txnProducerId: e.txnProducerId };
      else yield { key: e.record.key!, value: e.record.value };
    }
  }
}

function start(log: MemoryLog): GroupCoordinator {
  const c = new GroupCoordinator(log, CONFIG, timer, quiet, { listTopics: () => [], describeTopic: () => undefined });
  c.loadAll();
  return c;
}

const commitAt = (offset: number) => [{ topic: 't', partition: 0, offset, leaderEpoch: -1, metadata: null, commitTimestampMs: -1 }];

function fetched(c: GroupCoordinator, requireStable: boolean) {
  return c.fetchOffsets('g', [{ name: 't', partitions: [0] }], requireStable).topics[0]!.partitions[0]!;
}

describe('transactional offset commits', () => {
  it('stay pending until the marker: COMMIT applies them, ABORT drops them, and a restart agrees', async () => {
    const log = new MemoryLog();
    let c = start(log);
    const p1 = { producerId: 7, producerEpoch: 0 };
    const p2 = { producerId: 8, producerEpoch: 0 };
    expect(await c.commitTransactionalOffsets('g', p1, commitAt(10))).toEqual([E.NONE]);
    expect(fetched(c, false).offset).toBe(-1);
    expect(fetched(c, true).errorCode).toBe(E.UNSTABLE_OFFSET_COMMIT);
    log.marker(p1, true);
    c.completeTransaction(0, 7, true);
    expect(fetched(c, true)).toMatchObject({ errorCode: 0, offset: 10 });

    expect(await c.commitTransactionalOffsets('g', p2, commitAt(20))).toEqual([E.NONE]);
    log.marker(p2, false);
    c.completeTransaction(0, 8, false);
    expect(fetched(c, true)).toMatchObject({ errorCode: 0, offset: 10 });

    // Open at the restart: pending after it, and the marker written later still resolves it.
    expect(await c.commitTransactionalOffsets('g', p1, commitAt(30))).toEqual([E.NONE]);
    c.stop();
    c = start(log);
    expect(fetched(c, false).offset).toBe(10);
    expect(fetched(c, true).errorCode).toBe(E.UNSTABLE_OFFSET_COMMIT);
    log.marker(p1, true);
    c.completeTransaction(0, 7, true);
    expect(fetched(c, true)).toMatchObject({ errorCode: 0, offset: 30 });
    c.stop();
    expect(fetched(start(log), true)).toMatchObject({ errorCode: 0, offset: 30 });
  });
});
