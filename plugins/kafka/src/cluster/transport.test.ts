import { afterEach, describe, expect, it } from 'vitest';
import {
  KafkaError, type ClusterRpcName, type ClusterRpcRequest, type ClusterRpcResponse, type HookRunner, type Kernel, type Logger,
  type PeerAddress, type TopicDescription,
} from '@sluice/sdk';
import { allApis } from '../apis/index.js';
import { Dispatcher, type SharedContext } from '../dispatcher.js';
import { FetchSessions } from '../fetch-sessions.js';
import { KafkaServer } from '../server/server.js';
import { forwardedApis } from './forwarded-apis.js';
import { KafkaConnection } from '../client/connection.js';
import { ApiKey } from '../protocol/index.js';
import { CLUSTER_TRANSPORT_LIMITS, KafkaClusterTransport } from './transport.js';
import { raftWires } from './raft-wire.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const noHooks = { hasHandlers: () => false } as unknown as HookRunner;

interface Received {
  readonly rpc: ClusterRpcName;
  readonly request: unknown;
  readonly signal: AbortSignal | undefined;
}

type Answer = (rpc: ClusterRpcName, request: unknown, signal: AbortSignal | undefined) => Promise<unknown>;

const TOPIC_A: TopicDescription = { name: 'orders', topicId: Uint8Array.from({ length: 16 }, (_, i) => i + 1), partitions: 2, configs: {} };
const TOPIC_B: TopicDescription = { name: 'payments', topicId: Uint8Array.from({ length: 16 }, (_, i) => 100 + i), partitions: 1, configs: {} };

/** A node serving the Kafka plugin's real dispatcher and server, whose kernel.cluster.handle is `answer`. */
class FakePeer {
  readonly received: Received[] = [];
  answer: Answer = () => Promise.reject(new Error('no answer set'));
  private server: KafkaServer | undefined;
  port = 0;

  async start(port = 0): Promise<this> {
    const kernel = {
      nodeId: 2,
      clusterId: 'cluster-1',
      listTopics: () => [TOPIC_A, TOPIC_B],
      describeTopic: () => undefined,
      cluster: {
        handle: (rpc: ClusterRpcName, request: unknown, signal?: AbortSignal) => {
          this.received.push({ rpc, request, signal });
          return this.answer(rpc, request, signal);
        },
      },
    } as unknown as Kernel;
    const shared = {
      kernel, broker: { nodeId: 2, clusterId: 'cluster-1', listeners: [], advertisedListeners: [], props: {} }, log: quiet, config: { deleteTopicEnable: true },
      signal: new AbortController().signal, hooks: noHooks, fetchSessions: new FetchSessions(10),
    } as unknown as SharedContext;
    const dispatcher = new Dispatcher(allApis, shared, forwardedApis);
    this.server = new KafkaServer(dispatcher.handle, {
      requestSizeBytesMax: 1 << 20, idleMsMax: 60_000, inFlightRequestsMax: 16, writeBufferBytesMax: 1 << 20,
    }, quiet);
    const [bound] = await this.server.listen([{ name: 'PLAINTEXT', host: '127.0.0.1', port, securityProtocol: 'PLAINTEXT' }]);
    this.port = bound!.port;
    return this;
  }

  get address(): PeerAddress {
    return { nodeId: 2, host: '127.0.0.1', port: this.port };
  }

  get connectionCount(): number {
    return this.server?.connectionCount ?? 0;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}

const peers: FakePeer[] = [];
const transports: KafkaClusterTransport[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  for (const p of peers.splice(0)) await p.stop();
});

async function setup(): Promise<{ peer: FakePeer; transport: KafkaClusterTransport }> {
  const peer = await new FakePeer().start();
  peers.push(peer);
  const transport = new KafkaClusterTransport(quiet);
  transports.push(transport);
  return { peer, transport };
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** Every RPC with a request and an answer whose fields all differ from the wire defaults. */
const CASES: { [K in ClusterRpcName]: Array<{ request: ClusterRpcRequest<K>; response: ClusterRpcResponse<K> }> } = {
  'raft.vote': [
    {
      request: { clusterId: 'cluster-1', candidateId: 1, voterId: 2, candidateEpoch: 7, lastOffsetEpoch: 6, lastOffset: 1234, preVote: false },
      response: { errorCode: 0, leaderId: -1, leaderEpoch: 7, voteGranted: true },
    },
    {
      request: { clusterId: 'cluster-1', candidateId: 3, voterId: 2, candidateEpoch: 8, lastOffsetEpoch: 7, lastOffset: 99, preVote: true },
      response: { errorCode: 74, leaderId: 1, leaderEpoch: 9, voteGranted: false },
    },
  ],
  'raft.begin-quorum-epoch': [{
    request: { clusterId: 'cluster-1', leaderId: 1, leaderEpoch: 7, voterId: 2 },
    response: { errorCode: 0 },
  }],
  'raft.end-quorum-epoch': [
    { request: { clusterId: 'cluster-1', leaderId: 1, leaderEpoch: 7, preferredSuccessors: [3, 2] }, response: { errorCode: 0 } },
    { request: { clusterId: 'cluster-1', leaderId: 1, leaderEpoch: 7, preferredSuccessors: [] }, response: { errorCode: 104 } },
  ],
  'raft.fetch': [
    {
      request: { clusterId: 'cluster-1', replicaId: 3, epoch: 7, fetchOffset: 500, lastFetchedEpoch: 6 },
      response: { errorCode: 0, leaderId: 1, leaderEpoch: 7, highWatermark: 480, divergingEpoch: null, records: bytes(0, 0, 0, 0, 0, 0, 1, 244, 9, 9, 9) },
    },
    {
      request: { clusterId: 'cluster-1', replicaId: 3, epoch: 7, fetchOffset: 500, lastFetchedEpoch: 5 },
      response: { errorCode: 0, leaderId: 1, leaderEpoch: 7, highWatermark: 480, divergingEpoch: { epoch: 5, endOffset: 450 }, records: bytes() },
    },
    {
      request: { clusterId: 'cluster-1', replicaId: 3, epoch: 6, fetchOffset: 0, lastFetchedEpoch: -1 },
      response: { errorCode: 74, leaderId: 1, leaderEpoch: 7, highWatermark: 480, divergingEpoch: null, records: bytes() },
    },
    {
      request: { clusterId: 'cluster-1', replicaId: 5, epoch: 3, fetchOffset: 0, lastFetchedEpoch: -1 },
      response: {
        errorCode: 6, leaderId: 4, leaderEpoch: 7, highWatermark: -1, divergingEpoch: null, records: bytes(),
        leaderEndpoint: { host: 'controller-4.example', port: 9097 },
      },
    },
    {
      request: { clusterId: 'cluster-1', replicaId: 3, epoch: 7, fetchOffset: 10, lastFetchedEpoch: 2 },
      response: {
        errorCode: 0, leaderId: 1, leaderEpoch: 7, highWatermark: 480, divergingEpoch: null, records: bytes(),
        snapshotId: { endOffset: 400, epoch: 6 },
      },
    },
  ],
  'raft.fetch-snapshot': [
    {
      request: { clusterId: 'cluster-1', replicaId: 3, epoch: 7, snapshotId: { endOffset: 400, epoch: 6 }, position: 1024 },
      response: {
        errorCode: 0, leaderId: 1, leaderEpoch: 7, snapshotId: { endOffset: 400, epoch: 6 }, size: 4096, position: 1024,
        bytes: bytes(1, 2, 3, 4, 5),
      },
    },
    {
      request: { clusterId: 'cluster-1', replicaId: 4, epoch: 6, snapshotId: { endOffset: 300, epoch: 5 }, position: 0 },
      response: { errorCode: 98, leaderId: 1, leaderEpoch: 7, snapshotId: { endOffset: 300, epoch: 5 }, size: 0, position: 0, bytes: bytes() },
    },
  ],
  'raft.describe-quorum': [{
    request: {},
    response: {
      errorCode: 0, leaderId: 1, leaderEpoch: 7, highWatermark: 480,
      voters: [
        { replicaId: 1, logEndOffset: 500, lastFetchTimestampMs: -1, lastCaughtUpTimestampMs: -1 },
        { replicaId: 2, logEndOffset: 490, lastFetchTimestampMs: 1_700_000_000_123, lastCaughtUpTimestampMs: 1_700_000_000_100 },
      ],
      observers: [{ replicaId: 4, logEndOffset: 10, lastFetchTimestampMs: 1_700_000_000_001, lastCaughtUpTimestampMs: -1 }],
      nodes: [
        { nodeId: 1, listeners: [{ name: 'CONTROLLER', host: 'node1.example', port: 9093 }] },
        { nodeId: 2, listeners: [{ name: 'CONTROLLER', host: '10.0.0.2', port: 19093 }, { name: 'CONTROLLER_TLS', host: '10.0.0.2', port: 19094 }] },
      ],
    },
  }],
  'raft.add-voter': [
    {
      request: {
        clusterId: 'cluster-1', timeoutMs: 30_000, voterId: 4, voterDirectoryId: bytes(...Array.from({ length: 16 }, (_, i) => 16 * i + 3)),
        listeners: [{ name: 'CONTROLLER', host: 'node4.example', port: 9093 }],
      },
      response: { errorCode: 0, errorMessage: null },
    },
    {
      request: { clusterId: 'cluster-1', timeoutMs: 5_000, voterId: 2, voterDirectoryId: bytes(...Array.from({ length: 16 }, () => 7)), listeners: [] },
      response: { errorCode: 126, errorMessage: 'node 2 is already a voter' },
    },
  ],
  'raft.remove-voter': [
    {
      request: { clusterId: 'cluster-1', voterId: 1, voterDirectoryId: bytes(...Array.from({ length: 16 }, () => 0)) },
      response: { errorCode: 0, errorMessage: null },
    },
    {
      request: { clusterId: 'cluster-1', voterId: 9, voterDirectoryId: bytes(...Array.from({ length: 16 }, (_, i) => i)) },
      response: { errorCode: 127, errorMessage: 'node 9 is not a voter' },
    },
  ],
  'controller.register-broker': [{
    request: {
      brokerId: 3, clusterId: 'cluster-1', incarnationId: bytes(...Array.from({ length: 16 }, (_, i) => 200 - i)),
      listeners: [
        { name: 'PLAINTEXT', host: 'node3.example', port: 9092, securityProtocol: 'PLAINTEXT' },
        { name: 'INTERNAL', host: '10.0.0.3', port: 19092, securityProtocol: 'SASL_SSL' },
      ],
      rack: 'rack-b', previousBrokerEpoch: 41,
    },
    response: { errorCode: 0, brokerEpoch: 57 },
  }],
  'controller.heartbeat': [{
    request: { brokerId: 3, brokerEpoch: 57, currentMetadataOffset: 480, wantFence: false, wantShutDown: true },
    response: { errorCode: 0, isCaughtUp: true, isFenced: false, shouldShutDown: true },
  }],
  'controller.alter-partition': [{
    request: {
      brokerId: 1, brokerEpoch: 12,
      topics: [{ topicId: TOPIC_A.topicId, partitions: [{ partitionIndex: 1, leaderEpoch: 4, newIsr: [1, 3], newIsrBrokerEpochs: [12, 7], partitionEpoch: 9 }] }],
    },
    response: {
      errorCode: 0,
      topics: [{ topicId: TOPIC_A.topicId, partitions: [{ partitionIndex: 1, errorCode: 0, leaderId: 1, leaderEpoch: 4, isr: [1, 3], partitionEpoch: 10 }] }],
    },
  }],
  'controller.allocate-producer-ids': [{
    request: { brokerId: 3, brokerEpoch: 57 },
    response: { errorCode: 0, producerIdStart: 5000, producerIdLen: 1000 },
  }],
  'controller.create-topics': [{
    request: {
      topics: [
        { name: 'orders', numPartitions: 6, replicationFactor: 3, assignments: [], configs: { 'retention.ms': '60000', 'cleanup.policy': 'compact' } },
        { name: 'placed', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [2, 3] }], configs: {} },
      ],
      validateOnly: true,
    },
    response: { results: [{ name: 'orders', errorCode: 0, errorMessage: null }, { name: 'placed', errorCode: 36, errorMessage: 'exists' }] },
  }],
  'controller.delete-topics': [{
    request: { names: ['orders', 'gone'] },
    response: { results: [{ name: 'orders', errorCode: 0, errorMessage: null }, { name: 'gone', errorCode: 3, errorMessage: 'no such topic' }] },
  }],
  'controller.create-partitions': [{
    request: { topics: [{ name: 'orders', count: 12 }], validateOnly: false },
    response: { results: [{ name: 'orders', errorCode: 37, errorMessage: 'fewer than now' }] },
  }],
  'controller.alter-configs': [{
    request: { resources: [{ name: 'orders', changes: { 'retention.ms': '1000', 'segment.bytes': null } }], validateOnly: false },
    response: { results: [{ name: 'orders', errorCode: 0, errorMessage: null }] },
  }],
  'controller.elect-leaders': [
    {
      request: { electionType: 1, topicPartitions: [{ topic: 'orders', partitions: [0, 1] }] },
      response: {
        errorCode: 0,
        results: [{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0, errorMessage: null }, { partition: 1, errorCode: 83, errorMessage: 'no eligible' }] }],
      },
    },
    { request: { electionType: 0, topicPartitions: null }, response: { errorCode: 0, results: [] } },
  ],
  'controller.alter-partition-reassignments': [{
    request: { topics: [{ name: 'orders', partitions: [{ partition: 0, replicas: [2, 3] }, { partition: 1, replicas: null }] }] },
    response: {
      errorCode: 0, errorMessage: null,
      results: [{ name: 'orders', partitions: [{ partition: 0, errorCode: 0, errorMessage: null }, { partition: 1, errorCode: 85, errorMessage: 'none' }] }],
    },
  }],
  'controller.list-partition-reassignments': [
    {
      request: { topics: null },
      response: {
        errorCode: 0, errorMessage: null,
        topics: [{ name: 'orders', partitions: [{ partition: 2, replicas: [2, 3, 1], addingReplicas: [2, 3], removingReplicas: [1] }] }],
      },
    },
    { request: { topics: [{ name: 'orders', partitions: [0, 1] }] }, response: { errorCode: 0, errorMessage: null, topics: [] } },
  ],
  'replica.fetch': [{
    request: {
      replicaId: 3, brokerEpoch: 57, maxWaitMs: 500, minBytes: 1, maxBytes: 1 << 20,
      partitions: [
        { topic: 'orders', topicId: TOPIC_A.topicId, partition: 0, currentLeaderEpoch: 4, fetchOffset: 10, lastFetchedEpoch: 3, logStartOffset: 0, partitionMaxBytes: 65536 },
        { topic: 'orders', topicId: TOPIC_A.topicId, partition: 1, currentLeaderEpoch: 4, fetchOffset: 77, lastFetchedEpoch: 4, logStartOffset: 5, partitionMaxBytes: 1024 },
        { topic: 'payments', topicId: TOPIC_B.topicId, partition: 0, currentLeaderEpoch: 2, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 65536 },
      ],
    },
    response: {
      errorCode: 0,
      partitions: [
        { topic: 'orders', partition: 0, errorCode: 0, highWatermark: 12, logStartOffset: 0, divergingEpoch: null, records: bytes(1, 2, 3, 4, 5) },
        { topic: 'orders', partition: 1, errorCode: 0, highWatermark: 80, logStartOffset: 5, divergingEpoch: { epoch: 3, endOffset: 70 }, records: bytes() },
        { topic: 'payments', partition: 0, errorCode: 74, highWatermark: -1, logStartOffset: -1, divergingEpoch: null, records: bytes() },
      ],
    },
  }],
};

/** Plain arrays for byte fields, so Buffer and Uint8Array compare by content. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe('KafkaClusterTransport', () => {
  for (const [rpc, cases] of Object.entries(CASES) as Array<[ClusterRpcName, Array<{ request: unknown; response: unknown }>]>) {
    it(`carries ${rpc} field for field, both ways`, async () => {
      const { peer, transport } = await setup();
      for (const c of cases) {
        peer.received.length = 0;
        peer.answer = () => Promise.resolve(c.response);
        const got = await transport.call(peer.address, rpc, c.request as never, 5_000);
        expect(peer.received.map((r) => ({ rpc: r.rpc, request: plain(r.request) }))).toEqual([{ rpc, request: plain(c.request) }]);
        expect(plain(got)).toEqual(plain(c.response));
      }
    });
  }

  it('reads the successors of an EndQuorumEpoch v0 (by id) as of a v1 (with directory ids)', () => {
    const wire = raftWires['raft.end-quorum-epoch'];
    const partition = { partitionIndex: 0, leaderId: 1, leaderEpoch: 7 };
    const v0 = wire.requestFromWire({ clusterId: 'c', leaderEndpoints: [], topics: [{ topicName: '__cluster_metadata', partitions: [{ ...partition, preferredSuccessors: [3, 2], preferredCandidates: [] }] }] }, 0);
    const v1 = wire.requestFromWire(wire.requestToWire(v0, 5_000) as never, 1);
    expect(v0).toEqual({ clusterId: 'c', leaderId: 1, leaderEpoch: 7, preferredSuccessors: [3, 2] });
    expect(v1).toEqual(v0);
  });

  it('hands fetches a signal that aborts when the fetcher disconnects', async () => {
    const { peer, transport } = await setup();
    peer.answer = (_rpc, _req, signal) => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const call = transport.call(peer.address, 'replica.fetch', CASES['replica.fetch'][0]!.request, 5_000);
    const [first] = await untilReceived(peer, 1);
    expect(first!.signal?.aborted).toBe(false);
    transport.close();
    await expect(call).rejects.toThrow(/closed/);
    await new Promise<void>((resolve) => first!.signal!.addEventListener('abort', () => resolve(), { once: true }));
    expect(first!.signal!.aborted).toBe(true);
  });

  it('answers a KafkaError from the kernel with its code', async () => {
    const { peer, transport } = await setup();
    peer.answer = () => Promise.reject(new KafkaError(41, 'NOT_CONTROLLER', 'not the active controller'));
    expect(await transport.call(peer.address, 'controller.heartbeat', CASES['controller.heartbeat'][0]!.request, 5_000))
      .toEqual({ errorCode: 41, isCaughtUp: false, isFenced: true, shouldShutDown: false });
    expect(await transport.call(peer.address, 'raft.fetch', CASES['raft.fetch'][0]!.request, 5_000))
      .toMatchObject({ errorCode: 41, leaderId: -1, divergingEpoch: null });
    expect(await transport.call(peer.address, 'controller.delete-topics', { names: ['a', 'b'] }, 5_000)).toEqual({
      results: [{ name: 'a', errorCode: 41, errorMessage: null }, { name: 'b', errorCode: 41, errorMessage: null }],
    });
  });

  it('carries the message of a KafkaError from the kernel back with a voter change', async () => {
    const { peer, transport } = await setup();
    peer.answer = () => Promise.reject(new KafkaError(7, 'REQUEST_TIMED_OUT', 'node 4 has not caught up'));
    expect(await transport.call(peer.address, 'raft.add-voter', CASES['raft.add-voter'][0]!.request, 5_000))
      .toEqual({ errorCode: 7, errorMessage: 'node 4 has not caught up' });
    expect(await transport.call(peer.address, 'raft.remove-voter', CASES['raft.remove-voter'][0]!.request, 5_000))
      .toEqual({ errorCode: 7, errorMessage: 'node 4 has not caught up' });
  });

  it('answers a voter change naming another cluster with INCONSISTENT_CLUSTER_ID, without asking the kernel', async () => {
    const { peer, transport } = await setup();
    peer.answer = () => Promise.resolve({ errorCode: 0, errorMessage: null });
    const add = { ...CASES['raft.add-voter'][0]!.request, clusterId: 'cluster-2' };
    expect(await transport.call(peer.address, 'raft.add-voter', add, 5_000)).toMatchObject({ errorCode: 104 });
    const remove = { ...CASES['raft.remove-voter'][0]!.request, clusterId: 'cluster-2' };
    expect(await transport.call(peer.address, 'raft.remove-voter', remove, 5_000)).toMatchObject({ errorCode: 104 });
    expect(peer.received).toEqual([]);
  });

  it('takes a voter change without a cluster id as one for this cluster', async () => {
    const { peer } = await setup();
    peer.answer = () => Promise.resolve({ errorCode: 0, errorMessage: null });
    const client = await KafkaConnection.open('127.0.0.1', peer.port, { clientId: 'tool', connectTimeoutMs: 5_000, responseBytesMax: 1 << 20, lateAnswerMsMax: 0 });
    try {
      const answer = await client.send(ApiKey.RemoveRaftVoter, 0, { clusterId: null, voterId: 3, voterDirectoryId: new Uint8Array(16) }, 5_000);
      expect(answer.errorCode).toBe(0);
    } finally {
      client.close();
    }
    expect(peer.received.map((r) => r.request)).toMatchObject([{ clusterId: 'cluster-1', voterId: 3 }]);
  });

  it('rejects a call not answered in time and keeps the connection for the next', async () => {
    const { peer, transport } = await setup();
    let release: (() => void) | undefined;
    peer.answer = (rpc) => rpc === 'raft.vote'
      ? new Promise((resolve) => { release = () => resolve(CASES['raft.vote'][0]!.response); })
      : Promise.resolve(CASES['raft.begin-quorum-epoch'][0]!.response);
    await expect(transport.call(peer.address, 'raft.vote', CASES['raft.vote'][0]!.request, 50)).rejects.toThrow(/no answer .* within 50 ms/);
    // Kafka answers in order: the next call's answer comes after the abandoned one, on the same connection.
    const next = transport.call(peer.address, 'raft.begin-quorum-epoch', CASES['raft.begin-quorum-epoch'][0]!.request, 5_000);
    await untilReceived(peer, 2);
    release!();
    expect(await next).toEqual({ errorCode: 0 });
    expect(peer.connectionCount).toBe(1);
  });

  it('drops a connection whose abandoned request stays unanswered past lateAnswerMsMax, and reconnects', async () => {
    const peer = await new FakePeer().start();
    peers.push(peer);
    let dropped: () => void = () => undefined;
    const droppedNow = new Promise<void>((resolve) => { dropped = resolve; });
    const log: Logger = { ...quiet, debug: (msg) => { if (msg === 'cluster peer connection closed') dropped(); } };
    const transport = new KafkaClusterTransport(log, { ...CLUSTER_TRANSPORT_LIMITS, lateAnswerMsMax: 50 });
    transports.push(transport);
    peer.answer = (rpc) => rpc === 'raft.vote' ? new Promise(() => undefined) : Promise.resolve({ errorCode: 0 });
    await expect(transport.call(peer.address, 'raft.vote', CASES['raft.vote'][0]!.request, 50)).rejects.toThrow(/within 50 ms/);
    await droppedNow;
    // The silent vote is never answered: this answer can only come on a new connection.
    expect(await transport.call(peer.address, 'raft.begin-quorum-epoch', CASES['raft.begin-quorum-epoch'][0]!.request, 5_000))
      .toEqual({ errorCode: 0 });
  });

  it('reconnects after the peer restarts', async () => {
    const { peer, transport } = await setup();
    peer.answer = () => Promise.resolve(CASES['controller.allocate-producer-ids'][0]!.response);
    const request = CASES['controller.allocate-producer-ids'][0]!.request;
    expect(await transport.call(peer.address, 'controller.allocate-producer-ids', request, 5_000)).toMatchObject({ producerIdStart: 5000 });
    const port = peer.port;
    await peer.stop();
    await expect(transport.call(peer.address, 'controller.allocate-producer-ids', request, 5_000)).rejects.toThrow();
    await expect(transport.call(peer.address, 'controller.allocate-producer-ids', request, 5_000)).rejects.toThrow();
    await peer.start(port);
    // Within the call's timeout: waits out the reconnect backoff, then connects.
    expect(await transport.call(peer.address, 'controller.allocate-producer-ids', request, 5_000)).toMatchObject({ producerIdStart: 5000 });
    expect(peer.connectionCount).toBe(1);
  });

  it('keeps at most inFlightRequestsMax calls on the wire per peer; the others wait for a slot within their timeout', async () => {
    const peer = await new FakePeer().start();
    peers.push(peer);
    const transport = new KafkaClusterTransport(quiet, { ...CLUSTER_TRANSPORT_LIMITS, inFlightRequestsMax: 1 });
    transports.push(transport);
    let release: (() => void) | undefined;
    peer.answer = () => new Promise((resolve) => { release = () => resolve(CASES['controller.heartbeat'][0]!.response); });
    const request = CASES['controller.heartbeat'][0]!.request;
    const first = transport.call(peer.address, 'controller.heartbeat', request, 5_000);
    await untilReceived(peer, 1);
    await expect(transport.call(peer.address, 'controller.heartbeat', request, 50)).rejects.toThrow(/1 requests in flight/);
    const third = transport.call(peer.address, 'controller.heartbeat', request, 5_000);
    release!();
    await first;
    await untilReceived(peer, 2);
    release!();
    expect(await third).toEqual(CASES['controller.heartbeat'][0]!.response);
    expect(peer.received).toHaveLength(2);
  });

  it('gives admin requests from clients to the client handlers, not to the controller RPCs', async () => {
    const { peer } = await setup();
    const client = await KafkaConnection.open('127.0.0.1', peer.port, { clientId: 'admin', connectTimeoutMs: 5_000, responseBytesMax: 1 << 20, lateAnswerMsMax: 0 });
    try {
      const answer = await client.send(ApiKey.DeleteTopics, 6, { topics: [{ name: 'nowhere', topicId: new Uint8Array(16) }], timeoutMs: 1000 }, 5_000);
      expect(answer.responses.map((r) => r.errorCode)).toEqual([3]);
    } finally {
      client.close();
    }
    expect(peer.received).toEqual([]);
  });

  it('takes a follower fetch at an older Fetch version (replica_id field, topics by name) and a Raft fetch by name', async () => {
    const { peer } = await setup();
    const response = CASES['replica.fetch'][0]!.response;
    peer.answer = (rpc) => Promise.resolve(rpc === 'raft.fetch' ? CASES['raft.fetch'][1]!.response : response);
    const client = await KafkaConnection.open('127.0.0.1', peer.port, { clientId: 'old-follower', connectTimeoutMs: 5_000, responseBytesMax: 1 << 20, lateAnswerMsMax: 0 });
    try {
      const partition = (p: number) => ({ partition: p, currentLeaderEpoch: 4, fetchOffset: 10, lastFetchedEpoch: 3, logStartOffset: 0, partitionMaxBytes: 100 });
      const answer = await client.send(ApiKey.Fetch, 11, {
        replicaId: 3, maxWaitMs: 10, minBytes: 1, maxBytes: 1000, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: '',
        forgottenTopicsData: [], topics: [{ topic: 'orders', partitions: [partition(0), partition(1)] }, { topic: 'payments', partitions: [partition(0)] }],
      }, 5_000);
      expect(peer.received[0]!.rpc).toBe('replica.fetch');
      expect(peer.received[0]!.request).toMatchObject({
        replicaId: 3, brokerEpoch: -1, maxWaitMs: 10, minBytes: 1, maxBytes: 1000,
        partitions: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }, { topic: 'payments', partition: 0 }],
      });
      expect(answer.responses.map((t) => [t.topic, t.partitions.map((p) => [p.partitionIndex, p.errorCode, p.highWatermark])])).toEqual([
        ['orders', [[0, 0, 12], [1, 0, 80]]], ['payments', [[0, 74, -1]]],
      ]);
      const raft = await client.send(ApiKey.Fetch, 12, {
        clusterId: 'cluster-1', replicaId: 5, maxWaitMs: 0, minBytes: 0, maxBytes: 1000, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        rackId: '', forgottenTopicsData: [],
        topics: [{ topic: '__cluster_metadata', partitions: [{ partition: 0, currentLeaderEpoch: 7, fetchOffset: 500, lastFetchedEpoch: 5, logStartOffset: -1, partitionMaxBytes: 100 }] }],
      }, 5_000);
      expect(peer.received[1]).toMatchObject({
        rpc: 'raft.fetch', request: { clusterId: 'cluster-1', replicaId: 5, epoch: 7, fetchOffset: 500, lastFetchedEpoch: 5 },
      });
      expect(raft.responses[0]!.partitions[0]!.divergingEpoch).toEqual({ epoch: 5, endOffset: 450 });
    } finally {
      client.close();
    }
  });

  it('rejects calls after close', async () => {
    const { peer, transport } = await setup();
    transport.close();
    await expect(transport.call(peer.address, 'controller.allocate-producer-ids', { brokerId: 1, brokerEpoch: 1 }, 1_000)).rejects.toThrow(/closed/);
  });
});

async function untilReceived(peer: FakePeer, count: number): Promise<Received[]> {
  // The peer's handler is reached through the socket: yield to I/O until it has been.
  while (peer.received.length < count) await new Promise((resolve) => setImmediate(resolve));
  return peer.received;
}
