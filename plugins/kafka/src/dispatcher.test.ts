import { describe, expect, it } from 'vitest';
import { asOffset, type AppendResult, type HookRunner, type Kernel, type Logger, type PartitionHandle, type RecordBatches } from '@sluice/sdk';
import { allApis } from './apis/index.js';
import { Dispatcher, type SharedContext } from './dispatcher.js';
import { FetchSessions } from './fetch-sessions.js';
import { ApiKey, encodeRequest } from './protocol/index.js';
import { Purgatory } from './purgatory.js';
import type { ConnectionInfo, ResponseParts } from './server/connection.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const BATCH_HEADER_BYTES = 61;

/** A batch header of zeros (no producer id to check) followed by one byte naming the request. */
function records(tag: number): Buffer {
  const bytes = Buffer.alloc(BATCH_HEADER_BYTES + 1);
  bytes[BATCH_HEADER_BYTES] = tag;
  return bytes;
}

function produceFrame(tag: number): Buffer {
  return encodeRequest(ApiKey.Produce, 9, tag, 'test', {
    transactionalId: null, acks: 1, timeoutMs: 30_000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: records(tag) }] }],
  } as never).subarray(4);
}

const acknowledged: AppendResult = { baseOffset: asOffset(0), lastOffset: asOffset(0), logAppendTimeMs: -1, logStartOffset: asOffset(0), duplicate: false };

/**
 * A dispatcher over one partition that records the order of its appends, with a
 * `produce.intercept` chain (and no other hook) answering as `answer` says.
 */
function setup(answer: (value: RecordBatches) => Promise<RecordBatches> | RecordBatches) {
  const appended: number[] = [];
  const partition = {
    topic: 'orders', partition: 0,
    append: (bytes: Uint8Array) => {
      appended.push(bytes[BATCH_HEADER_BYTES]!);
      return Promise.resolve(acknowledged);
    },
  } as unknown as PartitionHandle;
  const hooks = {
    hasHandlers: (name: string) => name === 'produce.intercept',
    recordBatches: (bytes: Uint8Array) => ({ bytes }),
    runWaterfall: (_name: string, value: RecordBatches) => {
      const r = answer(value);
      return r instanceof Promise ? r.then((v) => ({ outcome: 'accept', value: v })) : { outcome: 'accept', value: r };
    },
  } as unknown as HookRunner;
  const shared = {
    kernel: { partition: (topic: string, p: number) => (topic === 'orders' && p === 0 ? partition : undefined), topicPartitions: () => [] },
    broker: { nodeId: 1 }, config: {}, log: quiet, signal: new AbortController().signal, hooks,
    fetchSessions: new FetchSessions(1), purgatory: new Purgatory(), groups: {}, transactions: {},
  } as unknown as SharedContext;
  const connection = {
    protocol: 'kafka', id: 1, listener: 'PLAINTEXT', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1',
    closed: new AbortController().signal,
  } satisfies ConnectionInfo;
  const dispatcher = new Dispatcher(allApis as never, shared);
  const send = (tag: number) => dispatcher.handle(produceFrame(tag), connection, { receivedMs: 0, timing: null });
  return { appended, send };
}

/** Resolves once the microtasks queued so far (and those they queue) have run. */
const drained = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Dispatcher with a produce interceptor', () => {
  it('appends a synchronously intercepted Produce before handle returns, as without interceptors', async () => {
    const { appended, send } = setup((value) => value);
    const responses = [send(1), send(2), send(3)];
    expect(appended).toEqual([1, 2, 3]);
    expect((await Promise.all(responses)).every((r: ResponseParts | null) => r !== null)).toBe(true);
  });

  it('holds later requests of the connection until an asynchronously intercepted append is issued', async () => {
    // Each interceptor call waits until the test answers it; the newest call is answered
    // first, so requests intercepted at the same time would append in reverse order.
    const waiting: Array<() => void> = [];
    const { appended, send } = setup((value) => new Promise((resolve) => waiting.push(() => resolve(value))));
    const responses = [send(1), send(2), send(3)];
    for (let answered = 0; answered < 3; answered++) {
      await drained();
      expect(waiting.length).toBeGreaterThan(0);
      waiting.pop()!();
    }
    await Promise.all(responses);
    expect(appended).toEqual([1, 2, 3]);
  });
});
