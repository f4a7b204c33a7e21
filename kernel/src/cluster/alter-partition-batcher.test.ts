import type { AlterPartitionRequest, AlterPartitionResponse } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { AlterPartitionBatcher } from './alter-partition-batcher.js';

const topicA = new Uint8Array(16).fill(1);
const topicB = new Uint8Array(16).fill(2);

function request(topicId: Uint8Array, partitionIndex: number, brokerEpoch = 7): AlterPartitionRequest {
  return { brokerId: 1, brokerEpoch, topics: [{ topicId, partitions: [{ partitionIndex, leaderEpoch: 3, newIsr: [1, 2], partitionEpoch: 4 }] }] };
}

describe('AlterPartitionBatcher', () => {
  it('sends the requests of one synchronous run as one, grouped by topic, and answers each caller with it', async () => {
    const sent: AlterPartitionRequest[] = [];
    const batcher = new AlterPartitionBatcher((r) => {
      sent.push(r);
      return Promise.resolve({ errorCode: 0, topics: [] } as AlterPartitionResponse);
    });
    const answers = await Promise.all([request(topicA, 0), request(topicB, 0), request(topicA, 1)].map((r) => batcher.submit(r)));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.topics.map((t) => [t.topicId[0], t.partitions.map((p) => p.partitionIndex)])).toEqual([[1, [0, 1]], [2, [0]]]);
    expect(answers.every((a) => a === answers[0])).toBe(true);
    // A later run is a new request.
    await batcher.submit(request(topicB, 1));
    expect(sent).toHaveLength(2);
  });

  it('keeps requests made under different broker epochs apart, and fails every caller of a failed request', async () => {
    const sent: AlterPartitionRequest[] = [];
    const batcher = new AlterPartitionBatcher((r) => {
      sent.push(r);
      return r.brokerEpoch === 8 ? Promise.reject(new Error('no controller')) : Promise.resolve({ errorCode: 0, topics: [] });
    });
    const results = await Promise.allSettled([batcher.submit(request(topicA, 0, 7)), batcher.submit(request(topicA, 1, 8)),
      batcher.submit(request(topicA, 2, 8))]);
    expect(sent.map((r) => r.brokerEpoch)).toEqual([7, 8]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
  });
});
