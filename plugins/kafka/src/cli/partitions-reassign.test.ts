import { CliUsageError } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { parseReassignmentJson, renderOngoing, renderVerify } from './partitions-reassign.js';

describe('partitions reassign: the reassignment file', () => {
  it('reads kafka-reassign-partitions.sh\'s format', () => {
    const text = JSON.stringify({ version: 1, partitions: [{ topic: 'a', partition: 0, replicas: [2, 3], log_dirs: ['any', 'any'] }, { topic: 'a', partition: 1, replicas: [1] }] });
    expect(parseReassignmentJson(text)).toEqual([{ topic: 'a', partition: 0, replicas: [2, 3] }, { topic: 'a', partition: 1, replicas: [1] }]);
  });

  it('refuses what the controller would refuse or cannot mean anything', () => {
    const bad = [
      'not json', '{}', '{"version":2,"partitions":[]}', '{"partitions":[]}',
      '{"partitions":[{"topic":"a","partition":0,"replicas":[]}]}',
      '{"partitions":[{"topic":"a","partition":0,"replicas":[1,1]}]}',
      '{"partitions":[{"topic":"a","partition":-1,"replicas":[1]}]}',
      '{"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}',
    ];
    for (const text of bad) expect(() => parseReassignmentJson(text), text).toThrow(CliUsageError);
  });
});

describe('partitions reassign: output', () => {
  it('--verify: completed, in progress, or not moved', () => {
    const targets = [{ topic: 'a', partition: 0, replicas: [2, 3] }, { topic: 'a', partition: 1, replicas: [2] }, { topic: 'b', partition: 0, replicas: [3] }];
    const ongoing = [{ topic: 'a', partition: 1, replicas: [2, 1], addingReplicas: [2], removingReplicas: [1] }];
    const current = [{ topic: 'a', partition: 0, replicas: [2, 3] }, { topic: 'a', partition: 1, replicas: [2, 1] }, { topic: 'b', partition: 0, replicas: [1] }];
    expect(renderVerify(targets, ongoing, current)).toEqual({
      done: false,
      text: [
        'Status of partition reassignment:',
        'Reassignment of partition a-0 is completed.',
        'Reassignment of partition a-1 is still in progress.',
        'There is no active reassignment of partition b-0, but replica set is 1 rather than 3.',
        '',
      ].join('\n'),
    });
    expect(renderVerify(targets.slice(0, 1), [], current).done).toBe(true);
  });

  it('--list', () => {
    expect(renderOngoing([])).toBe('No partition reassignments found.\n');
    expect(renderOngoing([{ topic: 'a', partition: 1, replicas: [2, 1], addingReplicas: [2], removingReplicas: [1] }]))
      .toBe('Current partition reassignments:\na-1: replicas: 2,1. adding: 2. removing: 1.\n');
  });
});
