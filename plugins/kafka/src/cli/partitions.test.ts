import { describe, expect, it } from 'vitest';
import { renderElection } from './partitions.js';

describe('partitions elect-leaders output', () => {
  it('separates elected, already elected and failed partitions, naming the error', () => {
    const text = renderElection('preferred', [
      { topic: 'a', partition: 0, errorCode: 0, errorMessage: null },
      { topic: 'a', partition: 1, errorCode: 84, errorMessage: null },
      { topic: 'b', partition: 0, errorCode: 0, errorMessage: null },
      { topic: 'b', partition: 1, errorCode: 83, errorMessage: 'replica 1 is not in the ISR' },
    ]);
    expect(text).toBe([
      'Successfully completed leader election (PREFERRED) for partitions a-0, b-0',
      'Valid replica already elected for partitions a-1',
      'Error completing leader election (PREFERRED) for partition: b-1: ELIGIBLE_LEADERS_NOT_AVAILABLE (replica 1 is not in the ISR)',
      '',
    ].join('\n'));
  });

  it('says so when nothing was elected', () => {
    expect(renderElection('unclean', [])).toBe('No partition needed a leader election (UNCLEAN)\n');
  });
});
