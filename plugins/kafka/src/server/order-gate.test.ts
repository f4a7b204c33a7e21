import { describe, expect, it } from 'vitest';
import { DeferredSlot, OrderGate } from './order-gate.js';

/** Resolves once the microtasks queued so far (and those they queue) have run. */
const drained = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('DeferredSlot', () => {
  it('opens no slot when its request holds nothing: the gate stays idle', async () => {
    const gate = new OrderGate();
    const order = new DeferredSlot(() => gate.open());
    order.close();
    expect(gate.busy).toBe(false);
    await drained();
    expect(gate.busy).toBe(false);
  });

  it('at its first hold opens the slot later requests wait on, until what it holds has settled', async () => {
    const gate = new OrderGate();
    const order = new DeferredSlot(() => gate.open());
    let appended!: () => void;
    order.hold(new Promise<void>((resolve) => {
      appended = resolve;
    }));
    order.close();
    expect(gate.busy).toBe(true);
    const next = gate.open();
    let nextStarted = false;
    void next.ready!.then(() => {
      nextStarted = true;
    });
    await drained();
    expect(nextStarted).toBe(false);
    appended();
    await drained();
    expect(nextStarted).toBe(true);
    next.close();
    await drained();
    expect(gate.busy).toBe(false);
  });

  it('refuses to open behind pending work, which the direct path never leaves', () => {
    const gate = new OrderGate();
    gate.open();
    const order = new DeferredSlot(() => gate.open());
    expect(() => order.hold(Promise.resolve())).toThrow(/assertion failed/);
  });
});
