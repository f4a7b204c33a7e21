/**
 * `__consumer_offsets`: where the coordinator keeps committed offsets and group metadata,
 * and the only source it rebuilds its state from. Created at start when missing, with
 * Kafka's settings (compacted, `offsets.topic.num.partitions` partitions,
 * `offsets.topic.segment.bytes` segments). A group lives in partition
 * abs(javaHashCode(groupId)) % partitions, as in Kafka, so the placement agrees with
 * Kafka's for tools that compute it.
 */
import { asOffset, type Kernel, type Logger } from '@sluice/sdk';
import { batchesEnd, buildBatch, readEntries, type TransactionalProducer } from '../records/batch.js';
import type { GroupConfig } from './config.js';
import { GroupError } from './errors.js';
import type { StorageRecord } from './storage-records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';
const LOAD_READ_BYTES = 1024 * 1024;

/** Java's String.hashCode over UTF-16 code units. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's `Utils.abs(groupId.hashCode) % partitions` (Utils.abs maps Integer.MIN_VALUE to 0). */
export function partitionForGroup(groupId: string, partitions: number): number {
  const h = javaStringHashCode(groupId);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

/** A record written inside a producer's transaction (TxnOffsetCommit): it counts only once its COMMIT marker follows. */
export interface TransactionalStorageRecord extends StorageRecord {
  readonly txnProducerId: number;
}

/** The COMMIT or ABORT marker ending a producer's transaction on this partition. */
export interface TxnMarker {
  readonly marker: 'commit' | 'abort';
  readonly producerId: number;
}

/** What the coordinator needs of its log; the unit tests give it one in memory. */
export interface GroupLog {
  readonly partitions: number;
  /**
   * Appends the records as one batch (transactional for `producer`); resolves once durable
   * with 0, or the error code to answer.
   */
  append(partition: number, records: readonly StorageRecord[], producer?: TransactionalProducer): Promise<number>;
  /** Every record and transaction marker of the partition from its start, in order. */
  replay(partition: number): Iterable<StorageRecord | TransactionalStorageRecord | TxnMarker>;
}

/** Kafka's mapping of append failures onto what a group client is told. */
function coordinatorErrorOf(err: unknown): number {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  switch (code) {
    case 3: // UNKNOWN_TOPIC_OR_PARTITION
    case 7: // REQUEST_TIMED_OUT
    case 19: // NOT_ENOUGH_REPLICAS
    case 20: // NOT_ENOUGH_REPLICAS_AFTER_APPEND
      return GroupError.COORDINATOR_NOT_AVAILABLE;
    case 6: // NOT_LEADER_OR_FOLLOWER
    case 56: // KAFKA_STORAGE_ERROR
      return GroupError.NOT_COORDINATOR;
    case 10: // MESSAGE_TOO_LARGE
    case 18: // RECORD_LIST_TOO_LARGE
    case 4: // INVALID_FETCH_SIZE
      return GroupError.INVALID_COMMIT_OFFSET_SIZE;
    default:
      return GroupError.UNKNOWN_SERVER_ERROR;
  }
}

export class OffsetsTopic implements GroupLog {
  private constructor(
    private readonly kernel: Kernel,
    private readonly log: Logger,
    readonly partitions: number,
  ) {}

  /** Opens the topic, creating it when missing. An existing topic keeps its partition count. */
  static async open(kernel: Kernel, config: GroupConfig, log: Logger): Promise<OffsetsTopic> {
    let topic = kernel.describeTopic(OFFSETS_TOPIC);
    if (topic === undefined) {
      try {
        topic = await kernel.createTopic(OFFSETS_TOPIC, config.offsetsTopicPartitions, {
          'cleanup.policy': 'compact',
          'segment.bytes': String(config.offsetsTopicSegmentBytes),
          // Stored as written: the coordinator reads only uncompressed batches back.
          'compression.type': 'producer',
        });
        log.info('created the offsets topic', { topic: OFFSETS_TOPIC, partitions: topic.partitions });
      } catch (err) {
        topic = kernel.describeTopic(OFFSETS_TOPIC);
        if (topic === undefined) throw err;
      }
    }
    if (topic.partitions !== config.offsetsTopicPartitions) {
      log.warn('offsets.topic.num.partitions differs from the existing offsets topic, which keeps its partitions', {
        configured: config.offsetsTopicPartitions, partitions: topic.partitions,
      });
    }
    return new OffsetsTopic(kernel, log, topic.partitions);
  }

  append(partition: number, records: readonly StorageRecord[], producer?: TransactionalProducer): Promise<number> {
    const handle = this.kernel.partition(OFFSETS_TOPIC, partition);
    if (handle === undefined) return Promise.resolve(GroupError.COORDINATOR_NOT_AVAILABLE);
    let appended: Promise<unknown>;
    try {
      appended = handle.append(buildBatch(records, Date.now(), { producer }), 'durable');
    } catch (err) {
      return Promise.resolve(coordinatorErrorOf(err));
    }
    return appended.then(
      () => GroupError.NONE,
      (err: unknown) => {
        this.log.warn('writing to the offsets topic failed', { partition, error: String(err) });
        return coordinatorErrorOf(err);
      },
    );
  }

  *replay(partition: number): Iterable<StorageRecord | TransactionalStorageRecord | TxnMarker> {
    const handle = this.kernel.partition(OFFSETS_TOPIC, partition);
    if (handle === undefined) return;
    let next = handle.logStartOffset as number;
    const end = handle.highWatermark as number;
    while (next < end) {
      const { records } = handle.read(asOffset(next), LOAD_READ_BYTES, 'read_uncommitted');
      const after = batchesEnd(records);
      if (after === undefined || after <= next) break;
      for (const e of readEntries(records)) {
        if (e.kind === 'marker') {
          if (e.offset >= next) yield { marker: e.commit ? 'commit' : 'abort', producerId: e.producerId };
          continue;
        }
        const r = e.record;
        if (r.offset < next || r.key === null) continue;
        yield e.txnProducerId === undefined ? { key: r.key, value: r.value } : { key: r.key, value: r.value, txnProducerId: e.txnProducerId };
      }
      next = after;
    }
  }
}
