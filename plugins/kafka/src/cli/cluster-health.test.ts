import { describe, expect, it } from 'vitest';
import { partitionHealth, quorumStatus } from './cluster-health.js';

const replica = (replicaId: number, logEndOffset: number, lastCaughtUpTimestamp = -1, lastFetchTimestamp = -1) =>
  ({ replicaId, replicaDirectoryId: new Uint8Array(16), logEndOffset, lastFetchTimestamp, lastCaughtUpTimestamp });

const quorumPartition = (over: Partial<Parameters<typeof quorumStatus>[0]> = {}) => ({
  partitionIndex: 0, errorCode: 0, errorMessage: null, leaderId: 2, leaderEpoch: 7, highWatermark: 95,
  currentVoters: [replica(1, 90, 1_000), replica(2, 100, 5_000), replica(3, 100, 5_000)],
  observers: [replica(4, 40)],
  ...over,
});

describe('quorumStatus', () => {
  it('measures each replica against the leader\'s log end and names the roles', () => {
    const q = quorumStatus(quorumPartition());
    expect(q.voters.map((v) => [v.nodeId, v.role, v.lag])).toEqual([[1, 'Follower', 10], [2, 'Leader', 0], [3, 'Follower', 0]]);
    expect(q.observers).toEqual([expect.objectContaining({ nodeId: 4, role: 'Observer', lag: 60 })]);
    expect(q.maxFollowerLag).toBe(10);
    // The furthest-behind voter was last caught up 4 s before the leader's own time.
    expect(q.maxFollowerLagTimeMs).toBe(4_000);
  });

  it('reports no lag when every voter is at the leader\'s log end', () => {
    const q = quorumStatus(quorumPartition({ currentVoters: [replica(1, 100), replica(2, 100), replica(3, 100)] }));
    expect(q.maxFollowerLag).toBe(0);
    expect(q.maxFollowerLagTimeMs).toBe(0);
  });

  it('leaves lag unknown (-1) without a known leader or log end', () => {
    const q = quorumStatus(quorumPartition({ leaderId: -1 }));
    expect(q.voters.every((v) => v.role === 'Follower' && v.lag === -1)).toBe(true);
    expect(q.maxFollowerLagTimeMs).toBe(-1);
    const unknownEnd = quorumStatus(quorumPartition({ currentVoters: [replica(1, -1), replica(2, 100), replica(3, 100)] }));
    expect(unknownEnd.voters[0]!.lag).toBe(-1);
  });
});

describe('partitionHealth', () => {
  const partition = (partitionIndex: number, leaderId: number, replicaNodes: number[], isrNodes: number[]) =>
    ({ errorCode: 0, partitionIndex, leaderId, leaderEpoch: 0, replicaNodes, isrNodes, offlineReplicas: [] });
  const topic = (name: string | null, partitions: ReturnType<typeof partition>[], errorCode = 0) =>
    ({ errorCode, name, topicId: new Uint8Array(16), isInternal: false, partitions, topicAuthorizedOperations: 0 });

  it('lists partitions with fewer in-sync replicas than replicas, and those without a leader, in order', () => {
    const health = partitionHealth({
      throttleTimeMs: 0, brokers: [], clusterId: 'c', controllerId: 1, clusterAuthorizedOperations: 0,
      topics: [
        topic('b', [partition(1, -1, [1, 2, 3], [3]), partition(0, 1, [1, 2, 3], [1, 2, 3])]),
        topic('a', [partition(0, 2, [1, 2, 3], [2, 3])]),
        topic(null, [partition(0, -1, [1], [])], 3),
      ],
    });
    expect(health.partitionCount).toBe(3);
    expect(health.underReplicated.map((p) => `${p.topic}-${p.partition}`)).toEqual(['a-0', 'b-1']);
    expect(health.offline.map((p) => `${p.topic}-${p.partition}`)).toEqual(['b-1']);
  });
});
