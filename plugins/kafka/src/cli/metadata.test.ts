import { CliUsageError, parseArgs } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { uuidToString } from '../protocol/index.js';
import { quorumStatus } from './cluster-health.js';
import { renderQuorumStatus, renderReplication, voterChange } from './metadata.js';

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

describe('metadata quorum describe with the voters\' endpoints', () => {
  it('--status prints each voter with its endpoints when DescribeQuorum v2 carries them', () => {
    const withNodes = quorumStatus({
      partitionIndex: 0, errorCode: 0, errorMessage: null, leaderId: 2, leaderEpoch: 4, highWatermark: 10,
      currentVoters: [replica(2, 10, -1, 2_000), replica(4, 10, 1_990, 1_990)], observers: [],
    }, [
      { nodeId: 2, listeners: [{ name: 'CONTROLLER', host: '10.0.0.2', port: 9093 }] },
      { nodeId: 4, listeners: [{ name: 'CONTROLLER', host: '::1', port: 9095 }, { name: 'CTRL_TLS', host: 'node4', port: 9096 }] },
    ]);
    expect(renderQuorumStatus('MkU3OEVBNTcwNTJENDM2Qg', withNodes)).toContain(
      'CurrentVoters:          [{"id": 2, "endpoints": ["CONTROLLER://10.0.0.2:9093"]}, ' +
      '{"id": 4, "endpoints": ["CONTROLLER://[::1]:9095", "CTRL_TLS://node4:9096"]}]\n');
  });
});

describe('metadata quorum add-controller / remove-controller arguments', () => {
  const SPEC = { values: ['bootstrap-server', 'bootstrap-controller', 'config', 'controller-id', 'controller-directory-id'] };
  const change = (verb: 'add-controller' | 'remove-controller', argv: string[]) => voterChange(verb, parseArgs(argv, SPEC));
  const usageError = (verb: 'add-controller' | 'remove-controller', argv: string[]): string => {
    try {
      change(verb, argv);
    } catch (e) {
      expect(e).toBeInstanceOf(CliUsageError);
      return (e as Error).message;
    }
    throw new Error(`accepted ${argv.join(' ')}`);
  };

  it('add-controller takes the new node\'s config file', () => {
    expect(change('add-controller', ['--config', 'node4.properties', '--bootstrap-controller', 'h:9093'])).toEqual({ kind: 'add', config: 'node4.properties' });
    expect(usageError('add-controller', ['--bootstrap-controller', 'h:9093'])).toMatch(/needs --config/);
    expect(usageError('add-controller', ['--config', 'a', '--controller-id', '4'])).toMatch(/reads the node id/);
    expect(usageError('add-controller', ['--config', 'a', 'extra'])).toMatch(/no positional/);
  });

  it('remove-controller takes a voter id and, optionally, its directory id', () => {
    const any = change('remove-controller', ['--controller-id', '1']);
    expect(any).toMatchObject({ kind: 'remove', voterId: 1 });
    expect(any.kind === 'remove' && [...any.directoryId]).toEqual(new Array(16).fill(0));
    const exact = change('remove-controller', ['--controller-id', '3', '--controller-directory-id', 'Qmx1ZVNreUF0TmlnaHQhIQ']);
    expect(exact.kind === 'remove' && uuidToString(exact.directoryId)).toBe('Qmx1ZVNreUF0TmlnaHQhIQ');
    expect(usageError('remove-controller', [])).toMatch(/needs --controller-id/);
    expect(usageError('remove-controller', ['--controller-id', '-1'])).toMatch(/integer/);
    expect(usageError('remove-controller', ['--controller-id', '1', '--controller-directory-id', 'nope'])).toMatch(/not a directory id/);
    expect(usageError('remove-controller', ['--controller-id', '1', '--config', 'x'])).toMatch(/not --config/);
  });

  it('asks one node: --bootstrap-server or --bootstrap-controller, as host:port', () => {
    expect(usageError('remove-controller', ['--controller-id', '1', '--bootstrap-server', 'a:1', '--bootstrap-controller', 'b:2'])).toMatch(/one of/);
    expect(usageError('remove-controller', ['--controller-id', '1', '--bootstrap-controller', 'nohost'])).toMatch(/host:port/);
  });
});
