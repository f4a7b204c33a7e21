import type { BrokerHeartbeatRequest } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../raft/random.js';
import { loadBrokerConfig } from '../config/broker-config.js';
import { controllerSettings, QuorumController, type QuorumControllerOptions } from './controller.js';
import { MemoryControllerQuorum } from './controller-quorum-memory.js';
import { VirtualScheduler } from './scheduler.js';

const SESSION_MS = 9000;

function harness(overrides: Partial<QuorumControllerOptions> = {}) {
  const scheduler = new VirtualScheduler();
  const quorum = new MemoryControllerQuorum(0);
  const warnings: string[] = [];
  const log = {
    debug: () => {}, info: () => {}, warn: (m: string) => void warnings.push(m),
    error: (m: string, f?: Record<string, unknown>) => { throw new Error(`${m}: ${String(f?.['err'])}`); },
  };
  const controller = new QuorumController({
    nodeId: 0, clusterId: 'cluster-1', quorum, clock: scheduler.clock, scheduler, random: new SeededRandom(7), log, brokerProps: {},
    numPartitions: 1, defaultReplicationFactor: 1, offsetsTopicReplicationFactor: 3, transactionStateLogReplicationFactor: 3,
    deleteTopicEnable: true, capInternalReplicationFactor: true, brokerSessionTimeoutMs: SESSION_MS, uncleanLeaderElectionEnable: false,
    autoLeaderRebalanceEnable: false, leaderImbalanceCheckIntervalMs: 300_000, leaderImbalancePerBrokerPercentage: 10,
    ...overrides,
  });
  controller.start();
  const image = quorum.image;
  const registration = (id: number, rack: string | null = null, incarnation = id + 1) => ({
    brokerId: id, clusterId: 'cluster-1', incarnationId: Buffer.alloc(16, incarnation),
    listeners: [{ name: 'PLAINTEXT', host: `b${id}`, port: 9092, securityProtocol: 'PLAINTEXT' }], rack, previousBrokerEpoch: -1,
  });
  const heartbeat = (id: number, extra: Partial<BrokerHeartbeatRequest> = {}) => controller.heartbeat({
    brokerId: id, brokerEpoch: image.brokers.get(id)?.epoch ?? -1, currentMetadataOffset: quorum.highWatermark(),
    wantFence: false, wantShutDown: false, ...extra,
  });
  const join = async (ids: readonly number[], racks: ReadonlyArray<string | null> = []) => {
    for (const [i, id] of ids.entries()) expect((await controller.registerBroker(registration(id, racks[i] ?? null))).errorCode).toBe(0);
    for (const id of ids) expect(await heartbeat(id)).toMatchObject({ errorCode: 0, isFenced: false });
  };
  const createTopic = async (name: string, numPartitions: number, replicationFactor: number, configs: Record<string, string> = {}) =>
    (await controller.createTopics({ topics: [{ name, numPartitions, replicationFactor, assignments: [], configs }], validateOnly: false }))
      .results[0]!;
  const partition = (topic: string, p: number) => image.topicsByName.get(topic)!.partitions.get(p)!;
  /** Heartbeats from `alive` every second for `ms`. */
  const runFor = async (ms: number, alive: readonly number[]) => {
    for (let t = 0; t < ms; t += 1000) {
      for (const id of alive) await heartbeat(id);
      await scheduler.advance(1000);
    }
  };
  return { scheduler, quorum, controller, image, warnings, registration, heartbeat, join, createTopic, partition, runFor };
}

describe('QuorumController: brokers', () => {
  it('a registered broker stays fenced until its heartbeat reports the registration offset', async () => {
    const h = harness();
    const { brokerEpoch } = await h.controller.registerBroker(h.registration(1, 'r1'));
    expect(h.image.brokers.get(1)).toMatchObject({ epoch: brokerEpoch, fenced: true, rack: 'r1' });
    const appliedAt = h.quorum.highWatermark();
    expect(await h.heartbeat(1, { currentMetadataOffset: appliedAt - 1 })).toMatchObject({ isCaughtUp: false, isFenced: true });
    expect(h.image.brokers.get(1)!.fenced).toBe(true);
    expect(await h.heartbeat(1, { currentMetadataOffset: appliedAt })).toMatchObject({ errorCode: 0, isCaughtUp: true, isFenced: false });
    expect(h.image.brokers.get(1)!.fenced).toBe(false);
  });

  it('epochs: a retry of the same process keeps its epoch, a new process gets a larger one once the old session is gone', async () => {
    const h = harness();
    await h.join([1]);
    const first = h.image.brokers.get(1)!.epoch;
    expect(await h.controller.registerBroker(h.registration(1))).toEqual({ errorCode: 0, brokerEpoch: first });
    expect((await h.controller.registerBroker(h.registration(1, null, 99))).errorCode).toBe(101); // DUPLICATE_BROKER_REGISTRATION
    await h.scheduler.advance(SESSION_MS);
    const again = await h.controller.registerBroker(h.registration(1, null, 99));
    expect(again.errorCode).toBe(0);
    expect(again.brokerEpoch).toBeGreaterThan(first);
    expect(await h.heartbeat(1, { brokerEpoch: first })).toMatchObject({ errorCode: 77 }); // STALE_BROKER_EPOCH
    expect(await h.heartbeat(5)).toMatchObject({ errorCode: 102 }); // BROKER_ID_NOT_REGISTERED
    expect((await h.controller.registerBroker({ ...h.registration(2), clusterId: 'other' })).errorCode).toBe(104);
  });

  it('a restart is told from a duplicate by the previous epoch, or by being this very node', async () => {
    const h = harness({ nodeId: 1 });
    await h.join([1, 2]);
    const epoch2 = h.image.brokers.get(2)!.epoch;
    expect((await h.controller.registerBroker(h.registration(2, null, 60))).errorCode).toBe(101);
    expect((await h.controller.registerBroker({ ...h.registration(2, null, 60), previousBrokerEpoch: epoch2 })).errorCode).toBe(0);
    expect((await h.controller.registerBroker(h.registration(1, null, 61))).errorCode).toBe(0);
    expect(h.image.brokers.get(1)!.fenced).toBe(true);
  });

  it('a restarted broker that was still unfenced leaves the ISRs and leaderships when it registers again', async () => {
    const h = harness({ brokerSessionTimeoutMs: 1_000_000 });
    await h.join([1, 2]);
    await h.createTopic('t', 1, 2);
    const leader = h.partition('t', 0).leader;
    await h.scheduler.advance(1000);
    await h.heartbeat(1);
    await h.heartbeat(2);
    // Its session has just run out; the next check (every quarter session) has not fenced it yet.
    await h.scheduler.advance(1_000_000);
    expect(h.image.brokers.get(leader)!.fenced).toBe(false);
    expect((await h.controller.registerBroker(h.registration(leader, null, 50))).errorCode).toBe(0);
    expect(h.image.brokers.get(leader)!.fenced).toBe(true);
    expect(h.partition('t', 0).leader).not.toBe(leader);
    expect(h.partition('t', 0).isr).not.toContain(leader);
  });

  it('answers NOT_CONTROLLER when inactive, and when leadership is lost during the commit', async () => {
    const h = harness();
    await h.join([1]);
    h.quorum.setActive(false);
    expect((await h.controller.registerBroker(h.registration(2))).errorCode).toBe(41);
    expect((await h.heartbeat(1)).errorCode).toBe(41);
    expect((await h.createTopic('t', 1, 1)).errorCode).toBe(41);
    expect((await h.controller.electLeaders({ electionType: 0, topicPartitions: null })).errorCode).toBe(41);
    h.quorum.setActive(true);
    const commit = h.quorum.commit.bind(h.quorum);
    h.quorum.commit = async (records) => {
      h.quorum.setActive(false);
      return commit(records);
    };
    expect((await h.createTopic('t', 1, 1)).errorCode).toBe(41);
    expect(h.image.topicsByName.has('t')).toBe(false);
  });

  it('fences a broker whose heartbeats stop for broker.session.timeout.ms, and not before', async () => {
    const h = harness();
    await h.join([1, 2]);
    await h.runFor(SESSION_MS - 3000, [1, 2]);
    await h.runFor(SESSION_MS - 3000, [1]);
    expect(h.image.brokers.get(2)!.fenced).toBe(false);
    await h.runFor(3000 + SESSION_MS / 4, [1]);
    expect(h.image.brokers.get(2)!.fenced).toBe(true);
    expect(h.image.brokers.get(1)!.fenced).toBe(false);
  });

  it('a new active controller grants every broker a full session', async () => {
    const h = harness();
    await h.join([1]);
    h.quorum.setActive(false);
    await h.scheduler.advance(SESSION_MS * 2);
    h.quorum.setActive(true);
    await h.scheduler.advance(SESSION_MS - 1000);
    expect(h.image.brokers.get(1)!.fenced).toBe(false);
    await h.scheduler.advance(2000 + SESSION_MS / 4);
    expect(h.image.brokers.get(1)!.fenced).toBe(true);
  });

  it('controlled shutdown: leaderships move first, then shouldShutDown once the broker has seen them move', async () => {
    const h = harness();
    await h.join([1, 2, 3]);
    await h.createTopic('t', 6, 2);
    const led = [...h.image.topicsByName.get('t')!.partitions.values()].filter((p) => p.leader === 1).length;
    expect(led).toBeGreaterThan(0);
    const before = h.quorum.highWatermark();
    expect(await h.heartbeat(1, { wantShutDown: true, currentMetadataOffset: before })).toMatchObject({ isFenced: false, shouldShutDown: false });
    expect(h.image.brokers.get(1)!.inControlledShutdown).toBe(true);
    for (const p of h.image.topicsByName.get('t')!.partitions.values()) {
      expect(p.leader).not.toBe(1);
      expect(p.isr).not.toContain(1);
    }
    expect(await h.heartbeat(1, { wantShutDown: true })).toMatchObject({ isFenced: true, shouldShutDown: true });
    expect(h.image.brokers.get(1)!.fenced).toBe(true);
  });

  it('hands out producer id blocks of 1000, checking the broker epoch', async () => {
    const h = harness();
    await h.join([1, 2]);
    const e1 = h.image.brokers.get(1)!.epoch;
    const e2 = h.image.brokers.get(2)!.epoch;
    expect(await h.controller.allocateProducerIds({ brokerId: 1, brokerEpoch: e1 })).toEqual({ errorCode: 0, producerIdStart: 0, producerIdLen: 1000 });
    expect(await h.controller.allocateProducerIds({ brokerId: 2, brokerEpoch: e2 })).toEqual({ errorCode: 0, producerIdStart: 1000, producerIdLen: 1000 });
    expect((await h.controller.allocateProducerIds({ brokerId: 2, brokerEpoch: e2 - 1 })).errorCode).toBe(77);
  });
});

describe('QuorumController: topics', () => {
  it('places replicas over unfenced brokers, spreading leaders and racks', async () => {
    const h = harness();
    await h.join([1, 2, 3, 4], ['a', 'a', 'b', 'b']);
    expect((await h.createTopic('t', 8, 2)).errorCode).toBe(0);
    const parts = [...h.image.topicsByName.get('t')!.partitions.values()];
    const leaders = new Map<number, number>();
    for (const p of parts) {
      expect(new Set(p.replicas.map((id) => (id <= 2 ? 'a' : 'b'))).size).toBe(2);
      expect(p.isr).toEqual(p.replicas);
      expect(p.leader).toBe(p.replicas[0]);
      expect(p.leaderEpoch).toBe(0);
      leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([2, 2, 2, 2]);
  });

  it('rejects what LogManager rejects, and too few brokers; validateOnly writes nothing', async () => {
    const h = harness();
    await h.join([1, 2]);
    expect((await h.createTopic('t', 1, 3)).errorCode).toBe(38); // INVALID_REPLICATION_FACTOR
    expect((await h.createTopic('t', 0, 1)).errorCode).toBe(37); // INVALID_PARTITIONS
    expect((await h.createTopic('bad name', 1, 1)).errorCode).toBe(17);
    expect(await h.createTopic('t', 1, 1, { 'cleanup.policy': 'nope' })).toMatchObject({ errorCode: 40 });
    expect(await h.createTopic('t', 1, 1, { 'no.such.key': '1' })).toMatchObject({ errorCode: 40 });
    const offset = h.quorum.highWatermark();
    const dry = await h.controller.createTopics({
      topics: [{ name: 't', numPartitions: 2, replicationFactor: 2, assignments: [], configs: {} }], validateOnly: true,
    });
    expect(dry.results[0]!.errorCode).toBe(0);
    expect(h.quorum.highWatermark()).toBe(offset);
    expect((await h.createTopic('t', -1, -1, { 'retention.ms': '1000' })).errorCode).toBe(0);
    expect(h.image.topicsByName.get('t')!.partitions.size).toBe(1);
    expect(h.image.topicsByName.get('t')!.configs.get('retention.ms')).toBe('1000');
    expect((await h.createTopic('t', 1, 1)).errorCode).toBe(36); // TOPIC_ALREADY_EXISTS
    expect((await h.createTopic('t.x', 1, 1)).errorCode).toBe(0);
    expect((await h.createTopic('t_x', 1, 1)).errorCode).toBe(17); // collides in metric names
  });

  it('runs operations one at a time: two creates of one name, one wins', async () => {
    const h = harness();
    await h.join([1]);
    const [a, b] = await Promise.all([h.createTopic('t', 1, 1), h.createTopic('t', 1, 1)]);
    expect([a.errorCode, b.errorCode].sort()).toEqual([0, 36]);
  });

  it('in a multi-voter cluster refuses an internal topic larger than the brokers alive instead of capping it', async () => {
    const h = harness({ capInternalReplicationFactor: false });
    await h.join([1]);
    expect((await h.createTopic('__consumer_offsets', 3, -1)).errorCode).toBe(38);
    await h.join([2, 3]);
    expect((await h.createTopic('__consumer_offsets', 3, -1)).errorCode).toBe(0);
    expect(h.partition('__consumer_offsets', 0).replicas).toHaveLength(3);
  });

  it('caps internal topics at the brokers alive, with a warning; explicit assignments are taken as given', async () => {
    const h = harness();
    await h.join([1]);
    expect((await h.createTopic('__consumer_offsets', 3, -1)).errorCode).toBe(0);
    expect(h.partition('__consumer_offsets', 2).replicas).toEqual([1]);
    expect(h.warnings.join()).toMatch(/capped at the 1 brokers/);
    await h.join([2, 3]);
    const res = await h.controller.createTopics({
      topics: [{ name: 'x', numPartitions: -1, replicationFactor: -1, configs: {},
        assignments: [{ partitionIndex: 0, brokerIds: [3, 1] }, { partitionIndex: 1, brokerIds: [2, 3] }] }],
      validateOnly: false,
    });
    expect(res.results[0]!.errorCode).toBe(0);
    expect(h.partition('x', 0)).toMatchObject({ replicas: [3, 1], leader: 3 });
    const bad = await h.controller.createTopics({
      topics: [{ name: 'y', numPartitions: -1, replicationFactor: -1, configs: {}, assignments: [{ partitionIndex: 1, brokerIds: [1] }] }],
      validateOnly: false,
    });
    expect(bad.results[0]!.errorCode).toBe(39); // INVALID_REPLICA_ASSIGNMENT
  });

  it('deletes topics, adds partitions, alters configs as a whole', async () => {
    const h = harness();
    await h.join([1, 2]);
    await h.createTopic('t', 1, 2);
    expect((await h.controller.createPartitions({ topics: [{ name: 't', count: 1 }], validateOnly: false })).results[0]!.errorCode).toBe(37);
    expect((await h.controller.createPartitions({ topics: [{ name: 'nope', count: 3 }], validateOnly: false })).results[0]!.errorCode).toBe(3);
    expect((await h.controller.createPartitions({ topics: [{ name: 't', count: 3 }], validateOnly: false })).results[0]!.errorCode).toBe(0);
    expect(h.partition('t', 2).replicas).toHaveLength(2);

    const alter = (changes: Record<string, string | null>) =>
      h.controller.alterConfigs({ resources: [{ name: 't', changes }], validateOnly: false });
    expect((await alter({ 'retention.ms': '5', 'segment.bytes': 'x' })).results[0]!.errorCode).toBe(40);
    expect(h.image.topicsByName.get('t')!.configs.size).toBe(0);
    expect((await alter({ 'retention.ms': '5' })).results[0]!.errorCode).toBe(0);
    expect((await alter({ 'retention.ms': null })).results[0]!.errorCode).toBe(0);
    expect(h.image.topicsByName.get('t')!.configs.size).toBe(0);

    expect(await h.controller.deleteTopics({ names: ['t', 'nope'] })).toEqual({ results: [
      { name: 't', errorCode: 0, errorMessage: null },
      { name: 'nope', errorCode: 3, errorMessage: 'topic nope does not exist' },
    ] });
    expect(h.image.topicsByName.has('t')).toBe(false);
  });

  it('refuses deletes when delete.topic.enable is false', async () => {
    const h = harness({ deleteTopicEnable: false });
    await h.join([1]);
    await h.createTopic('t', 1, 1);
    expect((await h.controller.deleteTopics({ names: ['t'] })).results[0]!.errorCode).toBe(73);
  });
});

describe('QuorumController: AlterPartition', () => {
  async function setup() {
    const h = harness();
    await h.join([1, 2, 3]);
    await h.createTopic('t', 1, 3);
    const topicId = h.image.topicsByName.get('t')!.topicId;
    const p = h.partition('t', 0);
    const leader = p.leader;
    const alter = (newIsr: number[], over: { leaderEpoch?: number; partitionEpoch?: number; brokerId?: number; brokerEpoch?: number } = {}) =>
      h.controller.alterPartition({
        brokerId: over.brokerId ?? leader, brokerEpoch: over.brokerEpoch ?? h.image.brokers.get(over.brokerId ?? leader)!.epoch,
        topics: [{ topicId, partitions: [{
          partitionIndex: 0, leaderEpoch: over.leaderEpoch ?? h.partition('t', 0).leaderEpoch, newIsr,
          partitionEpoch: over.partitionEpoch ?? h.partition('t', 0).partitionEpoch,
        }] }],
      });
    return { h, topicId, leader, followers: p.replicas.filter((id) => id !== leader), alter };
  }

  it('shrinks the ISR below min.insync.replicas (not the controller\'s rule) and expands it back', async () => {
    const { h, leader, followers, alter } = await setup();
    const res = await alter([leader]);
    expect(res.errorCode).toBe(0);
    expect(res.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, leaderId: leader, leaderEpoch: 0, isr: [leader], partitionEpoch: 1 });
    expect(h.partition('t', 0)).toMatchObject({ isr: [leader], leader, leaderEpoch: 0, partitionEpoch: 1 });
    expect((await alter([leader, ...followers])).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(h.partition('t', 0).isr).toEqual([leader, ...followers]);
  });

  it('checks broker epoch, leader epoch, partition epoch, leadership and replica eligibility', async () => {
    const { h, leader, followers, alter } = await setup();
    const code = async (r: ReturnType<typeof alter>) => { const x = await r; return x.errorCode || x.topics[0]!.partitions[0]!.errorCode; };
    expect(await code(alter([leader], { brokerEpoch: 12345 }))).toBe(77);
    expect(await code(alter([leader], { leaderEpoch: -1 }))).toBe(74);
    expect(await code(alter([leader], { partitionEpoch: 5 }))).toBe(108);
    expect(await code(alter([followers[0]!], { brokerId: followers[0] }))).toBe(42);
    expect(await code(alter([leader, 9]))).toBe(42);
    expect(await code(alter(followers))).toBe(42); // the leader must stay in the ISR
    await alter([leader]);
    await h.heartbeat(followers[0]!, { wantFence: true });
    expect(await code(alter([leader, followers[0]!]))).toBe(107); // INELIGIBLE_REPLICA
    const other = await h.controller.alterPartition({ brokerId: leader, brokerEpoch: h.image.brokers.get(leader)!.epoch,
      topics: [{ topicId: Buffer.alloc(16, 9), partitions: [{ partitionIndex: 0, leaderEpoch: 0, newIsr: [leader], partitionEpoch: 0 }] }] });
    expect(other.topics[0]!.partitions[0]!.errorCode).toBe(100); // UNKNOWN_TOPIC_ID
  });

  it('adds a replica only on fetches of its current registration (KIP-903)', async () => {
    const { h, topicId, leader, followers, alter } = await setup();
    await alter([leader]);
    const follower = followers[0]!;
    const epochs = (seen: number) => ({
      brokerId: leader, brokerEpoch: h.image.brokers.get(leader)!.epoch,
      topics: [{ topicId, partitions: [{
        partitionIndex: 0, leaderEpoch: h.partition('t', 0).leaderEpoch, newIsr: [leader, follower],
        newIsrBrokerEpochs: [h.image.brokers.get(leader)!.epoch, seen], partitionEpoch: h.partition('t', 0).partitionEpoch,
      }] }],
    });
    const current = h.image.brokers.get(follower)!.epoch;
    expect((await h.controller.alterPartition(epochs(current - 1))).topics[0]!.partitions[0]!.errorCode).toBe(107);
    expect(h.partition('t', 0).isr).toEqual([leader]);
    expect((await h.controller.alterPartition(epochs(current))).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect(h.partition('t', 0).isr).toEqual([leader, follower]);
  });

  it('an ISR with no eligible member leaves the partition offline unless unclean election is enabled', async () => {
    for (const unclean of [false, true]) {
      const h = harness({ uncleanLeaderElectionEnable: unclean });
      await h.join([1, 2, 3]);
      await h.createTopic('t', 1, 3);
      const topicId = h.image.topicsByName.get('t')!.topicId;
      const p = h.partition('t', 0);
      await h.controller.alterPartition({ brokerId: p.leader, brokerEpoch: h.image.brokers.get(p.leader)!.epoch,
        topics: [{ topicId, partitions: [{ partitionIndex: 0, leaderEpoch: 0, newIsr: [p.leader], partitionEpoch: 0 }] }] });
      await h.heartbeat(p.leader, { wantFence: true });
      const after = h.partition('t', 0);
      expect(after.leaderEpoch).toBe(1);
      if (unclean) {
        expect(after.leader).not.toBe(-1);
        expect(after.leader).not.toBe(p.leader);
        expect(after.isr).toEqual([after.leader]);
      } else {
        expect(after.leader).toBe(-1);
        expect(after.isr).toEqual([p.leader]);
      }
    }
  });
});

describe('QuorumController: elections', () => {
  it('preferred and unclean ElectLeaders', async () => {
    const h = harness();
    await h.join([1, 2, 3]);
    await h.createTopic('t', 1, 3);
    const p = h.partition('t', 0);
    const [preferred, second] = p.replicas as [number, number, number];
    expect((await h.controller.electLeaders({ electionType: 0, topicPartitions: [{ topic: 't', partitions: [0, 7] }] })).results).toEqual([
      { topic: 't', partitions: [
        { partition: 0, errorCode: 84, errorMessage: expect.any(String) }, // ELECTION_NOT_NEEDED
        { partition: 7, errorCode: 3, errorMessage: expect.any(String) },
      ] },
    ]);
    await h.heartbeat(preferred, { wantFence: true });
    expect(h.partition('t', 0).leader).toBe(second);
    expect((await h.controller.electLeaders({ electionType: 0, topicPartitions: [{ topic: 't', partitions: [0] }] })).results[0]!.partitions[0]!.errorCode)
      .toBe(80); // PREFERRED_LEADER_NOT_AVAILABLE
    expect((await h.controller.electLeaders({ electionType: 1, topicPartitions: [{ topic: 't', partitions: [0] }] })).results[0]!.partitions[0]!.errorCode)
      .toBe(84);
    await h.heartbeat(preferred);
    // Back and unfenced but not in the ISR yet: the leader must add it (AlterPartition) first.
    expect((await h.controller.electLeaders({ electionType: 0, topicPartitions: null })).results).toEqual([
      { topic: 't', partitions: [{ partition: 0, errorCode: 80, errorMessage: expect.any(String) }] },
    ]);
    expect((await h.controller.electLeaders({ electionType: 5, topicPartitions: null })).errorCode).toBe(42);
  });

  it('unclean ElectLeaders brings an offline partition back on a replica outside the ISR', async () => {
    const h = harness();
    await h.join([1, 2]);
    await h.createTopic('t', 1, 2);
    const p = h.partition('t', 0);
    const other = p.replicas.find((id) => id !== p.leader)!;
    await h.controller.alterPartition({ brokerId: p.leader, brokerEpoch: h.image.brokers.get(p.leader)!.epoch, topics: [{
      topicId: h.image.topicsByName.get('t')!.topicId, partitions: [{ partitionIndex: 0, leaderEpoch: 0, newIsr: [p.leader], partitionEpoch: 0 }] }] });
    await h.heartbeat(p.leader, { wantFence: true });
    expect(h.partition('t', 0).leader).toBe(-1);
    expect((await h.controller.electLeaders({ electionType: 0, topicPartitions: [{ topic: 't', partitions: [0] }] })).results[0]!.partitions[0]!.errorCode)
      .toBe(80);
    expect((await h.controller.electLeaders({ electionType: 1, topicPartitions: [{ topic: 't', partitions: [0] }] })).results[0]!.partitions[0])
      .toEqual({ partition: 0, errorCode: 0, errorMessage: null });
    expect(h.partition('t', 0)).toMatchObject({ leader: other, isr: [other] });
  });
});

describe('QuorumController: a broker fails and comes back', () => {
  it('fenced on silence, leaderships move within the ISR with epochs bumped; back, unfenced, preferred leadership returns', async () => {
    const h = harness({ autoLeaderRebalanceEnable: true });
    await h.join([1, 2, 3]);
    expect((await h.createTopic('t', 3, 3)).errorCode).toBe(0);
    const before = [0, 1, 2].map((p) => h.partition('t', p));
    expect(new Set(before.map((p) => p.leader))).toEqual(new Set([1, 2, 3]));
    const victim = 2;
    const led = [0, 1, 2].filter((p) => before[p]!.leader === victim);

    await h.runFor(SESSION_MS + 3000, [1, 3]);
    expect(h.image.brokers.get(victim)!.fenced).toBe(true);
    for (const p of [0, 1, 2]) {
      const now = h.partition('t', p);
      expect(now.isr).not.toContain(victim);
      expect(now.leader).not.toBe(victim);
      expect(before[p]!.isr).toContain(now.leader);
      expect(now.partitionEpoch).toBe(before[p]!.partitionEpoch + 1);
      expect(now.leaderEpoch).toBe(before[p]!.leaderEpoch + (led.includes(p) ? 1 : 0));
    }

    // It returns: unfenced once caught up; its partition leaders add it back to the ISR.
    expect(await h.heartbeat(victim)).toMatchObject({ isFenced: false });
    for (const p of [0, 1, 2]) {
      const cur = h.partition('t', p);
      const res = await h.controller.alterPartition({ brokerId: cur.leader, brokerEpoch: h.image.brokers.get(cur.leader)!.epoch, topics: [{
        topicId: h.image.topicsByName.get('t')!.topicId,
        partitions: [{ partitionIndex: p, leaderEpoch: cur.leaderEpoch, newIsr: [...cur.isr, victim], partitionEpoch: cur.partitionEpoch }] }] });
      expect(res.topics[0]!.partitions[0]!.errorCode).toBe(0);
    }
    // The periodic preferred election (leader.imbalance.check.interval.seconds) hands leadership back.
    await h.runFor(300_000, [1, 2, 3]);
    for (const p of led) expect(h.partition('t', p)).toMatchObject({ leader: victim, leaderEpoch: before[p]!.leaderEpoch + 2 });
    for (const p of [0, 1, 2]) expect(h.partition('t', p).leader).toBe(before[p]!.leader);
  });

  it('an offline partition gets its last ISR member back as leader when that broker is unfenced', async () => {
    const h = harness();
    await h.join([1]);
    await h.createTopic('t', 1, 1);
    await h.runFor(SESSION_MS + 3000, []);
    expect(h.partition('t', 0)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: 1 });
    expect(await h.heartbeat(1)).toMatchObject({ isFenced: false });
    expect(h.partition('t', 0)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: 2 });
  });
});

describe('QuorumController: partition reassignment', () => {
  /** Brokers 1-3 and topic `t` with its partition 0 on `replicas` (the first leads). */
  async function setup(replicas: number[]) {
    const h = harness();
    await h.join([1, 2, 3]);
    const res = await h.controller.createTopics({
      topics: [{ name: 't', numPartitions: -1, replicationFactor: -1, configs: {}, assignments: [{ partitionIndex: 0, brokerIds: replicas }] }],
      validateOnly: false,
    });
    expect(res.results[0]!.errorCode).toBe(0);
    const topicId = h.image.topicsByName.get('t')!.topicId;
    const reassign = async (target: number[] | null) =>
      (await h.controller.alterPartitionReassignments({ topics: [{ name: 't', partitions: [{ partition: 0, replicas: target }] }] }))
        .results[0]!.partitions[0]!;
    /** The leader's AlterPartition, as its PartitionLeader sends it. */
    const alterIsr = async (newIsr: number[]) => {
      const p = h.partition('t', 0);
      const res = await h.controller.alterPartition({
        brokerId: p.leader, brokerEpoch: h.image.brokers.get(p.leader)!.epoch,
        topics: [{ topicId, partitions: [{ partitionIndex: 0, leaderEpoch: p.leaderEpoch, newIsr, partitionEpoch: p.partitionEpoch }] }],
      });
      return res.topics[0]!.partitions[0]!.errorCode;
    };
    const list = async () => (await h.controller.listPartitionReassignments({ topics: null })).topics;
    return { h, reassign, alterIsr, list };
  }

  it('adding replicas: replicas are the union until the new ones are in the ISR, then the target', async () => {
    const { h, reassign, alterIsr, list } = await setup([1]);
    expect(await reassign([1, 2, 3])).toMatchObject({ errorCode: 0 });
    expect(h.partition('t', 0)).toMatchObject({
      replicas: [1, 2, 3], isr: [1], leader: 1, leaderEpoch: 0, addingReplicas: [2, 3],
    });
    expect(h.partition('t', 0).removingReplicas).toBeUndefined();
    expect(await list()).toEqual([{ name: 't', partitions: [{ partition: 0, replicas: [1, 2, 3], addingReplicas: [2, 3], removingReplicas: [] }] }]);
    expect(await alterIsr([1, 2])).toBe(0);
    expect(h.partition('t', 0).addingReplicas).toEqual([2, 3]);
    expect(await alterIsr([1, 2, 3])).toBe(0);
    const done = h.partition('t', 0);
    expect(done).toMatchObject({ replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0 });
    expect(done.addingReplicas).toBeUndefined();
    expect(await list()).toEqual([]);
  });

  it('moving away from the leader: the leader moves to an in-sync target replica with a new epoch, the ISR is trimmed', async () => {
    const { h, reassign, alterIsr, list } = await setup([1]);
    expect(await reassign([2, 3])).toMatchObject({ errorCode: 0 });
    expect(h.partition('t', 0)).toMatchObject({ replicas: [2, 3, 1], isr: [1], leader: 1, addingReplicas: [2, 3], removingReplicas: [1] });
    expect(await alterIsr([1, 2, 3])).toBe(0);
    const done = h.partition('t', 0);
    expect(done).toMatchObject({ replicas: [2, 3], isr: [2, 3], leader: 2, leaderEpoch: 1 });
    expect(done.removingReplicas).toBeUndefined();
    expect(await list()).toEqual([]);
  });

  it('removing a follower completes at once, bumping the leader epoch so that the removed replica is fenced', async () => {
    const { h, reassign } = await setup([1, 2, 3]);
    expect(await reassign([1, 2])).toMatchObject({ errorCode: 0 });
    expect(h.partition('t', 0)).toMatchObject({ replicas: [1, 2], isr: [1, 2], leader: 1, leaderEpoch: 1 });
  });

  it('cancel reverts to the original replicas; a new target replaces one in progress', async () => {
    const { h, reassign, alterIsr, list } = await setup([1]);
    expect(await reassign(null)).toMatchObject({ errorCode: 85 }); // NO_REASSIGNMENT_IN_PROGRESS
    expect(await reassign([2, 3])).toMatchObject({ errorCode: 0 });
    expect(await alterIsr([1, 2])).toBe(0);
    expect(await reassign(null)).toMatchObject({ errorCode: 0 });
    const reverted = h.partition('t', 0);
    expect(reverted).toMatchObject({ replicas: [1], isr: [1], leader: 1 });
    expect(reverted.addingReplicas).toBeUndefined();
    expect(await list()).toEqual([]);
    expect(await reassign([2, 3])).toMatchObject({ errorCode: 0 });
    expect(await reassign([1, 3])).toMatchObject({ errorCode: 0 });
    expect(h.partition('t', 0)).toMatchObject({ replicas: [1, 3], isr: [1], addingReplicas: [3] });
    expect(h.partition('t', 0).removingReplicas).toBeUndefined();
  });

  it('refuses unknown partitions and invalid targets', async () => {
    const { h, reassign } = await setup([1]);
    expect(await reassign([])).toMatchObject({ errorCode: 39 }); // INVALID_REPLICA_ASSIGNMENT
    expect(await reassign([2, 2])).toMatchObject({ errorCode: 39 });
    expect(await reassign([2, 9])).toMatchObject({ errorCode: 39 });
    const unknown = await h.controller.alterPartitionReassignments({ topics: [{ name: 'nope', partitions: [{ partition: 0, replicas: [1] }] }] });
    expect(unknown.results[0]!.partitions[0]!.errorCode).toBe(3);
    expect(h.partition('t', 0)).toMatchObject({ replicas: [1], partitionEpoch: 0 });
  });
});

describe('controllerSettings', () => {
  it('takes Kafka\'s defaults and the broker keys', () => {
    const warn = () => {};
    expect(controllerSettings(loadBrokerConfig({}, { warn }))).toMatchObject({
      nodeId: 1, brokerSessionTimeoutMs: 9000, uncleanLeaderElectionEnable: false, autoLeaderRebalanceEnable: true,
      leaderImbalanceCheckIntervalMs: 300_000, leaderImbalancePerBrokerPercentage: 10, defaultReplicationFactor: 1,
      offsetsTopicReplicationFactor: 3, transactionStateLogReplicationFactor: 3,
    });
    const config = loadBrokerConfig({
      'unclean.leader.election.enable': 'true', 'leader.imbalance.check.interval.seconds': '5', 'broker.rack': 'eu-1a',
      'broker.session.timeout.ms': '3000', 'broker.heartbeat.interval.ms': '500',
    }, { warn });
    expect(controllerSettings(config)).toMatchObject({ uncleanLeaderElectionEnable: true, leaderImbalanceCheckIntervalMs: 5000, brokerSessionTimeoutMs: 3000 });
    expect(config).toMatchObject({ brokerRack: 'eu-1a', brokerHeartbeatIntervalMs: 500 });
    expect(loadBrokerConfig({}, { warn }).brokerRack).toBeNull();
    expect(() => loadBrokerConfig({ 'leader.imbalance.per.broker.percentage': '101' }, { warn })).toThrow(/leader.imbalance.per.broker.percentage/);
  });
});
