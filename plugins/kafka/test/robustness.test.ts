/**
 * What a real broker process does with bad input: garbage frames, impossible size prefixes
 * and undecodable bodies close only the connection that sent them, while a connection
 * opened earlier keeps being served; ApiVersions at a version it does not serve gets
 * Kafka's v0 fallback; a batch over a topic's max.message.bytes is refused with
 * MESSAGE_TOO_LARGE and the next produce is accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';
import { python, run } from './clients.js';
import { apiVersionsRequest, parseApiVersionsV0, rawConnect, sized, type RawConnection } from './raw-client.js';

const MAX_MESSAGE_BYTES = 10_000;
const UNSUPPORTED_VERSION = 35;
/** librdkafka's code for the broker's MESSAGE_TOO_LARGE. */
const MSG_SIZE_TOO_LARGE = 10;

let broker: BrokerProcess;
/** Opened before any bad input and used after each: one client's garbage must not cost another its connection. */
let bystander: RawConnection;
let correlationId = 100;

beforeAll(async () => {
  broker = await startBroker({ overrides: { 'socket.request.max.bytes': String(1 << 20) } });
  bystander = await rawConnect(broker.port);
});

afterAll(async () => {
  bystander?.close();
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  expect(logLines(broker.output(), 'ERROR')).toEqual([]);
});

/** The bystander connection still gets answers. */
async function bystanderServed(): Promise<void> {
  const id = correlationId++;
  bystander.write(apiVersionsRequest(2, id));
  const frame = await bystander.next();
  expect(frame, 'the bystander connection was closed').not.toBeNull();
  expect(parseApiVersionsV0(frame!)).toMatchObject({ correlationId: id, errorCode: 0 });
}

/** Sends `bytes` on a fresh connection and expects the broker to close it without answering. */
async function expectDisconnected(bytes: Buffer): Promise<void> {
  const conn = await rawConnect(broker.port);
  conn.write(bytes);
  expect(await conn.next()).toBeNull();
  await conn.closed;
  await bystanderServed();
}

describe.sequential('bad input', () => {
  it('a frame of garbage is answered by closing that connection only', async () => {
    // Unknown API key 0x7a7a, then noise.
    await expectDisconnected(sized(Buffer.from('zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz')));
  });

  it('a size prefix over socket.request.max.bytes, or negative, closes the connection before any body', async () => {
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(0x7fffffff);
    await expectDisconnected(huge);
    const negative = Buffer.alloc(4);
    negative.writeInt32BE(-1);
    await expectDisconnected(negative);
  });

  it('a known request whose body does not decode closes the connection', async () => {
    // Metadata v1: header, then a topic array claiming a million entries and ending there.
    const body = Buffer.alloc(14);
    body.writeInt16BE(3, 0);
    body.writeInt16BE(1, 2);
    body.writeInt32BE(7, 4);
    body.writeInt16BE(-1, 8);
    body.writeInt32BE(1_000_000, 10);
    await expectDisconnected(sized(body));
  });

  it('ApiVersions at v9 gets the v0 fallback with UNSUPPORTED_VERSION, and the connection stays usable', async () => {
    const conn = await rawConnect(broker.port);
    try {
      conn.write(apiVersionsRequest(9, 42));
      const fallback = parseApiVersionsV0((await conn.next())!);
      expect(fallback.correlationId).toBe(42);
      expect(fallback.errorCode).toBe(UNSUPPORTED_VERSION);
      expect(fallback.apiKeys).toContainEqual({ apiKey: 18, minVersion: 0, maxVersion: 3 });
      conn.write(apiVersionsRequest(0, 43));
      const retried = parseApiVersionsV0((await conn.next())!);
      expect(retried).toMatchObject({ correlationId: 43, errorCode: 0 });
      expect(retried.apiKeys.map((a) => a.apiKey)).toEqual(expect.arrayContaining([0, 1, 2, 3, 18, 22]));
    } finally {
      conn.close();
    }
  });

  it('a real client still works after all that', async () => {
    const result = await run('kcat', ['-b', broker.bootstrap, '-L', '-J', '-m', '10']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ brokers: [{ id: 1, name: broker.bootstrap }] });
  });
});

describe.sequential('max.message.bytes', () => {
  it('a batch over the topic\'s limit is refused with MESSAGE_TOO_LARGE, and the next produce is accepted', async () => {
    const topic = 'too-large';
    const kafka = new Kafka({ clientId: 'sluice-it-robustness', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: String(MAX_MESSAGE_BYTES) }] }] });
    } finally {
      await admin.disconnect();
    }
    // The client's own limit is raised so that the broker, not librdkafka, does the refusing.
    const config = { 'message.max.bytes': 1_000_000, 'linger.ms': 0 };
    const big = await python<{ reports: Array<{ error: number | null; error_name: string | null }> }>(
      'confluent.py', 'produce', broker.bootstrap, { topic, config, messages: [{ value: 'x'.repeat(MAX_MESSAGE_BYTES * 2), partition: 0 }] });
    expect(big.reports).toEqual([expect.objectContaining({ error: MSG_SIZE_TOO_LARGE, error_name: 'MSG_SIZE_TOO_LARGE' })]);

    const small = await python<{ reports: Array<{ error: number | null; offset: number }> }>(
      'confluent.py', 'produce', broker.bootstrap, { topic, config, messages: [{ value: 'fits', partition: 0 }] });
    expect(small.reports).toEqual([expect.objectContaining({ error: null, offset: 0 })]);
    const read = await python<{ records: Record<string, Array<[number, string, number]>> }>(
      'confluent.py', 'consume', broker.bootstrap, { topic, partitions: [0] });
    expect(read.records['0']!.map(([offset, value]) => [offset, value])).toEqual([[0, 'fits']]);
    await bystanderServed();
  });
});
