/**
 * The next-generation consumer protocol (KIP-848) against a real broker process, with the
 * one available client that speaks it: @platformatic/kafka with `groupProtocol: 'consumer'`
 * (ConsumerGroupHeartbeat v1, client-made member ids, OffsetCommit/OffsetFetch v9 with
 * member epochs). librdkafka, KafkaJS and kafka-python here only speak the classic protocol.
 *
 * Two consumers share a 6-partition topic, a third joins and the others give partitions
 * up (revocation, then assignment, with no partition owned twice as seen by
 * ConsumerGroupDescribe), and together they consume everything produced. The client's
 * membership (joinGroup, its heartbeats, revocations and commits) is its KIP-848 path; the
 * records are read with explicit fetches (by topic id, Fetch v13+) of each consumer's
 * assigned partitions, so the test decides exactly when each member reads and commits.
 * Raw requests built from our codecs check the answers no client shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admin, Consumer, Producer, ProduceAcks, stringSerializers } from '@platformatic/kafka';
import { ApiKey, type KnownApiKey, type RequestOf } from '../src/protocol/index.js';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { rawConnect, type RawConnection } from './raw-client.js';

const TOPIC = 'kip848-orders';
const GROUP = 'kip848-group';
const PARTITIONS = 6;

let broker: BrokerProcess;
let admin: Admin;
let conn: RawConnection;

function call<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>) {
  return conn.request(apiKey, version, body);
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${broker.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'group.consumer.heartbeat.interval.ms': '500' } });
  admin = new Admin({ clientId: 'sluice-it-kip848', bootstrapBrokers: [broker.bootstrap], retries: 2 });
  await admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 });
  conn = await rawConnect(broker.port);
});

afterAll(async () => {
  conn?.close();
  await admin?.close();
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

describe.sequential('KIP-848 consumer groups', () => {
  it('@platformatic/kafka consumers: assignment, revocation when a third joins, every record consumed', async () => {
    const producer = new Producer({ clientId: 'sluice-it-kip848-p', bootstrapBrokers: [broker.bootstrap], serializers: stringSerializers });
    const produced = new Set<string>();
    const produce = async (from: number, count: number) => {
      const messages = Array.from({ length: count }, (_, i) => ({ topic: TOPIC, key: `k${from + i}`, value: `v${from + i}`, partition: (from + i) % PARTITIONS }));
      await producer.send({ messages, acks: ProduceAcks.ALL });
      for (const m of messages) produced.add(m.value);
    };
    await produce(0, 120);

    const consumed = new Map<string, number>();
    const consumers: Consumer[] = [];
    const start = async (n: number) => {
      const consumer = new Consumer({ clientId: `sluice-it-kip848-c${n}`, bootstrapBrokers: [broker.bootstrap], groupId: GROUP, groupProtocol: 'consumer', retries: 5 });
      // Joining takes consume(); the test reads with explicit fetches instead of the stream.
      const stream = await consumer.consume({ topics: [TOPIC], autocommit: false, maxWaitTime: 100 });
      stream.on('error', () => {});
      stream.pause();
      consumers.push(consumer);
      return consumer;
    };
    /**
     * What each consumer owns right now, read with explicit fetches from its committed
     * offsets, then committed at its member epoch (OffsetCommit v9).
     */
    const drain = async (consumer: Consumer) => {
      for (const { topic, partitions } of consumer.assignments ?? []) {
        const committed = await consumer.listCommittedOffsets({ topics: [{ topic, partitions }] });
        for (const partition of partitions) {
          const from = committed.get(topic)?.[partition] ?? -1n;
          const offset = from < 0n ? 0n : from;
          const topicId = (await consumer.metadata({ topics: [topic] })).topics.get(topic)!.id;
          const response = await consumer.fetch({
            node: 1, maxWaitTime: 100, minBytes: 1, maxBytes: 4 << 20,
            topics: [{ topicId, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
          });
          let next = offset;
          for (const batch of response.responses[0]!.partitions[0]!.records ?? []) {
            for (const r of batch.records) {
              const at = batch.firstOffset + BigInt(r.offsetDelta);
              if (at < offset) continue;
              const v = r.value?.toString() ?? '';
              consumed.set(v, (consumed.get(v) ?? 0) + 1);
              next = at + 1n;
            }
          }
          if (next > offset) await consumer.commit({ offsets: [{ topic, partition, offset: next, leaderEpoch: -1 }] });
        }
      }
    };
    const describeGroup = async () => {
      const r = await call(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [GROUP], includeAuthorizedOperations: false });
      return r.groups[0]!;
    };
    const owned = (g: Awaited<ReturnType<typeof describeGroup>>) =>
      g.members.flatMap((m) => m.assignment.topicPartitions.flatMap((tp) => tp.partitions.map((p) => `${tp.topicName}:${p}`)));
    const sizes = () => consumers.map((c) => (c.assignments ?? []).reduce((n, a) => n + a.partitions.length, 0)).sort();

    try {
      await start(1);
      await start(2);
      await until('two members with three partitions each', async () => {
        const g = await describeGroup();
        return g.groupState === 'Stable' && g.members.length === 2 && sizes().join() === '3,3';
      });
      for (const c of consumers) await drain(c);
      expect(consumed.size).toBe(120);

      // A third member: the others revoke one partition each before it gets them.
      const epochBefore = (await describeGroup()).groupEpoch;
      await start(3);
      await until('three members with two partitions each', async () => {
        const g = await describeGroup();
        const all = owned(g);
        // Never two owners of one partition, at any point of the reconciliation.
        expect(new Set(all).size).toBe(all.length);
        return g.groupState === 'Stable' && g.members.length === 3 && sizes().join() === '2,2,2';
      });
      const g = await describeGroup();
      expect(g.groupEpoch).toBe(epochBefore + 1);
      expect(g.assignorName).toBe('uniform');
      expect(new Set(owned(g)).size).toBe(PARTITIONS);

      await produce(120, 120);
      for (const c of consumers) await drain(c);
      expect([...produced].filter((v) => !consumed.has(v))).toEqual([]);
      // Committed offsets moved with the partitions: nothing read twice.
      expect([...consumed.values()].every((n) => n === 1)).toBe(true);
    } finally {
      for (const c of consumers) await c.close(true);
      await producer.close();
    }
    // They left (epoch -1): the group is empty, its offsets kept.
    const after = await describeGroup();
    expect([after.groupState, after.members.length]).toEqual(['Empty', 0]);
    const listed = await call(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
    expect(listed.groups).toContainEqual({ groupId: GROUP, protocolType: 'consumer', groupState: 'Empty', groupType: 'consumer' });
  });

  it('raw ConsumerGroupHeartbeat: join, revocation withheld until acknowledged, commit epochs, leave', async () => {
    const group = 'kip848-raw';
    // Learnt from the first assignment, as a client does.
    let topicId: Uint8Array = new Uint8Array(16);
    const heartbeat = (memberId: string, memberEpoch: number, owned: number[] | null, extra: Partial<RequestOf<typeof ApiKey.ConsumerGroupHeartbeat>> = {}) =>
      call(ApiKey.ConsumerGroupHeartbeat, 1, {
        groupId: group, memberId, memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: memberEpoch === 0 ? 10_000 : -1,
        subscribedTopicNames: memberEpoch === 0 ? [TOPIC] : null, subscribedTopicRegex: null, serverAssignor: memberEpoch === 0 ? 'range' : null,
        topicPartitions: owned === null ? null : owned.length === 0 ? [] : [{ topicId, partitions: owned }], ...extra,
      });
    const partitions = (r: { assignment: { topicPartitions: Array<{ partitions: number[] }> } | null }) => r.assignment?.topicPartitions.flatMap((tp) => tp.partitions) ?? null;

    const a = await heartbeat('member-a', 0, []);
    expect(a).toMatchObject({ errorCode: 0, memberId: 'member-a', memberEpoch: 1, heartbeatIntervalMs: 500 });
    expect(partitions(a)).toEqual([0, 1, 2, 3, 4, 5]);
    topicId = a.assignment!.topicPartitions[0]!.topicId;
    const b = await heartbeat('member-b', 0, []);
    expect([b.memberEpoch, partitions(b)]).toEqual([2, []]);
    // a must give up 3-5 (range: b gets the upper half); it stays at epoch 1 until it does.
    const a1 = await heartbeat('member-a', 1, [0, 1, 2, 3, 4, 5]);
    expect([a1.memberEpoch, partitions(a1)]).toEqual([1, [0, 1, 2]]);
    expect(partitions(await heartbeat('member-b', 2, []))).toEqual(null);
    // Commits at a's current epoch are fine; an older epoch is stale.
    const commit = (memberId: string, epoch: number) => call(ApiKey.OffsetCommit, 9, {
      groupId: group, generationIdOrMemberEpoch: epoch, memberId, groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 3, committedOffset: 7, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
    });
    expect((await commit('member-a', 1)).topics[0]!.partitions[0]!.errorCode).toBe(0);
    expect((await commit('member-a', 0)).topics[0]!.partitions[0]!.errorCode).toBe(113);
    const a2 = await heartbeat('member-a', 1, [0, 1, 2]);
    expect(a2.memberEpoch).toBe(2);
    expect(partitions(await heartbeat('member-b', 2, []))).toEqual([3, 4, 5]);
    expect((await heartbeat('member-a', 5, [0, 1, 2])).errorCode).toBe(110);
    expect((await heartbeat('member-x', 3, [])).errorCode).toBe(25);
    expect(await heartbeat('member-b', -1, [])).toMatchObject({ errorCode: 0, memberEpoch: -1 });
    // A classic JoinGroup cannot take a group with consumer members.
    const join = await call(ApiKey.JoinGroup, 9, {
      groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }], reason: null,
    });
    expect(join.errorCode).toBe(23);
  });

  it('a restart keeps the group: members, epochs and assignment come back from __consumer_offsets', async () => {
    const group = 'kip848-restart';
    const hb = (memberEpoch: number) => call(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: group, memberId: 'm1', memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: memberEpoch === 0 ? 10_000 : -1,
      subscribedTopicNames: memberEpoch === 0 ? [TOPIC] : null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: memberEpoch === 0 ? [] : null,
    });
    const joined = await hb(0);
    expect(joined.memberEpoch).toBe(1);
    conn.close();
    expect(await broker.stop()).toBe(0);
    broker = await startBroker({ dataDir: broker.dataDir, port: broker.port, overrides: { 'group.consumer.heartbeat.interval.ms': '500' } });
    conn = await rawConnect(broker.port);
    expect(await hb(1)).toMatchObject({ errorCode: 0, memberEpoch: 1 });
    const d = await call(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [group, 'kip848-none'], includeAuthorizedOperations: false });
    expect(d.groups[0]).toMatchObject({ errorCode: 0, groupState: 'Stable', groupEpoch: 1, assignmentEpoch: 1 });
    expect(d.groups[0]!.members[0]!.assignment.topicPartitions[0]!.partitions).toEqual([0, 1, 2, 3, 4, 5]);
    expect(d.groups[1]).toMatchObject({ errorCode: 69, errorMessage: 'Group kip848-none not found.' });
  });
});
