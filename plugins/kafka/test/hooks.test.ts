/**
 * Hooks in a real broker process (`plugins=kafka,<test plugin>`), driven by KafkaJS
 * (produce) and @platformatic/kafka (fetch by offset): produce interceptors that
 * transform, reject, throw and hang; the order of pipelined produce requests behind an
 * asynchronous interceptor; a fetch interceptor; delete and config policies (KafkaJS
 * admin); connection and request observers.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigResourceTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { Consumer } from '@platformatic/kafka';
import { logLines, startBroker, type BrokerProcess } from './broker-process.js';

const PLUGIN = `
import { appendFileSync } from 'node:fs';
const upper = (b) => b.withRecords(b.records().map((r) => ({ ...r, value: Buffer.from(String(r.value).toUpperCase()) })));
let accepted = 0;
let completed = 0;
export default {
  manifest: { id: 'test-hooks', version: '1.0.0' },
  start(ctx) {
    const stats = ctx.config.stats;
    ctx.on('produce.intercept', (b, i) => ({ outcome: 'reject', errorCode: 44, reason: 'topic ' + i.topic + ' is closed' }),
      { filter: { topics: ['hk-blocked'] } });
    ctx.on('produce.intercept', upper, { filter: { topics: ['hk-upper'] } });
    ctx.on('produce.intercept', () => { throw new Error('interceptor bug'); }, { filter: { topics: ['hk-throws'] } });
    ctx.on('produce.intercept', () => new Promise(() => {}), { timeoutMs: 100, filter: { topics: ['hk-hangs'] } });
    // Later requests get shorter delays: without the order gate they would append first.
    let delay = 60;
    ctx.on('produce.intercept', async (b) => {
      appendFileSync(ctx.config.calls, String(b.records()[0].value) + '\\n');
      delay = Math.max(0, delay - 3);
      await new Promise((r) => setTimeout(r, delay));
      return b;
    }, { timeoutMs: 1000, filter: { topics: ['hk-slow'] } });
    ctx.on('fetch.intercept', (b) => b.withRecords(b.records().map((r) => ({ ...r, value: Buffer.from('***') }))),
      { filter: { topics: ['hk-redacted'] } });
    ctx.on('topic.delete.policy', (i) => ({ outcome: 'reject', errorCode: 44, reason: 'topic ' + i.topic + ' is kept' }),
      { filter: { topics: ['hk-kept'] } });
    ctx.on('topic.config.policy', (i) => i.changes['retention.ms'] === '1'
      ? { outcome: 'reject', errorCode: 44, reason: i.via + ': retention too short for ' + i.topic }
      : { outcome: 'next' });
    ctx.on('connection.accepted', () => { accepted++; });
    ctx.on('request.completed', () => { completed++; });
    ctx.on('broker.stopping', () => { appendFileSync(stats, JSON.stringify({ accepted, completed }) + '\\n'); });
  },
};
`;

let dir: string;
let broker: BrokerProcess;
let producer: Producer;
let consumer: Consumer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-hooks-'));
  writeFileSync(join(dir, 'test-hooks.mjs'), PLUGIN);
  broker = await startBroker({
    overrides: { plugins: `kafka,${join(dir, 'test-hooks.mjs')}`, 'test-hooks.stats': join(dir, 'stats.jsonl'),
      'test-hooks.calls': join(dir, 'calls.txt') },
  });
  const kafka = new Kafka({ clientId: 'sluice-it-hooks', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  consumer = new Consumer({ clientId: 'sluice-it-hooks', bootstrapBrokers: [broker.bootstrap], groupId: 'sluice-it-unused', retries: 2 });
});

afterAll(async () => {
  await Promise.all([producer?.disconnect(), consumer?.close()]);
  expect(await broker?.stop()).toBe(0);
  broker?.removeDataDir();
  rmSync(dir, { recursive: true, force: true });
});

async function values(topic: string, count: number): Promise<string[]> {
  const out: string[] = [];
  // Fetch v13+ names topics by id (KIP-516).
  const topicId = (await consumer.metadata({ topics: [topic] })).topics.get(topic)!.id;
  for (let round = 0; round < 50 && out.length < count; round++) {
    const response = await consumer.fetch({
      node: 1, maxWaitTime: 200, minBytes: 1, maxBytes: 1 << 20,
      topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: BigInt(out.length), partitionMaxBytes: 1 << 20,
        currentLeaderEpoch: -1, lastFetchedEpoch: -1 }] }],
    });
    const p = response.responses[0]!.partitions[0]!;
    expect(p.errorCode).toBe(0);
    for (const batch of p.records ?? []) for (const r of batch.records) out.push(r.value?.toString() ?? '');
  }
  return out;
}

async function produceError(topic: string): Promise<string | undefined> {
  try {
    await producer.send({ topic, acks: -1, messages: [{ value: 'x' }] });
    return undefined;
  } catch (err) {
    return (err as { type?: string }).type ?? (err as Error).message;
  }
}

describe.sequential('hooks in the Kafka frontend', () => {
  it('a transforming interceptor changes what is stored', async () => {
    await producer.send({ topic: 'hk-upper', acks: -1, messages: [{ value: 'hello' }, { value: 'world' }] });
    expect(await values('hk-upper', 2)).toEqual(['HELLO', 'WORLD']);
  });

  it('a rejection, a throwing and a hanging interceptor fail the partition with POLICY_VIOLATION; the broker goes on', async () => {
    for (const topic of ['hk-blocked', 'hk-throws', 'hk-hangs']) {
      await producer.send({ topic: 'hk-plain', acks: -1, messages: [{ value: `before ${topic}` }] });
      expect(await produceError(topic)).toBe('POLICY_VIOLATION');
    }
    await producer.send({ topic: 'hk-plain', acks: -1, messages: [{ value: 'after' }] });
    expect(await values('hk-plain', 4)).toEqual(['before hk-blocked', 'before hk-throws', 'before hk-hangs', 'after']);
    const errors = logLines(broker.output(), 'ERROR').join('\n');
    expect(errors).toMatch(/hook handler threw/);
    expect(errors).toMatch(/hook handler missed its deadline/);
  });

  it('pipelined produce requests behind an asynchronous interceptor append in arrival order', async () => {
    await producer.send({ topic: 'hk-slow', acks: -1, messages: [{ value: 'warm-up' }] });
    const sends = Array.from({ length: 15 }, (_, i) => producer.send({ topic: 'hk-slow', acks: 1, messages: [{ value: `m${i}` }] }));
    await Promise.all(sends);
    // The interceptor is called in arrival order (KafkaJS may put concurrent sends on the
    // wire in another order than they were made); each call waits less than the one
    // before, so without the order gate the log would come out reversed.
    const arrival = readFileSync(join(dir, 'calls.txt'), 'utf8').trim().split('\n');
    expect(arrival).toHaveLength(16);
    expect(await values('hk-slow', 16)).toEqual(arrival);
  });

  it('a fetch interceptor changes what consumers see, not what is stored', async () => {
    await producer.send({ topic: 'hk-redacted', acks: -1, messages: [{ value: 'secret-1' }, { value: 'secret-2' }] });
    expect(await values('hk-redacted', 2)).toEqual(['***', '***']);
  });

  it('delete and config policies refuse what they reject with POLICY_VIOLATION, and let the rest through', async () => {
    const admin = new Kafka({ clientId: 'sluice-it-hooks', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await admin.connect();
    const errorType = (work: Promise<unknown>): Promise<string | undefined> =>
      work.then(() => undefined, (err: unknown) => (err as { type?: string }).type ?? (err as Error).message);
    const retention = (value: string, validateOnly = false): Promise<unknown> => admin.alterConfigs({
      validateOnly, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'hk-kept', configEntries: [{ name: 'retention.ms', value }] }],
    });
    try {
      await admin.createTopics({ topics: [{ topic: 'hk-kept' }, { topic: 'hk-gone' }] });
      expect(await errorType(admin.deleteTopics({ topics: ['hk-kept'] }))).toBe('POLICY_VIOLATION');
      expect(await errorType(retention('1'))).toBe('POLICY_VIOLATION');
      expect(await errorType(retention('1', true))).toBe('POLICY_VIOLATION');
      expect(await errorType(retention('60000'))).toBeUndefined();
      await admin.deleteTopics({ topics: ['hk-gone'] });
      expect((await admin.listTopics()).filter((t) => t.startsWith('hk-kept') || t === 'hk-gone')).toEqual(['hk-kept']);
    } finally {
      await admin.disconnect();
    }
  });

  it('connection and request observers were called', async () => {
    await producer.disconnect();
    await consumer.close();
    expect(await broker.stop()).toBe(0);
    const stats = JSON.parse(readFileSync(join(dir, 'stats.jsonl'), 'utf8').trim()) as { accepted: number; completed: number };
    expect(stats.accepted).toBeGreaterThanOrEqual(2);
    expect(stats.completed).toBeGreaterThan(20);
  });
});
