/**
 * Leadership of a coordinator topic's partitions as the kernel tells it: its
 * `partition.leadership` events, the partitions it says this node leads when a coordinator
 * subscribes.
 */
import { asOffset, type Kernel, type KernelEventHandler, type KernelEventName, type KernelEvents, type PartitionHandle } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { KernelLeadership, LedPartitions, type LeadershipChange, type PartitionLeadership } from './partition-leadership.js';

const TOPIC = '__consumer_offsets';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A kernel of node 1 with `leaders[p]` leading partition p of TOPIC, each partition open here with the given offsets. */
class FakeKernel {
  readonly nodeId = 1;
  leaders: number[] = [];
  offsets = { highWatermark: 10, logEndOffset: 10 };
  readonly waits: number[] = [];
  private readonly handlers = new Map<string, Set<(e: unknown) => void>>();

  topicPartitions(name: string) {
    return name === TOPIC ? this.leaders.map((leader, partition) => ({ partition, leader, leaderEpoch: 5, replicas: [1, 2], isr: [1, 2] })) : [];
  }

  partition(name: string, p: number): PartitionHandle | undefined {
    if (name !== TOPIC || p >= this.leaders.length) return undefined;
    return {
      get highWatermark() { return asOffset(kernel.offsets.highWatermark); },
      get logEndOffset() { return asOffset(kernel.offsets.logEndOffset); },
      waitForData: (offset: number) => {
        this.waits.push(offset);
        return Promise.resolve();
      },
    } as unknown as PartitionHandle;
  }

  on<N extends KernelEventName>(name: N, handler: KernelEventHandler<N>): () => void {
    let set = this.handlers.get(name);
    if (set === undefined) this.handlers.set(name, (set = new Set()));
    set.add(handler as (e: unknown) => void);
    return () => set.delete(handler as (e: unknown) => void);
  }

  emit<N extends KernelEventName>(name: N, event: KernelEvents[N]): void {
    for (const h of this.handlers.get(name) ?? []) h(event);
  }
}
let kernel: FakeKernel;

function setup(leaders: number[]) {
  kernel = new FakeKernel();
  kernel.leaders = leaders;
  const changes: LeadershipChange[] = [];
  const source = new KernelLeadership(kernel as unknown as Kernel, TOPIC);
  const unsubscribe = source.subscribe((c) => changes.push(c));
  return { source, changes, unsubscribe };
}

describe('KernelLeadership', () => {
  it('lists the partitions the metadata says this node leads', () => {
    const { source } = setup([1, 2, 1, -1]);
    expect(source.led()).toEqual([{ partition: 0, leader: true, leaderEpoch: 5 }, { partition: 2, leader: true, leaderEpoch: 5 }]);
  });

  it('passes on the kernel events of its topic only', () => {
    const { changes, unsubscribe } = setup([1]);
    kernel.emit('partition.leadership', { topic: TOPIC, partition: 0, leader: false, leaderEpoch: 6 });
    kernel.emit('partition.leadership', { topic: 'other', partition: 0, leader: true, leaderEpoch: 1 });
    unsubscribe();
    kernel.emit('partition.leadership', { topic: TOPIC, partition: 0, leader: true, leaderEpoch: 7 });
    expect(changes).toEqual([{ partition: 0, leader: false, leaderEpoch: 6 }]);
  });

  it('waits for the high watermark only while it trails the log end', async () => {
    const { source } = setup([1]);
    expect(source.caughtUp(0, new AbortController().signal)).toBeUndefined();
    kernel.offsets = { highWatermark: 4, logEndOffset: 10 };
    await source.caughtUp(0, new AbortController().signal);
    // Resolves when the high watermark moves past offset 9, i.e. reaches 10.
    expect(kernel.waits).toEqual([9]);
  });
});

describe('LedPartitions', () => {
  const still: PartitionLeadership = { led: () => [{ partition: 0, leader: true, leaderEpoch: 0 }], subscribe: () => () => {}, caughtUp: () => undefined };

  it('leaves a partition whose load failed unserved, and drops what the load left', () => {
    const unloaded: number[] = [];
    const led = new LedPartitions(still, { load: () => { throw new Error('corrupt'); }, unload: (p) => unloaded.push(p) }, quiet, TOPIC);
    led.start();
    expect(led.get(0)).toBeUndefined();
    expect(unloaded).toEqual([0]);
  });

  it('loads a partition once however often it is reported', () => {
    const loads: number[] = [];
    const led = new LedPartitions({ ...still, led: () => [{ partition: 0, leader: true, leaderEpoch: 0 }, { partition: 0, leader: true, leaderEpoch: 1 }] },
      { load: (p) => loads.push(p), unload: () => {} }, quiet, TOPIC);
    led.start();
    expect(loads).toEqual([0]);
    expect(led.get(0)).toMatchObject({ state: 'loaded', leaderEpoch: 1 });
  });
});
