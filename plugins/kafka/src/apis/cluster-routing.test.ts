import { describe, expect, it } from 'vitest';
import {
  KafkaError, type BrokerDescription, type HookRunner, type Kernel, type Logger, type PartitionDescription, type PartitionHandle,
  type TopicDescription,
} from '@sluice/sdk';
import type { RequestContext } from './api.js';
import { FetchSessions } from '../fetch-sessions.js';
import { Purgatory } from '../purgatory.js';
import { UNGATED } from '../server/order-gate.js';
import { produceApi } from './00-produce.js';
import { fetchApi } from './01-fetch.js';
import { listOffsetsApi } from './02-list-offsets.js';
import { metadataApi } from './03-metadata.js';
import { createTopicsApi } from './19-create-topics.js';
import { createPartitionsApi } from './37-create-partitions.js';
import { offsetForLeaderEpochApi } from './23-offset-for-leader-epoch.js';
import { describeClusterApi } from './60-describe-cluster.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const noHooks = { hasHandlers: () => false } as unknown as HookRunner;

const ORDERS: TopicDescription = { name: 'orders', topicId: Uint8Array.from({ length: 16 }, (_, i) => i + 1), partitions: 3, configs: {} };
const BROKERS: BrokerDescription[] = [
  { nodeId: 1, rack: null, fenced: false, listeners: [{ name: 'PLAINTEXT', host: '', port: 9092, securityProtocol: 'PLAINTEXT' }] },
  {
    nodeId: 2, rack: 'rack-b', fenced: false,
    listeners: [
      { name: 'INTERNAL', host: '10.0.0.2', port: 19092, securityProtocol: 'PLAINTEXT' },
      { name: 'PLAINTEXT', host: 'node2.example', port: 9093, securityProtocol: 'PLAINTEXT' },
    ],
  },
  { nodeId: 3, rack: null, fenced: true, listeners: [{ name: 'PLAINTEXT', host: 'node3.example', port: 9094, securityProtocol: 'PLAINTEXT' }] },
];
/** Partition 0 led here, 1 by node 2, 2 offline (its only replica, node 3, is fenced). */
const PARTITIONS: PartitionDescription[] = [
  { partition: 0, leader: 1, leaderEpoch: 4, replicas: [1, 2], isr: [1, 2] },
  { partition: 1, leader: 2, leaderEpoch: 7, replicas: [2, 1], isr: [2] },
  { partition: 2, leader: -1, leaderEpoch: 3, replicas: [3], isr: [] },
];

/** What createTopic was asked for, in order. */
const created: Array<{ name: string; partitions: number; options: unknown }> = [];

/** This node (1) hosts only partition 0, whose appends fail as a leader with too small an ISR does. */
function clusterContext(apiVersion: number, brokers: BrokerDescription[] = BROKERS): RequestContext {
  const local = {
    topic: 'orders', partition: 0, leaderEpoch: 4, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, logEndOffset: 0,
    append: () => Promise.reject(new KafkaError(19, 'NOT_ENOUGH_REPLICAS', 'ISR [1] is below min.insync.replicas 2')),
  } as unknown as PartitionHandle;
  const kernel = {
    nodeId: 1,
    clusterId: 'cluster-1',
    listTopics: () => [ORDERS],
    describeTopic: (name: string) => (name === 'orders' ? ORDERS : undefined),
    topicPartitions: (name: string) => (name === 'orders' ? PARTITIONS : []),
    partition: (topic: string, partition: number) => (topic === 'orders' && partition === 0 ? local : undefined),
    brokers: () => brokers,
    controllerId: () => 2,
    createTopic: (name: string, partitions: number, configs: Record<string, string>, options: unknown) => {
      created.push({ name, partitions, options });
      return Promise.resolve({ name, topicId: new Uint8Array(16), partitions, configs });
    },
    describeTopicConfigsFor: () => [],
  } as unknown as Kernel;
  return {
    kernel,
    broker: {
      nodeId: 1, clusterId: 'cluster-1', props: {},
      listeners: [{ name: 'PLAINTEXT', host: '', port: 9092, securityProtocol: 'PLAINTEXT' }],
      advertisedListeners: [{ name: 'PLAINTEXT', host: '', port: 9092, securityProtocol: 'PLAINTEXT' }],
    },
    config: { autoCreateTopicsEnable: false, numPartitions: 1, defaultReplicationFactor: 2 } as RequestContext['config'],
    log: quiet,
    connection: {
      protocol: 'kafka', id: 1, listener: 'PLAINTEXT', remoteAddress: '127.0.0.1', remotePort: 5000, localAddress: '127.0.0.5',
      closed: new AbortController().signal,
    },
    apiVersion,
    correlationId: 1,
    clientId: 'test',
    fetchSessions: new FetchSessions(10),
    purgatory: new Purgatory(),
    signal: new AbortController().signal,
    hooks: noHooks,
    principal: { type: 'User', name: 'ANONYMOUS' },
    order: UNGATED,
  } as unknown as RequestContext;
}

const NODE_2 = { nodeId: 2, host: 'node2.example', port: 9093, rack: 'rack-b' };

describe('client APIs in a cluster', () => {
  it('Metadata lists the live brokers at the client\'s listener, the controller, leaders and offline replicas', async () => {
    const res = await metadataApi.handle({
      topics: [{ name: 'orders', topicId: new Uint8Array(16) }], allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    } as never, clusterContext(12));
    expect(res!.brokers).toEqual([{ nodeId: 1, host: '127.0.0.5', port: 9092, rack: null }, NODE_2]);
    expect(res!.controllerId).toBe(2);
    expect(res!.topics[0]!.partitions.map((p) => ({
      errorCode: p.errorCode, partitionIndex: p.partitionIndex, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicaNodes, isrNodes: p.isrNodes, offlineReplicas: p.offlineReplicas,
    }))).toEqual([
      { errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 4, replicaNodes: [1, 2], isrNodes: [1, 2], offlineReplicas: [] },
      { errorCode: 0, partitionIndex: 1, leaderId: 2, leaderEpoch: 7, replicaNodes: [2, 1], isrNodes: [2], offlineReplicas: [] },
      { errorCode: 5, partitionIndex: 2, leaderId: -1, leaderEpoch: 3, replicaNodes: [3], isrNodes: [], offlineReplicas: [3] },
    ]);
  });

  it('Metadata answers with this node alone while the kernel knows no brokers, and names it controller', async () => {
    const res = await metadataApi.handle({
      topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    } as never, clusterContext(12, []));
    expect(res!.brokers).toEqual([{ nodeId: 1, host: '127.0.0.5', port: 9092, rack: null }]);
    // The active controller (2) is not among the brokers the client can reach: this node forwards admin requests.
    expect(res!.controllerId).toBe(1);
  });

  it('DescribeCluster lists the live brokers and the active controller', async () => {
    const res = await describeClusterApi.handle({ includeClusterAuthorizedOperations: false, endpointType: 1 } as never, clusterContext(1));
    expect(res!.controllerId).toBe(2);
    expect(res!.brokers).toEqual([{ brokerId: 1, host: '127.0.0.5', port: 9092, rack: null }, { brokerId: 2, host: 'node2.example', port: 9093, rack: 'rack-b' }]);
  });

  it('Produce to a partition led elsewhere gets NOT_LEADER_OR_FOLLOWER with the leader and its endpoint; kernel errors pass through', async () => {
    const records = new Uint8Array(10);
    const res = await produceApi.handle({
      transactionalId: null, acks: -1, timeoutMs: 1000,
      topicData: [
        { name: 'orders', partitionData: [{ index: 1, records }, { index: 0, records }, { index: 9, records }] },
        { name: 'missing', partitionData: [{ index: 0, records }] },
      ],
    } as never, clusterContext(11));
    const [orders, missing] = res!.responses;
    expect(orders!.partitionResponses.map((p) => ({ index: p.index, errorCode: p.errorCode, currentLeader: p.currentLeader }))).toEqual([
      { index: 1, errorCode: 6, currentLeader: { leaderId: 2, leaderEpoch: 7 } },
      { index: 0, errorCode: 19, currentLeader: undefined },
      { index: 9, errorCode: 3, currentLeader: undefined },
    ]);
    expect(missing!.partitionResponses[0]!.errorCode).toBe(3);
    expect(res!.nodeEndpoints).toEqual([NODE_2]);
  });

  it('a consumer Fetch of a partition led elsewhere gets NOT_LEADER_OR_FOLLOWER with the leader and its endpoint', async () => {
    const res = await fetchApi.handle({
      replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 500, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0,
      sessionId: 0, sessionEpoch: -1, rackId: '', forgottenTopicsData: [], clusterId: null,
      topics: [{
        topic: '', topicId: ORDERS.topicId,
        partitions: [{ partition: 1, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1000 }],
      }],
    } as never, clusterContext(16));
    const p = res!.responses[0]!.partitions[0]!;
    expect({ errorCode: p.errorCode, currentLeader: p.currentLeader }).toEqual({ errorCode: 6, currentLeader: { leaderId: 2, leaderEpoch: 7 } });
    expect(res!.nodeEndpoints).toEqual([NODE_2]);
  });

  it('CreateTopics takes replication factors and assignments up to the live brokers and hands them to the kernel', async () => {
    created.length = 0;
    const topic = (name: string, replicationFactor: number, assignments: Array<{ partitionIndex: number; brokerIds: number[] }> = []) => ({
      name, numPartitions: assignments.length > 0 ? -1 : 3, replicationFactor, assignments, configs: [],
    });
    const res = await createTopicsApi.handle({
      timeoutMs: 1000, validateOnly: false,
      topics: [
        topic('by-default', -1), topic('rf2', 2), topic('rf3', 3),
        topic('placed', -1, [{ partitionIndex: 0, brokerIds: [2, 1] }, { partitionIndex: 1, brokerIds: [1, 2] }]),
        topic('on-fenced', -1, [{ partitionIndex: 0, brokerIds: [3, 1] }]),
        topic('uneven', -1, [{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [1] }]),
      ],
    } as never, clusterContext(7));
    expect(res!.topics.map((t) => [t.name, t.errorCode, t.replicationFactor])).toEqual([
      ['by-default', 0, 2], ['rf2', 0, 2], ['rf3', 38, -1], ['placed', 0, 2], ['on-fenced', 39, -1], ['uneven', 39, -1],
    ]);
    // Topics are created concurrently: compare by name.
    expect([...created].sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'by-default', partitions: 3, options: { validateOnly: false, replicationFactor: 2 } },
      { name: 'on-fenced', partitions: 1, options: { validateOnly: true } },
      {
        name: 'placed', partitions: 2,
        options: { validateOnly: false, replicationFactor: 2, assignments: [{ partitionIndex: 0, brokerIds: [2, 1] }, { partitionIndex: 1, brokerIds: [1, 2] }] },
      },
      { name: 'rf2', partitions: 3, options: { validateOnly: false, replicationFactor: 2 } },
      { name: 'rf3', partitions: 3, options: { validateOnly: true } },
      { name: 'uneven', partitions: 2, options: { validateOnly: true } },
    ]);
  });

  it('CreatePartitions in a cluster refuses explicit assignments: the controller places new partitions', async () => {
    const res = await createPartitionsApi.handle({
      timeoutMs: 1000, validateOnly: true, topics: [{ name: 'orders', count: 4, assignments: [{ brokerIds: [1] }] }],
    } as never, clusterContext(3));
    expect(res!.results.map((r) => r.errorCode)).toEqual([39]);
  });

  it('ListOffsets and OffsetForLeaderEpoch send clients to the leader', async () => {
    const offsets = await listOffsetsApi.handle({
      replicaId: -1, isolationLevel: 0,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1 }, { partitionIndex: 5, currentLeaderEpoch: -1, timestamp: -1 }] }],
    } as never, clusterContext(8));
    expect(offsets!.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([6, 3]);
    const epochs = await offsetForLeaderEpochApi.handle({
      replicaId: -1, topics: [{ topic: 'orders', partitions: [{ partition: 1, currentLeaderEpoch: -1, leaderEpoch: 7 }] }],
    } as never, clusterContext(4));
    expect(epochs!.topics[0]!.partitions[0]!.errorCode).toBe(6);
  });
});
