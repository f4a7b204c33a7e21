import { afterEach, describe, expect, it } from 'vitest';
import { KafkaError, type AlterPartitionRequest, type AlterPartitionResponse } from '@sluice/sdk';
import { buildBatch } from '../log/batch-builder.js';
import { PartitionLog } from '../log/partition-log.js';
import { captureLogger, logConfig, tempDir } from '../../test/fixtures.js';
import { PartitionLeader, type ReplicaFetchPartition } from './partition-leader.js';
import { SimTime } from './replication-sim.js';

const TOPIC_ID = new Uint8Array(16).fill(1);
const dirs: Array<{ cleanup(): void }> = [];
const logs: PartitionLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
  for (const d of dirs.splice(0)) d.cleanup();
});

interface Setup {
  readonly time: SimTime;
  readonly log: PartitionLog;
  readonly leader: PartitionLeader;
  readonly requests: AlterPartitionRequest[];
  answer(isr: readonly number[], partitionEpoch: number, errorCode?: number): void;
}

function setup(isr: readonly number[] = [1, 2, 3], config: Record<string, string> = { 'min.insync.replicas': '2' }): Setup {
  const d = tempDir();
  dirs.push(d);
  const time = new SimTime();
  const log = PartitionLog.open({
    dir: d.path, topic: 't', partition: 0, config: logConfig(config), clock: time, log: captureLogger(),
    recoveryPoint: 0, logStartOffset: 0, cleanShutdown: false, replicated: true,
  });
  logs.push(log);
  const requests: AlterPartitionRequest[] = [];
  const resolvers: Array<(r: AlterPartitionResponse) => void> = [];
  const leader = new PartitionLeader({
    log, topicId: TOPIC_ID, nodeId: 1, state: { replicas: [1, 2, 3], isr, leaderEpoch: 5, partitionEpoch: 10 },
    brokerEpoch: () => 42,
    alterPartition: (request) => {
      requests.push(request);
      return new Promise((resolve) => resolvers.push(resolve));
    },
    clock: time, timer: time, replicaLagTimeMaxMs: 1000, logger: captureLogger(),
  });
  return {
    time, log, leader, requests,
    answer: (newIsr, partitionEpoch, errorCode = 0) => resolvers.shift()!({
      errorCode: 0,
      topics: [{ topicId: TOPIC_ID, partitions: [{ partitionIndex: 0, errorCode, leaderId: 1, leaderEpoch: 5, isr: newIsr, partitionEpoch }] }],
    }),
  };
}

function fetchOf(fetchOffset: number, overrides: Partial<ReplicaFetchPartition> = {}): ReplicaFetchPartition {
  return {
    topic: 't', topicId: TOPIC_ID, partition: 0, currentLeaderEpoch: 5, fetchOffset, lastFetchedEpoch: fetchOffset > 0 ? 5 : -1,
    logStartOffset: 0, partitionMaxBytes: 1 << 20, ...overrides,
  };
}

function batch(n: number): Buffer {
  return buildBatch(Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), timestampMs: 1 })));
}

/** Runs the timers due within `ms` of virtual time. */
function advance(time: SimTime, ms: number): void {
  const until = time.nowMs() + ms;
  for (let fire = time.next(until); fire !== undefined; fire = time.next(until)) fire();
  time.skipTo(until);
}

async function settled<T>(p: Promise<T>): Promise<{ value?: T; code?: number }> {
  try {
    return { value: await p };
  } catch (err) {
    return { code: KafkaError.is(err) ? err.code : -999 };
  }
}

describe('PartitionLeader', () => {
  it('answers acks=all once every ISR member fetched past the batch and the leader flushed it', async () => {
    const { log, leader } = setup();
    let done = false;
    const append = log.append(batch(3), 'durable', { timeoutMs: 5000 }).then((r) => {
      done = true;
      return r;
    });
    await log.waitFlushed(3);
    expect(leader.handleFetch(2, 1, fetchOf(0), 1 << 20).records.byteLength).toBeGreaterThan(0);
    expect(leader.handleFetch(3, 1, fetchOf(0), 1 << 20).errorCode).toBe(0);
    expect(leader.handleFetch(2, 1, fetchOf(3), 1 << 20).highWatermark).toBe(0);
    await Promise.resolve();
    expect(done).toBe(false);
    expect(leader.handleFetch(3, 1, fetchOf(3), 1 << 20).highWatermark).toBe(3);
    expect((await append).lastOffset).toBe(2);
    expect(log.highWatermark).toBe(3);
  });

  it('refuses acks=all below min.insync.replicas before appending, and fails waiters when the ISR shrinks under it', async () => {
    const small = setup([1]);
    expect((await settled(small.log.append(batch(1), 'durable'))).code).toBe(19);
    expect(small.log.logEndOffset).toBe(0);

    const { log, leader, time, requests, answer } = setup([1, 2]);
    const waiting = settled(log.append(batch(1), 'durable', { timeoutMs: 60_000 }));
    await log.waitFlushed(1);
    // Follower 2 never fetches: after replica.lag.time.max.ms the leader asks to drop it.
    advance(time, 1600);
    expect(requests.map((r) => r.topics[0]!.partitions[0]!.newIsr)).toEqual([[1]]);
    expect(requests[0]).toMatchObject({ brokerId: 1, brokerEpoch: 42 });
    expect(leader.inSyncReplicas).toEqual([1, 2]);
    answer([1], 11);
    await Promise.resolve();
    expect(leader.inSyncReplicas).toEqual([1]);
    expect((await waiting).code).toBe(20);
  });

  it('times an acks=all append out with REQUEST_TIMED_OUT after the caller\'s timeout', async () => {
    const { log, time } = setup();
    const waiting = settled(log.append(batch(1), 'durable', { timeoutMs: 300 }));
    await log.waitFlushed(1);
    advance(time, 299);
    advance(time, 1);
    expect((await waiting).code).toBe(7);
  });

  it('adds a caught-up follower to the ISR once the controller agrees', async () => {
    const { log, leader, requests, answer } = setup([1, 2]);
    await log.append(batch(2), 'leader');
    await log.waitFlushed(2);
    leader.handleFetch(2, 1, fetchOf(2), 1 << 20);
    expect(log.highWatermark).toBe(2);
    leader.handleFetch(3, 1, fetchOf(1, { lastFetchedEpoch: 5 }), 1 << 20);
    expect(requests).toHaveLength(0);
    leader.handleFetch(3, 1, fetchOf(2), 1 << 20);
    expect(requests.map((r) => r.topics[0]!.partitions[0]!.newIsr)).toEqual([[1, 2, 3]]);
    // One AlterPartition in flight: nothing else is asked meanwhile.
    leader.handleFetch(3, 1, fetchOf(2), 1 << 20);
    expect(requests).toHaveLength(1);
    answer([1, 2, 3], 11);
    await Promise.resolve();
    expect(leader.inSyncReplicas).toEqual([1, 2, 3]);
  });

  it('checks the fetcher\'s leader epoch and tells a diverging follower where to truncate', async () => {
    const { log, leader } = setup();
    await log.append(batch(4), 'leader');
    expect(leader.handleFetch(2, 1, fetchOf(0, { currentLeaderEpoch: 4 }), 1000).errorCode).toBe(74);
    expect(leader.handleFetch(2, 1, fetchOf(0, { currentLeaderEpoch: 6 }), 1000).errorCode).toBe(75);
    expect(leader.handleFetch(7, 1, fetchOf(0), 1000).errorCode).toBe(6);
    // The follower has epoch 4 up to offset 6; this log has no epoch 4 before 5 started at 0.
    const diverging = leader.handleFetch(2, 1, fetchOf(6, { lastFetchedEpoch: 4 }), 1000);
    expect(diverging.divergingEpoch).toEqual({ epoch: -1, endOffset: -1 });
    expect(leader.handleFetch(2, 1, fetchOf(6, { lastFetchedEpoch: 5 }), 1000).divergingEpoch).toEqual({ epoch: 5, endOffset: 4 });
    expect(leader.handleFetch(2, 1, fetchOf(4), 1000).errorCode).toBe(0);
  });

  it('refuses a fetch from before the follower\'s restart (an older broker epoch)', () => {
    const { leader } = setup();
    expect(leader.handleFetch(2, 8, fetchOf(0), 1000).errorCode).toBe(0);
    expect(leader.handleFetch(2, 7, fetchOf(0), 1000).errorCode).toBe(77);
  });

  it('fails waiting appends with NOT_LEADER_OR_FOLLOWER when it stops leading', async () => {
    const { log, leader } = setup();
    const waiting = settled(log.append(batch(1), 'durable'));
    await log.waitFlushed(1);
    leader.stop();
    expect((await waiting).code).toBe(6);
  });
});
