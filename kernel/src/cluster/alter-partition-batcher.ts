/**
 * Sends the AlterPartition requests this broker's partition leaders make in one synchronous
 * run (the partitions of one follower fetch, of one metadata batch) as one request, as Kafka's
 * AlterPartitionManager batches them. The controller commits each request with one Raft
 * round trip and serialises its work: a broker rejoining the ISRs of a hundred partitions
 * otherwise cost a hundred commits in a row, with every broker's heartbeats queued behind.
 *
 * Requests made with different broker epochs (a re-registration in between) go separately.
 * The pending list holds at most one request per partition this node leads (a leader has
 * one ISR change in flight at a time), so it needs no bound of its own.
 */
import type { AlterPartitionRequest, AlterPartitionResponse } from '@sluice/sdk';

type Send = (request: AlterPartitionRequest) => Promise<AlterPartitionResponse>;

interface Pending {
  readonly request: AlterPartitionRequest;
  readonly resolve: (response: AlterPartitionResponse) => void;
  readonly reject: (err: Error) => void;
}

export class AlterPartitionBatcher {
  private pending: Pending[] = [];

  constructor(private readonly send: Send) {}

  /** Resolves with the answer to the merged request: the caller finds its partition in it. */
  submit(request: AlterPartitionRequest): Promise<AlterPartitionResponse> {
    return new Promise((resolve, reject) => {
      if (this.pending.length === 0) queueMicrotask(() => this.flush());
      this.pending.push({ request, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const byEpoch = new Map<string, Pending[]>();
    for (const p of batch) {
      const key = `${p.request.brokerId}:${p.request.brokerEpoch}`;
      const group = byEpoch.get(key);
      if (group === undefined) byEpoch.set(key, [p]);
      else group.push(p);
    }
    for (const group of byEpoch.values()) {
      this.send(merge(group.map((p) => p.request))).then(
        (response) => { for (const p of group) p.resolve(response); },
        (err: Error) => { for (const p of group) p.reject(err); },
      );
    }
  }
}

/** One request with every partition of `requests` (same broker and epoch), grouped by topic. */
export function merge(requests: readonly AlterPartitionRequest[]): AlterPartitionRequest {
  if (requests.length === 1) return requests[0]!;
  const topics = new Map<string, { topicId: Uint8Array; partitions: Array<AlterPartitionRequest['topics'][number]['partitions'][number]> }>();
  for (const r of requests) {
    for (const t of r.topics) {
      const key = Buffer.from(t.topicId).toString('hex');
      let topic = topics.get(key);
      if (topic === undefined) topics.set(key, topic = { topicId: t.topicId, partitions: [] });
      topic.partitions.push(...t.partitions);
    }
  }
  return { brokerId: requests[0]!.brokerId, brokerEpoch: requests[0]!.brokerEpoch, topics: [...topics.values()] };
}
