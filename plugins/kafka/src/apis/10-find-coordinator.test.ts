/**
 * FindCoordinator answers with the leader of the key's partition of the coordinator topic,
 * from the metadata, at that broker's listener named like the one the client used.
 */
import type { BrokerDescription, Kernel, PartitionDescription, TopicConfigs, TopicDescription } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { GroupError as E } from '../groups/errors.js';
import { OFFSETS_TOPIC, partitionForGroup } from '../groups/offsets-store.js';
import { TRANSACTION_STATE_TOPIC } from '../transactions/state-log.js';
import type { RequestContext } from './api.js';
import { findCoordinatorApi } from './10-find-coordinator.js';

const PARTITIONS = 4;
const SELF = 1;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const listener = (host: string, port: number) => ({ name: 'PLAINTEXT', host, port, securityProtocol: 'PLAINTEXT' });

/** A metadata view: `leaders[p]` leads partition p of both coordinator topics (none when `topics` is false). */
function context(leaders: number[], apiVersion: number, opts: { topics?: boolean; brokers?: BrokerDescription[] } = {}) {
  const created: string[] = [];
  const exists = opts.topics ?? true;
  const partitions = (name: string): PartitionDescription[] => (exists && (name === OFFSETS_TOPIC || name === TRANSACTION_STATE_TOPIC)
    ? leaders.map((leader, partition) => ({ partition, leader, leaderEpoch: 0, replicas: [1, 2, 3], isr: [1, 2, 3] }))
    : []);
  const kernel = {
    nodeId: SELF,
    topicPartitions: partitions,
    brokers: () => opts.brokers ?? [
      { nodeId: 1, rack: null, fenced: false, listeners: [listener('b1', 9092)] },
      { nodeId: 2, rack: null, fenced: false, listeners: [listener('b2', 9093), { ...listener('b2-int', 19093), name: 'INTERNAL' }] },
      { nodeId: 3, rack: null, fenced: true, listeners: [listener('b3', 9094)] },
    ],
    createTopic: (name: string, count: number, configs: TopicConfigs): Promise<TopicDescription> => {
      created.push(name);
      return Promise.resolve({ name, topicId: new Uint8Array(16), partitions: count, configs });
    },
  } as unknown as Kernel;
  const ctx = {
    kernel, apiVersion, log: quiet,
    broker: { nodeId: SELF, clusterId: 'c', listeners: [listener('', 9092)], advertisedListeners: [listener('self.example', 9092)], props: {} },
    connection: { listener: 'PLAINTEXT', localAddress: '127.0.0.1' },
    groups: { partitionFor: (key: string) => partitionForGroup(key, PARTITIONS), config: { offsetsTopicPartitions: PARTITIONS, offsetsTopicSegmentBytes: 1 } },
    transactions: { partitionFor: (key: string) => partitionForGroup(key, PARTITIONS), config: { stateLogPartitions: PARTITIONS, stateLogSegmentBytes: 1 } },
  } as unknown as RequestContext;
  return { ctx, created };
}

/** A key hashed to `partition`. */
function keyIn(partition: number): string {
  for (let i = 0; ; i++) if (partitionForGroup(`k${i}`, PARTITIONS) === partition) return `k${i}`;
}

type Single = { errorCode: number; nodeId: number; host: string; port: number };
type Batched = { coordinators: Array<Single & { key: string }> };
const single = (ctx: RequestContext, key: string, keyType = 0) => findCoordinatorApi.handle({ key, keyType, coordinatorKeys: [] } as never, ctx) as unknown as Single;
const batched = (ctx: RequestContext, keys: string[], keyType = 0) => findCoordinatorApi.handle({ key: '', keyType, coordinatorKeys: keys } as never, ctx) as unknown as Batched;

describe('FindCoordinator', () => {
  it('names the broker that leads the group partition, at its listener of the same name', () => {
    const { ctx } = context([2, 2, 2, 2], 3);
    expect(single(ctx, 'g')).toMatchObject({ errorCode: E.NONE, nodeId: 2, host: 'b2', port: 9093 });
  });

  it('answers per key with each key partition leader (v4+), transactional ids too', () => {
    const { ctx } = context([1, 2, -1, 3], 4);
    const keys = [keyIn(0), keyIn(1), keyIn(2), keyIn(3)];
    const r = batched(ctx, keys, 1).coordinators;
    expect(r.map((c) => [c.key, c.errorCode, c.nodeId, c.host])).toEqual([
      [keys[0], E.NONE, 1, 'self.example'],
      [keys[1], E.NONE, 2, 'b2'],
      // No leader, and a fenced leader's address is not handed out.
      [keys[2], E.COORDINATOR_NOT_AVAILABLE, -1, ''],
      [keys[3], E.COORDINATOR_NOT_AVAILABLE, -1, ''],
    ]);
  });

  it('names the leader at its first listener when none is named like the client one, as Metadata does', () => {
    const { ctx } = context([2, 2, 2, 2], 3, { brokers: [{ nodeId: 2, rack: null, fenced: false, listeners: [{ ...listener('b2-int', 19093), name: 'INTERNAL' }] }] });
    expect(single(ctx, 'g')).toMatchObject({ errorCode: E.NONE, nodeId: 2, host: 'b2-int', port: 19093 });
  });

  it('is COORDINATOR_NOT_AVAILABLE when the leader is not a known live broker', () => {
    const { ctx } = context([5, 5, 5, 5], 3);
    expect(single(ctx, 'g').errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
  });

  it('asks for the coordinator topic when it does not exist yet, answering COORDINATOR_NOT_AVAILABLE', () => {
    const { ctx, created } = context([], 3, { topics: false });
    expect(single(ctx, 'g').errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
    expect(single(ctx, 't', 1).errorCode).toBe(E.COORDINATOR_NOT_AVAILABLE);
    expect(created).toEqual([OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC]);
  });

  it('refuses share groups and unknown key types', () => {
    const { ctx } = context([1, 1, 1, 1], 4);
    expect(batched(ctx, ['s'], 2).coordinators[0]!.errorCode).toBe(E.INVALID_REQUEST);
  });
});
