import { KafkaError, type ClusterTransport } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.js';
import { BrokerLifecycle, FENCED_HEARTBEAT_INTERVAL_MS_MAX, type BrokerLifecycleOptions } from './broker-lifecycle.js';
import { QuorumController } from './controller.js';
import { ControllerChannel } from './controller-channel.js';
import { MemoryControllerQuorum } from './controller-quorum-memory.js';
import { VirtualScheduler } from './scheduler.js';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const HEARTBEAT_MS = 2000;
const SESSION_MS = 9000;

/** A controller on node 0 and brokers 1..n, each with its own channel reaching node 0 through a transport. */
function cluster(n: number) {
  const scheduler = new VirtualScheduler();
  const quorum = new MemoryControllerQuorum(0);
  const controller = new QuorumController({
    nodeId: 0, clusterId: 'c', quorum, clock: scheduler.clock, scheduler, random: new SeededRandom(3), log: quiet, brokerProps: {},
    numPartitions: 1, defaultReplicationFactor: 1, offsetsTopicReplicationFactor: 3, transactionStateLogReplicationFactor: 3,
    deleteTopicEnable: true, capInternalReplicationFactor: true, brokerSessionTimeoutMs: SESSION_MS, uncleanLeaderElectionEnable: false,
    autoLeaderRebalanceEnable: false, leaderImbalanceCheckIntervalMs: 300_000, leaderImbalancePerBrokerPercentage: 10,
  });
  controller.start();
  const transport: ClusterTransport = { call: (_peer, rpc, req) => controller.handle(rpc as never, req as never) };
  const lag = new Map<number, number>();
  const brokers = Array.from({ length: n }, (_, i) => i + 1).map((id) => {
    const channel = new ControllerChannel({
      nodeId: id, voters: [{ nodeId: 0, host: 'c0', port: 9093 }], activeControllerId: () => 0, transport: () => transport,
      clock: scheduler.clock, scheduler, log: quiet,
    });
    return new BrokerLifecycle(options(id, channel, scheduler, () => quorum.highWatermark() - (lag.get(id) ?? 0)));
  });
  return { scheduler, quorum, controller, brokers, lag };
}

function options(id: number, channel: BrokerLifecycleOptions['channel'], scheduler: VirtualScheduler, offset: () => number): BrokerLifecycleOptions {
  return {
    nodeId: id, clusterId: 'c', listeners: [{ name: 'PLAINTEXT', host: `b${id}`, port: 9092, securityProtocol: 'PLAINTEXT' }],
    rack: `r${id}`, channel, metadataOffset: offset, heartbeatIntervalMs: HEARTBEAT_MS, registrationTimeoutMs: 30_000,
    clock: scheduler.clock, scheduler, log: quiet,
  };
}

describe('BrokerLifecycle', () => {
  it('registers with a random incarnation, is fenced until caught up, then runs and keeps its session', async () => {
    const c = cluster(2);
    c.lag.set(2, 1_000_000);
    const unfenced = c.brokers[0]!.whenUnfenced();
    for (const b of c.brokers) b.start();
    await c.scheduler.advance(0);
    expect(c.brokers.map((b) => b.state)).toEqual(['running', 'fenced']);
    await unfenced;
    expect(c.quorum.image.brokers.get(1)).toMatchObject({
      epoch: c.brokers[0]!.brokerEpoch, rack: 'r1', fenced: false, listeners: [{ name: 'PLAINTEXT', host: 'b1', port: 9092 }],
    });
    expect(Buffer.from(c.quorum.image.brokers.get(1)!.incarnationId)).toEqual(Buffer.from(c.brokers[0]!.incarnationId));
    expect(Buffer.from(c.brokers[0]!.incarnationId)).not.toEqual(Buffer.from(c.brokers[1]!.incarnationId));
    await c.scheduler.advance(SESSION_MS * 5);
    expect(c.brokers[0]!.state).toBe('running');
    expect(c.brokers[1]!.state).toBe('fenced');
    c.lag.set(2, 0);
    // A fenced broker heartbeats more often than the interval: it is unfenced soon after it catches up.
    await c.scheduler.advance(FENCED_HEARTBEAT_INTERVAL_MS_MAX);
    expect(c.brokers[1]!.state).toBe('running');
  });

  it('a broker that stops heartbeating is fenced by the controller', async () => {
    const c = cluster(2);
    for (const b of c.brokers) b.start();
    await c.scheduler.advance(HEARTBEAT_MS);
    c.brokers[1]!.close();
    await c.scheduler.advance(SESSION_MS + HEARTBEAT_MS);
    expect(c.quorum.image.brokers.get(2)!.fenced).toBe(true);
    expect(c.quorum.image.brokers.get(1)!.fenced).toBe(false);
  });

  it('controlled shutdown: leaderships move away, then the broker is told to stop and is fenced', async () => {
    const c = cluster(3);
    for (const b of c.brokers) b.start();
    await c.scheduler.advance(HEARTBEAT_MS);
    await c.controller.createTopics({ topics: [{ name: 't', numPartitions: 6, replicationFactor: 3, assignments: [], configs: {} }], validateOnly: false });
    const leads = () => [...c.quorum.image.topicsByName.get('t')!.partitions.values()].filter((p) => p.leader === 1).length;
    expect(leads()).toBeGreaterThan(0);
    const done = c.brokers[0]!.controlledShutdown(c.scheduler.clock.nowMs() + 60_000);
    await c.scheduler.advance(0);
    expect(c.brokers[0]!.state).toBe('pending-shutdown');
    // Released within a round trip or two, not a heartbeat interval.
    await c.scheduler.advance(HEARTBEAT_MS / 4);
    expect(c.brokers[0]!.state).toBe('shut-down');
    await done;
    expect(leads()).toBe(0);
    expect(c.quorum.image.brokers.get(1)!.fenced).toBe(true);
    for (const p of c.quorum.image.topicsByName.get('t')!.partitions.values()) expect(p.isr).not.toContain(1);
  });

  it('controlled shutdown is bounded when no controller answers', async () => {
    const scheduler = new VirtualScheduler();
    let registered = false;
    const channel: BrokerLifecycleOptions['channel'] = {
      call: async (rpc) => {
        if (rpc === 'controller.register-broker' && !registered) {
          registered = true;
          return { errorCode: 0, brokerEpoch: 5 } as never;
        }
        if (rpc === 'controller.heartbeat' && registered && scheduler.clock.nowMs() < 1_700_000_003_000) {
          return { errorCode: 0, isCaughtUp: true, isFenced: false, shouldShutDown: false } as never;
        }
        throw new KafkaError(41, 'NOT_CONTROLLER', 'gone');
      },
    };
    const b = new BrokerLifecycle(options(1, channel, scheduler, () => 0));
    b.start();
    await scheduler.advance(HEARTBEAT_MS);
    expect(b.state).toBe('running');
    await scheduler.advance(HEARTBEAT_MS);
    const done = b.controlledShutdown(scheduler.clock.nowMs() + 10_000);
    await scheduler.advance(10_000);
    await done;
    expect(b.state).toBe('shut-down');
    const pending = scheduler.pending;
    await scheduler.advance(HEARTBEAT_MS * 5);
    expect(scheduler.pending).toBeLessThanOrEqual(pending);
  });

  it('registers again when the controller no longer knows its epoch', async () => {
    const scheduler = new VirtualScheduler();
    const calls: string[] = [];
    let epoch = 5;
    const channel: BrokerLifecycleOptions['channel'] = {
      call: async (rpc, req) => {
        calls.push(rpc);
        if (rpc === 'controller.register-broker') return { errorCode: 0, brokerEpoch: epoch++ } as never;
        const stale = (req as { brokerEpoch: number }).brokerEpoch === 5;
        return { errorCode: stale ? 77 : 0, isCaughtUp: true, isFenced: false, shouldShutDown: false } as never;
      },
    };
    const b = new BrokerLifecycle(options(1, channel, scheduler, () => 0));
    b.start();
    await scheduler.advance(HEARTBEAT_MS);
    expect(calls.slice(0, 4)).toEqual(['controller.register-broker', 'controller.heartbeat', 'controller.register-broker', 'controller.heartbeat']);
    expect(b.brokerEpoch).toBe(6);
    expect(b.state).toBe('running');
  });
});
