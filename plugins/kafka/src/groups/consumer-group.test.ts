/**
 * Consumer (KIP-848) groups through the coordinator, with a fake clock, a topic catalog in
 * memory and an in-memory `__consumer_offsets` holding real RecordBatch bytes: joins, the
 * revoke-before-assign reconciliation, leaves, static members, session and revocation
 * timeouts, fencing codes, commits with member epochs, and rebuilding from the records.
 */
import type { TopicDescription } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { buildBatch, readRecords } from '../records/batch.js';
import { uuidToString } from '../protocol/index.js';
import { assignmentFrom, sortedEntries, type Assignment } from './assignors.js';
import { DEFAULT_GROUP_CONFIG, type GroupConfig } from './config.js';
import type { ConsumerHeartbeat, ConsumerHeartbeatResult, TopicCatalog } from './consumer-group.js';
import { GroupCoordinator, type CommitRequest } from './coordinator.js';
import { GroupError as E } from './errors.js';
import type { GroupLog } from './offsets-store.js';
import type { PartitionLeadership } from './partition-leadership.js';
import { decodeRecord, type StorageRecord } from './storage-records.js';
import type { Timer } from './timer.js';

class FakeTimer implements Timer {
  private nowMs = 1_700_000_000_000;
  private tasks: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  now(): number {
    return this.nowMs;
  }
  schedule(delayMs: number, fn: () => void): () => void {
    const task = { at: this.nowMs + delayMs, fn, cancelled: false };
    this.tasks.push(task);
    return () => {
      task.cancelled = true;
    };
  }
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const due = this.tasks.filter((t) => !t.cancelled && t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      due.cancelled = true;
      this.nowMs = due.at;
      due.fn();
    }
    this.nowMs = target;
  }
}

class MemoryLog implements GroupLog {
  /** This node leads every partition, as a single node does. */
  readonly leadership: PartitionLeadership = {
    led: () => Array.from({ length: this.partitions }, (_, partition) => ({ partition, leader: true, leaderEpoch: 0 })),
    subscribe: () => () => {},
    caughtUp: () => undefined,
  };
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

class Catalog implements TopicCatalog {
  readonly topics = new Map<string, TopicDescription>();
  add(name: string, partitions: number): string {
    const topicId = new Uint8Array(16).fill(this.topics.size + 1);
    this.topics.set(name, { name, topicId, partitions, configs: {} });
    return uuidToString(topicId);
  }
  grow(name: string, partitions: number): void {
    this.topics.set(name, { ...this.topics.get(name)!, partitions });
  }
  listTopics() {
    return [...this.topics.values()];
  }
  describeTopic(name: string) {
    return this.topics.get(name);
  }
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const CONFIG: GroupConfig = { ...DEFAULT_GROUP_CONFIG, offsetsTopicPartitions: 3, consumerSessionTimeoutMs: 45_000, consumerHeartbeatIntervalMs: 5000 };
const GROUP = 'cg';
const REBALANCE = 30_000;

function setup(config = CONFIG, log = new MemoryLog(config.offsetsTopicPartitions), timer = new FakeTimer(), catalog = new Catalog()) {
  const coordinator = new GroupCoordinator(log, config, timer, quiet, catalog);
  coordinator.loadAll();
  return { coordinator, log, timer, catalog };
}

function hb(memberId: string, memberEpoch: number, over: Partial<ConsumerHeartbeat> = {}): ConsumerHeartbeat {
  return {
    memberId, memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: memberEpoch === 0 ? REBALANCE : -1,
    subscribedTopicNames: memberEpoch === 0 ? ['t'] : null, subscribedTopicRegex: null, serverAssignor: null,
    ownedPartitions: memberEpoch === 0 ? new Map() : null, clientId: 'c', clientHost: '/127.0.0.1', ...over,
  };
}

async function beat(c: GroupCoordinator, req: ConsumerHeartbeat, version = 1): Promise<ConsumerHeartbeatResult> {
  return c.consumerGroupHeartbeat(GROUP, req, version);
}

const parts = (a: Assignment | null) => (a === null ? null : sortedEntries(a).flatMap(([, ps]) => ps));
const owning = (topicId: string, ps: number[]) => assignmentFrom([[topicId, ps]]);

function commit(memberId: string, epoch: number, apiVersion = 9): CommitRequest {
  return {
    memberId, groupInstanceId: null, generationId: epoch, apiVersion, retentionTimeMs: -1,
    partitions: [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: '', commitTimestampMs: -1 }],
  };
}

describe('consumer group membership', () => {
  it('a first member gets every partition and the first epoch at once', async () => {
    const env = setup();
    env.catalog.add('t', 4);
    const r = await beat(env.coordinator, hb('a', 0));
    expect(r).toMatchObject({ errorCode: 0, memberId: 'a', memberEpoch: 1, heartbeatIntervalMs: 5000 });
    expect(parts(r.assignment)).toEqual([0, 1, 2, 3]);
    const d = env.coordinator.describeConsumerGroup(GROUP).group!;
    expect([d.state, d.groupEpoch, d.assignmentEpoch, d.assignorName]).toEqual(['Stable', 1, 1, 'uniform']);
  });

  it('a second member: the first revokes before the second gets anything, then both are stable', async () => {
    const env = setup();
    const t = env.catalog.add('t', 4);
    const c = env.coordinator;
    await beat(c, hb('a', 0));
    // b joins: epoch 2, but every partition is still a's.
    const b1 = await beat(c, hb('b', 0));
    expect(b1.memberEpoch).toBe(2);
    expect(parts(b1.assignment)).toEqual([]);
    expect(c.describeConsumerGroup(GROUP).group!.state).toBe('Reconciling');
    // a learns what it keeps, at its old epoch, until it has let go of the rest.
    const a1 = await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1, 2, 3]) }));
    expect(a1.memberEpoch).toBe(1);
    const kept = parts(a1.assignment)!;
    expect(kept).toHaveLength(2);
    // Still owning the revoked ones: nothing moves.
    expect((await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1, 2, 3]) }))).memberEpoch).toBe(1);
    expect(parts((await beat(c, hb('b', 2))).assignment)).toBeNull();
    // a revoked: it reaches epoch 2; b can now take the released partitions.
    const a2 = await beat(c, hb('a', 1, { ownedPartitions: owning(t, kept) }));
    expect(a2.memberEpoch).toBe(2);
    const b2 = await beat(c, hb('b', 2, { ownedPartitions: owning(t, []) }));
    expect(parts(b2.assignment)).toEqual([0, 1, 2, 3].filter((p) => !kept.includes(p)));
    expect(c.describeConsumerGroup(GROUP).group!.state).toBe('Stable');
  });

  it('a leave (epoch -1) hands the partitions to the others on their next heartbeat', async () => {
    const env = setup();
    const t = env.catalog.add('t', 2);
    const c = env.coordinator;
    await beat(c, hb('a', 0));
    await beat(c, hb('b', 0));
    const a = await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1]) }));
    await beat(c, hb('a', 1, { ownedPartitions: a.assignment }));
    await beat(c, hb('b', 2, { ownedPartitions: owning(t, []) }));
    const left = await beat(c, hb('b', -1));
    expect(left).toMatchObject({ errorCode: 0, memberId: 'b', memberEpoch: -1 });
    const a3 = await beat(c, hb('a', 2, { ownedPartitions: a.assignment }));
    expect(a3.memberEpoch).toBe(3);
    expect(parts(a3.assignment)).toEqual([0, 1]);
    expect(await beat(c, hb('b', 2))).toMatchObject({ errorCode: E.UNKNOWN_MEMBER_ID });
  });

  it('a member that stops heartbeating is removed after the session timeout', async () => {
    const env = setup();
    env.catalog.add('t', 2);
    const c = env.coordinator;
    await beat(c, hb('a', 0));
    await beat(c, hb('b', 0));
    env.timer.advance(40_000);
    await beat(c, hb('a', 1));
    env.timer.advance(10_000);
    const g = c.describeConsumerGroup(GROUP).group!;
    expect([...g.members.keys()]).toEqual(['a']);
    expect(g.groupEpoch).toBe(3);
  });

  it('a member that does not revoke within its rebalance timeout is removed', async () => {
    const env = setup();
    const t = env.catalog.add('t', 2);
    const c = env.coordinator;
    await beat(c, hb('a', 0, { rebalanceTimeoutMs: 10_000 }));
    await beat(c, hb('b', 0));
    await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1]) }));
    // Heartbeats keep its session alive, but it never lets go.
    for (let i = 0; i < 3; i++) {
      env.timer.advance(4000);
      await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1]) }));
    }
    expect(c.describeConsumerGroup(GROUP).group!.members.has('a')).toBe(false);
    const b = await beat(c, hb('b', 2, { ownedPartitions: owning(t, []) }));
    expect(parts(b.assignment)).toEqual([0, 1]);
  });

  it('grows the assignment when a subscribed topic gains partitions, or a subscription changes', async () => {
    const env = setup();
    const t = env.catalog.add('t', 2);
    const u = env.catalog.add('u', 1);
    const c = env.coordinator;
    await beat(c, hb('a', 0));
    env.catalog.grow('t', 3);
    const r = await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1]) }));
    expect([r.memberEpoch, parts(r.assignment)]).toEqual([2, [0, 1, 2]]);
    const s = await beat(c, hb('a', 2, { subscribedTopicNames: ['t', 'u'] }));
    expect(s.memberEpoch).toBe(3);
    expect(sortedEntries(s.assignment!)).toEqual(sortedEntries(assignmentFrom([[t, [0, 1, 2]], [u, [0]]])));
  });

  it('subscribes by regex (full match, v1)', async () => {
    const env = setup();
    env.catalog.add('orders-eu', 1);
    env.catalog.add('orders-us', 1);
    env.catalog.add('payments', 1);
    const r = await beat(env.coordinator, hb('a', 0, { subscribedTopicNames: null, subscribedTopicRegex: 'orders-.*' }));
    expect(sortedEntries(r.assignment!).map(([id]) => env.coordinator.describeConsumerGroup(GROUP).group!.topicName(id)).sort()).toEqual(['orders-eu', 'orders-us']);
    expect(await beat(env.coordinator, hb('b', 0, { subscribedTopicRegex: '(' }))).toMatchObject({ errorCode: E.INVALID_REGULAR_EXPRESSION });
  });
});

describe('consumer group errors', () => {
  it('fences wrong epochs, and accepts the previous epoch when the bump was lost', async () => {
    const env = setup();
    const t = env.catalog.add('t', 2);
    const c = env.coordinator;
    await beat(c, hb('a', 0));
    expect(await beat(c, hb('a', 7))).toMatchObject({ errorCode: E.FENCED_MEMBER_EPOCH });
    env.catalog.grow('t', 3);
    expect((await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1]) }))).memberEpoch).toBe(2);
    // The epoch-2 response was lost: epoch 1 with a subset of its partitions is still accepted.
    expect(await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1]) }))).toMatchObject({ errorCode: 0, memberEpoch: 2 });
    expect(await beat(c, hb('a', 1))).toMatchObject({ errorCode: E.FENCED_MEMBER_EPOCH });
    // A fenced member rejoins with epoch 0 under its id.
    expect(await beat(c, hb('a', 0))).toMatchObject({ errorCode: 0, memberEpoch: 2 });
  });

  it('answers Kafka codes for bad first heartbeats, unknown groups and members, assignors and size', async () => {
    const env = setup({ ...CONFIG, consumerMaxSize: 1 });
    env.catalog.add('t', 1);
    const c = env.coordinator;
    expect(await beat(c, hb('a', 0, { rebalanceTimeoutMs: -1 }))).toMatchObject({ errorCode: E.INVALID_REQUEST, errorMessage: 'RebalanceTimeoutMs must be provided in first request.' });
    expect(await beat(c, hb('a', 0, { subscribedTopicNames: null }))).toMatchObject({ errorCode: E.INVALID_REQUEST });
    expect(await beat(c, hb('a', 0, { ownedPartitions: null }))).toMatchObject({ errorCode: E.INVALID_REQUEST });
    expect(await beat(c, hb('', 0))).toMatchObject({ errorCode: E.INVALID_REQUEST, errorMessage: "MemberId can't be empty." });
    expect(await beat(c, hb('a', -2))).toMatchObject({ errorCode: E.INVALID_REQUEST });
    expect(await beat(c, hb('a', 3))).toMatchObject({ errorCode: E.GROUP_ID_NOT_FOUND });
    expect(await beat(c, hb('a', 0, { serverAssignor: 'sticky' }))).toMatchObject({ errorCode: E.UNSUPPORTED_ASSIGNOR });
    // v0: the coordinator makes the member id.
    const a = await beat(c, hb('', 0), 0);
    expect(a.errorCode).toBe(0);
    expect(a.memberId).toMatch(/^[\w-]{22}$/);
    expect(await beat(c, hb('b', 0))).toMatchObject({ errorCode: E.GROUP_MAX_SIZE_REACHED });
    expect(await beat(c, hb('nobody', 1))).toMatchObject({ errorCode: E.UNKNOWN_MEMBER_ID });
  });

  it('keeps group types apart: classic APIs do not see consumer groups, and the other way round', async () => {
    const env = setup();
    env.catalog.add('t', 1);
    const c = env.coordinator;
    await beat(c, hb('a', 0));
    const join = await c.joinGroup(GROUP, {
      memberId: '', groupInstanceId: null, clientId: 'c', clientHost: '/h', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], requireKnownMemberId: true, supportsSkipAssignment: false, reason: null,
    });
    expect(join.errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
    expect(c.heartbeat(GROUP, 'a', null, 1)).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.describeGroup(GROUP).state).toBe('Dead');
    expect(c.listGroups().groups).toEqual([{ groupId: GROUP, protocolType: 'consumer', state: 'Stable', type: 'consumer' }]);
    expect(await c.deleteGroups([GROUP])).toEqual([E.NON_EMPTY_GROUP]);
    // A classic group with members is not a consumer group (its join waits for the initial delay).
    void c.joinGroup('classic', {
      memberId: '', groupInstanceId: null, clientId: 'c', clientHost: '/h', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], requireKnownMemberId: false, supportsSkipAssignment: false, reason: null,
    });
    expect(await c.consumerGroupHeartbeat('classic', hb('x', 0), 1)).toMatchObject({ errorCode: E.GROUP_ID_NOT_FOUND });
    expect(c.describeConsumerGroup('classic')).toMatchObject({ errorCode: E.GROUP_ID_NOT_FOUND, errorMessage: 'Group classic is not a consumer group.' });
  });

  it('checks member epochs of commits (v9) and fetches', async () => {
    const env = setup();
    env.catalog.add('t', 1);
    const c = env.coordinator;
    await beat(c, hb('a', 0));
    expect(await c.commitOffsets(GROUP, commit('a', 1))).toEqual([0]);
    expect(await c.commitOffsets(GROUP, commit('a', 0))).toEqual([E.STALE_MEMBER_EPOCH]);
    expect(await c.commitOffsets(GROUP, commit('a', 2))).toEqual([E.FENCED_MEMBER_EPOCH]);
    expect(await c.commitOffsets(GROUP, commit('zz', 1))).toEqual([E.UNKNOWN_MEMBER_ID]);
    expect(await c.commitOffsets(GROUP, commit('a', 1, 8))).toEqual([E.UNSUPPORTED_VERSION]);
    expect(await c.commitOffsets(GROUP, commit('', -1))).toEqual([E.UNKNOWN_MEMBER_ID]);
    expect(await c.commitOffsets('nope', commit('a', 1))).toEqual([E.GROUP_ID_NOT_FOUND]);
    expect(c.fetchOffsets(GROUP, [{ name: 't', partitions: [0] }], false, { memberId: 'a', memberEpoch: 1 }).topics[0]!.partitions[0]!.offset).toBe(5);
    expect(c.fetchOffsets(GROUP, null, false, { memberId: 'a', memberEpoch: 0 }).errorCode).toBe(E.STALE_MEMBER_EPOCH);
    expect(c.fetchOffsets(GROUP, null, false, { memberId: 'b', memberEpoch: 1 }).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
    expect(c.fetchOffsets(GROUP, null, false, { memberId: '', memberEpoch: -1 }).errorCode).toBe(0);
  });
});

describe('static members', () => {
  it('a static member that left with -2 comes back under a new id with its partitions, without a new epoch', async () => {
    const env = setup();
    const t = env.catalog.add('t', 2);
    const c = env.coordinator;
    await beat(c, hb('a', 0, { instanceId: 'i1' }));
    await beat(c, hb('b', 0));
    const a = await beat(c, hb('a', 1, { instanceId: 'i1', ownedPartitions: owning(t, [0, 1]) }));
    await beat(c, hb('a', 1, { instanceId: 'i1', ownedPartitions: a.assignment }));
    // Another process with the same instance id while i1 is still there.
    expect(await beat(c, hb('a2', 0, { instanceId: 'i1' }))).toMatchObject({ errorCode: E.UNRELEASED_INSTANCE_ID });
    expect(await beat(c, hb('a', -2, { instanceId: 'i1' }))).toMatchObject({ errorCode: 0, memberEpoch: -2 });
    const back = await beat(c, hb('a2', 0, { instanceId: 'i1' }));
    expect(back).toMatchObject({ errorCode: 0, memberId: 'a2', memberEpoch: 2 });
    expect(parts(back.assignment)).toEqual(parts(a.assignment));
    expect(c.describeConsumerGroup(GROUP).group!.groupEpoch).toBe(2);
    expect(await beat(c, hb('a', 2, { instanceId: 'i1' }))).toMatchObject({ errorCode: E.FENCED_INSTANCE_ID });
  });

  it('a static member that does not come back within its session is removed', async () => {
    const env = setup();
    env.catalog.add('t', 2);
    const c = env.coordinator;
    await beat(c, hb('a', 0, { instanceId: 'i1' }));
    await beat(c, hb('a', -2, { instanceId: 'i1' }));
    env.timer.advance(45_000);
    expect(c.describeConsumerGroup(GROUP).group!.state).toBe('Empty');
  });
});

describe('consumer group persistence', () => {
  it('rebuilds epochs, members, target and current assignments and offsets from the records alone', async () => {
    const env = setup();
    const t = env.catalog.add('t', 4);
    const c = env.coordinator;
    await beat(c, hb('a', 0));
    await beat(c, hb('b', 0, { instanceId: 'i-b', serverAssignor: 'range' }));
    const a = await beat(c, hb('a', 1, { ownedPartitions: owning(t, [0, 1, 2, 3]) }));
    await c.commitOffsets(GROUP, commit('a', 1));
    const before = c.describeConsumerGroup(GROUP).group!;
    const kinds = [...env.log.replay(c.partitionFor(GROUP))].map((r) => decodeRecord(r.key, r.value).kind);
    expect(new Set(kinds)).toEqual(new Set(['cg-member', 'cg-partition-metadata', 'cg-metadata', 'cg-target-member', 'cg-target-metadata', 'cg-current-assignment', 'offset']));

    const restarted = setup(CONFIG, env.log, new FakeTimer(), env.catalog).coordinator;
    const after = restarted.describeConsumerGroup(GROUP).group!;
    expect([after.groupEpoch, after.assignmentEpoch, after.assignorName, after.state]).toEqual([before.groupEpoch, before.assignmentEpoch, 'range', 'Reconciling']);
    for (const [id, m] of before.members) {
      const n = after.members.get(id)!;
      expect([n.memberEpoch, n.previousMemberEpoch, n.state, n.instanceId, n.subscribedTopicNames]).toEqual([m.memberEpoch, m.previousMemberEpoch, m.state, m.instanceId, m.subscribedTopicNames]);
      expect(sortedEntries(n.assigned)).toEqual(sortedEntries(m.assigned));
      expect(sortedEntries(n.pendingRevocation)).toEqual(sortedEntries(m.pendingRevocation));
      expect(sortedEntries(after.targetAssignment.get(id)!)).toEqual(sortedEntries(before.targetAssignment.get(id)!));
    }
    expect(restarted.fetchOffsets(GROUP, [{ name: 't', partitions: [0] }], false).topics[0]!.partitions[0]!.offset).toBe(5);
    // The members carry on where they were.
    const a2 = await restarted.consumerGroupHeartbeat(GROUP, hb('a', 1, { ownedPartitions: a.assignment }), 1);
    expect(a2).toMatchObject({ errorCode: 0, memberEpoch: 2 });
  });

  it('an empty group becomes the other type, keeping its offsets; deleting tombstones every record', async () => {
    const env = setup();
    env.catalog.add('t', 1);
    const c = env.coordinator;
    await c.commitOffsets(GROUP, { ...commit('', -1), apiVersion: 8 });
    expect(c.listGroups().groups[0]!.type).toBe('classic');
    await beat(c, hb('a', 0));
    await beat(c, hb('a', -1));
    expect(c.listGroups().groups).toEqual([{ groupId: GROUP, protocolType: 'consumer', state: 'Empty', type: 'consumer' }]);
    expect(c.fetchOffsets(GROUP, null, false).topics[0]!.partitions[0]!.offset).toBe(5);
    expect(await c.deleteGroups([GROUP])).toEqual([0]);
    const restarted = setup(CONFIG, env.log, new FakeTimer(), env.catalog).coordinator;
    expect(restarted.listGroups().groups).toEqual([]);
  });
});
