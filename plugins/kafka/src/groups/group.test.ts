/**
 * The classic group state machine and the coordinator around it, driven by a fake clock
 * over an in-memory `__consumer_offsets` that stores real RecordBatch bytes, so that
 * "restart" means rebuilding from those bytes alone.
 */
import { describe, expect, it } from 'vitest';
import { buildBatch, readRecords } from '../records/batch.js';
import { DEFAULT_GROUP_CONFIG, type GroupConfig } from './config.js';
import { GroupCoordinator, type CommitRequest } from './coordinator.js';
import { GroupError as E } from './errors.js';
import type { JoinRequest, SyncRequest } from './group.js';
import type { JoinResult, SyncResult } from './member.js';
import { javaStringHashCode, partitionForGroup, type GroupLog } from './offsets-store.js';
import type { PartitionLeadership } from './partition-leadership.js';
import { decodeRecord, groupMetadataRecord, offsetCommitRecord, type StorageRecord } from './storage-records.js';
import type { Timer } from './timer.js';

class FakeTimer implements Timer {
  private nowMs = 1_700_000_000_000;
  private seq = 0;
  private tasks: Array<{ at: number; seq: number; fn: () => void; cancelled: boolean }> = [];

  now(): number {
    return this.nowMs;
  }

  schedule(delayMs: number, fn: () => void): () => void {
    const task = { at: this.nowMs + delayMs, seq: this.seq++, fn, cancelled: false };
    this.tasks.push(task);
    return () => {
      task.cancelled = true;
    };
  }

  /** Moves time forward, running each task due on the way at its own time. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const due = this.tasks.filter((t) => !t.cancelled && t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      due.cancelled = true;
      this.nowMs = due.at;
      due.fn();
    }
    this.tasks = this.tasks.filter((t) => !t.cancelled);
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
  failNext = 0;

  constructor(readonly partitions: number) {
    this.batches = Array.from({ length: partitions }, () => []);
  }

  append(partition: number, records: readonly StorageRecord[]): Promise<number> {
    if (this.failNext !== 0) {
      const code = this.failNext;
      this.failNext = 0;
      return Promise.resolve(code);
    }
    this.batches[partition]!.push(buildBatch(records, 0));
    return Promise.resolve(0);
  }

  *replay(partition: number): Iterable<StorageRecord> {
    for (const r of readRecords(Buffer.concat(this.batches[partition]!))) yield { key: r.key!, value: r.value };
  }

  records(partition: number) {
    return [...this.replay(partition)].map((r) => decodeRecord(r.key, r.value));
  }
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const CONFIG: GroupConfig = { ...DEFAULT_GROUP_CONFIG, offsetsTopicPartitions: 4, initialRebalanceDelayMs: 100, minSessionTimeoutMs: 10 };
const GROUP = 'g1';
const SESSION = 1000;
const REBALANCE = 5000;

function setup(config: GroupConfig = CONFIG, log = new MemoryLog(config.offsetsTopicPartitions), timer = new FakeTimer()) {
  const coordinator = new GroupCoordinator(log, config, timer, quiet, { listTopics: () => [], describeTopic: () => undefined });
  coordinator.loadAll();
  return { coordinator, log, timer };
}

const flush = (): Promise<void> => new Promise((ok) => setImmediate(ok));

/** A pending response and whether it arrived yet. */
class Pending<T> {
  value: T | undefined;
  constructor(result: T | Promise<T>) {
    if (result instanceof Promise) void result.then((v) => (this.value = v));
    else this.value = result;
  }
  get done(): boolean {
    return this.value !== undefined;
  }
  get(): T {
    if (this.value === undefined) throw new Error('no response yet');
    return this.value;
  }
}

function joinReq(over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId: '', groupInstanceId: null, clientId: 'c', clientHost: '/127.0.0.1', sessionTimeoutMs: SESSION,
    rebalanceTimeoutMs: REBALANCE, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from('m') }],
    requireKnownMemberId: true, supportsSkipAssignment: false, reason: null, ...over,
  };
}

function syncReq(memberId: string, generationId: number, assignments: SyncRequest['assignments'] = []): SyncRequest {
  return { memberId, groupInstanceId: null, generationId, protocolType: null, protocolName: null, assignments };
}

function commitReq(memberId: string, generationId: number, offset = 10, groupInstanceId: string | null = null): CommitRequest {
  return {
    memberId, groupInstanceId, generationId, apiVersion: 8, retentionTimeMs: -1,
    partitions: [{ topic: 't', partition: 0, offset, leaderEpoch: 3, metadata: 'meta', commitTimestampMs: -1 }],
  };
}

/** KIP-394: the first join hands out an id, the second joins with it. */
async function joinNew(c: GroupCoordinator, over: Partial<JoinRequest> = {}): Promise<Pending<JoinResult>> {
  const first = c.joinGroup(GROUP, joinReq(over));
  if (first instanceof Promise || first.errorCode !== E.MEMBER_ID_REQUIRED) return new Pending(first);
  return new Pending(c.joinGroup(GROUP, joinReq({ ...over, memberId: first.memberId })));
}

/** Two members through join and sync: a Stable group at generation 1. */
async function stableGroupOfTwo() {
  const env = setup();
  const a = await joinNew(env.coordinator, { clientId: 'a' });
  const b = await joinNew(env.coordinator, { clientId: 'b' });
  expect(a.done || b.done).toBe(false);
  // b joined during a's initial delay, which extends it once.
  env.timer.advance(CONFIG.initialRebalanceDelayMs);
  expect(a.done).toBe(false);
  env.timer.advance(CONFIG.initialRebalanceDelayMs);
  await flush();
  const ja = a.get();
  const jb = b.get();
  expect([ja.errorCode, jb.errorCode]).toEqual([0, 0]);
  const leader = ja.leader === ja.memberId ? ja : jb;
  const follower = leader === ja ? jb : ja;
  const sf = new Pending(env.coordinator.syncGroup(GROUP, syncReq(follower.memberId, 1)));
  const sl = new Pending(env.coordinator.syncGroup(GROUP, syncReq(leader.memberId, 1, [
    { memberId: leader.memberId, assignment: Buffer.from('to-leader') },
    { memberId: follower.memberId, assignment: Buffer.from('to-follower') },
  ])));
  await flush();
  expect(Buffer.from(sl.get().assignment).toString()).toBe('to-leader');
  expect(Buffer.from(sf.get().assignment).toString()).toBe('to-follower');
  return { ...env, leader: leader.memberId, follower: follower.memberId };
}

function state(c: GroupCoordinator, group = GROUP) {
  return c.describeGroup(group).state;
}

describe('placement', () => {
  it('hashes group ids as Java String.hashCode over UTF-16 units, and maps them as Kafka', () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('Aa')).toBe(javaStringHashCode('BB'));
    expect(javaStringHashCode('😀')).toBe(0xd83d * 31 + 0xde00);
    // Integer.MIN_VALUE: Kafka's Utils.abs maps it to 0.
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(partitionForGroup('polygenelubricants', 50)).toBe(0);
    expect(partitionForGroup('hello', 50)).toBe(99162322 % 50);
    expect(partitionForGroup('my-group', 50)).toBe(Math.abs(javaStringHashCode('my-group')) % 50);
  });
});

describe('storage records', () => {
  it('writes OffsetCommitKey v1 / OffsetCommitValue v3 and GroupMetadataKey v2 as Kafka lays them out', () => {
    const r = offsetCommitRecord('g', 'tp', 3, { offset: 42, leaderEpoch: 7, metadata: 'x', commitTimestampMs: 1000, expireTimestampMs: null });
    expect(Buffer.from(r.key).toString('hex')).toBe('0001' + '0001' + '67' + '0002' + '7470' + '00000003');
    expect(Buffer.from(r.value!).toString('hex')).toBe('0003' + '000000000000002a' + '00000007' + '0001' + '78' + '00000000000003e8');
    expect(Buffer.from(groupMetadataRecord('g', null).key).toString('hex')).toBe('0002' + '0001' + '67');
    const withExpiry = offsetCommitRecord('g', 'tp', 3, { offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: 5, expireTimestampMs: 9 });
    expect(Buffer.from(withExpiry.value!).readInt16BE(0)).toBe(1);
    expect(decodeRecord(withExpiry.key, withExpiry.value)).toEqual({
      kind: 'offset', group: 'g', topic: 'tp', partition: 3,
      value: { offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: 5, expireTimestampMs: 9 },
    });
  });
});

describe('join and sync', () => {
  it('KIP-394: a v4+ new member gets MEMBER_ID_REQUIRED with its id, then joins with it', () => {
    const { coordinator } = setup();
    const first = coordinator.joinGroup(GROUP, joinReq({ clientId: 'cli' })) as JoinResult;
    expect(first.errorCode).toBe(E.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^cli-[0-9a-f-]{36}$/);
    const older = coordinator.joinGroup(GROUP, joinReq({ requireKnownMemberId: false }));
    expect(older).toBeInstanceOf(Promise);
  });

  it('waits out group.initial.rebalance.delay.ms, then answers every member; the leader gets the members', async () => {
    const { coordinator, leader, follower, log } = await stableGroupOfTwo();
    expect(state(coordinator)).toBe('Stable');
    expect(coordinator.describeGroup(GROUP).members.map((m) => m.memberId).sort()).toEqual([leader, follower].sort());
    // The assignment was stored before anyone got it.
    const stored = log.records(partitionForGroup(GROUP, CONFIG.offsetsTopicPartitions)).filter((r) => r.kind === 'group');
    expect(stored.at(-1)).toMatchObject({ kind: 'group', group: GROUP, value: { generation: 1, protocol: 'range', leader } });
  });

  it('a member joining during the initial delay extends it', async () => {
    const { coordinator, timer } = setup();
    const a = await joinNew(coordinator);
    timer.advance(CONFIG.initialRebalanceDelayMs - 1);
    const b = await joinNew(coordinator);
    timer.advance(1);
    await flush();
    expect(a.done).toBe(false);
    timer.advance(CONFIG.initialRebalanceDelayMs);
    await flush();
    expect(a.get().errorCode).toBe(0);
    expect(b.get().generationId).toBe(1);
  });

  it('rejects a session timeout outside the broker bounds and a group id that is empty', () => {
    const { coordinator } = setup();
    expect((coordinator.joinGroup(GROUP, joinReq({ sessionTimeoutMs: 1 })) as JoinResult).errorCode).toBe(E.INVALID_SESSION_TIMEOUT);
    expect((coordinator.joinGroup('', joinReq()) as JoinResult).errorCode).toBe(E.INVALID_GROUP_ID);
    expect((coordinator.joinGroup('nope', joinReq({ memberId: 'ghost' })) as JoinResult).errorCode).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('rejects a member whose protocols share none with the group', async () => {
    const { coordinator } = await stableGroupOfTwo();
    const r = coordinator.joinGroup(GROUP, joinReq({ protocols: [{ name: 'other', metadata: Buffer.alloc(0) }] })) as JoinResult;
    expect(r.errorCode).toBe(E.INCONSISTENT_GROUP_PROTOCOL);
  });

  it('a new member makes the group rebalance: heartbeats say REBALANCE_IN_PROGRESS until all rejoin', async () => {
    const { coordinator, leader, follower, timer } = await stableGroupOfTwo();
    const c = await joinNew(coordinator, { clientId: 'c' });
    expect(state(coordinator)).toBe('PreparingRebalance');
    expect(coordinator.heartbeat(GROUP, follower, null, 1)).toBe(E.REBALANCE_IN_PROGRESS);
    expect(coordinator.syncGroup(GROUP, syncReq(follower, 1))).toMatchObject({ errorCode: E.REBALANCE_IN_PROGRESS });
    const rl = new Pending(coordinator.joinGroup(GROUP, joinReq({ memberId: leader })));
    const rf = new Pending(coordinator.joinGroup(GROUP, joinReq({ memberId: follower })));
    await flush();
    expect([rl.get().generationId, rf.get().generationId, c.get().generationId]).toEqual([2, 2, 2]);
    expect(rl.get().members).toHaveLength(3);
    expect(state(coordinator)).toBe('CompletingRebalance');
    // Commits wait for the assignment; stale heartbeats are fenced.
    expect(await coordinator.commitOffsets(GROUP, commitReq(follower, 2))).toEqual([E.REBALANCE_IN_PROGRESS]);
    expect(coordinator.heartbeat(GROUP, follower, null, 1)).toBe(E.ILLEGAL_GENERATION);
    expect(coordinator.heartbeat(GROUP, follower, null, 2)).toBe(E.NONE);
    timer.advance(1);
  });

  it('a rebalance that every member is already in completes at once', async () => {
    const { coordinator, leader, follower } = await stableGroupOfTwo();
    coordinator.leaveGroup(GROUP, [{ memberId: follower, groupInstanceId: null }], 'bye');
    const r = new Pending(coordinator.joinGroup(GROUP, joinReq({ memberId: leader })));
    await flush();
    expect(r.get()).toMatchObject({ errorCode: 0, generationId: 2, leader });
    // The lone leader rejoining a stable group starts (and completes) a rebalance by itself.
    coordinator.syncGroup(GROUP, syncReq(leader, 2, [{ memberId: leader, assignment: Buffer.from('x') }]));
    await flush();
    const again = new Pending(coordinator.joinGroup(GROUP, joinReq({ memberId: leader })));
    await flush();
    expect(again.get().generationId).toBe(3);
  });

  it('a member that sends no SyncGroup within the rebalance timeout is removed', async () => {
    const env = setup();
    const a = await joinNew(env.coordinator, { clientId: 'a' });
    const b = await joinNew(env.coordinator, { clientId: 'b' });
    env.timer.advance(2 * CONFIG.initialRebalanceDelayMs);
    await flush();
    const leader = a.get().leader;
    const other = leader === a.get().memberId ? b.get().memberId : a.get().memberId;
    const s = new Pending(env.coordinator.syncGroup(GROUP, syncReq(leader, 1, [])));
    await flush();
    expect(s.get().errorCode).toBe(0);
    for (let t = 0; t < REBALANCE; t += SESSION / 2) {
      env.timer.advance(SESSION / 2);
      env.coordinator.heartbeat(GROUP, leader, null, 1);
      env.coordinator.heartbeat(GROUP, other, null, 1);
    }
    expect(env.coordinator.describeGroup(GROUP).members.map((m) => m.memberId)).toEqual([leader]);
  });

  it('a member that does not rejoin within the rebalance timeout is removed', async () => {
    const { coordinator, leader, follower, timer } = await stableGroupOfTwo();
    const rl = new Pending(coordinator.joinGroup(GROUP, joinReq({ memberId: leader })));
    // The follower keeps heartbeating but never rejoins.
    for (let t = 0; t < REBALANCE; t += SESSION / 2) {
      timer.advance(SESSION / 2);
      await flush();
      if (!rl.done) expect(coordinator.heartbeat(GROUP, follower, null, 1)).toBe(E.REBALANCE_IN_PROGRESS);
    }
    await flush();
    expect(rl.get()).toMatchObject({ errorCode: 0, generationId: 2, leader });
    expect(rl.get().members.map((m) => m.memberId)).toEqual([leader]);
    expect(coordinator.heartbeat(GROUP, follower, null, 2)).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('a member whose session expires is removed and the others rebalance', async () => {
    const { coordinator, leader, follower, timer } = await stableGroupOfTwo();
    timer.advance(SESSION / 2);
    expect(coordinator.heartbeat(GROUP, leader, null, 1)).toBe(E.NONE);
    timer.advance(SESSION / 2);
    expect(state(coordinator)).toBe('PreparingRebalance');
    expect(coordinator.heartbeat(GROUP, follower, null, 1)).toBe(E.UNKNOWN_MEMBER_ID);
    expect(coordinator.heartbeat(GROUP, leader, null, 1)).toBe(E.REBALANCE_IN_PROGRESS);
    const r = new Pending(coordinator.joinGroup(GROUP, joinReq({ memberId: leader })));
    await flush();
    expect(r.get()).toMatchObject({ errorCode: 0, generationId: 2 });
  });

  it('LeaveGroup removes the member at once; unknown members get UNKNOWN_MEMBER_ID', async () => {
    const { coordinator, leader, follower } = await stableGroupOfTwo();
    expect(coordinator.leaveGroup(GROUP, [{ memberId: follower, groupInstanceId: null }, { memberId: 'ghost', groupInstanceId: null }], 'bye'))
      .toEqual({ errorCode: 0, memberErrors: [E.NONE, E.UNKNOWN_MEMBER_ID] });
    expect(state(coordinator)).toBe('PreparingRebalance');
    const r = new Pending(coordinator.joinGroup(GROUP, joinReq({ memberId: leader })));
    await flush();
    expect(r.get()).toMatchObject({ generationId: 2, leader });
  });

  it('the last member leaving makes the group Empty, and the empty generation is stored', async () => {
    const { coordinator, leader, follower, log } = await stableGroupOfTwo();
    coordinator.leaveGroup(GROUP, [{ memberId: follower, groupInstanceId: null }, { memberId: leader, groupInstanceId: null }], 'bye');
    expect(state(coordinator)).toBe('Empty');
    const last = log.records(partitionForGroup(GROUP, CONFIG.offsetsTopicPartitions)).at(-1);
    expect(last).toMatchObject({ kind: 'group', value: { generation: 2, members: [], protocol: null } });
  });

  it('a failed write of the assignment answers the syncs with its error and rebalances', async () => {
    const env = setup();
    const a = await joinNew(env.coordinator);
    env.timer.advance(CONFIG.initialRebalanceDelayMs);
    await flush();
    env.log.failNext = E.COORDINATOR_NOT_AVAILABLE;
    const s = new Pending(env.coordinator.syncGroup(GROUP, syncReq(a.get().memberId, 1, [{ memberId: a.get().memberId, assignment: Buffer.from('x') }])));
    await flush();
    expect(s.get().errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
    expect(state(env.coordinator)).toBe('PreparingRebalance');
  });
});

describe('static membership (KIP-345)', () => {
  async function staticPair() {
    const env = setup();
    const a = new Pending(env.coordinator.joinGroup(GROUP, joinReq({ groupInstanceId: 'inst-a' })));
    const b = new Pending(env.coordinator.joinGroup(GROUP, joinReq({ groupInstanceId: 'inst-b' })));
    env.timer.advance(2 * CONFIG.initialRebalanceDelayMs);
    await flush();
    const leader = a.get().leader === a.get().memberId ? a.get() : b.get();
    const other = leader === a.get() ? b.get() : a.get();
    const s1 = new Pending(env.coordinator.syncGroup(GROUP, { ...syncReq(leader.memberId, 1, [
      { memberId: leader.memberId, assignment: Buffer.from('L') }, { memberId: other.memberId, assignment: Buffer.from('O') },
    ]), groupInstanceId: leader === a.get() ? 'inst-a' : 'inst-b' }));
    await flush();
    expect(s1.get().errorCode).toBe(0);
    return { ...env, a: a.get(), b: b.get() };
  }

  it('a static member rejoining with an unknown member id takes its place without a rebalance; the old id is fenced', async () => {
    const { coordinator, a } = await staticPair();
    expect(a.memberId).toMatch(/^inst-a-/);
    const rejoin = new Pending(coordinator.joinGroup(GROUP, joinReq({ groupInstanceId: 'inst-a' })));
    await flush();
    const r = rejoin.get();
    expect(r.errorCode).toBe(0);
    expect(r.generationId).toBe(1);
    expect(r.memberId).not.toBe(a.memberId);
    expect(state(coordinator)).toBe('Stable');
    // Its assignment is still there for the new id.
    const s = new Pending(coordinator.syncGroup(GROUP, { ...syncReq(r.memberId, 1), groupInstanceId: 'inst-a' }));
    await flush();
    expect(s.get().errorCode).toBe(0);
    expect(['L', 'O']).toContain(Buffer.from(s.get().assignment).toString());
    expect(coordinator.heartbeat(GROUP, a.memberId, 'inst-a', 1)).toBe(E.FENCED_INSTANCE_ID);
    expect(await coordinator.commitOffsets(GROUP, commitReq(a.memberId, 1, 5, 'inst-a'))).toEqual([E.FENCED_INSTANCE_ID]);
    expect(coordinator.heartbeat(GROUP, r.memberId, 'inst-a', 1)).toBe(E.NONE);
  });

  it('a static member is not removed by a rebalance it misses, only by its session', async () => {
    const { coordinator, a, b, timer } = await staticPair();
    const leader = a.leader === a.memberId ? a : b;
    const other = leader === a ? b : a;
    const r = new Pending(coordinator.joinGroup(GROUP, joinReq({ memberId: leader.memberId, groupInstanceId: leader === a ? 'inst-a' : 'inst-b' })));
    // The other keeps its session alive but does not rejoin.
    for (let t = 0; t < REBALANCE; t += SESSION / 2) {
      timer.advance(SESSION / 2);
      await flush();
      if (!r.done) expect(coordinator.heartbeat(GROUP, other.memberId, other === a ? 'inst-a' : 'inst-b', 1)).toBe(E.REBALANCE_IN_PROGRESS);
    }
    expect(r.get().members.map((m) => m.memberId).sort()).toEqual([a.memberId, b.memberId].sort());
    timer.advance(SESSION);
    expect(coordinator.heartbeat(GROUP, other.memberId, other === a ? 'inst-a' : 'inst-b', 2)).toBe(E.UNKNOWN_MEMBER_ID);
  });

  it('LeaveGroup by group.instance.id alone removes the static member', async () => {
    const { coordinator, b } = await staticPair();
    expect(coordinator.leaveGroup(GROUP, [{ memberId: '', groupInstanceId: 'inst-b' }], 'admin').memberErrors).toEqual([E.NONE]);
    expect(coordinator.describeGroup(GROUP).members.map((m) => m.memberId)).not.toContain(b.memberId);
  });
});

describe('offset commits', () => {
  it('fences commits by generation and member, and makes them visible once durable', async () => {
    const { coordinator, leader } = await stableGroupOfTwo();
    expect(await coordinator.commitOffsets(GROUP, commitReq(leader, 0))).toEqual([E.ILLEGAL_GENERATION]);
    expect(await coordinator.commitOffsets(GROUP, commitReq('ghost', 1))).toEqual([E.UNKNOWN_MEMBER_ID]);
    expect(await coordinator.commitOffsets(GROUP, commitReq('', -1))).toEqual([E.UNKNOWN_MEMBER_ID]);
    expect(await coordinator.commitOffsets('never-seen', commitReq('m', 3))).toEqual([E.ILLEGAL_GENERATION]);
    const pending = coordinator.commitOffsets(GROUP, commitReq(leader, 1, 42));
    expect(coordinator.fetchOffsets(GROUP, [{ name: 't', partitions: [0] }], true).topics[0]!.partitions[0]!.errorCode).toBe(E.UNSTABLE_OFFSET_COMMIT);
    expect(await pending).toEqual([E.NONE]);
    expect(coordinator.fetchOffsets(GROUP, null, true).topics).toEqual([
      { name: 't', partitions: [{ partition: 0, errorCode: 0, offset: 42, leaderEpoch: 3, metadata: 'meta' }] },
    ]);
    const tooLarge = { ...commitReq(leader, 1), partitions: [{ ...commitReq(leader, 1).partitions[0]!, metadata: 'x'.repeat(CONFIG.offsetMetadataMaxBytes + 1) }] };
    expect(await coordinator.commitOffsets(GROUP, tooLarge)).toEqual([E.OFFSET_METADATA_TOO_LARGE]);
  });

  it('a group with no members takes simple commits (generation -1, no member id)', async () => {
    const { coordinator } = setup();
    expect(await coordinator.commitOffsets('standalone', commitReq('', -1, 7))).toEqual([E.NONE]);
    expect(coordinator.fetchOffsets('standalone', [{ name: 't', partitions: [0, 1] }], false).topics[0]!.partitions.map((p) => p.offset)).toEqual([7, -1]);
    expect(state(coordinator, 'standalone')).toBe('Empty');
  });

  it('a failed append leaves the previous offset in place and answers the mapped error', async () => {
    const { coordinator, log } = setup();
    await coordinator.commitOffsets('s', commitReq('', -1, 1));
    log.failNext = E.COORDINATOR_NOT_AVAILABLE;
    expect(await coordinator.commitOffsets('s', commitReq('', -1, 2))).toEqual([E.COORDINATOR_NOT_AVAILABLE]);
    expect(coordinator.fetchOffsets('s', null, false).topics[0]!.partitions[0]!.offset).toBe(1);
  });
});

describe('restart, retention and deletion', () => {
  it('rebuilds groups, members, assignments and offsets from the log alone', async () => {
    const { coordinator, leader, follower, log, timer } = await stableGroupOfTwo();
    await coordinator.commitOffsets(GROUP, commitReq(leader, 1, 99));
    coordinator.stop();
    const again = setup(CONFIG, log, timer).coordinator;
    expect(state(again)).toBe('Stable');
    expect(again.fetchOffsets(GROUP, null, false).topics[0]!.partitions[0]!.offset).toBe(99);
    // Members carry on in the same generation: no rebalance.
    expect(again.heartbeat(GROUP, leader, null, 1)).toBe(E.NONE);
    const s = new Pending(again.syncGroup(GROUP, syncReq(follower, 1)));
    await flush();
    expect(Buffer.from(s.get().assignment).toString()).toBe('to-follower');
  });

  it('expires an empty group\'s offsets after offsets.retention.minutes, then the group itself', async () => {
    const config = { ...CONFIG, offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 };
    const { coordinator, log, timer } = setup(config);
    await coordinator.commitOffsets('old', commitReq('', -1, 5));
    timer.advance(50_000);
    await flush();
    expect(coordinator.fetchOffsets('old', null, false).topics).toHaveLength(1);
    timer.advance(20_000);
    await flush();
    expect(coordinator.fetchOffsets('old', null, false).topics).toHaveLength(0);
    expect(coordinator.listGroups().groups.map((g) => g.groupId)).not.toContain('old');
    const reloaded = setup(config, log, timer).coordinator;
    expect(reloaded.listGroups().groups).toEqual([]);
  });

  it('keeps a stable consumer group\'s offsets of subscribed topics', async () => {
    const config = { ...CONFIG, offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 };
    const env = setup(config);
    // ConsumerProtocolSubscription v0: topics ["t"], no user data.
    const subscription = Buffer.from('0000' + '00000001' + '0001' + '74' + 'ffffffff', 'hex');
    const a = await joinNew(env.coordinator, { protocols: [{ name: 'range', metadata: subscription }], sessionTimeoutMs: 100_000 });
    env.timer.advance(config.initialRebalanceDelayMs);
    await flush();
    const id = a.get().memberId;
    env.coordinator.syncGroup(GROUP, syncReq(id, 1, [{ memberId: id, assignment: Buffer.alloc(0) }]));
    await flush();
    await env.coordinator.commitOffsets(GROUP, commitReq(id, 1, 5));
    await env.coordinator.commitOffsets(GROUP, { ...commitReq(id, 1, 6), partitions: [{ ...commitReq(id, 1).partitions[0]!, topic: 'gone' }] });
    for (let i = 0; i < 8; i++) {
      env.timer.advance(10_000);
      expect(env.coordinator.heartbeat(GROUP, id, null, 1)).toBe(E.NONE);
      await flush();
    }
    expect(env.coordinator.fetchOffsets(GROUP, null, false).topics.map((t) => t.name)).toEqual(['t']);
  });

  it('DeleteGroups refuses a group with members and tombstones an empty one', async () => {
    const { coordinator, leader, follower, log, timer } = await stableGroupOfTwo();
    await coordinator.commitOffsets(GROUP, commitReq(leader, 1, 3));
    expect(await coordinator.deleteGroups([GROUP, 'nope'])).toEqual([E.NON_EMPTY_GROUP, E.GROUP_ID_NOT_FOUND]);
    coordinator.leaveGroup(GROUP, [{ memberId: leader, groupInstanceId: null }, { memberId: follower, groupInstanceId: null }], 'bye');
    expect(await coordinator.deleteGroups([GROUP])).toEqual([E.NONE]);
    expect(coordinator.fetchOffsets(GROUP, null, false).topics).toEqual([]);
    const reloaded = setup(CONFIG, log, timer).coordinator;
    expect(reloaded.describeGroup(GROUP).state).toBe('Dead');
    expect(reloaded.fetchOffsets(GROUP, null, false).topics).toEqual([]);
  });

  it('OffsetDelete refuses topics a consumer group is subscribed to', async () => {
    const { coordinator, timer } = setup();
    const subscription = Buffer.from('0000' + '00000001' + '0001' + '74' + 'ffffffff', 'hex');
    const a = await joinNew(coordinator, { protocols: [{ name: 'range', metadata: subscription }] });
    // Before the first generation the subscriptions are not known, so every topic counts.
    expect((await coordinator.deleteOffsets(GROUP, [{ topic: 'u', partition: 0 }])).errors).toEqual([E.GROUP_SUBSCRIBED_TO_TOPIC]);
    timer.advance(CONFIG.initialRebalanceDelayMs);
    await flush();
    expect(a.get().errorCode).toBe(0);
    expect(await coordinator.deleteOffsets(GROUP, [{ topic: 't', partition: 0 }, { topic: 'u', partition: 0 }]))
      .toEqual({ errorCode: 0, errors: [E.GROUP_SUBSCRIBED_TO_TOPIC, E.NONE] });
    expect(await coordinator.deleteOffsets('nope', [{ topic: 't', partition: 0 }])).toMatchObject({ errorCode: E.GROUP_ID_NOT_FOUND });
  });
});
