/**
 * Transaction markers go to each partition's leader: in-process here, over WriteTxnMarkers
 * (served by the plugin's real dispatcher and server) to another node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaError, type BrokerDescription, type HookRunner, type Kernel, type Logger, type PartitionHandle } from '@sluice/sdk';
import { allApis } from '../apis/index.js';
import { Dispatcher, type SharedContext } from '../dispatcher.js';
import { FetchSessions } from '../fetch-sessions.js';
import { KafkaServer } from '../server/server.js';
import { ClusterMarkerWriter } from './marker-writer.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const noHooks = { hasHandlers: () => false } as unknown as HookRunner;

interface Marker { producerId: number; producerEpoch: number; coordinatorEpoch: number; commit: boolean }

/** A partition handle that records markers, or refuses them with `refusal`. */
function markerHandle(written: Marker[], refusal?: KafkaError): PartitionHandle {
  return {
    writeTxnMarker: (producerId: number, producerEpoch: number, coordinatorEpoch: number, commit: boolean) => {
      if (refusal !== undefined) return Promise.reject(refusal);
      written.push({ producerId, producerEpoch, coordinatorEpoch, commit });
      return Promise.resolve({});
    },
  } as unknown as PartitionHandle;
}

const servers: KafkaServer[] = [];
const writers: ClusterMarkerWriter[] = [];
afterEach(async () => {
  for (const w of writers.splice(0)) w.close();
  for (const s of servers.splice(0)) await s.close();
});

/** Node 2, leading `t-0`: the Kafka plugin's dispatcher over a kernel holding only that partition. */
async function leaderNode(written: Marker[], refusal?: KafkaError): Promise<number> {
  const kernel = { nodeId: 2, partition: (topic: string, p: number) => (topic === 't' && p === 0 ? markerHandle(written, refusal) : undefined) } as unknown as Kernel;
  const shared = {
    kernel, broker: { nodeId: 2, clusterId: 'c', listeners: [], advertisedListeners: [], props: {} }, log: quiet,
    signal: new AbortController().signal, hooks: noHooks, fetchSessions: new FetchSessions(10), groups: { completeTransaction() {} },
  } as unknown as SharedContext;
  const server = new KafkaServer(new Dispatcher(allApis, shared).handle, {
    requestSizeBytesMax: 1 << 20, idleMsMax: 60_000, inFlightRequestsMax: 16, writeBufferBytesMax: 1 << 20,
  }, quiet);
  servers.push(server);
  const [bound] = await server.listen([{ name: 'PLAINTEXT', host: '127.0.0.1', port: 0, securityProtocol: 'PLAINTEXT' }]);
  return bound!.port;
}

/** Node 1 (the coordinator), seeing `t-0` led by `leader`. */
function coordinatorWriter(leader: number, peerPort: number, local: Marker[] = []): ClusterMarkerWriter {
  const brokers: BrokerDescription[] = [
    { nodeId: 1, rack: null, fenced: false, listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 1, securityProtocol: 'PLAINTEXT' }] },
    { nodeId: 2, rack: null, fenced: false, listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: peerPort, securityProtocol: 'PLAINTEXT' }] },
  ];
  const kernel = {
    nodeId: 1,
    topicPartitions: (topic: string) => (topic === 't' ? [{ partition: 0, leader, leaderEpoch: 0, replicas: [1, 2], isr: [1, 2] }] : []),
    partition: (topic: string) => (topic === 't' && leader === 1 ? markerHandle(local) : undefined),
    brokers: () => brokers,
  } as unknown as Kernel;
  const writer = new ClusterMarkerWriter(kernel, quiet);
  writers.push(writer);
  return writer;
}

describe('ClusterMarkerWriter', () => {
  it('writes in-process when this node leads the partition', async () => {
    const local: Marker[] = [];
    expect(await coordinatorWriter(1, 0, local).write('t', 0, 7, 1, 3, true)).toBe('written');
    expect(local).toEqual([{ producerId: 7, producerEpoch: 1, coordinatorEpoch: 3, commit: true }]);
  });

  it('sends WriteTxnMarkers to the leader when another node leads the partition', async () => {
    const remote: Marker[] = [];
    const writer = coordinatorWriter(2, await leaderNode(remote));
    expect(await writer.write('t', 0, 7, 1, 3, false)).toBe('written');
    expect(remote).toEqual([{ producerId: 7, producerEpoch: 1, coordinatorEpoch: 3, commit: false }]);
  });

  it('rejects with the leader refusal, by Kafka name, so the coordinator knows a fenced marker', async () => {
    const writer = coordinatorWriter(2, await leaderNode([], new KafkaError(52, 'TRANSACTION_COORDINATOR_FENCED', 'older coordinator')));
    await expect(writer.write('t', 0, 7, 1, 3, true)).rejects.toMatchObject({ code: 52, codeName: 'TRANSACTION_COORDINATOR_FENCED' });
  });

  it('reports a partition without a leader as retriable and a deleted one as gone', async () => {
    await expect(coordinatorWriter(-1, 0).write('t', 0, 7, 1, 3, true)).rejects.toMatchObject({ codeName: 'NOT_LEADER_OR_FOLLOWER' });
    expect(await coordinatorWriter(1, 0).write('gone', 0, 7, 1, 3, true)).toBe('partition-gone');
  });
});
