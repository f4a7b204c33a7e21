/**
 * Fetch v13+ (KIP-516) names topics by id: a known id reads its records and is echoed in
 * the answer, an id no topic has gets UNKNOWN_TOPIC_ID, and v12 still works by name.
 * Raw requests from our codecs, against a real broker process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, type KnownApiKey, type RequestOf } from '../src/protocol/index.js';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { rawConnect, type RawConnection } from './raw-client.js';
import { buildBatch } from '../src/records/batch.js';

let broker: BrokerProcess;
let conn: RawConnection;

function call<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>) {
  return conn.request(apiKey, version, body);
}

beforeAll(async () => {
  broker = await startBroker();
  conn = await rawConnect(broker.port);
});

afterAll(async () => {
  conn?.close();
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

describe('Fetch by topic id', () => {
  it('reads by id from v13, answers UNKNOWN_TOPIC_ID for an unknown one, and by name below', async () => {
    const created = await call(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'by-id', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false,
    });
    const topicId = created.topics[0]!.topicId!;
    const produced = await call(ApiKey.Produce, 9, {
      transactionalId: null, acks: -1, timeoutMs: 10_000,
      topicData: [{ name: 'by-id', partitionData: [{ index: 0, records: buildBatch([{ key: null, value: Buffer.from('hello') }], 1000) }] }],
    });
    expect(produced.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);

    const unknownId = new Uint8Array(16).fill(7);
    const partitions = [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1, logStartOffset: -1 }];
    const v17 = await call(ApiKey.Fetch, 17, {
      maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topicId, partitions }, { topicId: unknownId, partitions }], forgottenTopicsData: [], rackId: '',
    });
    expect(v17.errorCode).toBe(0);
    const [known, unknown] = v17.responses;
    expect(Buffer.from(known!.topicId!)).toEqual(Buffer.from(topicId));
    expect(known!.partitions[0]!.errorCode).toBe(0);
    expect(known!.partitions[0]!.highWatermark).toBe(1);
    expect(known!.partitions[0]!.records!.length).toBeGreaterThan(0);
    expect(Buffer.from(unknown!.topicId!)).toEqual(Buffer.from(unknownId));
    expect(unknown!.partitions[0]!.errorCode).toBe(100);

    const v12 = await call(ApiKey.Fetch, 12, {
      maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'by-id', partitions }], forgottenTopicsData: [], rackId: '',
    });
    expect(v12.responses[0]!.topic).toBe('by-id');
    expect(v12.responses[0]!.partitions[0]!.records!.length).toBe(known!.partitions[0]!.records!.length);
  });
});
