/**
 * The transaction coordinator's answers on the wire, from raw requests to a real broker
 * process: epochs and fencing codes per request version (KIP-588), KIP-360 bumps, timeout
 * limits, Produce refusals, List/DescribeTransactions, proactive abort of a transaction
 * past its timeout, and the state after a SIGKILL restart.
 */
import { crc32c } from '@node-rs/crc32';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, type KnownApiKey, type RequestOf } from '../src/protocol/index.js';
import { buildBatch } from '../src/records/batch.js';
import { encodeKey, encodeValue, partitionForTransactionalId } from '../src/transactions/state-log.js';
import { TxnState } from '../src/transactions/coordinator.js';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python } from './clients.js';
import { rawConnect, type RawConnection } from './raw-client.js';

const overrides = {
  'num.partitions': '2', 'transaction.state.log.num.partitions': '4', 'offsets.topic.num.partitions': '4',
  'transaction.max.timeout.ms': '60000', 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '200',
};
const E = { NONE: 0, UNKNOWN_TOPIC_OR_PARTITION: 3, INVALID_PRODUCER_EPOCH: 47, INVALID_TXN_STATE: 48, INVALID_PRODUCER_ID_MAPPING: 49,
  INVALID_TRANSACTION_TIMEOUT: 50, INVALID_RECORD: 87, PRODUCER_FENCED: 90, TRANSACTIONAL_ID_NOT_FOUND: 105 };

let broker: BrokerProcess;
let conn: RawConnection;

function call<K extends KnownApiKey>(apiKey: K, version: number, body: RequestOf<K>) {
  return conn.request(apiKey, version, body);
}

beforeAll(async () => {
  broker = await startBroker({ overrides });
  conn = await rawConnect(broker.port);
  await call(ApiKey.CreateTopics, 5, {
    topics: [{ name: 'raw-txn', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false,
  });
});

afterAll(async () => {
  conn?.close();
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

const init = (id: string, version = 4, producerId = -1, producerEpoch = -1, transactionTimeoutMs = 30_000) =>
  call(ApiKey.InitProducerId, version, { transactionalId: id, transactionTimeoutMs, producerId, producerEpoch });
const add = (id: string, producerId: number, producerEpoch: number, version = 3, topic = 'raw-txn') =>
  call(ApiKey.AddPartitionsToTxn, version, {
    v3AndBelowTransactionalId: id, v3AndBelowProducerId: producerId, v3AndBelowProducerEpoch: producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions: [0] }],
  }).then((r) => r.resultsByTopicV3AndBelow![0]!.resultsByPartition[0]!.partitionErrorCode);
const end = (id: string, producerId: number, producerEpoch: number, committed: boolean, version = 3) =>
  call(ApiKey.EndTxn, version, { transactionalId: id, producerId, producerEpoch, committed }).then((r) => r.errorCode);
const describeTxn = (id: string) => call(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] }).then((r) => r.transactionStates[0]!);
const produce = (id: string | null, partition: number, records: Buffer) => call(ApiKey.Produce, 9, {
  transactionalId: id, acks: -1, timeoutMs: 5000, topicData: [{ name: 'raw-txn', partitionData: [{ index: partition, records }] }],
}).then((r) => r.responses[0]!.partitionResponses[0]!.errorCode);

/** A transactional batch as a producer sends it: producer id, epoch and a sequence. */
function txnBatch(producerId: number, producerEpoch: number, sequence: number): Buffer {
  const b = buildBatch([{ key: null, value: Buffer.from('v') }], Date.now(), { producer: { producerId, producerEpoch } });
  b.writeInt32BE(sequence, 53);
  // The sequence is inside the CRC: recompute it as a producer would have.
  b.writeUInt32BE(crc32c(b.subarray(21)), 17);
  return b;
}

describe.sequential('transaction coordinator, raw requests', () => {
  it('bumps epochs, fences with the code each version knows, and checks timeouts', async () => {
    const first = await init('raw-1');
    expect(first).toMatchObject({ errorCode: 0, producerEpoch: 0 });
    const pid = first.producerId;
    expect(await init('raw-1')).toMatchObject({ errorCode: 0, producerId: pid, producerEpoch: 1 });
    expect(await init('raw-1')).toMatchObject({ errorCode: 0, producerId: pid, producerEpoch: 2 });
    // Older than the epoch before the last bump: a zombie.
    expect((await init('raw-1', 4, pid, 0)).errorCode).toBe(E.PRODUCER_FENCED);
    expect((await init('raw-1', 3, pid, 0)).errorCode).toBe(E.INVALID_PRODUCER_EPOCH);
    // KIP-360: the current producer bumps its own epoch; a retry of that bump gets the same answer.
    expect(await init('raw-1', 4, pid, 2)).toMatchObject({ errorCode: 0, producerId: pid, producerEpoch: 3 });
    expect(await init('raw-1', 4, pid, 2)).toMatchObject({ errorCode: 0, producerId: pid, producerEpoch: 3 });
    expect((await init('raw-1', 4, -1, -1, 120_000)).errorCode).toBe(E.INVALID_TRANSACTION_TIMEOUT);

    expect(await add('raw-1', pid, 2)).toBe(E.PRODUCER_FENCED);
    expect(await add('raw-1', pid, 2, 1)).toBe(E.INVALID_PRODUCER_EPOCH);
    expect(await add('raw-1', pid + 1000, 3)).toBe(E.INVALID_PRODUCER_ID_MAPPING);
    expect(await add('raw-1', pid, 3, 3, 'no-such-topic')).toBe(E.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await end('raw-1', pid, 3, true)).toBe(E.INVALID_TXN_STATE);
  });

  it('accepts transactional produce only for partitions in the open transaction, and ends it', async () => {
    const { producerId: pid, producerEpoch: epoch } = await init('raw-2');
    expect(await produce('raw-2', 0, txnBatch(pid, epoch, 0))).toBe(E.INVALID_TXN_STATE);
    expect(await add('raw-2', pid, epoch)).toBe(E.NONE);
    expect(await produce('raw-2', 1, txnBatch(pid, epoch, 0))).toBe(E.INVALID_TXN_STATE);
    expect(await produce(null, 0, txnBatch(pid, epoch, 0))).toBe(E.INVALID_TXN_STATE);
    expect(await produce('raw-2', 0, buildBatch([{ key: null, value: null }], 0, { producer: { producerId: pid, producerEpoch: epoch } }))).toBe(E.INVALID_RECORD);
    expect(await produce('raw-2', 0, txnBatch(pid, epoch, 0))).toBe(E.NONE);

    expect(await describeTxn('raw-2')).toMatchObject({
      errorCode: 0, transactionState: 'Ongoing', producerId: pid, producerEpoch: epoch, topics: [{ topic: 'raw-txn', partitions: [0] }],
    });
    const listed = await call(ApiKey.ListTransactions, 0, { stateFilters: ['Ongoing', 'Nonsense'], producerIdFilters: [] });
    expect(listed.unknownStateFilters).toEqual(['Nonsense']);
    expect(listed.transactionStates).toEqual([{ transactionalId: 'raw-2', producerId: pid, transactionState: 'Ongoing' }]);

    expect(await end('raw-2', pid, epoch, true)).toBe(E.NONE);
    expect(await end('raw-2', pid, epoch, true)).toBe(E.NONE);
    expect(await end('raw-2', pid, epoch, false)).toBe(E.INVALID_TXN_STATE);
    expect((await describeTxn('raw-2')).transactionState).toBe('CompleteCommit');
    expect((await describeTxn('nobody')).errorCode).toBe(E.TRANSACTIONAL_ID_NOT_FOUND);
  });

  it('aborts a transaction past its timeout, fencing its producer; state survives a SIGKILL restart', async () => {
    const { producerId: pid, producerEpoch: epoch } = await init('raw-timeout', 4, -1, -1, 1000);
    expect(await add('raw-timeout', pid, epoch)).toBe(E.NONE);
    expect(await produce('raw-timeout', 0, txnBatch(pid, epoch, 0))).toBe(E.NONE);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await describeTxn('raw-timeout')).toMatchObject({ transactionState: 'CompleteAbort', producerEpoch: epoch + 1 });
    expect(await add('raw-timeout', pid, epoch)).toBe(E.PRODUCER_FENCED);
    expect(await produce('raw-timeout', 0, txnBatch(pid, epoch, 1))).toBe(E.INVALID_PRODUCER_EPOCH);

    conn.close();
    await broker.kill('SIGKILL');
    broker = await startBroker({ overrides, dataDir: broker.dataDir, port: broker.port });
    conn = await rawConnect(broker.port);
    expect(await describeTxn('raw-timeout')).toMatchObject({ transactionState: 'CompleteAbort', producerId: pid, producerEpoch: epoch + 1 });
    expect((await describeTxn('raw-2')).transactionState).toBe('CompleteCommit');
    expect(await init('raw-timeout')).toMatchObject({ errorCode: 0, producerId: pid, producerEpoch: epoch + 2 });
  }, 60_000);

  it('finishes a transaction found in PrepareCommit at start: the markers are written, the records become readable', async () => {
    const { producerId: pid, producerEpoch: epoch } = await init('raw-prep');
    expect(await add('raw-prep', pid, epoch)).toBe(E.NONE);
    expect(await produce('raw-prep', 0, txnBatch(pid, epoch, 0))).toBe(E.NONE);
    // What the coordinator writes before its markers, as if the broker died right after it.
    const now = Date.now();
    const prepare = buildBatch([{
      key: encodeKey('raw-prep'),
      value: encodeValue({
        producerId: pid, producerEpoch: epoch, transactionTimeoutMs: 30_000, transactionStatus: TxnState.PrepareCommit,
        transactionPartitions: [{ topic: 'raw-txn', partitionIds: [0] }], transactionLastUpdateTimestampMs: now, transactionStartTimestampMs: now,
      }),
    }], now);
    const written = await call(ApiKey.Produce, 9, {
      transactionalId: null, acks: -1, timeoutMs: 5000,
      topicData: [{ name: '__transaction_state', partitionData: [{ index: partitionForTransactionalId('raw-prep', 4), records: prepare }] }],
    });
    expect(written.responses[0]!.partitionResponses[0]!.errorCode).toBe(0);

    conn.close();
    await broker.kill('SIGKILL');
    broker = await startBroker({ overrides, dataDir: broker.dataDir, port: broker.port });
    conn = await rawConnect(broker.port);
    for (let i = 0; i < 50 && (await describeTxn('raw-prep')).transactionState !== 'CompleteCommit'; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await describeTxn('raw-prep')).toMatchObject({ transactionState: 'CompleteCommit', producerId: pid, producerEpoch: epoch });
    const read = await python<{ values: string[] }>('transactions.py', 'consume', broker.bootstrap, {
      topic: 'raw-txn', partitions: [0], isolation: 'read_committed', idle_s: 2,
    });
    // Partition 0 holds the committed batch from the second test and this one ('v' each).
    expect(read.values).toEqual(['v', 'v']);
  }, 60_000);
});
