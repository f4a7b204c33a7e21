import { describe, expect, it } from 'vitest';
import { renderStatus, type ClusterStatus } from './cluster.js';

const base: ClusterStatus = {
  clusterId: 'MkU3OEVBNTcwNTJENDM2Qg',
  activeControllerId: 2,
  brokers: [
    { id: 1, host: '127.0.0.1', port: 9092, rack: 'a' },
    { id: 2, host: '127.0.0.1', port: 9192, rack: null },
  ],
  quorum: {
    leaderId: 2, leaderEpoch: 4, highWatermark: 50, maxFollowerLag: 3, maxFollowerLagTimeMs: 20,
    voters: [
      { nodeId: 1, role: 'Follower', logEndOffset: 47, lag: 3, lastFetchTimestampMs: 990, lastCaughtUpTimestampMs: 980 },
      { nodeId: 2, role: 'Leader', logEndOffset: 50, lag: 0, lastFetchTimestampMs: -1, lastCaughtUpTimestampMs: 1_000 },
    ],
    observers: [],
  },
  quorumError: null,
  partitions: {
    partitionCount: 4,
    underReplicated: [{ topic: 't', partition: 1, leader: 1, replicas: [1, 2, 3], isr: [1] }],
    offline: [{ topic: 't', partition: 2, leader: -1, replicas: [3], isr: [3] }],
  },
};

describe('cluster status output', () => {
  it('prints brokers, controller, quorum progress and the unhealthy partitions', () => {
    const text = renderStatus(base, 1_000);
    expect(text).toContain('Active controller:  2\n');
    expect(text).toMatch(/ID\s+HOST:PORT\s+RACK\n\s+1\s+127\.0\.0\.1:9092\s+a\n\s+2\s+127\.0\.0\.1:9192\s+-\n/);
    expect(text).toContain('Quorum:             leader 2, epoch 4, high watermark 50, max follower lag 3\n');
    expect(text).toMatch(/\n\s+1\s+Follower\s+47\s+3\s+10 ms ago\s+20 ms ago\n/);
    expect(text).toContain('Partitions:         4, under-replicated 1, offline 1\n');
    expect(text).toMatch(/Under-replicated partitions:\n\s+TOPIC\s+PARTITION\s+LEADER\s+REPLICAS\s+ISR\n\s+t\s+1\s+1\s+\[1,2,3\]\s+\[1\]\n/);
    expect(text).toMatch(/Offline partitions:\n.*\n\s+t\s+2\s+none\s+\[3\]\s+\[3\]\n$/);
  });

  it('names why the quorum is missing and prints no partition lists when all are healthy', () => {
    const text = renderStatus({
      ...base, quorum: null, quorumError: 'DescribeQuorum: NOT_CONTROLLER',
      partitions: { partitionCount: 4, underReplicated: [], offline: [] },
    }, 1_000);
    expect(text).toContain('Quorum:             not described: DescribeQuorum: NOT_CONTROLLER\n');
    expect(text).not.toContain('Under-replicated partitions');
    expect(text).not.toContain('Offline partitions');
  });
});
