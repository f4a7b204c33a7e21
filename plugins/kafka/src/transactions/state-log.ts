/**
 * `__transaction_state`: where the transaction coordinator keeps each transactional id's
 * producer id, epoch, state and partitions, and the only source it rebuilds from. Created
 * when missing (at start, or on FindCoordinator when that failed), compacted,
 * `transaction.state.log.num.partitions` partitions (the controller picks the replication
 * factor from `transaction.state.log.replication.factor`); a transactional id lives in
 * partition abs(javaHashCode(id)) % partitions, as in Kafka. Each partition is replayed by
 * this node while it leads it (groups/partition-leadership.ts).
 *
 * Records are Kafka's: key = int16 version 0 + TransactionLogKey v0, value = int16 version
 * 0 + TransactionLogValue v0 (what Kafka writes for clients without transaction version 2).
 * A null value is a tombstone.
 */
import { asOffset, KafkaError, type Kernel, type Logger, type TopicDescription } from '@sluice/sdk';
import { batchesEnd, buildBatch, readRecords } from '../records/batch.js';
import {
  Reader, Writer, decodeTransactionLogKey, decodeTransactionLogValue, sizeOfTransactionLogKey, sizeOfTransactionLogValue,
  writeTransactionLogKey, writeTransactionLogValue, type TransactionLogValue,
} from '../protocol/index.js';
import { kernelReady, partitionForGroup } from '../groups/offsets-store.js';
import { KernelLeadership, type PartitionLeadership } from '../groups/partition-leadership.js';
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

/** What the transaction coordinator needs of its log; the unit tests give it one in memory. */
export interface TransactionLog {
  readonly partitions: number;
  /** Which partitions this node leads, and so coordinates the transactional ids of. */
  readonly leadership: PartitionLeadership;
  partitionFor(transactionalId: string): number;
  /** The coordinator epoch stamped on markers: the leader epoch of the id's state partition. */
  coordinatorEpoch(transactionalId: string): number;
  /** Resolves once the record is durable (acks=all); rejects with the kernel's KafkaError otherwise. */
  write(transactionalId: string, value: TransactionLogValue | null): Promise<void>;
  /** Every record of the partition from its start to its high watermark, oldest first. */
  replay(partition: number): Iterable<{ key: Uint8Array; value: Uint8Array | null }>;
}

/** Creates the transaction state topic; concurrent calls for one kernel share one attempt. */
export function createTransactionStateTopic(kernel: Kernel, config: TransactionConfig, log: Logger): Promise<TopicDescription> {
  let pending = creating.get(kernel);
  if (pending === undefined) {
    pending = kernel.createTopic(TRANSACTION_STATE_TOPIC, config.stateLogPartitions, {
      'cleanup.policy': 'compact',
      'segment.bytes': String(config.stateLogSegmentBytes),
      // Read back by the coordinator, which reads only uncompressed batches.
      'compression.type': 'producer',
    }).then((topic) => {
      log.info('created the transaction state topic', { topic: TRANSACTION_STATE_TOPIC, partitions: topic.partitions });
      return topic;
    }).finally(() => creating.delete(kernel));
    creating.set(kernel, pending);
  }
  return pending;
}
const creating = new WeakMap<Kernel, Promise<TopicDescription>>();

export class TransactionStateLog implements TransactionLog {
  readonly leadership: PartitionLeadership;

  private constructor(private readonly kernel: Kernel, private readonly configuredPartitions: number) {
    this.leadership = new KernelLeadership(kernel, TRANSACTION_STATE_TOPIC);
  }

  /**
   * Opens the topic, creating it when missing. A failed creation is logged, not thrown: a
   * node of a cluster starting before its controller is elected cannot create it yet.
   */
  static async open(kernel: Kernel, config: TransactionConfig, log: Logger): Promise<TransactionStateLog> {
    const warn = (err: unknown): void => {
      // Another node created it first (TOPIC_ALREADY_EXISTS): nothing to report.
      if (KafkaError.is(err) && err.code === 36) return;
      if (kernel.describeTopic(TRANSACTION_STATE_TOPIC) === undefined) {
        log.warn('the transaction state topic could not be created yet', { topic: TRANSACTION_STATE_TOPIC, error: String(err) });
      }
    };
    if (kernel.describeTopic(TRANSACTION_STATE_TOPIC) === undefined) {
      // As the offsets topic: not awaited on a cluster node that has not joined yet.
      if (!kernelReady(kernel)) createTransactionStateTopic(kernel, config, log).catch(warn);
      else await createTransactionStateTopic(kernel, config, log).catch(warn);
    }
    return new TransactionStateLog(kernel, config.stateLogPartitions);
  }

  /** The topic's partition count once it exists (metadata may reach this node after it starts), else the configured one. */
  get partitions(): number {
    return this.kernel.describeTopic(TRANSACTION_STATE_TOPIC)?.partitions ?? this.configuredPartitions;
  }

  partitionFor(transactionalId: string): number {
    return partitionForTransactionalId(transactionalId, this.partitions);
  }

  coordinatorEpoch(transactionalId: string): number {
    return this.kernel.partition(TRANSACTION_STATE_TOPIC, this.partitionFor(transactionalId))?.leaderEpoch ?? 0;
  }

  async write(transactionalId: string, value: TransactionLogValue | null): Promise<void> {
    const handle = this.kernel.partition(TRANSACTION_STATE_TOPIC, this.partitionFor(transactionalId));
    if (handle === undefined) throw new KafkaError(6, 'NOT_LEADER_OR_FOLLOWER', `${TRANSACTION_STATE_TOPIC} partition is not here`);
    await handle.append(buildBatch([{ key: encodeKey(transactionalId), value: value === null ? null : encodeValue(value) }], Date.now()), 'durable');
  }

  *replay(partition: number): Iterable<{ key: Uint8Array; value: Uint8Array | null }> {
    const handle = this.kernel.partition(TRANSACTION_STATE_TOPIC, partition);
    if (handle === undefined) return;
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
