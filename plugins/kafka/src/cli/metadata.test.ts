import { describe, expect, it } from 'vitest';
import { quorumStatus } from './cluster-health.js';
import { renderQuorumStatus, renderReplication } from './metadata.js';

const replica = (replicaId: number, logEndOffset: number, lastFetchTimestamp: number, lastCaughtUpTimestamp: number) =>
  ({ replicaId, replicaDirectoryId: new Uint8Array(16), logEndOffset, lastFetchTimestamp, lastCaughtUpTimestamp });

const quorum = quorumStatus({
  partitionIndex: 0, errorCode: 0, errorMessage: null, leaderId: 3, leaderEpoch: 2, highWatermark: 10,
  currentVoters: [replica(1, 8, 1_900, 1_500), replica(3, 10, -1, 2_000), replica(2, 10, 1_990, 1_990)],
  observers: [replica(4, 10, 1_995, 1_995)],
});

describe('metadata quorum describe', () => {
  it('--status prints the summary as kafka-metadata-quorum.sh does', () => {
    expect(renderQuorumStatus('MkU3OEVBNTcwNTJENDM2Qg', quorum)).toBe([
      'ClusterId:              MkU3OEVBNTcwNTJENDM2Qg',
      'LeaderId:               3',
      'LeaderEpoch:            2',
      'HighWatermark:          10',
      'MaxFollowerLag:         2',
      'MaxFollowerLagTimeMs:   500',
      'CurrentVoters:          [1,3,2]',
      'CurrentObservers:       [4]',
      '',
    ].join('\n'));
  });

  it('--replication lists the leader, then the followers, then the observers', () => {
    const lines = renderReplication(quorum, true, 2_000).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NodeId\s+LogEndOffset\s+Lag\s+LastFetchTimestamp\s+LastCaughtUpTimestamp\s+Status$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/))).toEqual([
      ['3', '10', '0', '-', '0 ms ago', 'Leader'],
      ['1', '8', '2', '100 ms ago', '500 ms ago', 'Follower'],
      ['2', '10', '0', '10 ms ago', '10 ms ago', 'Follower'],
      ['4', '10', '0', '5 ms ago', '5 ms ago', 'Observer'],
    ]);
    expect(renderReplication(quorum, false, 2_000)).toContain('1900');
  });
});
