/**
 * `__consumer_offsets`: where the coordinator keeps committed offsets and group metadata,
 * and the only source it rebuilds its state from. Created at start when missing (and on
 * FindCoordinator when that failed, e.g. while a cluster has no controller yet), with
 * Kafka's settings (compacted, `offsets.topic.num.partitions` partitions,
 * `offsets.topic.segment.bytes` segments; the controller picks the replication factor from
 * `offsets.topic.replication.factor`). A group lives in partition
 * abs(javaHashCode(groupId)) % partitions, as in Kafka, so the placement agrees with
 * Kafka's for tools that compute it. Each partition is replayed by this node while it
 * leads that partition (partition-leadership.ts), from its log start to its high watermark.
 */
import { asOffset, KafkaError, type Kernel, type Logger, type TopicDescription } from '@sluice/sdk';
import { batchesEnd, buildBatch, readEntries, type TransactionalProducer } from '../records/batch.js';
import type { GroupConfig } from './config.js';
import { GroupError } from './errors.js';
import { KernelLeadership, type PartitionLeadership } from './partition-leadership.js';
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
  /** Which partitions this node leads, and so coordinates the groups of. */
  readonly leadership: PartitionLeadership;
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

/** Creates the offsets topic; concurrent calls for one kernel share one attempt. */
export function createOffsetsTopic(kernel: Kernel, config: GroupConfig, log: Logger): Promise<TopicDescription> {
  let pending = creating.get(kernel);
  if (pending === undefined) {
    pending = kernel.createTopic(OFFSETS_TOPIC, config.offsetsTopicPartitions, {
      'cleanup.policy': 'compact',
      'segment.bytes': String(config.offsetsTopicSegmentBytes),
      // Stored as written: the coordinator reads only uncompressed batches back.
      'compression.type': 'producer',
    }).then((topic) => {
      log.info('created the offsets topic', { topic: OFFSETS_TOPIC, partitions: topic.partitions });
      return topic;
    }).finally(() => creating.delete(kernel));
    creating.set(kernel, pending);
  }
  return pending;
}
const creating = new WeakMap<Kernel, Promise<TopicDescription>>();

/** Whether this node is a registered, unfenced broker, so that a topic created now can be placed. */
export function kernelReady(kernel: Kernel): boolean {
  return kernel.brokers().some((b) => b.nodeId === kernel.nodeId && !b.fenced);
}

export class OffsetsTopic implements GroupLog {
  readonly leadership: PartitionLeadership;

  private constructor(
    private readonly kernel: Kernel,
    private readonly log: Logger,
    private readonly configuredPartitions: number,
  ) {
    this.leadership = new KernelLeadership(kernel, OFFSETS_TOPIC);
  }

  /**
   * Opens the topic, creating it when missing. An existing topic keeps its partition count.
   * A failed creation is logged, not thrown: a node of a cluster starting before its
   * controller is elected cannot create it yet, and FindCoordinator asks again.
   */
  static async open(kernel: Kernel, config: GroupConfig, log: Logger): Promise<OffsetsTopic> {
    let topic = kernel.describeTopic(OFFSETS_TOPIC);
    const warn = (err: unknown): void => {
      // Another node created it first (TOPIC_ALREADY_EXISTS): nothing to report.
      if (KafkaError.is(err) && err.code === 36) return;
      if (kernel.describeTopic(OFFSETS_TOPIC) === undefined) {
        log.warn('the offsets topic could not be created yet', { topic: OFFSETS_TOPIC, error: String(err) });
      }
    };
    if (topic === undefined && !kernelReady(kernel)) {
      // A cluster node starts its plugins before it has joined: creating now would hold the
      // plugin's start until a controller answers. It is created in the background instead.
      createOffsetsTopic(kernel, config, log).catch(warn);
    } else if (topic === undefined) {
      try {
        topic = await createOffsetsTopic(kernel, config, log);
      } catch (err) {
        warn(err);
        topic = kernel.describeTopic(OFFSETS_TOPIC);
      }
    }
    if (topic !== undefined && topic.partitions !== config.offsetsTopicPartitions) {
      log.warn('offsets.topic.num.partitions differs from the existing offsets topic, which keeps its partitions', {
        configured: config.offsetsTopicPartitions, partitions: topic.partitions,
      });
    }
    return new OffsetsTopic(kernel, log, config.offsetsTopicPartitions);
  }

  /** The topic's partition count once it exists (metadata may reach this node after it starts), else the configured one. */
  get partitions(): number {
    return this.kernel.describeTopic(OFFSETS_TOPIC)?.partitions ?? this.configuredPartitions;
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
