import { describe, expect, it } from 'vitest';
import type { PartitionState } from '../metadata/metadata-image.js';
import { buildPartitionChange, isrWithout, type Election } from './partition-change.js';

const topicId = Buffer.alloc(16, 1);
const state = (over: Partial<PartitionState> = {}): PartitionState =>
  ({ replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 4, partitionEpoch: 9, ...over });
const change = (current: PartitionState, election: Election, eligible: number[], targetIsr?: number[]) => buildPartitionChange({
  topicId, partitionId: 0, current, election, eligible: (id) => eligible.includes(id), ...(targetIsr ? { targetIsr } : {}),
});

describe('buildPartitionChange', () => {
  it('nothing to change gives no record', () => {
    expect(change(state(), 'isr', [1, 2, 3])).toBeUndefined();
    expect(change(state(), 'preferred', [1, 2, 3])).toBeUndefined();
  });

  it('keeps an eligible leader in the ISR; else the first eligible ISR member in replica order', () => {
    expect(change(state(), 'isr', [1, 2, 3], [1, 3])).toEqual({ type: 'partition-change', topicId, partitionId: 0, isr: [1, 3] });
    expect(change(state({ isr: [3, 2, 1] }), 'isr', [2, 3], [3, 2])).toMatchObject({ leader: 2, isr: [3, 2] });
  });

  it('preferred moves leadership to the first replica only when it is in the ISR and eligible', () => {
    expect(change(state({ leader: 2 }), 'preferred', [1, 2, 3])).toMatchObject({ leader: 1 });
    expect(change(state({ leader: 2, isr: [2, 3] }), 'preferred', [1, 2, 3])).toBeUndefined();
    expect(change(state({ leader: 2 }), 'preferred', [2, 3])).toBeUndefined();
  });

  it('no eligible ISR member: offline (-1), or with unclean the first eligible replica and an ISR of it alone', () => {
    expect(change(state({ isr: [1] }), 'isr', [2, 3])).toEqual({ type: 'partition-change', topicId, partitionId: 0, leader: -1 });
    expect(change(state({ isr: [1] }), 'unclean', [3])).toMatchObject({ leader: 3, isr: [3] });
    expect(change(state({ isr: [1] }), 'unclean', [])).toMatchObject({ leader: -1 });
  });

  it('isrWithout keeps the last member', () => {
    expect(isrWithout([1, 2], 1)).toEqual([2]);
    expect(isrWithout([1], 1)).toEqual([1]);
  });
});
