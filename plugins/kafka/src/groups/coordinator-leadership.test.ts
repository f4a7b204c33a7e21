/**
 * The group coordinator following the leadership of `__consumer_offsets` partitions: it
 * serves a partition's groups only while this node leads it, loads them from the log when
 * leadership arrives and drops them when it goes. Leadership is driven by hand; the offsets
 * topic is kept in memory as real RecordBatch bytes.
 */
import { KafkaError, type Kernel, type PartitionHandle } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { buildBatch, readRecords } from '../records/batch.js';
import { DEFAULT_GROUP_CONFIG, type GroupConfig } from './config.js';
import { GroupCoordinator, type CommitRequest } from './coordinator.js';
import { GroupError as E } from './errors.js';
import type { JoinRequest } from './group.js';
import { OFFSETS_TOPIC, OffsetsTopic, type GroupLog } from './offsets-store.js';
import type { LeadershipChange, PartitionLeadership } from './partition-leadership.js';
import { offsetCommitRecord, type StorageRecord } from './storage-records.js';
import type { Timer } from './timer.js';

/** Leadership driven by the test: who leads now, changes as events, and partitions whose high watermark trails. */
class HandLeadership implements PartitionLeadership {
  ledNow: LeadershipChange[] = [];
  private readonly listeners = new Set<(change: LeadershipChange) => void>();
  private readonly trailing = new Map<number, { promise: Promise<void>; resolve: () => void }>();

  led(): readonly LeadershipChange[] {
    return this.ledNow;
  }

  subscribe(listener: (change: LeadershipChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  caughtUp(partition: number): Promise<void> | undefined {
    return this.trailing.get(partition)?.promise;
  }

  emit(partition: number, leader: boolean, leaderEpoch = 1): void {
    for (const l of this.listeners) l({ partition, leader, leaderEpoch });
  }

  /** The partition's high watermark trails its log end until `catchUp`. */
  trail(partition: number): void {
    let resolve!: () => void;
    const promise = new Promise<void>((ok) => (resolve = ok));
    this.trailing.set(partition, { promise, resolve });
  }

  catchUp(partition: number): void {
    this.trailing.get(partition)?.resolve();
    this.trailing.delete(partition);
  }
}

class MemoryLog implements GroupLog {
  readonly leadership = new HandLeadership();
  readonly batches: Buffer[][];

  constructor(readonly partitions: number) {
    this.batches = Array.from({ length: partitions }, () => []);
  }

  append(partition: number, records: readonly StorageRecord[]): Promise<number> {
    this.batches[partition]!.push(buildBatch(records, 0));
    return Promise.resolve(0);
  }

  *replay(partition: number): Iterable<StorageRecord> {
    for (const r of readRecords(Buffer.concat(this.batches[partition]!))) yield { key: r.key!, value: r.value };
  }
}

/** Deadlines never come: a join waits for its rebalance until something else answers it. */
const stillTimer: Timer = { now: () => 1_700_000_000_000, schedule: () => () => {} };
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const CONFIG: GroupConfig = { ...DEFAULT_GROUP_CONFIG, offsetsTopicPartitions: 1, minSessionTimeoutMs: 10 };
const GROUP = 'g1';
const flush = (): Promise<void> => new Promise((ok) => setImmediate(ok));

function setup(log = new MemoryLog(1)) {
  const coordinator = new GroupCoordinator(log, CONFIG, stillTimer, quiet, { listTopics: () => [], describeTopic: () => undefined });
  coordinator.loadAll();
  return { coordinator, log, leadership: log.leadership };
}

const commit = (offset: number): CommitRequest => ({
  memberId: '', groupInstanceId: null, generationId: -1, apiVersion: 8, retentionTimeMs: -1,
  partitions: [{ topic: 't', partition: 0, offset, leaderEpoch: 0, metadata: null, commitTimestampMs: -1 }],
});

const join: JoinRequest = {
  memberId: '', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', sessionTimeoutMs: 1000, rebalanceTimeoutMs: 5000,
  protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('m') }], requireKnownMemberId: false,
  supportsSkipAssignment: false, reason: null,
};

const fetched = (c: GroupCoordinator) => {
  const r = c.fetchOffsets(GROUP, [{ name: 't', partitions: [0] }], false);
  return { errorCode: r.errorCode, offset: r.topics[0]?.partitions[0]?.offset };
};

describe('group coordinator and partition leadership', () => {
  it('serves nothing for a partition it does not lead: NOT_COORDINATOR', () => {
    const { coordinator } = setup();
    expect(fetched(coordinator).errorCode).toBe(E.NOT_COORDINATOR);
    expect(coordinator.commitOffsets(GROUP, commit(1))).toEqual([E.NOT_COORDINATOR]);
    expect((coordinator.joinGroup(GROUP, join) as { errorCode: number }).errorCode).toBe(E.NOT_COORDINATOR);
  });

  it('loads a group with committed offsets when leadership arrives', async () => {
    const log = new MemoryLog(1);
    log.batches[0]!.push(buildBatch([offsetCommitRecord(GROUP, 't', 0, { offset: 42, leaderEpoch: 0, metadata: '', commitTimestampMs: 1, expireTimestampMs: null })], 0));
    const { coordinator, leadership } = setup(log);
    leadership.emit(0, true);
    // Loaded after the event handler returns: a kernel event handler must not block.
    expect(fetched(coordinator).errorCode).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);
    await flush();
    expect(fetched(coordinator)).toEqual({ errorCode: E.NONE, offset: 42 });
  });

  it('loads the partitions led at start at once, so no client sees them loading', () => {
    const log = new MemoryLog(1);
    log.batches[0]!.push(buildBatch([offsetCommitRecord(GROUP, 't', 0, { offset: 7, leaderEpoch: 0, metadata: '', commitTimestampMs: 1, expireTimestampMs: null })], 0));
    log.leadership.ledNow = [{ partition: 0, leader: true, leaderEpoch: 3 }];
    const { coordinator } = setup(log);
    expect(fetched(coordinator)).toEqual({ errorCode: E.NONE, offset: 7 });
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS until the high watermark has caught up and the partition is replayed', async () => {
    const { coordinator, leadership, log } = setup();
    leadership.trail(0);
    leadership.emit(0, true);
    await flush();
    expect(fetched(coordinator).errorCode).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.commitOffsets(GROUP, commit(1))).toEqual([E.COORDINATOR_LOAD_IN_PROGRESS]);
    expect((coordinator.joinGroup(GROUP, join) as { errorCode: number }).errorCode).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);
    expect(coordinator.listGroups().errorCode).toBe(E.COORDINATOR_LOAD_IN_PROGRESS);
    // Acknowledged under the previous leader, readable once the high watermark passes it.
    log.batches[0]!.push(buildBatch([offsetCommitRecord(GROUP, 't', 0, { offset: 9, leaderEpoch: 0, metadata: '', commitTimestampMs: 1, expireTimestampMs: null })], 0));
    leadership.catchUp(0);
    await flush();
    await flush();
    expect(fetched(coordinator)).toEqual({ errorCode: E.NONE, offset: 9 });
    expect(coordinator.listGroups().errorCode).toBe(E.NONE);
  });

  it('drops the groups when leadership is lost (NOT_COORDINATOR), and reloads them from the log when it returns', async () => {
    const { coordinator, leadership } = setup();
    leadership.emit(0, true, 1);
    await flush();
    expect(await coordinator.commitOffsets(GROUP, commit(5))).toEqual([E.NONE]);
    leadership.emit(0, false, 2);
    expect(fetched(coordinator).errorCode).toBe(E.NOT_COORDINATOR);
    expect(coordinator.listGroups().groups).toEqual([]);
    leadership.emit(0, true, 3);
    await flush();
    expect(fetched(coordinator)).toEqual({ errorCode: E.NONE, offset: 5 });
  });

  it('answers a pending JoinGroup with NOT_COORDINATOR when leadership is lost', async () => {
    const { coordinator, leadership } = setup();
    leadership.emit(0, true);
    await flush();
    const pending = coordinator.joinGroup(GROUP, join);
    expect(pending).toBeInstanceOf(Promise);
    leadership.emit(0, false);
    expect((await pending).errorCode).toBe(E.NOT_COORDINATOR);
  });

  it('treats a repeated leader:true as a no-op and ignores a resignation from an older epoch', async () => {
    const { coordinator, leadership } = setup();
    leadership.emit(0, true, 4);
    await flush();
    const pending = coordinator.joinGroup(GROUP, join);
    leadership.emit(0, true, 4);
    leadership.emit(0, false, 3);
    await flush();
    expect(coordinator.describeGroup(GROUP).state).toBe('PreparingRebalance');
    expect(coordinator.describeGroup(GROUP).members).toHaveLength(1);
    leadership.emit(0, false, 4);
    expect((await pending).errorCode).toBe(E.NOT_COORDINATOR);
  });

  it('abandons a load when leadership goes before the high watermark caught up', async () => {
    const { coordinator, leadership } = setup();
    leadership.trail(0);
    leadership.emit(0, true);
    leadership.emit(0, false);
    leadership.catchUp(0);
    await flush();
    await flush();
    expect(fetched(coordinator).errorCode).toBe(E.NOT_COORDINATOR);
  });
});

/** A kernel whose only partition is the offsets topic's, refusing appends with `refusal`. */
function refusingKernel(refusal: KafkaError, acks: string[]): Kernel {
  const handle = {
    logEndOffset: 0,
    highWatermark: 0,
    append: (_batches: Uint8Array, a: string) => {
      acks.push(a);
      return Promise.reject(refusal);
    },
  } as unknown as PartitionHandle;
  return {
    nodeId: 1,
    describeTopic: (name: string) => (name === OFFSETS_TOPIC ? { name, topicId: new Uint8Array(16), partitions: 1, configs: {} } : undefined),
    topicPartitions: (name: string) => (name === OFFSETS_TOPIC ? [{ partition: 0, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] }] : []),
    partition: (topic: string) => (topic === OFFSETS_TOPIC ? handle : undefined),
    on: () => () => {},
  } as unknown as Kernel;
}

describe('offsets topic writes', () => {
  it.each([
    [19, 'NOT_ENOUGH_REPLICAS', E.COORDINATOR_NOT_AVAILABLE],
    [6, 'NOT_LEADER_OR_FOLLOWER', E.NOT_COORDINATOR],
    [7, 'REQUEST_TIMED_OUT', E.COORDINATOR_NOT_AVAILABLE],
    [10, 'MESSAGE_TOO_LARGE', E.INVALID_COMMIT_OFFSET_SIZE],
  ])('are acks=all and map a refused append (%i %s) onto the OffsetCommit error %i', async (code, name, expected) => {
    const acks: string[] = [];
    const kernel = refusingKernel(new KafkaError(code, name, 'refused'), acks);
    const store = await OffsetsTopic.open(kernel, CONFIG, quiet);
    const coordinator = new GroupCoordinator(store, CONFIG, stillTimer, quiet, kernel);
    coordinator.loadAll();
    expect(await coordinator.commitOffsets(GROUP, commit(1))).toEqual([expected]);
    expect(acks).toEqual(['durable']);
    coordinator.stop();
  });
});
