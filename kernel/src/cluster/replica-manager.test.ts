import { afterEach, describe, expect, it } from 'vitest';
import { KafkaError, type AlterPartitionRequest, type AlterPartitionResponse, type KernelEvents } from '@sluice/sdk';
import { KernelEventBus } from '../events.js';
import { buildBatch } from '../log/batch-builder.js';
import { PartitionLog } from '../log/partition-log.js';
import * as rb from '../log/record-batch.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { ReplicaManager, type ReplicaPartitionState, type ReplicationSettings } from './replica-manager.js';
import { SimTime } from './replication-sim.js';

const TOPIC_ID = new Uint8Array(16).fill(3);
const SETTINGS: ReplicationSettings = {
  replicaLagTimeMaxMs: 10_000, waitMaxMs: 500, minBytes: 1, partitionMaxBytes: 1 << 20, responseMaxBytes: 1 << 22,
  backoffMs: 100, requestTimeoutMs: 1000,
};

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface TestNode {
  readonly id: number;
  readonly manager: ReplicaManager;
  readonly leadership: Array<KernelEvents['partition.leadership']>;
  readonly dropped: string[];
  log(): PartitionLog;
}

/** Nodes wired to each other directly; `time` runs their timers; the ISR changes go to `alter`. */
function cluster(
  ids: readonly number[], alter: (r: AlterPartitionRequest) => Promise<AlterPartitionResponse>, time: SimTime,
  topicConfigs: Record<string, string> = {}, settings: ReplicationSettings = SETTINGS,
): Map<number, TestNode> {
  const nodes = new Map<number, TestNode>();
  for (const id of ids) {
    const d = tempDir();
    cleanups.push(() => d.cleanup());
    let log: PartitionLog | undefined;
    const events = new KernelEventBus(captureLogger());
    const leadership: Array<KernelEvents['partition.leadership']> = [];
    events.on('partition.leadership', (e) => leadership.push(e));
    const dropped: string[] = [];
    const manager = new ReplicaManager({
      nodeId: id, brokerEpoch: () => 1,
      openLog: (topic, _topicId, partition) => {
        log = PartitionLog.open({
          dir: d.path, topic, partition, config: logConfig({ 'min.insync.replicas': '2', ...topicConfigs }), clock: time, log: captureLogger(),
          recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false, replicated: true,
        });
        cleanups.push(() => log!.close());
        return log;
      },
      dropLog: (topic, partition) => {
        dropped.push(`${topic}-${partition}`);
        return Promise.resolve();
      },
      alterPartition: alter,
      fetchFrom: (leaderId, request) => nodes.get(leaderId)!.manager.handleReplicaFetch(request),
      events, clock: time, timer: time, settings, logger: captureLogger(),
    });
    cleanups.push(() => manager.close());
    nodes.set(id, { id, manager, leadership, dropped, log: () => log! });
  }
  return nodes;
}

function state(overrides: Partial<ReplicaPartitionState>): ReplicaPartitionState {
  return { topic: 't', topicId: TOPIC_ID, partition: 0, replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 1, partitionEpoch: 1, ...overrides };
}

/** Lets the fetch loops and file syncs run while virtual time stands still, then runs the timers due in `ms`. */
async function run(time: SimTime, ms: number): Promise<void> {
  const until = time.nowMs() + ms;
  for (;;) {
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    const fire = time.next(until);
    if (fire === undefined) break;
    fire();
  }
  time.skipTo(until);
}

function batch(value: string): Buffer {
  return buildBatch([{ key: null, value: Buffer.from(value), timestampMs: 1 }]);
}

describe('ReplicaManager', () => {
  it('on a single replica leads with the log standalone and announces it', async () => {
    const time = new SimTime();
    const node = cluster([1], () => Promise.reject(new Error('no controller')), time).get(1)!;
    await node.manager.applyPartition(state({ replicas: [1], isr: [1], leaderEpoch: 4 }));
    expect(node.manager.leaderOf('t', 0)).toBeUndefined();
    expect(node.manager.isLeader('t', 0)).toBe(true);
    // As on a single node today: min.insync.replicas 2 cannot be met, acks=1 is, HW = flushed.
    const refused = await node.log().append(batch('a'), 'durable').catch((err: unknown) => err);
    expect(KafkaError.is(refused) && refused.code).toBe(19);
    expect((await node.log().append(batch('a'), 'leader')).baseOffset).toBe(0);
    await node.log().waitFlushed(1);
    expect(node.log().highWatermark).toBe(1);
    expect(node.leadership).toEqual([{ topic: 't', partition: 0, leader: true, leaderEpoch: 4 }]);
  });

  it('replicates to a follower and answers acks=all, then hands leadership over', async () => {
    const time = new SimTime();
    const nodes = cluster([1, 2], () => new Promise(() => {}), time);
    const [n1, n2] = [nodes.get(1)!, nodes.get(2)!];
    await n1.manager.applyPartition(state({}));
    await n2.manager.applyPartition(state({}));
    const acked = n1.log().append(batch('a'), 'durable', { timeoutMs: 5000 });
    // The leader counts its own copy once synced: wait for it, so virtual time runs after.
    await n1.log().waitFlushed(1);
    await run(time, 2000);
    expect((await acked).baseOffset).toBe(0);
    expect(n2.log().logEndOffset).toBe(1);
    expect(n2.log().highWatermark).toBe(1);

    await n1.manager.applyPartition(state({ leader: 2, leaderEpoch: 2, partitionEpoch: 2 }));
    await n2.manager.applyPartition(state({ leader: 2, leaderEpoch: 2, partitionEpoch: 2 }));
    expect(n1.leadership.map((e) => [e.leader, e.leaderEpoch])).toEqual([[true, 1], [false, 2]]);
    expect(n2.leadership.map((e) => [e.leader, e.leaderEpoch])).toEqual([[true, 2]]);
    const refused = await n1.log().append(batch('x'), 'leader').catch((err: unknown) => err);
    expect(KafkaError.is(refused) && refused.code).toBe(6);
    const acked2 = n2.log().append(batch('b'), 'durable', { timeoutMs: 5000 });
    await n2.log().waitFlushed(2);
    await run(time, 2000);
    expect((await acked2).baseOffset).toBe(1);
    expect(n1.log().logEndOffset).toBe(2);
  });

  it('drops a partition this node no longer replicates', async () => {
    const time = new SimTime();
    const node = cluster([1], () => Promise.reject(new Error('no controller')), time).get(1)!;
    await node.manager.applyPartition(state({ replicas: [1], isr: [1] }));
    await node.manager.applyPartition(state({ replicas: [2], isr: [2], leader: 2, leaderEpoch: 2, partitionEpoch: 2 }));
    expect(node.dropped).toEqual(['t-0']);
    expect(node.leadership.map((e) => e.leader)).toEqual([true, false]);
  });

  it('a single-replica leader that gains replicas in the same epoch (a reassignment) becomes a PartitionLeader, and the new replica copies the log', async () => {
    const time = new SimTime();
    const nodes = cluster([1, 2], () => new Promise(() => {}), time);
    const [n1, n2] = [nodes.get(1)!, nodes.get(2)!];
    await n1.manager.applyPartition(state({ replicas: [1], isr: [1] }));
    await n1.log().append(batch('a'), 'leader');
    await n1.log().append(batch('b'), 'leader');
    expect(n1.manager.leaderOf('t', 0)).toBeUndefined();
    const grown = state({ replicas: [1, 2], isr: [1], partitionEpoch: 2 });
    await n1.manager.applyPartition(grown);
    await n2.manager.applyPartition(grown);
    expect(n1.manager.leaderOf('t', 0)).toBeDefined();
    expect(n1.manager.isLeader('t', 0)).toBe(true);
    await run(time, 2000);
    expect(n2.log().logEndOffset).toBe(2);
    expect(n2.log().readForReplica(0, 1 << 20).equals(n1.log().readForReplica(0, 1 << 20))).toBe(true);
    // The same leadership: announced once.
    expect(n1.leadership).toEqual([{ topic: 't', partition: 0, leader: true, leaderEpoch: 1 }]);
  });

  it('replication throttles hold back the fetches of a throttled replica out of the ISR, follower or leader side', async () => {
    const BATCHES = 10;
    // Each fetch takes one batch (the first comes whole); a bucket holds one second of the rate.
    const follower: ReplicationSettings = { ...SETTINGS, partitionMaxBytes: 1, followerThrottledRateBytesPerS: 1000 };
    const leader: ReplicationSettings = { ...SETTINGS, partitionMaxBytes: 1, leaderThrottledRateBytesPerS: 1000 };
    const copied = async (topicConfigs: Record<string, string>, settings = follower): Promise<{ atOnce: number; later: number }> => {
      const time = new SimTime();
      const nodes = cluster([1, 2], () => new Promise(() => {}), time, topicConfigs, settings);
      const [n1, n2] = [nodes.get(1)!, nodes.get(2)!];
      await n1.manager.applyPartition(state({ isr: [1] }));
      for (let i = 0; i < BATCHES; i++) await n1.log().append(batch('x'.repeat(500)), 'leader');
      await n2.manager.applyPartition(state({ isr: [1] }));
      await run(time, 0);
      const atOnce = n2.log().logEndOffset;
      await run(time, 30_000);
      return { atOnce, later: n2.log().logEndOffset };
    };
    expect(await copied({})).toEqual({ atOnce: BATCHES, later: BATCHES });
    for (const list of ['*', '0:2']) {
      const throttled = await copied({ 'follower.replication.throttled.replicas': list });
      expect(throttled.atOnce, list).toBeLessThan(BATCHES);
      expect(throttled.later, list).toBe(BATCHES);
    }
    // Listed for another broker: not this follower's throttle.
    expect(await copied({ 'follower.replication.throttled.replicas': '0:3' })).toEqual({ atOnce: BATCHES, later: BATCHES });
    // The leader's side: listed with the leader's id (node 1).
    const led = await copied({ 'leader.replication.throttled.replicas': '0:1' }, leader);
    expect(led.atOnce).toBeLessThan(BATCHES);
    expect(led.later).toBe(BATCHES);
    expect(await copied({ 'leader.replication.throttled.replicas': '0:2' }, leader)).toEqual({ atOnce: BATCHES, later: BATCHES });
  });

  it('truncates a follower that diverged from the new leader and copies the leader\'s batches', async () => {
    const time = new SimTime();
    const nodes = cluster([1, 2], () => new Promise(() => {}), time);
    const [n1, n2] = [nodes.get(1)!, nodes.get(2)!];
    // Epoch 1: node 1 leads alone and writes two batches node 2 never sees.
    await n1.manager.applyPartition(state({ isr: [1] }));
    await n1.log().append(batch('a'), 'leader');
    await n1.log().append(batch('b'), 'leader');
    // Epoch 2: node 2 leads (its log is empty) and writes one batch; node 1 follows.
    await n2.manager.applyPartition(state({ leader: 2, leaderEpoch: 2, partitionEpoch: 2, isr: [2] }));
    await n2.log().append(batch('c'), 'leader');
    await n1.manager.applyPartition(state({ leader: 2, leaderEpoch: 2, partitionEpoch: 2, isr: [2] }));
    await run(time, 2000);
    expect(n1.log().logEndOffset).toBe(1);
    const copy = n1.log().readForReplica(0, 1 << 20);
    expect(rb.batchLeaderEpoch(copy, 0)).toBe(2);
    expect(copy.equals(n2.log().readForReplica(0, 1 << 20))).toBe(true);
  });
});
