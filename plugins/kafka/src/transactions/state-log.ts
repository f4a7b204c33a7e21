/**
 * `__transaction_state`: where the transaction coordinator keeps each transactional id's
 * producer id, epoch, state and partitions, and the only source it rebuilds from at start.
 * Created when missing, compacted, `transaction.state.log.num.partitions` partitions; a
 * transactional id lives in partition abs(javaHashCode(id)) % partitions, as in Kafka.
 *
 * Records are Kafka's: key = int16 version 0 + TransactionLogKey v0, value = int16 version
 * 0 + TransactionLogValue v0 (what Kafka writes for clients without transaction version 2).
 * A null value is a tombstone.
 */
import { asOffset, type Kernel, type Logger } from '@sluice/sdk';
import { batchesEnd, buildBatch, readRecords } from '../records/batch.js';
import {
  Reader, Writer, decodeTransactionLogKey, decodeTransactionLogValue, sizeOfTransactionLogKey, sizeOfTransactionLogValue,
  writeTransactionLogKey, writeTransactionLogValue, type TransactionLogValue,
} from '../protocol/index.js';
import { partitionForGroup } from '../groups/offsets-store.js';
import type { TransactionConfig } from './config.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';
const LOAD_READ_BYTES = 1024 * 1024;
const KEY_VERSION = 0;
const VALUE_VERSION = 0;

export function partitionForTransactionalId(transactionalId: string, partitions: number): number {
  return partitionForGroup(transactionalId, partitions);
}

export function encodeKey(transactionalId: string): Buffer {
  const w = new Writer(Buffer.allocUnsafe(2 + sizeOfTransactionLogKey({ transactionalId }, KEY_VERSION)));
  w.int16(KEY_VERSION);
  writeTransactionLogKey(w, { transactionalId }, KEY_VERSION);
  return w.finish();
}

export function encodeValue(value: TransactionLogValue): Buffer {
  const w = new Writer(Buffer.allocUnsafe(2 + sizeOfTransactionLogValue(value, VALUE_VERSION)));
  w.int16(VALUE_VERSION);
  writeTransactionLogValue(w, value, VALUE_VERSION);
  return w.finish();
}

export function decodeEntry(key: Uint8Array, value: Uint8Array | null): { transactionalId: string; value: TransactionLogValue | null } | undefined {
  const kr = new Reader(Buffer.from(key.buffer, key.byteOffset, key.byteLength));
  const keyVersion = kr.int16();
  if (keyVersion !== 0) return undefined;
  const { transactionalId } = decodeTransactionLogKey(kr, keyVersion);
  if (value === null) return { transactionalId, value: null };
  const vr = new Reader(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  return { transactionalId, value: decodeTransactionLogValue(vr, vr.int16()) };
}

export class TransactionStateLog {
  private constructor(private readonly kernel: Kernel, readonly partitions: number) {}

  static async open(kernel: Kernel, config: TransactionConfig, log: Logger): Promise<TransactionStateLog> {
    let topic = kernel.describeTopic(TRANSACTION_STATE_TOPIC);
    if (topic === undefined) {
      try {
        topic = await kernel.createTopic(TRANSACTION_STATE_TOPIC, config.stateLogPartitions, {
          'cleanup.policy': 'compact',
          'segment.bytes': String(config.stateLogSegmentBytes),
          // Read back by the coordinator, which reads only uncompressed batches.
          'compression.type': 'producer',
        });
        log.info('created the transaction state topic', { topic: TRANSACTION_STATE_TOPIC, partitions: topic.partitions });
      } catch (err) {
        topic = kernel.describeTopic(TRANSACTION_STATE_TOPIC);
        if (topic === undefined) throw err;
      }
    }
    return new TransactionStateLog(kernel, topic.partitions);
  }

  partitionFor(transactionalId: string): number {
    return partitionForTransactionalId(transactionalId, this.partitions);
  }

  /** The coordinator epoch stamped on markers: the leader epoch of the id's state partition. */
  coordinatorEpoch(transactionalId: string): number {
    return this.kernel.partition(TRANSACTION_STATE_TOPIC, this.partitionFor(transactionalId))?.leaderEpoch ?? 0;
  }

  /** Resolves once the record is durable; rejects with the kernel's error otherwise. */
  async write(transactionalId: string, value: TransactionLogValue | null): Promise<void> {
    const handle = this.kernel.partition(TRANSACTION_STATE_TOPIC, this.partitionFor(transactionalId));
    if (handle === undefined) throw new Error(`${TRANSACTION_STATE_TOPIC} partition is missing`);
    await handle.append(buildBatch([{ key: encodeKey(transactionalId), value: value === null ? null : encodeValue(value) }], Date.now()), 'durable');
  }

  /** Every record of every partition, oldest first within a partition. */
  *replay(): Iterable<{ key: Uint8Array; value: Uint8Array | null }> {
    for (let p = 0; p < this.partitions; p++) {
      const handle = this.kernel.partition(TRANSACTION_STATE_TOPIC, p);
      if (handle === undefined) continue;
      let next = handle.logStartOffset as number;
      const end = handle.highWatermark as number;
      while (next < end) {
        const { records } = handle.read(asOffset(next), LOAD_READ_BYTES, 'read_uncommitted');
        const after = batchesEnd(records);
        if (after === undefined || after <= next) break;
        for (const r of readRecords(records)) {
          if (r.offset >= next && r.key !== null) yield { key: r.key, value: r.value };
        }
        next = after;
      }
    }
  }
}
