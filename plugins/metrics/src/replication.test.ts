import { describe, expect, it } from 'vitest';
import type { Kernel, PartitionDescription, TopicDescription } from '@sluice/sdk';
import { activeControllerCount, partitionHealth } from './replication.js';

function kernelWith(nodeId: number, partitions: Record<string, PartitionDescription[]>, controllerId = nodeId): Kernel {
  const topics = Object.entries(partitions).map(([name, ps]): TopicDescription =>
    ({ name, topicId: new Uint8Array(16), partitions: ps.length, configs: {} }));
  return {
    nodeId, listTopics: () => topics, topicPartitions: (name: string) => partitions[name] ?? [], controllerId: () => controllerId,
  } as unknown as Kernel;
}

const partition = (partition: number, leader: number, replicas: number[], isr: number[]): PartitionDescription =>
  ({ partition, leader, leaderEpoch: 0, replicas, isr });

describe('partitionHealth', () => {
  it('counts nothing on a single node, where every partition is led here with a full ISR', () => {
    const kernel = kernelWith(1, { a: [partition(0, 1, [1], [1]), partition(1, 1, [1], [1])] });
    expect(partitionHealth(kernel)).toEqual({ underReplicated: 0, offline: 0 });
  });

  it('counts under-replicated partitions this node leads, and partitions without a leader', () => {
    const kernel = kernelWith(1, {
      a: [partition(0, 1, [1, 2, 3], [1, 2]), partition(1, 2, [1, 2, 3], [2]), partition(2, -1, [1, 2], [])],
      b: [partition(0, 1, [1, 2], [1, 2])],
    });
    expect(partitionHealth(kernel)).toEqual({ underReplicated: 1, offline: 1 });
  });

  it('counts this node as active controller only when the kernel names it', () => {
    expect(activeControllerCount(kernelWith(1, {}))).toBe(1);
    expect(activeControllerCount(kernelWith(1, {}, 2))).toBe(0);
    expect(activeControllerCount(kernelWith(1, {}, -1))).toBe(0);
  });
});
