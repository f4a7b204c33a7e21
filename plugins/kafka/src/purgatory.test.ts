/**
 * The Produce and Fetch handlers count what waits in their purgatory: an acks=all produce
 * until its append is durable, a fetch until data arrives. Fake partitions whose append
 * and waitForData the test settles.
 */
import { asOffset, type AppendResult, type Kernel, type PartitionHandle, type ReadResult } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { produceApi } from './apis/00-produce.js';
import { fetchApi } from './apis/01-fetch.js';
import type { RequestContext } from './apis/api.js';
import { Purgatory } from './purgatory.js';
import { buildBatch } from './records/batch.js';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

const EMPTY_READ: ReadResult = {
  records: new Uint8Array(0), highWatermark: asOffset(0), lastStableOffset: asOffset(0), logStartOffset: asOffset(0),
  logEndOffset: asOffset(0), abortedTransactions: [],
};

function context(partition: Partial<PartitionHandle>, apiVersion: number): RequestContext {
  const handle = { topic: 't', partition: 0, leaderEpoch: 0, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, ...partition };
  return {
    kernel: { partition: () => handle, listTopics: () => [] } as unknown as Kernel,
    hooks: { hasHandlers: () => false },
    purgatory: new Purgatory(),
    signal: new AbortController().signal,
    apiVersion,
  } as unknown as RequestContext;
}

describe('purgatory counts', () => {
  it('counts an acks=all produce request until its append is durable', async () => {
    const durable = deferred<AppendResult>();
    const ctx = context({ append: () => durable.promise }, 9);
    const records = buildBatch([{ key: null, value: Buffer.from('v') }], 1000);
    const response = produceApi.handle({
      transactionalId: null, acks: -1, timeoutMs: 60_000, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }],
    } as never, ctx);
    expect(ctx.purgatory.produce).toBe(1);
    durable.resolve({ baseOffset: asOffset(0), lastOffset: asOffset(0), logAppendTimeMs: -1, logStartOffset: asOffset(0), duplicate: false });
    await response;
    expect(ctx.purgatory.produce).toBe(0);
  });

  it('counts a fetch waiting for data until data arrives', async () => {
    const data = deferred<void>();
    const ctx = context({ read: () => EMPTY_READ, waitForData: () => data.promise }, 12);
    const response = fetchApi.handle({
      maxWaitMs: 60_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1,
        lastFetchedEpoch: -1, logStartOffset: -1 }] }],
    } as never, ctx);
    expect(ctx.purgatory.fetch).toBe(1);
    data.resolve();
    await response;
    expect(ctx.purgatory.fetch).toBe(0);
  });
});
