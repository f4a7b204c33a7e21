/**
 * Partition health as Kafka's ReplicaManager and controller report it, read from the
 * kernel's view of each partition's leader, replicas and ISR: under-replicated partitions
 * are those this node leads whose ISR is smaller than their replica set, offline ones
 * have no leader. A single node leads every partition with a full ISR, so both are 0
 * there; once the kernel describes a cluster the same reading counts it. Likewise the
 * active controller count: 1 on the node the kernel names as controller (a single node
 * names itself), 0 elsewhere.
 */
import type { Kernel } from '@sluice/sdk';

/** Kafka's "no leader" in partition metadata. */
const NO_LEADER = -1;

export interface PartitionHealth {
  readonly underReplicated: number;
  readonly offline: number;
}

export function partitionHealth(kernel: Kernel): PartitionHealth {
  let underReplicated = 0;
  let offline = 0;
  for (const topic of kernel.listTopics()) {
    for (const p of kernel.topicPartitions(topic.name)) {
      if (p.leader === NO_LEADER) offline++;
      else if (p.leader === kernel.nodeId && p.isr.length < p.replicas.length) underReplicated++;
    }
  }
  return { underReplicated, offline };
}

/** Kafka's ActiveControllerCount as this node reports it. */
export function activeControllerCount(kernel: Kernel): number {
  return kernel.controllerId() === kernel.nodeId ? 1 : 0;
}
