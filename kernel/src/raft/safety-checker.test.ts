import { describe, expect, it } from 'vitest';
import { SafetyChecker } from './safety-checker.js';
import type { LogEntry } from './types.js';

function entry(offset: number, epoch: number, text: string): LogEntry {
  return { offset, epoch, kind: 'data', data: new TextEncoder().encode(text) };
}

describe('SafetyChecker', () => {
  it('rejects a second leader in an epoch and a leader missing a committed entry', () => {
    const checker = new SafetyChecker();
    const log = [entry(0, 1, 'a')];
    expect(checker.observeLeader(1, 1, (o) => log[o])).toBe(true);
    expect(checker.observeLeader(1, 1, (o) => log[o])).toBe(false);
    expect(() => checker.observeLeader(2, 1, (o) => log[o])).toThrow(/two leaders in epoch 1/);
    checker.observeCommit(1, log, 1);
    expect(() => checker.observeLeader(3, 2, () => undefined)).toThrow(/lacks committed offset 0/);
  });

  it('rejects two different entries under one (offset, epoch) or after different epochs', () => {
    const checker = new SafetyChecker();
    checker.observeAppend(1, entry(0, 1, 'a'), 0);
    checker.observeAppend(2, entry(0, 1, 'a'), 0);
    expect(() => checker.observeAppend(3, entry(0, 1, 'b'), 0)).toThrow(/different entry/);
    checker.observeAppend(1, entry(1, 2, 'c'), 1);
    expect(() => checker.observeAppend(2, entry(1, 2, 'c'), 0)).toThrow(/different entry/);
  });

  it('rejects divergent commits, gaps, a falling high watermark and a lost committed entry', () => {
    const checker = new SafetyChecker();
    checker.observeCommit(1, [entry(0, 1, 'a')], 1);
    expect(() => checker.observeCommit(2, [entry(0, 1, 'b')], 1)).toThrow(/different entry/);
    expect(() => checker.observeCommit(3, [entry(1, 1, 'x')], 2)).toThrow(/expected 0/);
    checker.observeHighWatermark(1, 5);
    expect(() => checker.observeHighWatermark(1, 4)).toThrow(/went back/);
    checker.observeRestart(1);
    checker.observeHighWatermark(1, 0);
    checker.observeRemoval(1, [entry(0, 1, 'other')], 'truncation');
    expect(() => checker.observeRemoval(1, [entry(0, 1, 'a')], 'truncation')).toThrow(/lost committed offset 0/);
    const logs = new Map([[1, (o: number) => [entry(0, 1, 'a')][o]], [2, () => undefined], [3, () => undefined]]);
    expect(() => checker.checkCommittedDurable(logs, 2)).toThrow(/on 1 logs/);
  });
});
