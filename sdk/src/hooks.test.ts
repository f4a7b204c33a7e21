/**
 * Type tests (checked by `npm run typecheck`, which compiles tests with tsc): handler
 * signatures follow the hook's kind, and driver methods take only names of their kind.
 * The runtime assertions keep vitest honest about HOOK_KINDS and Decision.
 */
import { describe, expect, it } from 'vitest';
import { Decision, HOOK_KINDS, type HandlerFor, type HookName, type HookNameOf, type HookRunner, type RecordBatches } from './hooks.js';

describe('hook types', () => {
  it('derive handler signatures from the kind', () => {
    const authorize: HandlerFor<'request.authorize'> = (input) => (input.apiKey === 0 ? Decision.reject(29, 'no produce') : Decision.next);
    const produce: HandlerFor<'produce.intercept'> = (batch, input) => (input.topic === 'x' ? Decision.reject(44) : batch);
    const observe: HandlerFor<'record.committed'> = (e) => {
      void e.recordCount;
    };
    // @ts-expect-error a waterfall handler must return the value or a rejection, not a decision
    const wrongWaterfall: HandlerFor<'produce.intercept'> = () => Decision.next;
    // @ts-expect-error an authenticate handler accepts with a Principal
    const wrongAuth: HandlerFor<'connection.authenticate'> = () => Decision.accept(42);
    // @ts-expect-error an observer's input has no such field
    const wrongInput: HandlerFor<'topic.created'> = (e) => void e.partition;
    expect([authorize, produce, observe, wrongWaterfall, wrongAuth, wrongInput]).toHaveLength(6);
  });

  it('driver methods take only names of their kind', () => {
    const check = (hooks: HookRunner, batches: RecordBatches): void => {
      void hooks.runWaterfall('produce.intercept', batches, {} as never);
      // @ts-expect-error produce.intercept is a waterfall, not an observer
      hooks.runParallel('produce.intercept', {} as never);
      // @ts-expect-error record.committed is an observer
      void hooks.runFirst('record.committed', {} as never);
    };
    expect(typeof check).toBe('function');
    const first: HookNameOf<'first'>[] = ['connection.authenticate', 'request.authorize', 'topic.create.policy', 'topic.delete.policy',
      'topic.config.policy'];
    expect(first.every((n) => HOOK_KINDS[n] === 'first')).toBe(true);
  });

  it('HOOK_KINDS names every hook once', () => {
    const names = Object.keys(HOOK_KINDS) as HookName[];
    expect(names.length).toBeGreaterThanOrEqual(16);
    expect(Decision.accept()).toBe(Decision.accept());
    expect(Decision.accept({ type: 'User', name: 'a' })).toEqual({ outcome: 'accept', value: { type: 'User', name: 'a' } });
  });
});
